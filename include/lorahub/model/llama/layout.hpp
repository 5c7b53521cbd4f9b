#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "lorahub/core/lora.hpp"
#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/llama/config.hpp"
#include "lorahub/model/tensors.hpp"

namespace lorahub::llama {

using lorahub::weight_spec;

/// The tensor-name prefix of decoder layer i ("model.layers.3.").
inline std::string layer_prefix(std::size_t i) { return "model.layers." + std::to_string(i) + "."; }

/// A decoder layer's tensors as HF names them under layer_prefix(i): the one table that the
/// LoRA targets, the weight checks and the weights read.
struct layer_names {
    static constexpr const char* q = "self_attn.q_proj";
    static constexpr const char* k = "self_attn.k_proj";
    static constexpr const char* v = "self_attn.v_proj";
    static constexpr const char* o = "self_attn.o_proj";
    static constexpr const char* gate = "mlp.gate_proj";
    static constexpr const char* up = "mlp.up_proj";
    static constexpr const char* down = "mlp.down_proj";
    static constexpr const char* input_norm = "input_layernorm.weight";
    static constexpr const char* post_attention_norm = "post_attention_layernorm.weight";
};

/// The tensors outside the decoder layers.
inline constexpr const char* embed_tokens = "model.embed_tokens.weight";
inline constexpr const char* lm_head = "lm_head.weight";
inline constexpr const char* final_norm = "model.norm.weight";

/// Every linear layer of the model in forward order: the modules a LoRA adapter may target
/// (lm_head excluded, as in PEFT's CAUSAL_LM defaults).
inline std::vector<lora_target> linear_layers(const config& c) {
    std::vector<lora_target> layers;
    const std::size_t d = c.hidden_size, q = c.query_dim(), kv = c.key_value_dim(), ff = c.intermediate_size;
    for (std::size_t i = 0; i < c.num_hidden_layers; ++i) {
        const auto p = layer_prefix(i);
        layers.push_back({p + layer_names::q, d, q});
        layers.push_back({p + layer_names::k, d, kv});
        layers.push_back({p + layer_names::v, d, kv});
        layers.push_back({p + layer_names::o, q, d});
        layers.push_back({p + layer_names::gate, d, ff});
        layers.push_back({p + layer_names::up, d, ff});
        layers.push_back({p + layer_names::down, ff, d});
    }
    return layers;
}

/// Whether linear layer `module` has a bias (Qwen2's q, k and v projections).
inline bool has_bias(const config& c, const std::string& module) {
    if (!c.qkv_bias) return false;
    for (const char* name : {layer_names::q, layer_names::k, layer_names::v})
        if (module.ends_with(name)) return true;
    return false;
}

/// Every tensor the forward pass reads; `lm_head.weight` only for untied models.
inline std::vector<weight_spec> required_weights(const config& c) {
    std::vector<weight_spec> specs;
    specs.push_back({embed_tokens, {c.vocab_size, c.hidden_size}});
    if (!c.tie_word_embeddings) specs.push_back({lm_head, {c.vocab_size, c.hidden_size}});
    for (const auto& layer : linear_layers(c)) {
        specs.push_back({layer.module + ".weight", {layer.out_features, layer.in_features}});
        if (has_bias(c, layer.module)) specs.push_back({layer.module + ".bias", {layer.out_features}});
    }
    for (std::size_t i = 0; i < c.num_hidden_layers; ++i)
        for (const char* norm : {layer_names::input_norm, layer_names::post_attention_norm}) specs.push_back({layer_prefix(i) + norm, {c.hidden_size}});
    specs.push_back({final_norm, {c.hidden_size}});
    return specs;
}

/// Checks that the store holds every tensor the config implies, with that shape and a
/// floating dtype (a tied model's optional lm_head.weight too).
inline void check_weights(const config& c, const io::weight_store& store) {
    // a layer has q, k, v, o, gate, up, down and two norms (and Qwen2's three biases)
    check_layer_count(store, "num_hidden_layers", c.num_hidden_layers, c.qkv_bias ? 12 : 9);
    for (const auto& spec : required_weights(c)) check_tensor(store, spec.name, spec.shape, true);
    if (c.tie_word_embeddings) check_tensor(store, lm_head, {c.vocab_size, c.hidden_size}, false);
}

}  // namespace lorahub::llama
