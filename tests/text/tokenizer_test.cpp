#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/io/json.hpp>
#include <lorahub/text/tokenizer.hpp>

#include "../support/files.hpp"

using namespace lorahub;

namespace {

std::filesystem::path kinds_folder() { return test::fixtures() / "tokenizer_json"; }

/// tests/fixtures/tokenizer_json/expected.json: what pip tokenizers 0.22 and transformers 4.57
/// (AutoTokenizer) make of the hard-case corpus, per tokenizer kind.
const io::json& expected() {
    static const auto document = io::parse_json_strict(test::read_file(kinds_folder() / "expected.json"), "expected.json");
    return document;
}

io::json fixture_document(const std::string& kind) {
    return io::parse_json_strict(test::read_file(kinds_folder() / kind / "tokenizer.json"), kind);
}

}  // namespace

TEST_CASE("tokenizer.json ids equal pip tokenizers', and with special tokens transformers' AutoTokenizer's", "[text][tokenizer]") {
    std::size_t kinds = 0;
    for (const auto& [kind, cases] : expected()["kinds"].items()) {
        ++kinds;
        const text::tokenizer tokens(kinds_folder() / kind / "tokenizer.json");
        for (const auto& c : cases["cases"]) {
            const auto input = c["text"].get<std::string>();
            INFO(kind << ": \"" << input << "\"");
            CHECK(tokens.encode(input, false) == c["ids"].get<std::vector<int>>());
            CHECK(tokens.encode(input, true) == c["transformers_ids"].get<std::vector<int>>());
        }
    }
    CHECK(kinds == 8);
}

TEST_CASE("tokenizer.json decoding equals pip tokenizers', invalid UTF-8 byte runs replaced as it replaces them", "[text][tokenizer]") {
    for (const auto& [kind, cases] : expected()["kinds"].items()) {
        const text::tokenizer tokens(kinds_folder() / kind / "tokenizer.json");
        for (const auto& c : cases["cases"]) {
            const auto ids = c["ids"].get<std::vector<int>>();
            INFO(kind << ": \"" << c["text"].get<std::string>() << "\"");
            CHECK(tokens.decode(ids, false) == c["decoded"].get<std::string>());
            CHECK(tokens.decode(ids, true) == c["decoded_skipping_special"].get<std::string>());
        }
        for (const auto& c : cases["decodes"]) {
            INFO(kind << ": ids " << c["ids"].dump());
            CHECK(tokens.decode(c["ids"].get<std::vector<int>>(), false) == c["text"].get<std::string>());
        }
    }
}

TEST_CASE("tokenizer_config.json gives bos and eos, and Llama-family classes rebuild the template from add_bos/add_eos", "[text][tokenizer]") {
    const text::tokenizer mistral(kinds_folder() / "mistral-v03/tokenizer.json");
    CHECK(mistral.bos_id() == mistral.id_of("<s>"));
    CHECK(mistral.eos_id() == mistral.id_of("</s>"));
    const text::tokenizer with_eos(kinds_folder() / "mistral-v03-eos/tokenizer.json");
    const auto ids = with_eos.encode("hello world", true);
    REQUIRE(ids.size() >= 2);
    CHECK(ids.front() == *with_eos.bos_id());
    CHECK(ids.back() == *with_eos.eos_id());
    const text::tokenizer qwen(kinds_folder() / "qwen2/tokenizer.json");
    CHECK_FALSE(qwen.bos_id().has_value());
    CHECK(qwen.eos_id() == qwen.id_of("<|im_end|>"));
    CHECK(qwen.is_special(*qwen.id_of("<|im_end|>")));
    CHECK_FALSE(qwen.is_special(*qwen.id_of("lorahub_tok")));
}

TEST_CASE("a tokenizer.json part this tokenizer cannot follow exactly is an error naming the file and the part", "[text][tokenizer]") {
    const test::temp_dir folder;
    auto message_of = [&](const io::json& document, const std::string&) {
        test::write_file(folder / "tokenizer.json", document.dump());
        try {
            text::tokenizer{folder / "tokenizer.json"};
        } catch (const error& failure) {
            return std::string(failure.what());
        }
        return std::string("no error");
    };
    auto document = fixture_document("gpt2");

    auto unigram = document;
    unigram["model"]["type"] = "Unigram";
    CHECK_THAT(message_of(unigram, "unigram"), Catch::Contains("tokenizer.json: model") && Catch::Contains("\"Unigram\" is not supported"));

    auto bert = document;
    bert["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
    CHECK_THAT(message_of(bert, "bert"), Catch::Contains("pre_tokenizer (BertPreTokenizer)") && Catch::Contains("not supported"));

    auto lowercase = document;
    lowercase["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Lowercase"}}}}};
    CHECK_THAT(message_of(lowercase, "lowercase"), Catch::Contains("normalizer (Sequence) (Lowercase)"));

    auto word_boundary = document;
    word_boundary["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\bword"}}}, {"behavior", "Isolated"}, {"invert", false}};
    CHECK_THAT(message_of(word_boundary, "boundary"), Catch::Contains("word boundary \\b"));

    auto truncation = document;
    truncation["truncation"] = {{"max_length", 8}};
    CHECK_THAT(message_of(truncation, "truncation"), Catch::Contains("\"truncation\" is set"));

    auto dropout = document;
    dropout["model"]["dropout"] = 0.1;
    CHECK_THAT(message_of(dropout, "dropout"), Catch::Contains("random"));

    auto bad_merge = document;
    bad_merge["model"]["merges"].push_back(io::json::array({"no_such_token", "x"}));
    CHECK_THAT(message_of(bad_merge, "merge"), Catch::Contains("\"no_such_token\" is not in the vocabulary"));

    auto decoder = document;
    decoder["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
    CHECK_THAT(message_of(decoder, "decoder"), Catch::Contains("decoder (WordPiece)"));

    CHECK_THROWS_AS(text::tokenizer(folder / "no-such-tokenizer.json"), io_error);
}

TEST_CASE("text that is not UTF-8 is an argument error, not a different tokenization", "[text][tokenizer]") {
    const text::tokenizer tokens(kinds_folder() / "llama3/tokenizer.json");
    CHECK_THROWS_AS(tokens.encode(std::string("abc\xff"), false), argument_error);
    CHECK(tokens.encode("", false).empty());
}
