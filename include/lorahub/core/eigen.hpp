#pragma once

/// Eigen, for every lorahub header that uses it. GCC 12 reports its own AVX-512 intrinsics'
/// `__m512 __Y = __Y;` idiom as (maybe) uninitialized once Eigen's product kernels are inlined
/// into a caller, hundreds of false positives per translation unit; those two warnings are
/// off for the code included here, and only for it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <Eigen/Dense>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace lorahub {
/// A float matrix in PyTorch's (row-major) layout.
using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
}  // namespace lorahub
