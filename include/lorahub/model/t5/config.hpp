#pragma once

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <string>

#include "lorahub/core/activation.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"

namespace lorahub::t5 {

/// The activation of the feed-forward block, as HF names it after reading feed_forward_proj.
using lorahub::activation;

/// Everything the T5 forward pass needs from config.json, validated.
struct config {
    std::size_t vocab_size = 32128;
    std::size_t d_model = 512;
    std::size_t d_kv = 64;
    std::size_t d_ff = 2048;
    std::size_t num_layers = 6;
    std::size_t num_decoder_layers = 6;
    std::size_t num_heads = 8;
    std::size_t relative_attention_num_buckets = 32;
    std::size_t relative_attention_max_distance = 128;
    double layer_norm_epsilon = 1e-6;
    std::string feed_forward_proj = "relu";
    activation dense_activation = activation::relu;
    bool gated_activation = false;
    /// Original T5 ties lm_head to `shared` and scales the decoder output by d_model^-0.5.
    bool tie_word_embeddings = true;
    int pad_token_id = 0;
    int eos_token_id = 1;
    int decoder_start_token_id = 0;

    std::size_t inner_dim() const { return num_heads * d_kv; }
};

namespace detail {

inline std::size_t positive_size(const io::json& document, const char* key, std::size_t fallback,
                                 const std::string& subject) {
    if (!document.contains(key) || document[key].is_null()) return fallback;
    const auto& value = document[key];
    if (!value.is_number_integer() || value.get<std::int64_t>() <= 0 || value.get<std::int64_t>() > (1ll << 31))
        throw config_error(subject, std::string("\"") + key + "\" must be a positive integer, got " + value.dump());
    return value.get<std::size_t>();
}

inline int token_id(const io::json& document, const char* key, int fallback, const std::string& subject) {
    if (!document.contains(key) || document[key].is_null()) return fallback;
    auto value = document[key];
    if (value.is_array() && !value.empty()) value = value[0];  // eos_token_id may be a list
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > (1ll << 31))
        throw config_error(subject, std::string("\"") + key + "\" must be a non-negative integer, got " + value.dump());
    return value.get<int>();
}

inline activation parse_activation(const std::string& name, const std::string& subject) {
    if (name == "relu") return activation::relu;
    if (name == "gelu") return activation::gelu_erf;
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return activation::gelu_tanh;
    if (name == "silu" || name == "swish") return activation::silu;
    throw unsupported_error(subject, "feed_forward_proj activation \"" + name + "\" is not supported (relu, gelu, gelu_new, silu)");
}

}  // namespace detail

/// Reads the fields HF's T5Config reads, with HF's defaults; ignores the rest as HF does.
inline config parse_config(const io::json& document, const std::string& subject) {
    if (!document.is_object()) throw config_error(subject, "config must be a JSON object");
    if (document.contains("model_type")) {
        const auto& type = document["model_type"];
        if (!type.is_string() || (type.get<std::string>() != "t5" && type.get<std::string>() != "mt5"))
            throw unsupported_error(subject, "model_type " + type.dump() + " is not a T5 model");
    }
    config result;
    using detail::positive_size;
    result.vocab_size = positive_size(document, "vocab_size", result.vocab_size, subject);
    result.d_model = positive_size(document, "d_model", result.d_model, subject);
    result.d_kv = positive_size(document, "d_kv", result.d_kv, subject);
    result.d_ff = positive_size(document, "d_ff", result.d_ff, subject);
    result.num_layers = positive_size(document, "num_layers", result.num_layers, subject);
    result.num_decoder_layers = positive_size(document, "num_decoder_layers", result.num_layers, subject);
    result.num_heads = positive_size(document, "num_heads", result.num_heads, subject);
    result.relative_attention_num_buckets =
        positive_size(document, "relative_attention_num_buckets", result.relative_attention_num_buckets, subject);
    result.relative_attention_max_distance =
        positive_size(document, "relative_attention_max_distance", result.relative_attention_max_distance, subject);
    if (document.contains("layer_norm_epsilon")) {
        const auto& eps = document["layer_norm_epsilon"];
        if (!eps.is_number() || !(eps.get<double>() > 0) || !std::isfinite(eps.get<double>()))
            throw config_error(subject, "\"layer_norm_epsilon\" must be a positive number, got " + eps.dump());
        result.layer_norm_epsilon = eps.get<double>();
    }
    if (document.contains("feed_forward_proj")) {
        if (!document["feed_forward_proj"].is_string())
            throw config_error(subject, "\"feed_forward_proj\" must be a string");
        result.feed_forward_proj = document["feed_forward_proj"].get<std::string>();
    }
    const auto dash = result.feed_forward_proj.find('-');
    std::string activation_name = result.feed_forward_proj;
    if (dash != std::string::npos) {
        if (result.feed_forward_proj.substr(0, dash) != "gated" ||
            result.feed_forward_proj.find('-', dash + 1) != std::string::npos)
            throw config_error(subject, "\"feed_forward_proj\" must be \"ACT\" or \"gated-ACT\", got \"" +
                                            result.feed_forward_proj + "\"");
        result.gated_activation = true;
        activation_name = result.feed_forward_proj.substr(dash + 1);
    }
    if (result.feed_forward_proj == "gated-gelu") activation_name = "gelu_new";  // as HF does
    result.dense_activation = detail::parse_activation(activation_name, subject);
    if (document.contains("tie_word_embeddings")) {
        if (!document["tie_word_embeddings"].is_boolean())
            throw config_error(subject, "\"tie_word_embeddings\" must be true or false");
        result.tie_word_embeddings = document["tie_word_embeddings"].get<bool>();
    }
    result.pad_token_id = detail::token_id(document, "pad_token_id", 0, subject);
    result.eos_token_id = detail::token_id(document, "eos_token_id", 1, subject);
    result.decoder_start_token_id = detail::token_id(document, "decoder_start_token_id", result.pad_token_id, subject);

    for (const auto& [name, id] : {std::pair{"pad_token_id", result.pad_token_id},
                                   std::pair{"eos_token_id", result.eos_token_id},
                                   std::pair{"decoder_start_token_id", result.decoder_start_token_id}})
        if (static_cast<std::size_t>(id) >= result.vocab_size)
            throw config_error(subject, std::string("\"") + name + "\" " + std::to_string(id) + " is not below vocab_size " +
                                            std::to_string(result.vocab_size));
    if (result.relative_attention_num_buckets < 4)
        throw config_error(subject, "\"relative_attention_num_buckets\" must be at least 4");
    if (result.relative_attention_max_distance <= result.relative_attention_num_buckets / 2)
        throw config_error(subject, "\"relative_attention_max_distance\" must exceed relative_attention_num_buckets / 2");
    return result;
}

inline config load_config(const std::filesystem::path& path) {
    const std::string subject = display(path);
    return parse_config(io::parse_json_strict(io::read_text_file(path, 1 << 20), subject), subject);
}

}  // namespace lorahub::t5
