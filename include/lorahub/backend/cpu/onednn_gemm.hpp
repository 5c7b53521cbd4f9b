#pragma once

#include <cstddef>
#include <cstdint>

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
/// per thread (onednn::matmul_for).
template <std::size_t MinFlops>
struct basic_onednn_gemm {
    static constexpr double min_flops = static_cast<double>(MinFlops);

    /// Whether an [m, k] x [k, n] product goes to oneDNN (else to Eigen).
    static bool on_onednn(std::size_t m, std::size_t n, std::size_t k) {
        return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) >= min_flops;
    }

    static void multiply_transposed(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f,
                                    float beta = 0.0f) {
        if (!on_onednn(a.rows, b.rows, a.cols))
            return eigen_gemm::multiply_transposed(a, b, c, alpha, beta);
        // B [n, k] row-major is B^T [k, n] with strides (1, stride)
        run(a, {b.data, b.cols, b.rows, b.stride}, true, c, alpha, beta);
    }

    static void multiply(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f, float beta = 0.0f) {
        if (!on_onednn(a.rows, b.cols, a.cols))
            return eigen_gemm::multiply(a, b, c, alpha, beta);
        run(a, b, false, c, alpha, beta);
    }

private:
    /// C[m, n] = alpha * A[m, k] * B[k, n] + beta * C; B is `b` as [k, n] (transposed view when flagged).
    static void run(const matrix_ref& a, const matrix_ref& b, bool b_transposed, const mutable_matrix_ref& c, float alpha, float beta) {
        onednn::matmul({dnnl::memory::data_type::f32, a.rows, c.cols, a.cols, a.stride, b.stride, c.stride, b_transposed, alpha, beta}, a.data, b.data,
                       c.data);
    }
};

}  // namespace lorahub::cpu
