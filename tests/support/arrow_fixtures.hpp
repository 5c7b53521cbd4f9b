#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <lorahub/io/json.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/lora/pool.hpp>

#include "files.hpp"

namespace lorahub::test {

/// tests/fixtures/arrow/ (make_arrow_fixtures.py): PEFT's Arrow results and the routing usage.
inline const std::filesystem::path& arrow_fixtures() {
    static const auto root = fixtures() / "arrow";
    return root;
}

inline const io::json& arrow_expected() {
    static const auto document = io::parse_json_strict(read_file(arrow_fixtures() / "expected.json"), "expected.json");
    return document;
}

inline const io::safetensors_file& arrow_reference() {
    static const io::safetensors_file file(arrow_fixtures() / "expected.safetensors");
    return file;
}

/// The fixture's `kind` ("task" or "general") modules of `family` ("t5" or "llama").
inline std::vector<std::filesystem::path> arrow_modules(const std::string& family, const std::string& kind, std::size_t count) {
    std::vector<std::filesystem::path> paths;
    for (std::size_t i = 0; i < count; ++i) paths.push_back(arrow_fixtures() / family / (kind + "-" + std::to_string(i)));
    return paths;
}

}  // namespace lorahub::test
