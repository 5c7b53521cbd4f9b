#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "lorahub/backend/cpu/gemm.hpp"
#include "lorahub/backend/cpu/onednn_gemm.hpp"
#include "lorahub/backend/cpu/ops.hpp"
#include "lorahub/core/activation.hpp"
#include "lorahub/core/primitives.hpp"

namespace lorahub::cpu {

/// The CPU backend: the table of primitives a model is written against (in the style of
/// CTranslate2's primitives<Device>). `Gemm` is the matrix-product policy: oneDNN for speed
/// (cpu::backend), Eigen as the dependency-light reference (cpu::eigen_backend).
template <class Gemm>
struct basic_backend {
    static constexpr std::string_view name = "cpu";
    using gemm = Gemm;
    template <class T>
    using buffer = std::vector<T>;

    /// C = alpha * A B^T + beta * C; A is [m, k], B is [n, k].
    static void gemm_nt(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f, float beta = 0.0f) {
        Gemm::multiply_transposed(a, b, c, alpha, beta);
    }
    /// C = alpha * A B + beta * C; A is [m, k], B is [k, n].
    static void gemm_nn(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f, float beta = 0.0f) {
        Gemm::multiply(a, b, c, alpha, beta);
    }

    static void rms_norm(const float* x, std::size_t rows, std::size_t width, const float* weight, float epsilon, float* out) {
        cpu::rms_norm(x, rows, width, weight, epsilon, out);
    }
    /// a = act(a) * gate (gate may be null: a = act(a)).
    static void activate(activation kind, float* a, const float* gate, std::size_t n) { cpu::activate_in_place(kind, a, gate, n); }
    /// out[i] = x[i] * factor.
    static void scale(float* x, std::size_t n, float factor) {
        for (std::size_t i = 0; i < n; ++i) x[i] *= factor;
    }
    /// Row ids[i] of table [*, width] into out row i.
    static void gather_rows(const float* table, std::size_t width, std::span<const int> ids, float* out) {
        for (std::size_t i = 0; i < ids.size(); ++i)
            std::copy_n(table + static_cast<std::size_t>(ids[i]) * width, width, out + i * width);
    }
    static double cross_entropy(const float* logits, std::size_t n, std::size_t target) { return cpu::cross_entropy(logits, n, target); }
    static std::size_t argmax(const float* values, std::size_t n) { return cpu::argmax(values, n); }

    /// Attention over ragged spans: per span and head, two products and a softmax of the
    /// scores with the span's relative-position bias and the causal mask.
    static void attention(const attention_problem& p) {
        const std::size_t jobs = p.spans.size() * p.heads;
#pragma omp parallel for schedule(dynamic)
        for (std::size_t job = 0; job < jobs; ++job) {
            const auto& span = p.spans[job / p.heads];
            const std::size_t h = job % p.heads, dk = p.head_dim;
            thread_local std::vector<float> scores;
            scores.resize(span.query_count * span.key_count);
            Gemm::multiply_transposed({p.query + span.query_row * p.query_stride + h * dk, span.query_count, dk, p.query_stride},
                                      {p.keys + span.key_row * p.key_stride + h * dk, span.key_count, dk, p.key_stride},
                                      {scores.data(), span.query_count, span.key_count, span.key_count}, p.scale);
            const float* bias = span.relative_bias ? span.relative_bias + h * span.bias_width() : nullptr;
            for (std::size_t i = 0; i < span.query_count; ++i) {
                float* row = scores.data() + i * span.key_count;
                const std::size_t position = span.query_position + i;
                const std::size_t visible = p.causal ? std::min(position + 1, span.key_count) : span.key_count;
                if (bias) {
                    // index of relative position (j - position) is j - position + last query position
                    const float* shifted = bias + (span.query_position + span.query_count - 1 - position);
                    for (std::size_t j = 0; j < visible; ++j) row[j] += shifted[j];
                }
                cpu::softmax_row(row, visible);
                std::fill(row + visible, row + span.key_count, 0.0f);
            }
            Gemm::multiply({scores.data(), span.query_count, span.key_count, span.key_count},
                           {p.values + span.key_row * p.key_stride + h * dk, span.key_count, dk, p.key_stride},
                           {p.context + span.query_row * p.query_stride + h * dk, span.query_count, dk, p.query_stride});
        }
    }
};

/// The default CPU backend: oneDNN for the products (the measured winner here).
using backend = basic_backend<onednn_gemm>;
/// The reference CPU backend: Eigen for every product.
using eigen_backend = basic_backend<eigen_gemm>;

}  // namespace lorahub::cpu
