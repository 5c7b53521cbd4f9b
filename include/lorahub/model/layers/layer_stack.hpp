#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "lorahub/model/layers/attention.hpp"
#include "lorahub/model/layers/feed_forward.hpp"
#include "lorahub/model/layers/linear.hpp"

namespace lorahub::layers {

/// One pre-norm transformer layer, as T5 and Llama both build theirs: h += SelfAttn(norm(h)),
/// then (T5's decoder) h += CrossAttn(norm(h), memory), then h += FF(norm(h)), every norm an
/// RMSNorm whose weight is placed on the backend.
template <class Parameter>
struct transformer_layer {
    Parameter self_norm;
    attention_linears self;
    Parameter cross_norm{};
    std::optional<attention_linears> cross;
    Parameter ff_norm;
    feed_forward_linears ff;
    std::size_t self_window = 0;  ///< self-attention's causal sliding window (Mistral, Qwen2); 0: none
};

/// A layer as a model's weights hold it: norm weights as float32 views of the loaded tensors.
using host_layer = transformer_layer<std::span<const float>>;

/// The layer with its norm weights placed on the backend.
template <class Backend>
transformer_layer<typename Backend::parameter> place_layer(const host_layer& host) {
    return {Backend::place(host.self_norm), host.self,    host.cross ? Backend::place(host.cross_norm) : typename Backend::parameter{},
            host.cross,                     Backend::place(host.ff_norm), host.ff, host.self_window};
}

/// The shape shared by every layer of a stack.
struct stack_shape {
    std::size_t width = 0;  ///< d_model / hidden_size
    float epsilon = 1e-6f;  ///< the RMSNorms'
    attention_geometry attention;
    feed_forward_shape feed_forward;
};

/// A stack of transformer layers on a backend: the one layer loop of a model, used by every
/// pass (T5: encode, teacher-forced decode, each generation step; Llama: forward, prefill,
/// each decoding step). What differs between passes is said by the attention inputs.
template <class Backend>
class layer_stack {
public:
    using layer = transformer_layer<typename Backend::parameter>;

    layer_stack(stack_shape shape, prepared_linears<Backend> linears, std::vector<layer> layers)
        : shape_(shape), linears_(std::move(linears)), layers_(std::move(layers)) {}

    std::size_t size() const noexcept { return layers_.size(); }
    const layer& operator[](std::size_t l) const { return layers_[l]; }
    const stack_shape& shape() const noexcept { return shape_; }
    const prepared_linears<Backend>& linears() const noexcept { return linears_; }

    /// RMSNorm of `rows` rows of x into out, with a placed norm weight.
    void norm(const float* x, std::size_t rows, const typename Backend::parameter& weight, float* out) const {
        Backend::rms_norm(x, rows, shape_.width, weight.data(), shape_.epsilon, out);
    }

    /// Runs every layer over the `rows` rows of `hidden` ([rows, width], updated in place).
    void run(float* hidden, std::size_t rows, const self_attention_input& self, const cross_attention_input* cross,
             candidates<Backend> lora, scratch<Backend>& s) const {
        const auto& g = shape_.attention;
        const std::size_t key_rows = cross != nullptr && cross->keys == nullptr ? std::max(rows, cross->memory_rows) : rows;
        s.normed.resize(rows * shape_.width);
        s.query.resize(rows * g.query_dim());
        s.key.resize(key_rows * g.key_dim());
        s.value.resize(key_rows * g.key_dim());
        s.attended.resize(rows * g.query_dim());
        for (std::size_t l = 0; l < layers_.size(); ++l) {
            const auto& current = layers_[l];
            norm(hidden, rows, current.self_norm, s.normed.data());
            self_attention(linears_, current.self, g, l, current.self_window, rows, self, lora, s, hidden);
            if (current.cross) {
                norm(hidden, rows, current.cross_norm, s.normed.data());
                cross_attention(linears_, *current.cross, g, l, rows, *cross, lora, s, hidden);
            }
            norm(hidden, rows, current.ff_norm, s.normed.data());
            feed_forward(linears_, current.ff, shape_.feed_forward, rows, lora, s, hidden);
        }
    }

private:
    stack_shape shape_;
    prepared_linears<Backend> linears_;
    std::vector<layer> layers_;
};

}  // namespace lorahub::layers
