#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "lorahub/backend/cpu/onednn_common.hpp"
#include "lorahub/core/activation.hpp"
#include "lorahub/core/aligned_vector.hpp"

#include "lorahub/core/dtype.hpp"
#include "lorahub/core/primitives.hpp"

namespace lorahub::cpu {

/// A linear layer's weight W [out, in] converted once to bfloat16 (round to nearest even,
/// as torch's .to(torch.bfloat16)) and packed in the blocked layout oneDNN's bf16 matmul
/// reads fastest (the same layout serves every number of rows); shared by model copies.
struct bf16_weight {
    std::shared_ptr<const dnnl::memory> packed;
    std::size_t rows = 0, cols = 0;
};

/// y = alpha * bf16(x) W^T + beta * y with oneDNN's bf16 matmul: bf16 inputs, fp32
/// accumulation and fp32 output. x is rounded to bf16 into a per-thread buffer first.
struct onednn_bf16 {
    static bf16_weight convert(const float* w, std::size_t rows, std::size_t cols) {
        std::vector<std::uint16_t> plain(rows * cols);
        round_to_bf16(w, rows * cols, plain.data());
        return pack(plain.data(), rows, cols);
    }

    /// W [rows, cols] already in bf16 (row-major, any alignment of 2), packed.
    static bf16_weight pack(const std::uint16_t* w, std::size_t rows, std::size_t cols) {
        using dt = dnnl::memory::data_type;
        using tag = dnnl::memory::format_tag;
        const auto k = static_cast<std::int64_t>(cols), n = static_cast<std::int64_t>(rows);
        const dnnl::matmul::primitive_desc chooser(
            dnnl::matmul::desc(dnnl::memory::desc({1024, k}, dt::bf16, tag::ab), dnnl::memory::desc({k, n}, dt::bf16, tag::any),
                               dnnl::memory::desc({1024, n}, dt::f32, tag::ab)),
            onednn::engine());
        auto packed = std::make_shared<dnnl::memory>(chooser.weights_desc(), onednn::engine());
        dnnl::memory source(dnnl::memory::desc({k, n}, dt::bf16, tag::ba), onednn::engine(), const_cast<std::uint16_t*>(w));  // read only
        dnnl::reorder(source, *packed).execute(onednn::stream(), source, *packed);
        onednn::stream().wait();
        return {std::move(packed), rows, cols};
    }

    /// f32_to_bf16 (round to nearest even, NaN kept quiet) without branches, so it vectorizes.
    static std::uint16_t to_bf16(float value) {
        const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
        const std::uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
        const std::uint32_t quiet_nan = (bits >> 16) | 0x40u;
        return static_cast<std::uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
    }

    static void round_to_bf16(const float* in, std::size_t n, std::uint16_t* out) {
#pragma omp simd simdlen(16)
        for (std::size_t i = 0; i < n; ++i) out[i] = to_bf16(in[i]);
    }

    /// Rows of x [rows, cols] (row stride `stride`) into a packed bf16 matrix.
    static void round_rows_to_bf16(const matrix_ref& x, std::uint16_t* out) {
#pragma omp parallel for schedule(static) if (x.rows * x.cols > 65536)
        for (std::size_t r = 0; r < x.rows; ++r) round_to_bf16(x.data + r * x.stride, x.cols, out + r * x.cols);
    }

    /// Rows of x [rows, heads * head_dim] (row stride `stride`) rounded into head-major order:
    /// out [heads, rows, head_dim], each head's rows dense.
    static void round_heads_to_bf16(const float* x, std::size_t rows, std::size_t heads, std::size_t head_dim, std::size_t stride,
                                    std::uint16_t* out) {
#pragma omp parallel for schedule(static) if (rows * heads * head_dim > 65536)
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t h = 0; h < heads; ++h) round_to_bf16(x + r * stride + h * head_dim, head_dim, out + (h * rows + r) * head_dim);
    }

    /// x [rows, cols] rounded to bf16, for one or more linear layers that read it.
    struct rounded_rows {
        const std::uint16_t* data = nullptr;
        std::size_t rows = 0, cols = 0;
    };

    /// x rounded into `buffer` (resized to fit).
    static rounded_rows round_into(const matrix_ref& x, aligned_vector<std::uint16_t>& buffer) {
        buffer.resize(x.rows * x.cols);
        round_rows_to_bf16(x, buffer.data());
        return {buffer.data(), x.rows, x.cols};
    }

    /// x rounded into this thread's buffer for shared inputs (valid until the next round_input on the thread).
    static rounded_rows round_input(const matrix_ref& x) {
        thread_local aligned_vector<std::uint16_t> shared;
        return round_into(x, shared);
    }

    static void linear(const rounded_rows& x, const bf16_weight& w, const mutable_matrix_ref& y, float alpha, float beta) {
        onednn::matmul({dnnl::memory::data_type::bf16, x.rows, w.rows, x.cols, x.cols, 0, y.stride, false, alpha, beta}, x.data, nullptr, y.data,
                       w.packed.get());
    }

    /// oneDNN's eltwise algorithm computing `kind` (swish with alpha 1 is SiLU).
    static dnnl::algorithm eltwise_of(activation kind) {
        switch (kind) {
            case activation::relu: return dnnl::algorithm::eltwise_relu;
            case activation::gelu_tanh: return dnnl::algorithm::eltwise_gelu_tanh;
            case activation::gelu_erf: return dnnl::algorithm::eltwise_gelu_erf;
            case activation::silu: return dnnl::algorithm::eltwise_swish;
        }
        return dnnl::algorithm::undef;
    }

    /// A feed-forward's inner activation act(x G^T) (* x U^T when `up` is given) with the
    /// activation and the product in the matmuls' fp32 epilogues and the result stored as bf16
    /// into `out` ([rows, G's rows]), ready for the down projection. `gated` holds act(x G^T)
    /// in fp32 (used only with `up`).
    static rounded_rows feed_forward_inner(const rounded_rows& x, activation kind, const bf16_weight& gate, const bf16_weight* up,
                                           float* gated, aligned_vector<std::uint16_t>& out) {
        using dt = dnnl::memory::data_type;
        const std::size_t width = gate.rows;
        out.resize(x.rows * width);
        const auto act = eltwise_of(kind);
        if (up == nullptr) {
            onednn::matmul({dt::bf16, x.rows, width, x.cols, x.cols, 0, width, false, 1.0f, 0.0f, act, false, dt::bf16}, x.data, nullptr,
                           out.data(), gate.packed.get());
        } else {
            onednn::matmul({dt::bf16, x.rows, width, x.cols, x.cols, 0, width, false, 1.0f, 0.0f, act}, x.data, nullptr, gated, gate.packed.get());
            onednn::matmul({dt::bf16, x.rows, width, x.cols, x.cols, 0, width, false, 1.0f, 0.0f, dnnl::algorithm::undef, true, dt::bf16}, x.data,
                           nullptr, out.data(), up->packed.get(), gated);
        }
        return {out.data(), x.rows, width};
    }

    /// Rounds x into its own per-thread buffer, so that a shared round_input() stays valid across it.
    static void linear(const matrix_ref& x, const bf16_weight& w, const mutable_matrix_ref& y, float alpha, float beta) {
        thread_local aligned_vector<std::uint16_t> own;
        linear(round_into(x, own), w, y, alpha, beta);
    }
};

}  // namespace lorahub::cpu
