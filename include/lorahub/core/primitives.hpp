#pragma once

#include <cstddef>
#include <span>

namespace lorahub {

/// A row-major matrix operand: `rows` x `cols` with `stride` elements between row starts.
struct matrix_ref {
    const float* data;
    std::size_t rows;
    std::size_t cols;
    std::size_t stride;
};

struct mutable_matrix_ref {
    float* data;
    std::size_t rows;
    std::size_t cols;
    std::size_t stride;
};

/// Queries at rows [query_row, +query_count), at positions query_position + i of their
/// sequence, attend to key rows [key_row, +key_count) at positions 0..key_count-1.
/// `relative_bias`, when set, is [heads, query_position + query_count - 1 + key_count]:
/// the score bias of head h for relative position (key - query) is at
/// h * width + (key - query) + query_position + query_count - 1 (T5's position bias; one
/// table per sequence, made by the model).
struct attention_span {
    std::size_t query_row, query_count, query_position, key_row, key_count;
    const float* relative_bias = nullptr;

    std::size_t bias_width() const { return query_position + query_count - 1 + key_count; }
};

/// A logits row whose cross-entropy counts in a loss, and its target id.
struct labeled_row {
    std::size_t row;
    std::size_t target;
};

/// One attention call over ragged sequences: for every span and head,
/// context = softmax(scale * Q K^T + bias, causal or not) V, heads laid out [rows, heads, head_dim].
/// A causal call with a `window` (Mistral's, Qwen2's sliding window) lets the query at position
/// p see the keys at positions p - window + 1 .. p only, as HF's sliding-window mask does.
/// With grouped-query attention (key_heads < heads), keys and values hold key_heads heads and
/// query head h reads key head h / (heads / key_heads); 0 means key_heads = heads.
struct attention_problem {
    const float* query;
    const float* keys;
    const float* values;
    float* context;
    std::size_t heads, head_dim;
    std::size_t query_stride, key_stride;  ///< elements between consecutive rows (heads * head_dim when packed)
    float scale = 1.0f;
    bool causal = false;
    std::span<const attention_span> spans;
    std::size_t key_heads = 0;
    std::size_t window = 0;  ///< 0: every earlier key
};

/// The first key position the query at `position` sees.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline std::size_t first_visible_key(const attention_problem& p, std::size_t position) {
    return p.causal && p.window != 0 && position + 1 > p.window ? position + 1 - p.window : 0;
}

/// The key/value head query head `h` reads (grouped-query attention).
#if defined(__CUDACC__)
__host__ __device__
#endif
inline std::size_t key_head_of(const attention_problem& p, std::size_t h) {
    return p.key_heads == 0 ? h : h / (p.heads / p.key_heads);
}

}  // namespace lorahub
