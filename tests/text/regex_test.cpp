#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/io/json.hpp>
#include <lorahub/text/normalizer.hpp>
#include <lorahub/text/regex.hpp>

#include "../support/files.hpp"

using namespace lorahub;

namespace {
std::vector<std::string> matches(const text::regex& pattern, const std::string& subject) {
    std::vector<std::string> found;
    pattern.for_each_match(subject, [&](std::size_t start, std::size_t end) { found.push_back(subject.substr(start, end - start)); });
    return found;
}
}  // namespace

// The cases are where Oniguruma (which pip tokenizers runs regexes on) and PCRE2 differ unless
// translated (\s, \w, \h), and empty matches; pip tokenizers' results made the fixture.
TEST_CASE("regexes run as Oniguruma runs them in pip tokenizers: its \\s, \\w, \\h, empty matches", "[text][regex]") {
    const auto fixture = io::parse_json_strict(test::read_file(test::fixtures() / "tokenizer_json/expected.json"), "expected.json");
    std::size_t cases = 0;
    for (const auto& c : fixture["regex_replacements"]) {
        ++cases;
        const io::sorted_json replace = {{"type", "Replace"}, {"pattern", {{"Regex", c["pattern"]}}}, {"content", "|"}};
        const auto normalize = text::normalizer::from_json(replace, "test");
        INFO("pattern " << c["pattern"].dump() << " on " << c["text"].dump());
        CHECK(normalize(c["text"].get<std::string>()) == c["replaced"].get<std::string>());
    }
    CHECK(cases == 13);
}

TEST_CASE("regex constructs that could match differently from Oniguruma are refused by name", "[text][regex]") {
    CHECK_THROWS_WITH(text::regex::from_oniguruma("\\bx", "file.json: pre_tokenizer"), Catch::Contains("word boundary \\b"));
    CHECK_THROWS_WITH(text::regex::from_oniguruma("^x", "f"), Catch::Contains("anchor ^"));
    CHECK_THROWS_WITH(text::regex::from_oniguruma("x$", "f"), Catch::Contains("anchor $"));
    CHECK_THROWS_WITH(text::regex::from_oniguruma("[[:alpha:]]", "f"), Catch::Contains("POSIX bracket"));
    CHECK_THROWS_WITH(text::regex::from_oniguruma("(?m:.)", "f"), Catch::Contains("inline flag m"));
    CHECK_THROWS_WITH(text::regex::from_oniguruma("[^\\S]", "f"), Catch::Contains("\\S inside a character class"));
    CHECK_THROWS_AS(text::regex::from_oniguruma("(unclosed", "f"), format_error);
}

TEST_CASE("literal patterns match their text only, any_of prefers the first listed at a position", "[text][regex]") {
    CHECK(matches(text::regex::literal("a.b", "test"), "a.b axb a.b") == std::vector<std::string>{"a.b", "a.b"});
    CHECK(matches(text::regex::any_of({"<|eot|>", "<|"}, "test"), "x<|eot|>y<|z") == std::vector<std::string>{"<|eot|>", "<|"});
}
