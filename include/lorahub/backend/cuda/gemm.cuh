#pragma once

/// Row-major products on cuBLAS. cuBLAS is column-major; a row-major [m, n] matrix with
/// stride ld is the column-major [n, m] matrix with the same ld, so C = A op(B) is computed
/// as C^T = op(B)^T A^T by swapping the operands. fp32, TF32 (fp32 storage, TF32 tensor
/// cores) and bf16 operands with fp32 accumulation and fp32 output; never fp16 (T5's
/// feed-forward overflows it).

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <cublas_v2.h>
#include <cuda_bf16.h>

#include "lorahub/backend/cuda/runtime.cuh"

namespace lorahub::cuda {

enum class math { fp32, tf32 };

namespace detail {
inline cublasComputeType_t compute_type(math mode) {
    return mode == math::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}
inline int narrow(std::size_t value) {
    if (value > static_cast<std::size_t>(INT32_MAX)) throw argument_error("cuBLAS", "a matrix extent exceeds 2^31 - 1");
    return static_cast<int>(value);
}
}  // namespace detail

/// One row-major operand on the device: `rows` x `cols`, `stride` elements between rows.
template <class T>
struct device_matrix {
    const T* data;
    std::size_t rows, cols, stride;
};
template <class T>
struct mutable_device_matrix {
    T* data;
    std::size_t rows, cols, stride;
};

/// C = alpha A B^T + beta C, A [m, k] and B [n, k] of element type T (float or bf16).
template <class T>
void gemm_nt(const device_matrix<T>& a, const device_matrix<T>& b, const mutable_device_matrix<float>& c, float alpha, float beta,
             math mode = math::fp32) {
    if (a.cols != b.cols || c.rows != a.rows || c.cols != b.rows) throw shape_error("cuda::gemm_nt", "operand shapes do not match");
    if (c.rows == 0 || c.cols == 0) return;
    constexpr cudaDataType_t type = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_16BF;
    check(cublasGemmEx(session::current().blas(), CUBLAS_OP_T, CUBLAS_OP_N, detail::narrow(b.rows), detail::narrow(a.rows),
                       detail::narrow(a.cols), &alpha, b.data, type, detail::narrow(b.stride), a.data, type, detail::narrow(a.stride), &beta,
                       c.data, CUDA_R_32F, detail::narrow(c.stride), detail::compute_type(mode), CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx (A B^T)");
}

/// C = alpha A B + beta C, A [m, k] and B [k, n], fp32.
inline void gemm_nn(const device_matrix<float>& a, const device_matrix<float>& b, const mutable_device_matrix<float>& c, float alpha,
                    float beta, math mode = math::fp32) {
    if (a.cols != b.rows || c.rows != a.rows || c.cols != b.cols) throw shape_error("cuda::gemm_nn", "operand shapes do not match");
    if (c.rows == 0 || c.cols == 0) return;
    check(cublasGemmEx(session::current().blas(), CUBLAS_OP_N, CUBLAS_OP_N, detail::narrow(b.cols), detail::narrow(a.rows),
                       detail::narrow(a.cols), &alpha, b.data, CUDA_R_32F, detail::narrow(b.stride), a.data, CUDA_R_32F,
                       detail::narrow(a.stride), &beta, c.data, CUDA_R_32F, detail::narrow(c.stride), detail::compute_type(mode),
                       CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx (A B)");
}

/// `count` independent products C_i = alpha A_i B_i^T + beta C_i, operand i at data +
/// i * batch_stride: a population's LoRA shrink (x_p A_p^T) and expand (t_p B_p^T) in one call.
inline void gemm_nt_batched(const device_matrix<float>& a, std::size_t a_batch_stride, const device_matrix<float>& b,
                            std::size_t b_batch_stride, const mutable_device_matrix<float>& c, std::size_t c_batch_stride,
                            std::size_t count, float alpha, float beta) {
    if (a.cols != b.cols || c.rows != a.rows || c.cols != b.rows) throw shape_error("cuda::gemm_nt_batched", "operand shapes do not match");
    if (c.rows == 0 || c.cols == 0 || count == 0) return;
    check(cublasGemmStridedBatchedEx(session::current().blas(), CUBLAS_OP_T, CUBLAS_OP_N, detail::narrow(b.rows), detail::narrow(a.rows),
                                     detail::narrow(a.cols), &alpha, b.data, CUDA_R_32F, detail::narrow(b.stride),
                                     static_cast<long long>(b_batch_stride), a.data, CUDA_R_32F, detail::narrow(a.stride),
                                     static_cast<long long>(a_batch_stride), &beta, c.data, CUDA_R_32F, detail::narrow(c.stride),
                                     static_cast<long long>(c_batch_stride), detail::narrow(count), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
          "cublasGemmStridedBatchedEx");
}

}  // namespace lorahub::cuda
