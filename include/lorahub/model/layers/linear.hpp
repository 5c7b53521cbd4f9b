#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "lorahub/core/expert_routing.hpp"
#include "lorahub/core/primitives.hpp"
#include "lorahub/model/tensors.hpp"

namespace lorahub::layers {

/// Buffers the shared layers reuse from call to call, part of each model's context: the
/// normed input of a sublayer, attention's projections and output, the feed-forward's two
/// inner activations, LoRA's rank-r intermediate and a routed LoRA's token-expert scores.
template <class Backend>
struct scratch {
    template <class T>
    using buffer = typename Backend::template buffer<T>;
    buffer<float> normed, query, key, value, attended, gate, up, lora_rank, lora_routes;
};

/// A backend that routes tokens among LoRA experts in its own memory (the CPU backends).
template <class Backend>
concept RoutingBackend = requires(const expert_routing& routing, const float* similarity, float* projected, std::size_t rows) {
    Backend::route_experts(routing, similarity, projected, rows);
};

/// One LoRA binding per candidate whose rows a pass carries (nullptr: no LoRA), in row-block order.
template <class Backend>
using candidates = std::span<const typename Backend::lora_binding* const>;

/// A backend that rounds a linear layer's input (bf16) and can do it once for layers sharing it.
template <class Backend>
concept RoundingBackend = requires(const matrix_ref& x, const typename Backend::weight& w, const mutable_matrix_ref& y) {
    typename Backend::rounded_input;
    { Backend::round_input(x) } -> std::same_as<typename Backend::rounded_input>;
    Backend::linear(Backend::round_input(x), w, y, 1.0f, 0.0f);
};

/// One of several layers apply_each() runs on the same input: its index and its output.
struct layer_output {
    std::size_t index;
    float* out;
};

/// A backend that prepares a linear weight from bf16 values as stored (the bf16 backend): a
/// model loaded for it keeps a BF16 file's linear weights as the file's bytes.
template <class Backend>
concept Bf16WeightBackend = requires(const std::uint16_t* w, std::size_t n) {
    { Backend::prepare_bf16(w, n, n) } -> std::same_as<typename Backend::weight>;
};

/// How a model loaded for `Backend` holds the linear weights a file stores as BF16.
template <class Backend>
constexpr linear_weight_form linear_weight_form_for = Bf16WeightBackend<Backend> ? linear_weight_form::stored_bf16 : linear_weight_form::float32;

/// A model's linear layers on a backend: the host weights (module names, shapes, the float32
/// or stored-bf16 source) and each one prepared once by the backend (a view for fp32; a bf16
/// copy in bf16 mode, after which the source pages are released so the peak stays near the
/// converted size). Applied with LoRA at run time, never merged. Copies share the prepared weights.
template <class Backend>
class prepared_linears {
public:
    /// `tensors` must outlive this object (models keep both behind the same shared pointers).
    explicit prepared_linears(const model_tensors& tensors) : host_(&tensors.linears) {
        auto prepared = std::make_shared<std::vector<typename Backend::weight>>();
        auto biases = std::make_shared<std::vector<std::optional<typename Backend::parameter>>>();
        auto converted = std::make_shared<std::vector<std::vector<float>>>();
        prepared->reserve(host_->size());
        for (std::size_t index = 0; index < host_->size(); ++index) {
            const auto& linear = (*host_)[index];
            if (linear.bf16.empty()) {
                prepared->push_back(Backend::prepare(linear.weight.data(), linear.out_features, linear.in_features));
            } else if constexpr (Bf16WeightBackend<Backend>) {
                prepared->push_back(Backend::prepare_bf16(linear.bf16.data(), linear.out_features, linear.in_features));
            } else {  // tensors loaded for a bf16 backend, used by another: float32 made here
                converted->push_back(float32_values(linear));
                prepared->push_back(Backend::prepare(converted->back().data(), linear.out_features, linear.in_features));
                if constexpr (!Backend::reads_source_weights) std::vector<float>().swap(converted->back());
            }
            biases->push_back(linear.bias.empty() ? std::nullopt : std::optional(Backend::place(linear.bias)));
            if constexpr (!Backend::reads_source_weights) tensors.evict_linear_source(index);
        }
        prepared_ = std::move(prepared);
        biases_ = std::move(biases);
        converted_ = std::move(converted);
    }

    const linear_weight& host(std::size_t index) const { return (*host_)[index]; }
    /// Layer `index`'s weight as the backend prepared it (for fused paths that call the backend directly).
    const typename Backend::weight& prepared(std::size_t index) const { return (*prepared_)[index]; }

    /// Whether layer `index` is its base product alone for every candidate: no bias, no LoRA.
    bool plain(std::size_t index, candidates<Backend> lora) const {
        if ((*biases_)[index]) return false;
        for (const auto* binding : lora)
            if (binding != nullptr && (*binding)[index].rank != 0) return false;
        return true;
    }

    /// out = x W^T (+ b) (+ beta out) (+ s (x A^T) B^T) for linear layer `index`. x is [rows, in];
    /// the rows are split into equal consecutive blocks, one per candidate of `lora`, and each
    /// block gets its candidate's LoRA (routed per token where it has a routing). `s` holds the
    /// rank-r intermediate and the routing scores.
    void apply(const float* x, std::size_t rows, std::size_t index, candidates<Backend> lora, float* out, scratch<Backend>& s,
               float beta = 0.0f) const {
        const auto& layer = host(index);
        Backend::linear({x, rows, layer.in_features, layer.in_features}, (*prepared_)[index], {out, rows, layer.out_features, layer.out_features},
                        1.0f, beta);
        add_bias_and_lora(x, rows, index, lora, out, s);
    }

    /// apply() (beta 0) for several layers that read the same x (q, k and v; a gated
    /// feed-forward's gate and up): a rounding backend rounds x once for all of them.
    void apply_each(const float* x, std::size_t rows, std::initializer_list<layer_output> layers, candidates<Backend> lora,
                    scratch<Backend>& s) const {
        if constexpr (RoundingBackend<Backend>) {
            const std::size_t in = host(layers.begin()->index).in_features;
            const auto rounded = Backend::round_input({x, rows, in, in});
            for (const auto& [index, out] : layers) {
                const std::size_t out_features = host(index).out_features;
                Backend::linear(rounded, (*prepared_)[index], {out, rows, out_features, out_features}, 1.0f, 0.0f);
                add_bias_and_lora(x, rows, index, lora, out, s);
            }
        } else {
            for (const auto& [index, out] : layers) apply(x, rows, index, lora, out, s);
        }
    }

private:
    /// out += b and the candidates' LoRA (see apply()) after the base product.
    void add_bias_and_lora(const float* x, std::size_t rows, std::size_t index, candidates<Backend> lora, float* out, scratch<Backend>& s) const {
        const auto& layer = host(index);
        const std::size_t in = layer.in_features, out_features = layer.out_features;
        if (const auto& bias = (*biases_)[index]) Backend::add_bias(out, rows, out_features, bias->data());
        const std::size_t block = rows / lora.size();
        for (std::size_t p = 0; p < lora.size(); ++p) {
            if (lora[p] == nullptr || (*lora[p])[index].rank == 0) continue;
            const auto& ref = (*lora[p])[index];
            const float* x_block = x + p * block * in;
            float* out_block = out + p * block * out_features;
            s.lora_rank.resize(block * ref.rank);
            Backend::gemm_nt({x_block, block, in, in}, {ref.a, ref.rank, in, in}, {s.lora_rank.data(), block, ref.rank, ref.rank});
            if (ref.routing != nullptr) {
                // device bindings carry no routing (Backend::adopt_lora refuses it off the CPU)
                if constexpr (RoutingBackend<Backend>) {
                    const auto& routing = *ref.routing;
                    s.lora_routes.resize(block * routing.experts);
                    Backend::gemm_nt({x_block, block, in, in}, {routing.prototypes.data(), routing.experts, in, in},
                                     {s.lora_routes.data(), block, routing.experts, routing.experts});
                    Backend::route_experts(routing, s.lora_routes.data(), s.lora_rank.data(), block);
                }
            }
            Backend::gemm_nt({s.lora_rank.data(), block, ref.rank, ref.rank}, {ref.b, out_features, ref.rank, ref.rank},
                             {out_block, block, out_features, out_features}, ref.scaling, 1.0f);
        }
    }

    const std::vector<linear_weight>* host_;
    std::shared_ptr<const std::vector<typename Backend::weight>> prepared_;
    std::shared_ptr<const std::vector<std::vector<float>>> converted_;  ///< float32 weights a backend reads that the tensors hold as bf16
    std::shared_ptr<const std::vector<std::optional<typename Backend::parameter>>> biases_;
};

}  // namespace lorahub::layers
