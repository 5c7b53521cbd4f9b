#include <string>

#include <catch2/catch.hpp>

#include <lorahub/model/llama/config.hpp>
#include <lorahub/model/llama/rotary.hpp>

using namespace lorahub;
using Catch::Matchers::Contains;

namespace {
llama::config parse(const std::string& text) { return llama::parse_config(io::json::parse(text), "config.json"); }
}  // namespace

TEST_CASE("Llama configs read HF's fields and defaults", "[llama][config]") {
    // TinyLlama-1.1B-Chat-v1.0's config.json fields
    const auto tiny = parse(R"({"architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
        "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 5632, "max_position_embeddings": 2048,
        "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 22, "num_key_value_heads": 4,
        "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 10000.0, "tie_word_embeddings": false,
        "torch_dtype": "bfloat16", "use_cache": true, "vocab_size": 32000})");
    CHECK(tiny.head_dim == 64);
    CHECK(tiny.key_value_dim() == 256);
    CHECK(tiny.query_dim() == 2048);
    CHECK(tiny.rms_norm_eps == 1e-5);
    CHECK(tiny.rope_scaling.type == "default");
    CHECK(tiny.layer_windows.empty());
    const auto defaults = parse(R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4})");
    CHECK(defaults.num_key_value_heads == 4);
    CHECK(defaults.eos_token_ids == std::vector<int>{2});
    CHECK(defaults.bos_token_id == 1);
    const auto mistral = parse(R"({"model_type": "mistral", "hidden_size": 64, "num_attention_heads": 32, "head_dim": 32,
        "eos_token_id": [2, 7], "bos_token_id": null})");
    CHECK(mistral.num_key_value_heads == 8);  // MistralConfig's default
    CHECK(mistral.layer_windows == std::vector<std::size_t>(32, 4096));  // MistralConfig: 32 layers, window 4096
    CHECK(mistral.head_dim == 32);
    CHECK(mistral.eos_token_ids == std::vector<int>{2, 7});
    CHECK_FALSE(mistral.has_bos());
    // Qwen2-0.5B's config.json fields: no sliding window (use_sliding_window false), q/k/v biases
    const auto qwen2 = parse(R"({"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
        "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
        "max_position_embeddings": 32768, "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14,
        "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
        "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})");
    CHECK(qwen2.head_dim == 64);
    CHECK(qwen2.qkv_bias);
    CHECK(qwen2.layer_windows == std::vector<std::size_t>(24, 0));
    CHECK(qwen2.bos_token_id == 151643);
    CHECK(parse(R"({"model_type": "qwen2", "eos_token_id": 5})").vocab_size == 151936);  // Qwen2Config's default
    CHECK(parse(R"({"rope_scaling": {"type": "linear", "factor": 4.0}})").rope_scaling.factor == 4.0);
    CHECK(parse(R"({"rope_scaling": {"rope_type": "default"}})").rope_scaling.type == "default");
    // Llama 3.1 8B's rope_scaling, as its config.json ships it
    const auto llama31 = parse(R"({"rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192, "rope_type": "llama3"}, "rope_theta": 500000.0})").rope_scaling;
    CHECK(llama31.type == "llama3");
    CHECK(llama31.factor == 8.0);
    CHECK(llama31.low_freq_factor == 1.0);
    CHECK(llama31.high_freq_factor == 4.0);
    CHECK(llama31.original_max_position_embeddings == 8192.0);
}

TEST_CASE("Llama configs we do not implement are refused naming the field", "[llama][config]") {
    CHECK_THROWS_WITH(parse(R"({"model_type": "gemma"})"), Contains("model_type \"gemma\" is not a Llama-family model"));
    CHECK_THROWS_WITH(parse(R"({"model_type": "qwen2", "eos_token_id": 1, "layer_types": ["full_attention"]})"),
                      Contains("\"layer_types\" must list one type per layer (32)"));
    CHECK_THROWS_WITH(parse(R"({"hidden_act": "gelu"})"), Contains("\"hidden_act\" \"gelu\" is not supported"));
    CHECK_THROWS_WITH(parse(R"({"attention_bias": true})"), Contains("\"attention_bias\": true is not supported"));
    CHECK_THROWS_WITH(parse(R"({"mlp_bias": true})"), Contains("\"mlp_bias\": true"));
    CHECK_THROWS_WITH(parse(R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}})"), Contains("type llama3 needs \"low_freq_factor\""));
    CHECK_THROWS_WITH(parse(R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0,
        "original_max_position_embeddings": 8192}})"), Contains("must be less than"));
    CHECK_THROWS_WITH(parse(R"({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}})"), Contains("type \"yarn\" is not supported"));
    CHECK_THROWS_WITH(parse(R"({"rope_scaling": {"type": "dynamic", "factor": 2.0}})"), Contains("type \"dynamic\""));
    CHECK_THROWS_WITH(parse(R"({"rope_scaling": {"type": "linear"}})"), Contains("needs \"factor\""));
    CHECK_THROWS_WITH(parse(R"({"num_attention_heads": 6, "num_key_value_heads": 4})"), Contains("multiple of \"num_key_value_heads\""));
    CHECK_THROWS_WITH(parse(R"({"head_dim": 7})"), Contains("\"head_dim\" must be even"));
    CHECK_THROWS_WITH(parse(R"({"vocab_size": 100, "eos_token_id": 100})"), Contains("\"eos_token_id\" 100 is not below vocab_size 100"));
    CHECK_THROWS_WITH(parse(R"({"hidden_size": -3})"), Contains("\"hidden_size\" must be a positive integer"));
}

TEST_CASE("rotary frequencies follow theta^(-2i/d), divided by the linear factor", "[llama][rotary]") {
    auto c = parse(R"({"hidden_size": 16, "num_attention_heads": 2, "rope_theta": 10000.0})");
    const auto plain = llama::rotary_inverse_frequencies(c);
    REQUIRE(plain.size() == 4);
    CHECK(plain[0] == 1.0f);
    CHECK(plain[1] == Approx(0.1));     // 10000^(-2/8)
    CHECK(plain[3] == Approx(0.001));   // 10000^(-6/8)
    c.rope_scaling.type = "linear";
    c.rope_scaling.factor = 2.0;
    CHECK(llama::rotary_inverse_frequencies(c)[1] == Approx(0.05));
    std::vector<float> cos, sin;
    llama::append_rotary_rows(plain, 0, 3, cos, sin);
    REQUIRE(cos.size() == 12);
    CHECK(cos[0] == 1.0f);
    CHECK(sin[4] == Approx(std::sin(1.0)));   // position 1, frequency 1
    CHECK(cos[9] == Approx(std::cos(0.2)));   // position 2, frequency 0.1
}

TEST_CASE("llama3 rope scaling keeps short wavelengths, divides long ones, blends between", "[llama][rotary]") {
    // head_dim 16, theta 10000: wavelengths 2 pi 10000^(i/4) = 6.3, 19.9, 62.8, 198.7, ...; with an
    // original context of 64: above 64 / 1 divided by the factor, below 64 / 4 = 16 kept
    auto c = parse(R"({"hidden_size": 32, "num_attention_heads": 2, "rope_theta": 10000.0, "rope_scaling": {"rope_type": "llama3",
        "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64}})");
    const auto scaled = llama::rotary_inverse_frequencies(c);
    c.rope_scaling = {};
    const auto plain = llama::rotary_inverse_frequencies(c);
    REQUIRE(scaled.size() == 8);
    CHECK(scaled[0] == plain[0]);                  // wavelength 6.3 < 16
    for (std::size_t i = 3; i < 8; ++i) CHECK(scaled[i] == plain[i] / 4.0f);  // wavelengths above 64
    for (std::size_t i : {1u, 2u}) {               // 19.9 and 62.8: the blend, s = (64 / wavelength - 1) / 3
        const double wavelength = 2 * 3.141592653589793 / plain[i];
        const double s = (64 / wavelength - 1) / 3;
        CHECK(scaled[i] == Approx((1 - s) * plain[i] / 4 + s * plain[i]).epsilon(1e-6));
        CHECK(scaled[i] < plain[i]);
        CHECK(scaled[i] > plain[i] / 4);
    }
}
