#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"

namespace lorahub::io {

/// One example of a task: the input text and, when known, the expected output.
struct example {
    std::string input;
    std::optional<std::string> output;
};

/// The largest examples file read, so that a stray huge file is an error, not a stall.
inline constexpr std::size_t max_examples_file_bytes = std::size_t{256} << 20;

/// Parses JSONL with {"input", "output"} or {"context", "completion"} objects, one per line.
/// Blank lines are skipped; other keys are ignored; an output may be missing or null.
inline std::vector<example> parse_examples(std::string_view text, const std::string& subject) {
    std::vector<example> examples;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        const std::string where = subject + ":" + std::to_string(line_number);
        const json object = parse_json_strict(line, where);
        if (!object.is_object())
            throw format_error(where, "expected an object with \"input\"/\"output\" or \"context\"/\"completion\"");
        const bool plain = object.contains("input"), reference = object.contains("context");
        if (plain == reference)
            throw format_error(where, plain ? "has both \"input\" and \"context\"; use one pair of fields"
                                            : "has neither \"input\" nor \"context\"");
        const char* input_key = plain ? "input" : "context";
        const char* output_key = plain ? "output" : "completion";
        if (!object[input_key].is_string()) throw format_error(where, std::string("\"") + input_key + "\" must be a string");
        example item{object[input_key].get<std::string>(), std::nullopt};
        if (object.contains(output_key) && !object[output_key].is_null()) {
            if (!object[output_key].is_string())
                throw format_error(where, std::string("\"") + output_key + "\" must be a string or null");
            item.output = object[output_key].get<std::string>();
        }
        examples.push_back(std::move(item));
    }
    if (examples.empty()) throw format_error(subject, "holds no examples");
    return examples;
}

inline std::vector<example> read_examples(const std::filesystem::path& path) {
    return parse_examples(read_text_file(path, max_examples_file_bytes), display(path));
}

}  // namespace lorahub::io
