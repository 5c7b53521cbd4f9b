#include <string>

#include <catch2/catch.hpp>

#include <lorahub/io/weight_store.hpp>
#include <lorahub/model/t5/config.hpp>
#include <lorahub/model/t5/layout.hpp>
#include <lorahub/model/t5/tokenizer.hpp>

#include "../../support/files.hpp"

using namespace lorahub;
using Catch::Matchers::Contains;

namespace {

t5::config config_from(const std::string& text) {
    return t5::parse_config(io::parse_json_strict(text, "config.json"), "config.json");
}

/// A copy of the tiny fixture model whose config.json the test rewrites.
std::filesystem::path model_with_config(const test::temp_dir& dir, const std::string& from, const std::string& to) {
    const auto path = dir / "model";
    std::filesystem::copy(test::fixtures() / "io/tiny-t5", path, std::filesystem::copy_options::recursive);
    auto text = test::read_file(path / "config.json");
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    test::write_file(path / "config.json", text);
    return path;
}

}  // namespace

TEST_CASE("reads a config.json saved by transformers", "[t5][config]") {
    const auto config = t5::load_config(test::fixtures() / "io/tiny-t5/config.json");
    CHECK(config.vocab_size == 256);
    CHECK(config.d_model == 32);
    CHECK(config.d_kv == 8);
    CHECK(config.num_heads == 4);
    CHECK(config.num_layers == 2);
    CHECK(config.num_decoder_layers == 3);
    CHECK(config.relative_attention_num_buckets == 8);
    CHECK(config.relative_attention_max_distance == 20);
    CHECK(config.gated_activation);
    CHECK(config.dense_activation == t5::activation::gelu_tanh);
    CHECK_FALSE(config.tie_word_embeddings);
    const io::weight_store store(test::fixtures() / "io/tiny-t5");
    CHECK_NOTHROW(t5::check_weights(config, store));
}

TEST_CASE("HF defaults apply to missing fields and unknown fields are ignored", "[t5][config]") {
    const auto config = config_from(R"({"d_model":16,"num_layers":3,"some_future_field":[1,2]})");
    CHECK(config.num_decoder_layers == 3);
    CHECK(config.vocab_size == 32128);
    CHECK(config.feed_forward_proj == "relu");
    CHECK_FALSE(config.gated_activation);
    CHECK(config.tie_word_embeddings);
    CHECK(config.layer_norm_epsilon == 1e-6);
    CHECK(config_from(R"({"feed_forward_proj":"gated-silu"})").dense_activation == t5::activation::silu);
    CHECK(config_from(R"({"feed_forward_proj":"gelu"})").dense_activation == t5::activation::gelu_erf);
    CHECK(config_from(R"({"eos_token_id":[1,5]})").eos_token_id == 1);
}

TEST_CASE("missing, out-of-range or inconsistent config values are errors", "[t5][config]") {
    CHECK_THROWS_WITH(config_from(R"({"d_model":0})"), Contains("\"d_model\" must be a positive integer"));
    CHECK_THROWS_WITH(config_from(R"({"num_heads":2.5})"), Contains("\"num_heads\""));
    CHECK_THROWS_WITH(config_from(R"({"feed_forward_proj":"gated-gelu-x"})"), Contains("\"gated-ACT\""));
    CHECK_THROWS_WITH(config_from(R"({"feed_forward_proj":"tanh"})"), Contains("is not supported"));
    CHECK_THROWS_WITH(config_from(R"({"model_type":"bert"})"), Contains("is not a T5 model"));
    CHECK_THROWS_WITH(config_from(R"({"vocab_size":10,"eos_token_id":12})"), Contains("not below vocab_size"));
    CHECK_THROWS_WITH(config_from(R"({"layer_norm_epsilon":-1})"), Contains("layer_norm_epsilon"));
    CHECK_THROWS_WITH(config_from(R"({"relative_attention_num_buckets":32,"relative_attention_max_distance":8})"),
                      Contains("relative_attention_max_distance"));
    CHECK_THROWS_WITH(config_from(R"([1])"), Contains("JSON object"));
}

TEST_CASE("weights that contradict config.json are errors naming file and tensor", "[t5][config]") {
    test::temp_dir dir;
    SECTION("num_heads * d_kv different from the attention weights") {
        const auto path = model_with_config(dir, "\"num_heads\": 4", "\"num_heads\": 2");
        const io::weight_store store(path);
        CHECK_THROWS_WITH(t5::check_weights(t5::load_config(path / "config.json"), store),
                          Contains("model.safetensors: tensor \"encoder.block.0.layer.0.SelfAttention.q.weight\" has shape [32, 32]"));
    }
    SECTION("more layers than the weights hold") {
        const auto path = model_with_config(dir, "\"num_layers\": 2", "\"num_layers\": 3");
        const io::weight_store store(path);
        CHECK_THROWS_WITH(t5::check_weights(t5::load_config(path / "config.json"), store),
                          Contains("no tensor \"encoder.block.2.layer.0.SelfAttention.q.weight\""));
    }
    SECTION("a gated config over ungated weights") {
        const auto path = model_with_config(dir, "\"gated-gelu\"", "\"relu\"");
        const io::weight_store store(path);
        CHECK_THROWS_WITH(t5::check_weights(t5::load_config(path / "config.json"), store), Contains("DenseReluDense.wi.weight"));
    }
    SECTION("no weights file") {
        const auto path = model_with_config(dir, "\"num_layers\": 2", "\"num_layers\": 2");
        std::filesystem::remove(path / "model.safetensors");
        CHECK_THROWS_WITH(io::weight_store(path), Contains("has none of model.safetensors, model.safetensors.index.json, pytorch_model.bin"));
    }
}

TEST_CASE("sharded weights are found through the index", "[t5][config]") {
    test::temp_dir dir;
    const auto path = dir / "model";
    std::filesystem::copy(test::fixtures() / "io/tiny-t5", path, std::filesystem::copy_options::recursive);
    const io::safetensors_file whole(path / "model.safetensors");
    std::vector<io::tensor_record> first, second;
    io::json index = {{"metadata", io::json::object()}, {"weight_map", io::json::object()}};
    for (const auto& view : whole.tensors()) {
        const bool early = view.name < "decoder.block.2";
        (early ? first : second).push_back({view.name, view.type, view.shape, view.bytes});
        index["weight_map"][view.name] = early ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    }
    io::write_safetensors(path / "model-00001-of-00002.safetensors", first);
    io::write_safetensors(path / "model-00002-of-00002.safetensors", second);
    test::write_file(path / "model.safetensors.index.json", index.dump());
    std::filesystem::remove(path / "model.safetensors");
    const io::weight_store store(path);
    CHECK(store.files().size() == 2);
    CHECK(store.tensors().size() == whole.tensors().size());
    CHECK_NOTHROW(t5::check_weights(t5::load_config(path / "config.json"), store));

    index["weight_map"]["shared.weight"] = "../elsewhere.safetensors";
    test::write_file(path / "model.safetensors.index.json", index.dump());
    CHECK_THROWS_WITH(io::weight_store(path), Contains("not a file in this directory"));
}

TEST_CASE("the tokenizer loads spiece.model with T5's special ids", "[t5][tokenizer]") {
    const t5::tokenizer tokens(test::fixtures() / "io/tiny-t5/spiece.model");
    CHECK(tokens.piece_count() == 90);
    CHECK(tokens.size() == 190);
    const auto ids = tokens.encode("the quick brown fox");
    CHECK(ids.back() == 1);
    CHECK(tokens.decode(ids) == "the quick brown fox");
    CHECK(tokens.encode(std::string(5000, 'a'), 2048).size() == 2048);
    test::temp_dir dir;
    test::write_file(dir / "spiece.model", "not a model");
    CHECK_THROWS_WITH(t5::tokenizer(dir / "spiece.model"), Contains("is not a SentencePiece model"));
}
