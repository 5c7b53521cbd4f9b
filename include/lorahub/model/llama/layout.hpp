#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "lorahub/core/dtype.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/io/safetensors.hpp"
#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/linear_layers.hpp"
#include "lorahub/model/llama/config.hpp"

namespace lorahub::llama {

/// The tensor-name prefix of decoder layer i ("model.layers.3.").
inline std::string layer_prefix(std::size_t i) { return "model.layers." + std::to_string(i) + "."; }

/// The projections of one decoder layer in forward order, as PEFT names their modules.
inline constexpr const char* projections[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                              "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};

/// Every linear layer of the model in forward order: the modules a LoRA adapter may target
/// (lm_head excluded, as in PEFT's CAUSAL_LM defaults).
inline std::vector<lora_target> linear_layers(const config& c) {
    std::vector<lora_target> layers;
    const std::size_t d = c.hidden_size, q = c.query_dim(), kv = c.key_value_dim(), ff = c.intermediate_size;
    for (std::size_t i = 0; i < c.num_hidden_layers; ++i) {
        const auto p = layer_prefix(i);
        layers.push_back({p + "self_attn.q_proj", d, q});
        layers.push_back({p + "self_attn.k_proj", d, kv});
        layers.push_back({p + "self_attn.v_proj", d, kv});
        layers.push_back({p + "self_attn.o_proj", q, d});
        layers.push_back({p + "mlp.gate_proj", d, ff});
        layers.push_back({p + "mlp.up_proj", d, ff});
        layers.push_back({p + "mlp.down_proj", ff, d});
    }
    return layers;
}

using lorahub::weight_spec;

/// Every tensor the forward pass reads; `lm_head.weight` only for untied models.
inline std::vector<weight_spec> required_weights(const config& c) {
    std::vector<weight_spec> specs;
    specs.push_back({"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}});
    if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}});
    for (const auto& layer : linear_layers(c)) specs.push_back({layer.module + ".weight", {layer.out_features, layer.in_features}});
    for (std::size_t i = 0; i < c.num_hidden_layers; ++i)
        for (const char* norm : {"input_layernorm.weight", "post_attention_layernorm.weight"})
            specs.push_back({layer_prefix(i) + norm, {c.hidden_size}});
    specs.push_back({"model.norm.weight", {c.hidden_size}});
    return specs;
}

/// Checks that the store holds every tensor the config implies, with that shape and a
/// floating dtype (a tied model's optional lm_head.weight too).
inline void check_weights(const config& c, const io::weight_store& store) {
    for (const auto& spec : required_weights(c)) check_tensor(store, spec.name, spec.shape, true);
    if (c.tie_word_embeddings) check_tensor(store, "lm_head.weight", {c.vocab_size, c.hidden_size}, false);
}

}  // namespace lorahub::llama
