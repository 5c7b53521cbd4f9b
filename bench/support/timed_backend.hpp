// A backend for the step benchmarks that times each primitive of another (BM_*_breakdown).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include <benchmark/benchmark.h>

#include <lorahub/core/activation.hpp>
#include <lorahub/core/primitives.hpp>
#include <lorahub/model/layers/feed_forward.hpp>
#include <lorahub/model/layers/linear.hpp>

#include "matmul_ceiling.hpp"

namespace lorahub::bench {

template <class B>
struct rounded_input_of {
    struct type {};
};
template <layers::RoundingBackend B>
struct rounded_input_of<B> {
    using type = typename B::rounded_input;
};

/// A backend that forwards to B and adds up the wall time of each primitive, and of each base
/// product by shape (M, N, K, accumulating). Products with an operand of at most `Rank` columns
/// (or a weight under Rank x 4096) count as LoRA, other plain GEMMs as the head.
template <class B, std::size_t Rank = 16>
struct timed_backend {
    static constexpr std::string_view name = B::name;
    template <class T>
    using buffer = typename B::template buffer<T>;
    static inline std::map<std::string, double> seconds;

    template <class F>
    static decltype(auto) timed(const char* what, F&& f) {
        const auto begun = std::chrono::steady_clock::now();
        struct add {
            const char* what;
            std::chrono::steady_clock::time_point begun;
            ~add() { seconds[what] += std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count(); }
        } guard{what, begun};
        return f();
    }
    using weight = typename B::weight;
    static constexpr bool reads_source_weights = B::reads_source_weights;
    static weight prepare(const float* w, std::size_t rows, std::size_t cols) { return B::prepare(w, rows, cols); }
    /// A base product's shape: M, N, K and whether it accumulates into y.
    using product_shape = std::tuple<std::int64_t, std::int64_t, std::int64_t, bool>;
    /// Seconds and FLOPs of the base products by shape.
    static inline std::map<product_shape, std::pair<double, double>> linear_shapes;
    /// timed("linear", product), also added to the product's shape.
    template <class F>
    static void timed_linear(std::size_t m, std::size_t n, std::size_t k, float beta, F&& product) {
        const auto begun = std::chrono::steady_clock::now();
        timed("linear", product);
        auto& entry = linear_shapes[{static_cast<std::int64_t>(m), static_cast<std::int64_t>(n), static_cast<std::int64_t>(k), beta != 0.0f}];
        entry.first += std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
        entry.second += 2.0 * static_cast<double>(m * n * k);
    }
    static void linear(const matrix_ref& x, const weight& w, const mutable_matrix_ref& y, float alpha = 1.0f, float beta = 0.0f) {
        timed_linear(x.rows, y.cols, x.cols, beta, [&] { B::linear(x, w, y, alpha, beta); });
    }
    // a rounding backend's shared inputs (bf16), rounding counted with the linear layers
    using rounded_input = typename rounded_input_of<B>::type;
    static rounded_input round_input(const matrix_ref& x)
        requires layers::RoundingBackend<B>
    {
        return timed("linear", [&] { return B::round_input(x); });
    }
    static void linear(const rounded_input& x, const weight& w, const mutable_matrix_ref& y, float alpha = 1.0f, float beta = 0.0f)
        requires layers::RoundingBackend<B>
    {
        timed_linear(x.rows, y.cols, x.cols, beta, [&] { B::linear(x, w, y, alpha, beta); });
    }
    // a fused feed-forward's two products (gate and up side by side: N twice the width) with its activation
    static rounded_input feed_forward_inner(const rounded_input& x, activation kind, const weight& gate, const weight* up, float* gated)
        requires layers::FusedFeedForwardBackend<B>
    {
        rounded_input inner;
        timed_linear(x.rows, gate.rows * (up != nullptr ? 2 : 1), x.cols, 0.0f, [&] { inner = B::feed_forward_inner(x, kind, gate, up, gated); });
        return inner;
    }
    static void gemm_nt(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f, float beta = 0.0f) {
        timed(b.rows * b.cols <= Rank * 4096 || a.cols <= Rank ? "gemm (LoRA)" : "gemm (head)", [&] { B::gemm_nt(a, b, c, alpha, beta); });
    }
    static void gemm_nn(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f, float beta = 0.0f) {
        timed("gemm", [&] { B::gemm_nn(a, b, c, alpha, beta); });
    }
    static void rms_norm(const float* x, std::size_t rows, std::size_t width, const float* weight, float eps, float* out) {
        timed("rms_norm", [&] { B::rms_norm(x, rows, width, weight, eps, out); });
    }
    static void activate(activation kind, float* a, const float* gate, std::size_t n) {
        timed("activation", [&] { B::activate(kind, a, gate, n); });
    }
    static void scale(float* x, std::size_t n, float f) { timed("other", [&] { B::scale(x, n, f); }); }
    static void add_bias(float* x, std::size_t rows, std::size_t width, const float* bias) {
        timed("other", [&] { B::add_bias(x, rows, width, bias); });
    }
    static void rotary(float* x, std::size_t rows, std::size_t heads, std::size_t head_dim, std::size_t stride, const float* cos, const float* sin) {
        timed("other", [&] { B::rotary(x, rows, heads, head_dim, stride, cos, sin); });
    }
    static void gather_rows(const float* table, std::size_t width, std::span<const int> ids, float* out) {
        timed("other", [&] { B::gather_rows(table, width, ids, out); });
    }
    static void attention(const attention_problem& p) { timed("attention", [&] { B::attention(p); }); }
    static void cross_entropy_rows(const float* logits, std::size_t vocab, std::span<const labeled_row> rows, std::span<double> out) {
        timed("cross_entropy", [&] { B::cross_entropy_rows(logits, vocab, rows, out); });
    }
    static void argmax_rows(const float* values, std::size_t rows, std::size_t n, std::span<int> out) { B::argmax_rows(values, rows, n, out); }
    using lora_binding = typename B::lora_binding;
    static lora_binding adopt_lora(lorahub::lora_binding host) { return B::adopt_lora(std::move(host)); }
    static void refresh_lora(lora_binding& binding) { B::refresh_lora(binding); }
    static const lorahub::lora_binding& host_lora(const lora_binding& binding) { return B::host_lora(binding); }
    using parameter = typename B::parameter;
    static parameter place(std::span<const float> values) { return B::place(values); }
    static void upload(std::span<const float> host, float* to) { timed("other", [&] { B::upload(host, to); }); }
    static void download(const float* from, std::size_t n, float* host) { timed("other", [&] { B::download(from, n, host); }); }
    static void copy(const float* from, std::size_t n, float* to) { timed("other", [&] { B::copy(from, n, to); }); }
    /// The shares of the step by primitive, and each base product shape's GFLOP/s against its own
    /// oneDNN ceiling, with warm and with cold operands, as counters of `state`; then the totals cleared.
    static void report(benchmark::State& state) {
        double total = 0;
        for (const auto& [what, time] : seconds) total += time;
        for (const auto& [what, time] : seconds) state.counters[what + " %"] = 100.0 * time / total;
        seconds.clear();
        const auto type = B::name.ends_with("bf16") ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
        for (const auto& [shape, entry] : linear_shapes) {
            const auto& [m, n, k, accumulates] = shape;
            const std::string name = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + (accumulates ? "+" : "");
            const double achieved = entry.second / entry.first / 1e9;
            state.counters[name + " GFLOP/s"] = achieved;
            state.counters[name + " of ceiling %"] = 100.0 * achieved / matmul_ceiling(m, n, k, type);
            state.counters[name + " of cold ceiling %"] = 100.0 * achieved / matmul_ceiling(m, n, k, type, operands::cold);
        }
        linear_shapes.clear();
    }
};

}  // namespace lorahub::bench
