#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/text/json_fields.hpp"
#include "lorahub/text/split.hpp"
#include "lorahub/text/unicode.hpp"

namespace lorahub::text {

/// A tokenizer.json "normalizer": NFC / NFD / NFKC / NFKD (by ICU), Prepend, Replace, Strip and
/// Sequence of those, applied as the `tokenizers` library applies them. Any other type is an
/// error naming it.
class normalizer {
public:
    normalizer() = default;  // none: text is kept as it is

    /// From the "normalizer" node (null for none); `subject` names the file.
    static normalizer from_json(const io::sorted_json& node, const std::string& subject) {
        normalizer result;
        if (!node.is_null()) result.append(node, subject + ": normalizer");
        return result;
    }

    bool empty() const noexcept { return steps_.empty(); }

    /// Whether a step inserts text before the first character (Prepend): pieces split out of
    /// the result no longer know whether they begin the original text.
    bool prepends() const {
        for (const auto& step : steps_)
            if (std::holds_alternative<prepend_step>(step)) return true;
        return false;
    }

    std::string operator()(std::string text) const {
        for (const auto& step : steps_) text = std::visit([&](const auto& s) { return s.apply(text); }, step);
        return text;
    }

private:
    struct unicode_step {
        normal_form form;
        std::string apply(const std::string& text) const { return normalize(text, form); }
    };
    struct prepend_step {
        std::string prefix;
        std::string apply(const std::string& text) const { return text.empty() ? text : prefix + text; }
    };
    struct replace_step {
        regex pattern;
        std::string content;
        std::string apply(const std::string& text) const {
            std::string out;
            out.reserve(text.size());
            for (const auto& s : stretches_of(text, pattern)) {
                if (s.matched)
                    out += content;
                else
                    out.append(text, s.start, s.end - s.start);
            }
            return out;
        }
    };
    struct strip_step {
        bool left;
        bool right;
        std::string apply(const std::string& text) const {
            std::size_t start = 0, end = text.size();
            while (left && start < end && is_white_space(code_point_at(text, start).value)) start += code_point_at(text, start).length;
            while (right && end > start) {
                const std::size_t last = code_point_start_before(text, end);
                if (!is_white_space(code_point_at(text, last).value)) break;
                end = last;
            }
            return text.substr(start, end - start);
        }
    };
    using step = std::variant<unicode_step, prepend_step, replace_step, strip_step>;

    void append(const io::sorted_json& node, const std::string& subject) {
        for_each_part(node, "normalizers", subject, [&](const std::string& type, const io::sorted_json& part, const std::string& where) {
            append_step(type, part, where);
        });
    }

    void append_step(const std::string& type, const io::sorted_json& node, const std::string& where) {
        if (type == "NFC") {
            steps_.push_back(unicode_step{normal_form::nfc});
        } else if (type == "NFD") {
            steps_.push_back(unicode_step{normal_form::nfd});
        } else if (type == "NFKC") {
            steps_.push_back(unicode_step{normal_form::nfkc});
        } else if (type == "NFKD") {
            steps_.push_back(unicode_step{normal_form::nfkd});
        } else if (type == "Prepend") {
            steps_.push_back(prepend_step{required_string(node, "prepend", where)});
        } else if (type == "Replace") {
            steps_.push_back(replace_step{pattern_field(node, where), required_string(node, "content", where)});
        } else if (type == "Strip") {
            steps_.push_back(strip_step{io::bool_field(node, "strip_left", true, where), io::bool_field(node, "strip_right", true, where)});
        } else {
            throw unsupported_error(where, "this normalizer type is not supported (NFC, NFD, NFKC, NFKD, Prepend, Replace, Strip, Sequence are)");
        }
    }

private:
    std::vector<step> steps_;
};

}  // namespace lorahub::text
