#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "lorahub/backend/cpu/onednn_common.hpp"

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
        using dt = dnnl::memory::data_type;
        using tag = dnnl::memory::format_tag;
        const auto k = static_cast<std::int64_t>(cols), n = static_cast<std::int64_t>(rows);
        std::vector<std::uint16_t> plain(rows * cols);
        round_to_bf16(w, rows * cols, plain.data());
        const dnnl::matmul::primitive_desc chooser(
            dnnl::matmul::desc(dnnl::memory::desc({1024, k}, dt::bf16, tag::ab), dnnl::memory::desc({k, n}, dt::bf16, tag::any),
                               dnnl::memory::desc({1024, n}, dt::f32, tag::ab)),
            onednn::engine());
        auto packed = std::make_shared<dnnl::memory>(chooser.weights_desc(), onednn::engine());
        dnnl::memory source(dnnl::memory::desc({k, n}, dt::bf16, tag::ba), onednn::engine(), plain.data());
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
#pragma omp simd
        for (std::size_t i = 0; i < n; ++i) out[i] = to_bf16(in[i]);
    }

    /// Rows of x [rows, cols] (row stride `stride`) into a packed bf16 matrix.
    static void round_rows_to_bf16(const matrix_ref& x, std::uint16_t* out) {
#pragma omp parallel for schedule(static) if (x.rows * x.cols > 65536)
        for (std::size_t r = 0; r < x.rows; ++r) round_to_bf16(x.data + r * x.stride, x.cols, out + r * x.cols);
    }

    static void linear(const matrix_ref& x, const bf16_weight& w, const mutable_matrix_ref& y, float alpha, float beta) {
        using dims = dnnl::memory::dims;
        using dt = dnnl::memory::data_type;
        thread_local std::vector<std::uint16_t> x16;
        x16.resize(x.rows * x.cols);
        round_rows_to_bf16(x, x16.data());
        const auto m = static_cast<std::int64_t>(x.rows), k = static_cast<std::int64_t>(x.cols), n = static_cast<std::int64_t>(w.rows);
        const key id{x.rows, w.rows, x.cols, y.stride, alpha, beta};
        thread_local std::unordered_map<key, cached, key_hash> cache;
        auto found = cache.find(id);
        if (found == cache.end()) {
            if (cache.size() >= 256) cache.clear();
            const dnnl::memory::desc a_md(dims{m, k}, dt::bf16, dims{k, 1});
            const dnnl::memory::desc b_md = w.packed->get_desc();
            const dnnl::memory::desc c_md(dims{m, n}, dt::f32, dims{static_cast<std::int64_t>(y.stride), 1});
            const dnnl::matmul::primitive_desc descriptor(dnnl::matmul::desc(a_md, b_md, c_md), onednn::scale_and_accumulate(alpha, beta),
                                                          onednn::engine());
            found = cache.emplace(id, cached{dnnl::matmul(descriptor), a_md, c_md}).first;
        }
        auto& stream = onednn::stream();
        const auto& entry = found->second;
        dnnl::memory a_mem(entry.a, onednn::engine(), x16.data());
        dnnl::memory c_mem(entry.c, onednn::engine(), y.data);
        entry.primitive.execute(stream, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, *w.packed}, {DNNL_ARG_DST, c_mem}});
        stream.wait();
    }

private:
    struct key {
        std::size_t m, n, k, ldc;
        float alpha, beta;
        bool operator==(const key&) const = default;
    };
    struct key_hash {
        std::size_t operator()(const key& x) const noexcept {
            std::size_t h = 1469598103934665603ull;
            for (std::size_t v : {x.m, x.n, x.k, x.ldc, std::size_t(std::bit_cast<std::uint32_t>(x.alpha)),
                                  std::size_t(std::bit_cast<std::uint32_t>(x.beta))})
                h = (h ^ v) * 1099511628211ull;
            return h;
        }
    };
    struct cached {
        dnnl::matmul primitive;
        dnnl::memory::desc a, c;
    };
};

}  // namespace lorahub::cpu
