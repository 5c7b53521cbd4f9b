#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/io/json.hpp>
#include <lorahub/model/llama/tokenizer.hpp>

#include "../../support/files.hpp"
#include "../../support/llama_fixtures.hpp"

using namespace lorahub;

namespace {
const io::json& expected() { return test::llama_expected(); }
}  // namespace

TEST_CASE("Llama SentencePiece encoding matches HF's LlamaTokenizer, byte fallback included", "[llama][tokenizer]") {
    const llama::tokenizer tokens(test::fixtures() / "llama/tokenizer.model");
    for (const auto& c : expected()["tokenizer"]["encode"]) {
        const auto text = c["text"].get<std::string>();
        INFO("text \"" << text << "\"");
        CHECK(tokens.encode(text) == c["slow"].get<std::vector<int>>());
    }
}

TEST_CASE("Llama decoding skips special ids and joins byte pieces as HF does", "[llama][tokenizer]") {
    const llama::tokenizer tokens(test::fixtures() / "llama/tokenizer.model");
    for (const auto& c : expected()["tokenizer"]["decode"]) {
        const auto ids = c["ids"].get<std::vector<int>>();
        CHECK(tokens.decode(ids) == c["text"].get<std::string>());
    }
    CHECK(tokens.is_special(1));
    CHECK(tokens.is_special(2));
    CHECK(tokens.is_special(0));
    CHECK(tokens.is_special(384));
    CHECK_FALSE(tokens.is_special(70));
}

TEST_CASE("a file that is not a SentencePiece model is a clear error", "[llama][tokenizer]") {
    test::temp_dir dir;
    test::write_file(dir / "tokenizer.model", "not a model");
    CHECK_THROWS_WITH(llama::tokenizer(dir / "tokenizer.model"), Catch::Matchers::Contains("is not a SentencePiece model"));
}
