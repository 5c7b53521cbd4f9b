#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "lorahub/core/lora.hpp"
#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/t5/config.hpp"
#include "lorahub/model/tensors.hpp"

namespace lorahub::t5 {

using lorahub::weight_spec;

/// HF's names of one T5 block's sublayers and their norms, the one table that the LoRA
/// targets, the weight checks and the weights read: "{encoder|decoder}.block.{i}.layer.{j}."
/// with j = 0 SelfAttention, 1 EncDecAttention (decoder only), then DenseReluDense.
struct block_names {
    std::string self_attention, cross_attention, feed_forward;  ///< module prefixes; cross empty in the encoder
    std::string self_norm, cross_norm, ff_norm;                 ///< tensor names

    static block_names of(bool decoder, std::size_t block) {
        const std::string prefix = std::string(decoder ? "decoder" : "encoder") + ".block." + std::to_string(block) + ".layer.";
        auto sublayer = [&](std::size_t j) { return prefix + std::to_string(j) + "."; };
        block_names names;
        names.self_attention = sublayer(0) + "SelfAttention";
        names.self_norm = sublayer(0) + "layer_norm.weight";
        const std::size_t ff = decoder ? 2 : 1;
        if (decoder) {
            names.cross_attention = sublayer(1) + "EncDecAttention";
            names.cross_norm = sublayer(1) + "layer_norm.weight";
        }
        names.feed_forward = sublayer(ff) + "DenseReluDense";
        names.ff_norm = sublayer(ff) + "layer_norm.weight";
        return names;
    }
};

/// An attention sublayer's projections in forward order, as PEFT names their modules.
inline constexpr const char* attention_projections[] = {"q", "k", "v", "o"};

/// A feed-forward sublayer's projections in forward order: gate (and up when gated), then down.
inline std::vector<std::string> feed_forward_projections(const config& c) {
    if (c.gated_activation) return {"wi_0", "wi_1", "wo"};
    return {"wi", "wo"};
}

/// Every linear layer of the model in forward order: the modules a LoRA adapter may target.
inline std::vector<lora_target> linear_layers(const config& c) {
    std::vector<lora_target> layers;
    auto attention = [&](const std::string& prefix) {
        for (const char* projection : attention_projections) {
            const bool output = std::string_view(projection) == "o";
            layers.push_back({prefix + "." + projection, output ? c.inner_dim() : c.d_model, output ? c.d_model : c.inner_dim()});
        }
    };
    auto feed_forward = [&](const std::string& prefix) {
        for (const auto& projection : feed_forward_projections(c)) {
            const bool output = projection == "wo";
            layers.push_back({prefix + "." + projection, output ? c.d_ff : c.d_model, output ? c.d_model : c.d_ff});
        }
    };
    for (const bool decoder : {false, true}) {
        const std::size_t blocks = decoder ? c.num_decoder_layers : c.num_layers;
        for (std::size_t i = 0; i < blocks; ++i) {
            const auto names = block_names::of(decoder, i);
            attention(names.self_attention);
            if (decoder) attention(names.cross_attention);
            feed_forward(names.feed_forward);
        }
    }
    return layers;
}

/// The tensors of T5 outside its blocks.
inline constexpr const char* shared_embedding = "shared.weight";
inline constexpr const char* lm_head = "lm_head.weight";
inline constexpr const char* encoder_position_bias = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
inline constexpr const char* decoder_position_bias = "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
inline constexpr const char* encoder_final_norm = "encoder.final_layer_norm.weight";
inline constexpr const char* decoder_final_norm = "decoder.final_layer_norm.weight";

/// Every tensor the forward pass reads. `lm_head.weight` only for untied models; the
/// `*.embed_tokens.weight` aliases of `shared.weight` are optional and not listed.
inline std::vector<weight_spec> required_weights(const config& c) {
    std::vector<weight_spec> specs;
    specs.push_back({shared_embedding, {c.vocab_size, c.d_model}});
    if (!c.tie_word_embeddings) specs.push_back({lm_head, {c.vocab_size, c.d_model}});
    for (const auto& layer : linear_layers(c)) specs.push_back({layer.module + ".weight", {layer.out_features, layer.in_features}});
    const std::vector<std::size_t> bias_shape{c.relative_attention_num_buckets, c.num_heads};
    specs.push_back({encoder_position_bias, bias_shape});
    specs.push_back({decoder_position_bias, bias_shape});
    for (std::size_t i = 0; i < c.num_layers; ++i) {
        const auto names = block_names::of(false, i);
        for (const auto* norm : {&names.self_norm, &names.ff_norm}) specs.push_back({*norm, {c.d_model}});
    }
    for (std::size_t i = 0; i < c.num_decoder_layers; ++i) {
        const auto names = block_names::of(true, i);
        for (const auto* norm : {&names.self_norm, &names.cross_norm, &names.ff_norm}) specs.push_back({*norm, {c.d_model}});
    }
    specs.push_back({encoder_final_norm, {c.d_model}});
    specs.push_back({decoder_final_norm, {c.d_model}});
    return specs;
}

/// Checks that the store holds every tensor the config implies, with that shape and a
/// floating dtype; an embed_tokens alias, if present, must match `shared.weight`.
inline void check_weights(const config& c, const io::weight_store& store) {
    // an encoder block has q, k, v, o, wi (or wi_0, wi_1), wo and two norms; a decoder block five more
    check_layer_count(store, "num_layers", c.num_layers, 8);
    check_layer_count(store, "num_decoder_layers", c.num_decoder_layers, 13);
    for (const auto& spec : required_weights(c)) check_tensor(store, spec.name, spec.shape, true);
    for (const char* alias : {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"})
        check_tensor(store, alias, {c.vocab_size, c.d_model}, false);
    if (c.tie_word_embeddings) check_tensor(store, lm_head, {c.vocab_size, c.d_model}, false);
}

}  // namespace lorahub::t5
