// The README's C++ code is the code of compiled programs: each ```cpp block follows a
// marker `<!-- code: examples/NAME.cpp -->` and equals the region of that file between
// `// [readme]` and `// [/readme]` (indentation removed), so the docs cannot drift.
#include <algorithm>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "../support/files.hpp"

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

/// The lines between the markers, with the indentation they all share removed.
std::string readme_region(const std::string& source) {
    const auto lines = lines_of(source);
    auto trimmed = [](const std::string& line) { return line.substr(std::min(line.size(), line.find_first_not_of(' '))); };
    const auto begin = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) { return trimmed(l) == "// [readme]"; });
    const auto end = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) { return trimmed(l) == "// [/readme]"; });
    REQUIRE(begin != lines.end());
    REQUIRE(end > begin);
    std::size_t indent = std::string::npos;
    for (auto it = begin + 1; it != end; ++it)
        if (!trimmed(*it).empty()) indent = std::min(indent, it->find_first_not_of(' '));
    std::string region;
    for (auto it = begin + 1; it != end; ++it) region += (it->size() > indent ? it->substr(indent) : trimmed(*it)) + "\n";
    return region;
}

}  // namespace

TEST_CASE("every C++ block of the README is a region of a compiled example", "[docs]") {
    const std::filesystem::path root = LORAHUB_SOURCE_DIR;
    const auto readme = lorahub::test::read_file(root / "README.md");
    const std::regex block("(<!-- code: ([^ ]+) -->\\n)?```cpp\\n([\\s\\S]*?)```");
    std::size_t blocks = 0;
    for (auto it = std::sregex_iterator(readme.begin(), readme.end(), block); it != std::sregex_iterator(); ++it) {
        const auto& match = *it;
        INFO("README block " << blocks + 1 << ":\n" << match[3].str());
        REQUIRE(match[2].matched);  // a C++ block without a marker is not checked: not allowed
        const auto source = lorahub::test::read_file(root / match[2].str());
        CHECK(match[3].str() == readme_region(source));
        ++blocks;
    }
    CHECK(blocks >= 3);
}
