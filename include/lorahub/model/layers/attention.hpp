#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

#include "lorahub/core/primitives.hpp"
#include "lorahub/model/layers/linear.hpp"

namespace lorahub::layers {

/// The linear layers of one attention sublayer: indices into the model's linears.
struct attention_linears {
    std::size_t q = 0, k = 0, v = 0, o = 0;
};

/// A model's attention heads: `heads` query heads of `head_dim` reading `key_heads` key/value
/// heads (grouped-query attention when fewer), scores scaled by `scale`.
struct attention_geometry {
    std::size_t heads = 0, key_heads = 0, head_dim = 0;
    float scale = 1.0f;

    std::size_t query_dim() const { return heads * head_dim; }
    std::size_t key_dim() const { return key_heads * head_dim; }
};

/// `count` consecutive key/value rows of a pass copied to a cache, from row `from` to cache row `to`.
struct row_run {
    std::size_t from = 0, to = 0, count = 0;
};

/// Keys and values kept across passes (generation): [layers, layer_rows, key_dim] each.
struct kv_cache {
    float* keys = nullptr;
    float* values = nullptr;
    std::size_t layer_rows = 0;
    std::span<const row_run> writes;  ///< this pass's rows stored in every layer's cache
    bool read = false;                ///< attention reads the cache (a decoding step), not this pass's rows
};

/// What self-attention reads besides the sublayer's input: its spans (queries and keys are
/// rows of the same pass, or of the cache), causality, rotary rows per token (Llama; null:
/// none) and the KV cache (null: none).
struct self_attention_input {
    std::span<const attention_span> spans;
    bool causal = false;
    const float* cos = nullptr;  ///< [rows, head_dim / 2]
    const float* sin = nullptr;
    const kv_cache* cache = nullptr;
};

/// What cross-attention (T5's decoder) attends to: `memory_rows` rows of `memory` projected to
/// keys and values in every layer, or keys and values projected once ([layers, layer_rows,
/// key_dim]: generation), when `keys` is set.
struct cross_attention_input {
    std::span<const attention_span> spans;
    const float* memory = nullptr;
    std::size_t memory_rows = 0;
    const float* keys = nullptr;
    const float* values = nullptr;
    std::size_t layer_rows = 0;
};

/// Backend::attention over the pass's queries (s.query) and the given keys and values, into s.attended.
/// `window`: a causal sliding window (0: none).
template <class Backend>
void attend(const attention_geometry& g, const float* keys, const float* values, std::span<const attention_span> spans, bool causal,
            std::size_t window, scratch<Backend>& s) {
    Backend::attention({s.query.data(), keys, values, s.attended.data(), g.heads, g.head_dim, g.query_dim(), g.key_dim(), g.scale, causal,
                        spans, g.key_heads, window});
}

/// hidden += o(attention(q(x), k(x), v(x))) for the `rows` rows of x = s.normed, layer `layer`:
/// the queries and keys rotated when the input gives rotary rows, the keys and values stored
/// into the cache when it has writes, attention over the cache when it is read; within the
/// layer's causal sliding `window` (0: none).
template <class Backend>
void self_attention(const prepared_linears<Backend>& linears, const attention_linears& block, const attention_geometry& g,
                    std::size_t layer, std::size_t window, std::size_t rows, const self_attention_input& in, candidates<Backend> lora,
                    scratch<Backend>& s, float* hidden) {
    const std::size_t kv = g.key_dim();
    linears.apply_each(s.normed.data(), rows, {{block.q, s.query.data()}, {block.k, s.key.data()}, {block.v, s.value.data()}}, lora, s);
    if (in.cos != nullptr) {
        Backend::rotary(s.query.data(), rows, g.heads, g.head_dim, g.query_dim(), in.cos, in.sin);
        Backend::rotary(s.key.data(), rows, g.key_heads, g.head_dim, kv, in.cos, in.sin);
    }
    const float* keys = s.key.data();
    const float* values = s.value.data();
    if (in.cache != nullptr) {
        const auto& cache = *in.cache;
        float* layer_keys = cache.keys + layer * cache.layer_rows * kv;
        float* layer_values = cache.values + layer * cache.layer_rows * kv;
        for (const auto& run : cache.writes) {
            Backend::copy(s.key.data() + run.from * kv, run.count * kv, layer_keys + run.to * kv);
            Backend::copy(s.value.data() + run.from * kv, run.count * kv, layer_values + run.to * kv);
        }
        if (cache.read) keys = layer_keys, values = layer_values;
    }
    attend(g, keys, values, in.spans, in.causal, window, s);
    linears.apply(s.attended.data(), rows, block.o, lora, hidden, s, 1.0f);
}

/// hidden += o(attention(q(x), k(memory), v(memory))) for the `rows` rows of x = s.normed,
/// layer `layer`; keys and values projected here, or read from the input's per-layer projections.
template <class Backend>
void cross_attention(const prepared_linears<Backend>& linears, const attention_linears& block, const attention_geometry& g,
                     std::size_t layer, std::size_t rows, const cross_attention_input& in, candidates<Backend> lora, scratch<Backend>& s,
                     float* hidden) {
    linears.apply(s.normed.data(), rows, block.q, lora, s.query.data(), s);
    const float* keys = s.key.data();
    const float* values = s.value.data();
    if (in.keys != nullptr) {
        keys = in.keys + layer * in.layer_rows * g.key_dim();
        values = in.values + layer * in.layer_rows * g.key_dim();
    } else {
        linears.apply_each(in.memory, in.memory_rows, {{block.k, s.key.data()}, {block.v, s.value.data()}}, lora, s);
    }
    attend(g, keys, values, in.spans, false, 0, s);
    linears.apply(s.attended.data(), rows, block.o, lora, hidden, s, 1.0f);
}

}  // namespace lorahub::layers
