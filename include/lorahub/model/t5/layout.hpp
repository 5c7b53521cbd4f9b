#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/io/safetensors.hpp"
#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/linear_layers.hpp"
#include "lorahub/model/t5/config.hpp"

namespace lorahub::t5 {

using lorahub::weight_spec;


namespace detail {

inline void add_attention(std::vector<lora_target>& out, const std::string& prefix, const config& c) {
    for (const char* projection : {"q", "k", "v"}) out.push_back({prefix + projection, c.d_model, c.inner_dim()});
    out.push_back({prefix + "o", c.inner_dim(), c.d_model});
}

inline void add_feed_forward(std::vector<lora_target>& out, const std::string& prefix, const config& c) {
    if (c.gated_activation) {
        out.push_back({prefix + "wi_0", c.d_model, c.d_ff});
        out.push_back({prefix + "wi_1", c.d_model, c.d_ff});
    } else {
        out.push_back({prefix + "wi", c.d_model, c.d_ff});
    }
    out.push_back({prefix + "wo", c.d_ff, c.d_model});
}

}  // namespace detail

inline std::string encoder_block(std::size_t i) { return "encoder.block." + std::to_string(i) + ".layer."; }
inline std::string decoder_block(std::size_t i) { return "decoder.block." + std::to_string(i) + ".layer."; }

/// Every linear layer of the model in forward order: the modules a LoRA adapter may target.
inline std::vector<lora_target> linear_layers(const config& c) {
    std::vector<lora_target> layers;
    for (std::size_t i = 0; i < c.num_layers; ++i) {
        detail::add_attention(layers, encoder_block(i) + "0.SelfAttention.", c);
        detail::add_feed_forward(layers, encoder_block(i) + "1.DenseReluDense.", c);
    }
    for (std::size_t i = 0; i < c.num_decoder_layers; ++i) {
        detail::add_attention(layers, decoder_block(i) + "0.SelfAttention.", c);
        detail::add_attention(layers, decoder_block(i) + "1.EncDecAttention.", c);
        detail::add_feed_forward(layers, decoder_block(i) + "2.DenseReluDense.", c);
    }
    return layers;
}

/// Every tensor the forward pass reads. `lm_head.weight` only for untied models; the
/// `*.embed_tokens.weight` aliases of `shared.weight` are optional and not listed.
inline std::vector<weight_spec> required_weights(const config& c) {
    std::vector<weight_spec> specs;
    specs.push_back({"shared.weight", {c.vocab_size, c.d_model}});
    if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, c.d_model}});
    for (const auto& layer : linear_layers(c)) specs.push_back({layer.module + ".weight", {layer.out_features, layer.in_features}});
    const std::vector<std::size_t> bias_shape{c.relative_attention_num_buckets, c.num_heads};
    specs.push_back({"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", bias_shape});
    specs.push_back({"decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", bias_shape});
    for (std::size_t i = 0; i < c.num_layers; ++i)
        for (const char* sub : {"0", "1"}) specs.push_back({encoder_block(i) + sub + ".layer_norm.weight", {c.d_model}});
    for (std::size_t i = 0; i < c.num_decoder_layers; ++i)
        for (const char* sub : {"0", "1", "2"}) specs.push_back({decoder_block(i) + sub + ".layer_norm.weight", {c.d_model}});
    specs.push_back({"encoder.final_layer_norm.weight", {c.d_model}});
    specs.push_back({"decoder.final_layer_norm.weight", {c.d_model}});
    return specs;
}

/// Checks that the store holds every tensor the config implies, with that shape and a
/// floating dtype; an embed_tokens alias, if present, must match `shared.weight`.
inline void check_weights(const config& c, const io::weight_store& store) {
    for (const auto& spec : required_weights(c)) check_tensor(store, spec.name, spec.shape, true);
    for (const char* alias : {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"})
        check_tensor(store, alias, {c.vocab_size, c.d_model}, false);
    if (c.tie_word_embeddings) check_tensor(store, "lm_head.weight", {c.vocab_size, c.d_model}, false);
}

}  // namespace lorahub::t5
