#pragma once

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string_view>
#include <cstddef>
#include <filesystem>
#include <string>

#include "lorahub/core/activation.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"

namespace lorahub::t5 {

/// The activation of the feed-forward block, as HF names it after reading feed_forward_proj.
using lorahub::activation;

/// The values of config.json's model_type this family reads (a config without one is T5, as
/// HF's T5Config allows).
inline constexpr std::string_view model_types[] = {"t5", "mt5"};

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
        if (!type.is_string() || std::find(std::begin(model_types), std::end(model_types), type.get<std::string>()) == std::end(model_types))
            throw unsupported_error(subject, "model_type " + type.dump() + " is not a T5 model");
    }
    config result;
    auto positive_size = io::positive_size_field<io::json>;
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
    result.layer_norm_epsilon = io::positive_number_field(document, "layer_norm_epsilon", result.layer_norm_epsilon, subject);
    result.feed_forward_proj = io::string_field(document, "feed_forward_proj", result.feed_forward_proj, subject);
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
    result.tie_word_embeddings = io::bool_field(document, "tie_word_embeddings", result.tie_word_embeddings, subject);
    result.pad_token_id = io::token_id_field(document, "pad_token_id", 0, subject);
    result.eos_token_id = io::token_id_field(document, "eos_token_id", 1, subject);
    result.decoder_start_token_id = io::token_id_field(document, "decoder_start_token_id", result.pad_token_id, subject);

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
