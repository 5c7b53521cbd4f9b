#pragma once

#include <concepts>
#include <cstddef>

#include "lorahub/core/activation.hpp"
#include "lorahub/model/layers/linear.hpp"

namespace lorahub::layers {

/// The linear layers of one feed-forward sublayer: indices into the model's linears. `gate` is
/// T5's wi (wi_0 when gated) or Llama's gate_proj; `up` is wi_1 or up_proj, read only when gated;
/// `down` is wo or down_proj.
struct feed_forward_linears {
    std::size_t gate = 0, up = 0, down = 0;
};

/// The feed-forward's inner width and activation: act(gate x) * (up x) when gated (T5 v1.1's
/// gated-gelu, Llama's SwiGLU), act(gate x) otherwise (original T5's relu).
struct feed_forward_shape {
    std::size_t width = 0;
    activation kind = activation::relu;
    bool gated = false;
};

/// A rounding backend that computes a feed-forward's inner activation in its products' epilogues
/// (the bf16 backend): act(x G^T) [* x U^T] as the rounded input of the down projection.
template <class Backend>
concept FusedFeedForwardBackend =
    RoundingBackend<Backend> && requires(const typename Backend::rounded_input& x, const typename Backend::weight& w, float* gated) {
        { Backend::feed_forward_inner(x, activation::relu, w, &w, gated) } -> std::same_as<typename Backend::rounded_input>;
    };

/// hidden += down(act(gate(x)) [* up(x)]) for the `rows` rows of x = s.normed.
template <class Backend>
void feed_forward(const prepared_linears<Backend>& linears, const feed_forward_linears& block, const feed_forward_shape& shape,
                  std::size_t rows, candidates<Backend> lora, scratch<Backend>& s, float* hidden) {
    s.gate.resize(rows * shape.width);
    if constexpr (FusedFeedForwardBackend<Backend>) {
        // fused only where no bias or LoRA enters between the products and the activation
        if (linears.plain(block.gate, lora) && (!shape.gated || linears.plain(block.up, lora)) && linears.plain(block.down, lora)) {
            const std::size_t in = linears.host(block.gate).in_features, out = linears.host(block.down).out_features;
            const auto inner = Backend::feed_forward_inner(Backend::round_input({s.normed.data(), rows, in, in}), shape.kind,
                                                           linears.prepared(block.gate), shape.gated ? &linears.prepared(block.up) : nullptr,
                                                           s.gate.data());
            Backend::linear(inner, linears.prepared(block.down), {hidden, rows, out, out}, 1.0f, 1.0f);
            return;
        }
    }
    if (shape.gated) {
        s.up.resize(rows * shape.width);
        linears.apply_each(s.normed.data(), rows, {{block.gate, s.gate.data()}, {block.up, s.up.data()}}, lora, s);
        Backend::activate(shape.kind, s.gate.data(), s.up.data(), rows * shape.width);
    } else {
        linears.apply(s.normed.data(), rows, block.gate, lora, s.gate.data(), s);
        Backend::activate(shape.kind, s.gate.data(), nullptr, rows * shape.width);
    }
    linears.apply(s.gate.data(), rows, block.down, lora, hidden, s, 1.0f);
}

}  // namespace lorahub::layers
