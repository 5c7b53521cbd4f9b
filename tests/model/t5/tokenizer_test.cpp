#include <catch2/catch.hpp>

#include <lorahub/io/json.hpp>
#include <lorahub/model/t5/tokenizer.hpp>

#include "../../support/files.hpp"

using namespace lorahub;

namespace {
const io::json& expected() {
    static const auto document = io::parse_json_strict(test::read_file(test::fixtures() / "t5/expected.json"), "expected.json");
    return document["tokenizer"];
}
}  // namespace

TEST_CASE("encoding gives HF T5Tokenizer's ids on newlines, tabs, spaces, unicode, digits and sentinels", "[t5][tokenizer]") {
    const t5::tokenizer tokens(test::fixtures() / "io/tiny-t5/spiece.model");
    for (const auto& item : expected()["encode"]) {
        const auto text = item["text"].get<std::string>();
        INFO("text: " << text.substr(0, 60));
        CHECK(tokens.encode(text) == item["slow"].get<std::vector<int>>());
    }
}

TEST_CASE("inputs longer than 2048 tokens are truncated as HF truncates them", "[t5][tokenizer]") {
    const t5::tokenizer tokens(test::fixtures() / "io/tiny-t5/spiece.model");
    const auto& item = expected()["encode"].back();
    REQUIRE(item["untruncated_length"].get<std::size_t>() > 2048);
    const auto ids = tokens.encode(item["text"].get<std::string>());
    CHECK(ids.size() == 2048);
    CHECK(ids == item["slow"].get<std::vector<int>>());
    CHECK(tokens.encode(item["text"].get<std::string>(), 0).size() == item["untruncated_length"].get<std::size_t>());
}

TEST_CASE("decoding skips special ids as skip_special_tokens does", "[t5][tokenizer]") {
    const t5::tokenizer tokens(test::fixtures() / "io/tiny-t5/spiece.model");
    for (const auto& item : expected()["decode"]) {
        const auto ids = item["ids"].get<std::vector<int>>();
        CHECK(tokens.decode(ids) == item["text"].get<std::string>());
    }
}
