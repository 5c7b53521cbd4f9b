#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "lorahub/backend/cpu/declarations.hpp"
#include "lorahub/backend/cpu/onednn_common.hpp"

#include "lorahub/backend/cpu/gemm.hpp"
#include "lorahub/core/primitives.hpp"

namespace lorahub::cpu {

/// GEMM policy on oneDNN's matmul primitive (fp32): the measured winner on this CPU for the
/// large products of linear layers (docs/benchmarks.md). Problems smaller than
/// `min_flops` (attention per head, decoding steps of tiny models) go to Eigen, where the
/// primitive's set-up would cost more than the product. Primitives are cached per shape,
/// per thread.
template <std::size_t MinFlops>
struct basic_onednn_gemm {
    static constexpr double min_flops = static_cast<double>(MinFlops);

    static void multiply_transposed(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f,
                                    float beta = 0.0f) {
        if (2.0 * static_cast<double>(a.rows) * static_cast<double>(b.rows) * static_cast<double>(a.cols) < min_flops)
            return eigen_gemm::multiply_transposed(a, b, c, alpha, beta);
        // B [n, k] row-major is B^T [k, n] with strides (1, stride)
        run(a, {b.data, b.cols, b.rows, b.stride}, true, c, alpha, beta);
    }

    static void multiply(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f, float beta = 0.0f) {
        if (2.0 * static_cast<double>(a.rows) * static_cast<double>(b.cols) * static_cast<double>(a.cols) < min_flops)
            return eigen_gemm::multiply(a, b, c, alpha, beta);
        run(a, b, false, c, alpha, beta);
    }

private:
    struct key {
        std::size_t m, n, k, lda, ldb, ldc;
        bool b_transposed;
        float alpha, beta;
        bool operator==(const key&) const = default;
    };
    struct key_hash {
        std::size_t operator()(const key& x) const noexcept {
            std::size_t h = 1469598103934665603ull;
            for (std::size_t v : {x.m, x.n, x.k, x.lda, x.ldb, x.ldc, std::size_t(x.b_transposed),
                                  std::size_t(std::bit_cast<std::uint32_t>(x.alpha)), std::size_t(std::bit_cast<std::uint32_t>(x.beta))})
                h = (h ^ v) * 1099511628211ull;
            return h;
        }
    };
    struct cached {
        dnnl::matmul primitive;
        dnnl::memory::desc a, b, c;
    };


    /// C[m, n] = alpha * A[m, k] * B[k, n] + beta * C; B is `b` as [k, n] (transposed view when flagged).
    static void run(const matrix_ref& a, const matrix_ref& b, bool b_transposed, const mutable_matrix_ref& c, float alpha, float beta) {
        using dims = dnnl::memory::dims;
        using dt = dnnl::memory::data_type;
        const auto m = static_cast<std::int64_t>(a.rows), k = static_cast<std::int64_t>(a.cols), n = static_cast<std::int64_t>(c.cols);
        thread_local std::unordered_map<key, cached, key_hash> cache;
        const key id{a.rows, c.cols, a.cols, a.stride, b.stride, c.stride, b_transposed, alpha, beta};
        auto found = cache.find(id);
        if (found == cache.end()) {
            if (cache.size() >= 256) cache.clear();  // shapes vary with batch lengths; keep the cache bounded
            const dnnl::memory::desc a_md(dims{m, k}, dt::f32, dims{static_cast<std::int64_t>(a.stride), 1});
            const dnnl::memory::desc b_md(dims{k, n}, dt::f32,
                                          b_transposed ? dims{1, static_cast<std::int64_t>(b.stride)} : dims{static_cast<std::int64_t>(b.stride), 1});
            const dnnl::memory::desc c_md(dims{m, n}, dt::f32, dims{static_cast<std::int64_t>(c.stride), 1});
            const dnnl::matmul::primitive_desc descriptor(dnnl::matmul::desc(a_md, b_md, c_md), onednn::scale_and_accumulate(alpha, beta),
                                                          onednn::engine());
            found = cache.emplace(id, cached{dnnl::matmul(descriptor), a_md, b_md, c_md}).first;
        }
        auto& stream = onednn::stream();
        const auto& entry = found->second;
        dnnl::memory a_mem(entry.a, onednn::engine(), const_cast<float*>(a.data));
        dnnl::memory b_mem(entry.b, onednn::engine(), const_cast<float*>(b.data));
        dnnl::memory c_mem(entry.c, onednn::engine(), c.data);
        entry.primitive.execute(stream, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
        stream.wait();
    }
};



}  // namespace lorahub::cpu
