#pragma once

#include <cstddef>

#include "lorahub/core/eigen.hpp"

#include "lorahub/core/primitives.hpp"

namespace lorahub::cpu {

/// GEMM policy on Eigen: the dependency-light reference implementation.
/// Computes C = alpha * A B^T + beta * C, the shape of every linear layer (y = x W^T with W
/// stored [out, in] as PyTorch does) and of attention scores (Q K^T).
struct eigen_gemm {
    using row_major = row_matrix;
    using const_map = Eigen::Map<const row_major, 0, Eigen::OuterStride<>>;
    using map = Eigen::Map<row_major, 0, Eigen::OuterStride<>>;

    static const_map view(const matrix_ref& m) {
        return const_map(m.data, static_cast<Eigen::Index>(m.rows), static_cast<Eigen::Index>(m.cols),
                         Eigen::OuterStride<>(static_cast<Eigen::Index>(m.stride)));
    }
    static map view(const mutable_matrix_ref& m) {
        return map(m.data, static_cast<Eigen::Index>(m.rows), static_cast<Eigen::Index>(m.cols),
                   Eigen::OuterStride<>(static_cast<Eigen::Index>(m.stride)));
    }

    /// C = alpha * A B^T + beta * C; A is [m, k], B is [n, k], C is [m, n].
    static void multiply_transposed(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f,
                                    float beta = 0.0f) {
        auto out = view(c);
        if (beta == 0.0f) out.noalias() = alpha * (view(a) * view(b).transpose());
        else {
            if (beta != 1.0f) out *= beta;
            out.noalias() += alpha * (view(a) * view(b).transpose());
        }
    }

    /// C = alpha * A B + beta * C; A is [m, k], B is [k, n], C is [m, n].
    static void multiply(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f,
                         float beta = 0.0f) {
        auto out = view(c);
        if (beta == 0.0f) out.noalias() = alpha * (view(a) * view(b));
        else {
            if (beta != 1.0f) out *= beta;
            out.noalias() += alpha * (view(a) * view(b));
        }
    }
};

}  // namespace lorahub::cpu
