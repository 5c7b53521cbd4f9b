#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "lorahub/backend/cpu/declarations.hpp"
#include "lorahub/backend/cpu/gemm.hpp"
#include "lorahub/backend/cpu/onednn_bf16.hpp"
#include "lorahub/backend/cpu/onednn_gemm.hpp"
#include "lorahub/backend/cpu/ops.hpp"
#include "lorahub/core/activation.hpp"
#include "lorahub/core/aligned_vector.hpp"
#include "lorahub/core/expert_routing.hpp"
#include "lorahub/core/fast_math.hpp"
#include "lorahub/core/lora.hpp"
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
    using buffer = aligned_vector<T>;

    /// A linear layer's weight W [out, in] as the backend multiplies it; fp32: a view of the
    /// loaded weights, nothing copied.
    struct weight {
        const float* data = nullptr;
        std::size_t rows = 0, cols = 0;
    };
    /// True when prepared weights still read the float32 source (so it must stay mapped).
    static constexpr bool reads_source_weights = true;
    static weight prepare(const float* w, std::size_t rows, std::size_t cols) { return {w, rows, cols}; }
    /// y = alpha * x W^T + beta * y for a prepared weight.
    static void linear(const matrix_ref& x, const weight& w, const mutable_matrix_ref& y, float alpha = 1.0f, float beta = 0.0f) {
        Gemm::multiply_transposed(x, {w.data, w.rows, w.cols, w.cols}, y, alpha, beta);
    }

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
    /// x[r, i] += bias[i] for each of the `rows` rows of x ([rows, width]): a linear layer's bias.
    static void add_bias(float* x, std::size_t rows, std::size_t width, const float* bias) {
        for (std::size_t r = 0; r < rows; ++r) {
            float* row = x + r * width;
#pragma omp simd
            for (std::size_t i = 0; i < width; ++i) row[i] += bias[i];
        }
    }
    /// Rotary position embedding in place, in the rotate-half layout: for every row r and head
    /// of x (row stride `stride`), with c = cos[r, i] and s = sin[r, i] ([rows, head_dim / 2]),
    /// (x_i, x_{i+half}) <- (x_i c - x_{i+half} s, x_{i+half} c + x_i s).
    static void rotary(float* x, std::size_t rows, std::size_t heads, std::size_t head_dim, std::size_t stride, const float* cos,
                       const float* sin) {
        cpu::rotary(x, rows, heads, head_dim, stride, cos, sin);
    }
    /// Row ids[i] of table [*, width] into out row i.
    static void gather_rows(const float* table, std::size_t width, std::span<const int> ids, float* out) {
        for (std::size_t i = 0; i < ids.size(); ++i)
            std::copy_n(table + static_cast<std::size_t>(ids[i]) * width, width, out + i * width);
    }
    static double cross_entropy(const float* logits, std::size_t n, std::size_t target) { return cpu::cross_entropy(logits, n, target); }
    static std::size_t argmax(const float* values, std::size_t n) { return cpu::argmax(values, n); }
    /// out[i] = cross_entropy of logits row rows[i].row ([*, vocab]) at rows[i].target.
    static void cross_entropy_rows(const float* logits, std::size_t vocab, std::span<const labeled_row> rows, std::span<double> out) {
#pragma omp parallel for schedule(static) if (rows.size() * vocab > (std::size_t{1} << 20))
        for (std::size_t i = 0; i < rows.size(); ++i) out[i] = cpu::cross_entropy(logits + rows[i].row * vocab, vocab, rows[i].target);
    }
    /// out[r] = argmax of row r of values [rows, n].
    static void argmax_rows(const float* values, std::size_t rows, std::size_t n, std::span<int> out) {
        for (std::size_t r = 0; r < rows; ++r) out[r] = static_cast<int>(cpu::argmax(values + r * n, n));
    }

    /// Arrow's per-token mix of LoRA experts (see expert_routing), in host memory.
    static void route_experts(const expert_routing& routing, const float* similarity, float* projected, std::size_t rows) {
        route_rows(routing, similarity, projected, rows);
    }

    /// LoRA as the backend reads it: on the CPU, the host views a model's bind() made.
    using lora_binding = lorahub::lora_binding;
    static lora_binding adopt_lora(lorahub::lora_binding host) { return host; }
    /// After the matrices a binding views changed: nothing to do when the backend reads them in place.
    static void refresh_lora(lora_binding&) {}
    static const lorahub::lora_binding& host_lora(const lora_binding& binding) { return binding; }

    /// A model parameter other than a linear weight (norm weights, embeddings, the head) as
    /// the backend reads it: on the CPU, a view of the loaded values.
    using parameter = std::span<const float>;
    static parameter place(std::span<const float> values) { return values; }
    /// Host values into backend memory, backend memory to the host, and within the backend.
    static void upload(std::span<const float> host, float* to) { std::copy(host.begin(), host.end(), to); }
    static void download(const float* from, std::size_t n, float* host) { std::copy_n(from, n, host); }
    static void copy(const float* from, std::size_t n, float* to) { std::copy_n(from, n, to); }

    /// Attention over ragged spans: per span and head, scores = scale Q K^T (one product),
    /// then per row one pass adding the relative-position bias and finding the maximum and
    /// one pass of exp and sum, then P V (one product) with each context row divided by its
    /// row's sum afterwards (a [rows, head_dim] pass instead of a [rows, keys] one).
    static void attention(const attention_problem& p) { attend(p, fp32_attention_products{}); }
    /// Query rows per block of a causal span: each block's products stop at its last query's
    /// key, so a long prompt computes about 60% of the full square (a 534-token span: 62%).
    static constexpr std::size_t causal_block = 128;

protected:
    /// Attention's two products per span and head, in fp32 (Gemm), in place in the problem's layout.
    struct fp32_attention_products {
        static constexpr bool rounds_probabilities = false;
        /// scores [queries, keys] = scale Q_h K_kh^T; returns the factor still to apply to them (1: none).
        float scores(const attention_problem& p, const attention_span& span, std::size_t h, std::size_t kh, float* scores) const {
            const std::size_t dk = p.head_dim;
            Gemm::multiply_transposed({p.query + span.query_row * p.query_stride + h * dk, span.query_count, dk, p.query_stride},
                                      {p.keys + span.key_row * p.key_stride + kh * dk, span.key_count, dk, p.key_stride},
                                      {scores, span.query_count, span.key_count, span.key_count}, p.scale);
            return 1.0f;
        }
        /// context_h [queries, head_dim] = diag(inverse_sums) P V_kh for the unnormalized probabilities P [queries, keys].
        void context(const attention_problem& p, const attention_span& span, std::size_t h, std::size_t kh, const float* probabilities,
                     const float* inverse_sums) const {
            const std::size_t dk = p.head_dim;
            float* context = p.context + span.query_row * p.query_stride + h * dk;
            Gemm::multiply({probabilities, span.query_count, span.key_count, span.key_count},
                           {p.values + span.key_row * p.key_stride + kh * dk, span.key_count, dk, p.key_stride},
                           {context, span.query_count, dk, p.query_stride});
            scale_rows(context, p.query_stride, inverse_sums, span.query_count, dk, context, p.query_stride);
        }
    };

    /// to[i, d] = from[i, d] * factors[i] for `rows` rows of `width` (in place when to == from).
    static void scale_rows(const float* from, std::size_t from_stride, const float* factors, std::size_t rows, std::size_t width, float* to,
                           std::size_t to_stride) {
        for (std::size_t i = 0; i < rows; ++i) {
            const float* in = from + i * from_stride;
            float* out = to + i * to_stride;
#pragma omp simd
            for (std::size_t d = 0; d < width; ++d) out[d] = in[d] * factors[i];
        }
    }

    /// The softmax of one span and head between the products: scores [queries, keys] scaled by
    /// `factor` with the head's relative bias added, masked, exponentiated and written to
    /// `probabilities` (float, in place, or bf16) unnormalized; inverse_sums[i] = 1 / row i's sum
    /// (of the float exponentials).
    template <class Probability>
    static void softmax_rows(const attention_problem& p, const attention_span& span, std::size_t h, float factor, float* scores,
                             Probability* probabilities, float* inverse_sums) {
        const float* bias = span.relative_bias ? span.relative_bias + h * span.bias_width() : nullptr;
        for (std::size_t i = 0; i < span.query_count; ++i) {
            float* row = scores + i * span.key_count;
            Probability* out = probabilities + i * span.key_count;
            const std::size_t position = span.query_position + i;
            const std::size_t visible = p.causal ? std::min(position + 1, span.key_count) : span.key_count;
            const std::size_t first = std::min(first_visible_key(p, position), visible);
            // bias index of relative position (j - position) is j - position + last query position
            const float* shifted = bias ? bias + (span.query_position + span.query_count - 1 - position) : nullptr;
            const float peak = scale_add_max(row + first, shifted ? shifted + first : nullptr, visible - first, factor);
            float total = 0.0f;
            if constexpr (std::same_as<Probability, float>) {
                // the default vector width: fp32 results kept as the HF fixtures' tolerances were set on them
#pragma omp simd reduction(+ : total)
                for (std::size_t j = first; j < visible; ++j) {
                    row[j] = fast_exp(row[j] - peak);
                    total += row[j];
                }
            } else {
                total = exp_to_bf16(row + first, visible - first, peak, out + first);
            }
            std::fill(out, out + first, Probability{0});
            std::fill(out + visible, out + span.key_count, Probability{0});
            inverse_sums[i] = 1.0f / total;
        }
    }

    /// attention() with its two products made by `products` (the softmax between them is fp32
    /// either way; its probabilities written as bf16 for products that take them so). A causal
    /// span without a relative bias runs as blocks of queries, each over the keys it can see.
    template <class Products>
    static void attend(const attention_problem& p, const Products& products) {
        const std::size_t jobs = p.spans.size() * p.heads;
#pragma omp parallel for schedule(dynamic)
        for (std::size_t job = 0; job < jobs; ++job) {
            const auto& span = p.spans[job / p.heads];
            const std::size_t h = job % p.heads;
            if (!p.causal || span.relative_bias != nullptr || span.query_count <= causal_block) {
                attend_span(p, products, span, h);
                continue;
            }
            for (std::size_t first = 0; first < span.query_count; first += causal_block) {
                const std::size_t count = std::min(causal_block, span.query_count - first);
                // the block's last query, at position query_position + first + count - 1, sees keys up to it
                const std::size_t keys = std::min(span.query_position + first + count, span.key_count);
                attend_span(p, products, {span.query_row + first, count, span.query_position + first, span.key_row, keys}, h);
            }
        }
    }

    /// One span (or block of a span's queries) and head of attend().
    template <class Products>
    static void attend_span(const attention_problem& p, const Products& products, const attention_span& span, std::size_t h) {
        const std::size_t kh = key_head_of(p, h);
        thread_local aligned_vector<float> scores, inverse_sums;
        scores.resize(span.query_count * span.key_count);
        inverse_sums.resize(span.query_count);
        const float factor = products.scores(p, span, h, kh, scores.data());
        if constexpr (Products::rounds_probabilities) {
            if (products.rounds(p, span)) {
                thread_local aligned_vector<std::uint16_t> rounded;
                rounded.resize(scores.size());
                softmax_rows(p, span, h, factor, scores.data(), rounded.data(), inverse_sums.data());
                products.context(p, span, h, kh, rounded.data(), inverse_sums.data());
                return;
            }
        }
        softmax_rows(p, span, h, factor, scores.data(), scores.data(), inverse_sums.data());
        products.context(p, span, h, kh, scores.data(), inverse_sums.data());
    }
};


/// The CPU backend in bf16 compute mode: the base linear layers' weights are converted to
/// bfloat16 once (prepare) and multiplied with bf16 activations, fp32 accumulation and fp32
/// output; attention's two products likewise take bf16 operands (Q, K and V rounded once per
/// call, the probabilities per span and head) with fp32 accumulation where they are large
/// enough for oneDNN (onednn_gemm::on_onednn; the small ones of a decoding step stay fp32).
/// LoRA, norms, the softmax and the loss stay in fp32.
struct bf16_backend : basic_backend<onednn_gemm> {
    static constexpr std::string_view name = "cpu-bf16";
    using weight = bf16_weight;
    static constexpr bool reads_source_weights = false;
    static weight prepare(const float* w, std::size_t rows, std::size_t cols) { return onednn_bf16::convert(w, rows, cols); }
    /// A weight stored as bf16 (a BF16 file's bytes), packed as it is: a model loaded for this
    /// backend holds no float32 copy of such weights.
    static weight prepare_bf16(const std::uint16_t* w, std::size_t rows, std::size_t cols) { return onednn_bf16::pack(w, rows, cols); }
    static void linear(const matrix_ref& x, const weight& w, const mutable_matrix_ref& y, float alpha = 1.0f, float beta = 0.0f) {
        onednn_bf16::linear(x, w, y, alpha, beta);
    }
    /// An input several linear layers read (q, k and v), rounded to bf16 once for all of them.
    using rounded_input = onednn_bf16::rounded_rows;
    static rounded_input round_input(const matrix_ref& x) { return onednn_bf16::round_input(x); }
    static void linear(const rounded_input& x, const weight& w, const mutable_matrix_ref& y, float alpha = 1.0f, float beta = 0.0f) {
        onednn_bf16::linear(x, w, y, alpha, beta);
    }
    /// A feed-forward's inner activation act(x G^T) [* x U^T] (up may be null) as the bf16 input
    /// of its down projection, the activation and the product fused into the products' epilogues.
    /// `gated`: [x.rows, G's rows] floats of scratch. Valid until the next call on the thread.
    static rounded_input feed_forward_inner(const rounded_input& x, activation kind, const weight& gate, const weight* up, float* gated) {
        thread_local aligned_vector<std::uint16_t> inner;
        return onednn_bf16::feed_forward_inner(x, kind, gate, up, gated, inner);
    }
    static void attention(const attention_problem& p) { attend(p, bf16_attention_products(p)); }

private:
    /// Attention's products on bf16 copies of the call's queries, keys and values, laid out
    /// head by head ([heads, rows, head_dim]: oneDNN runs its AMX kernels only on dense
    /// operands, twice as fast as on the strided rows, docs/benchmarks.md), made only when
    /// some product goes to oneDNN, in buffers the calling thread keeps. A span's products are
    /// bf16 where oneDNN takes both, with its probabilities written as bf16 by the softmax; fp32 otherwise.
    struct bf16_attention_products {
        static constexpr bool rounds_probabilities = true;
        fp32_attention_products fp32;
        const std::uint16_t* query = nullptr;
        const std::uint16_t* keys = nullptr;
        const std::uint16_t* values = nullptr;
        std::size_t query_rows = 0, key_rows = 0;

        explicit bf16_attention_products(const attention_problem& p) {
            bool any = false;
            for (const auto& span : p.spans) {
                query_rows = std::max(query_rows, span.query_row + span.query_count);
                key_rows = std::max(key_rows, span.key_row + span.key_count);
                any = any || onednn_gemm::on_onednn(span.query_count, span.key_count, p.head_dim);
            }
            if (!any) return;
            const std::size_t key_heads = p.key_heads == 0 ? p.heads : p.key_heads;
            thread_local aligned_vector<std::uint16_t> query_store, key_store, value_store;
            query_store.resize(p.heads * query_rows * p.head_dim);
            key_store.resize(key_heads * key_rows * p.head_dim);
            value_store.resize(key_heads * key_rows * p.head_dim);
            onednn_bf16::round_heads_to_bf16(p.query, query_rows, p.heads, p.head_dim, p.query_stride, query_store.data());
            onednn_bf16::round_heads_to_bf16(p.keys, key_rows, key_heads, p.head_dim, p.key_stride, key_store.data());
            onednn_bf16::round_heads_to_bf16(p.values, key_rows, key_heads, p.head_dim, p.key_stride, value_store.data());
            query = query_store.data(), keys = key_store.data(), values = value_store.data();
        }
        /// Whether the span's products (of equal size) run in bf16: large enough for oneDNN (and the copies made).
        bool rounds(const attention_problem& p, const attention_span& span) const {
            return query != nullptr && onednn_gemm::on_onednn(span.query_count, span.key_count, p.head_dim);
        }
        /// Unscaled: oneDNN 2.6's bf16 matmul with an output scale ran ten times slower (22 against 220 GFLOP/s, one
        /// core, 534 x 534 x 64); the softmax pass applies the scale.
        float scores(const attention_problem& p, const attention_span& span, std::size_t h, std::size_t kh, float* scores) const {
            if (!rounds(p, span)) return fp32.scores(p, span, h, kh, scores);
            const std::size_t dk = p.head_dim;
            onednn::matmul({dnnl::memory::data_type::bf16, span.query_count, span.key_count, dk, dk, dk, span.key_count, true, 1.0f, 0.0f},
                           query + (h * query_rows + span.query_row) * dk, keys + (kh * key_rows + span.key_row) * dk, scores);
            return p.scale;
        }
        void context(const attention_problem& p, const attention_span& span, std::size_t h, std::size_t kh, const float* probabilities,
                     const float* inverse_sums) const {
            fp32.context(p, span, h, kh, probabilities, inverse_sums);
        }
        /// The context of bf16 probabilities, into a dense buffer (for the AMX kernels), then normalized into place.
        void context(const attention_problem& p, const attention_span& span, std::size_t h, std::size_t kh, const std::uint16_t* probabilities,
                     const float* inverse_sums) const {
            const std::size_t dk = p.head_dim;
            thread_local aligned_vector<float> dense;
            dense.resize(span.query_count * dk);
            onednn::matmul({dnnl::memory::data_type::bf16, span.query_count, dk, span.key_count, span.key_count, dk, dk, false, 1.0f, 0.0f},
                           probabilities, values + (kh * key_rows + span.key_row) * dk, dense.data());
            scale_rows(dense.data(), dk, inverse_sums, span.query_count, dk, p.context + span.query_row * p.query_stride + h * dk, p.query_stride);
        }
    };
};
/// The reference CPU backend: Eigen for every product.
using eigen_backend = basic_backend<eigen_gemm>;

}  // namespace lorahub::cpu
