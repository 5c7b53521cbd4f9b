#pragma once

/// The CUDA backend: the Backend concept's primitives on device memory, on the calling
/// thread's session (stream, cuBLAS handle, workspace). Pointers given to it are device
/// pointers; host inputs of a primitive (token ids, attention spans) are copied to device
/// scratch owned by the session's thread. Precision: fp32 (cuBLAS fp32), tf32 (fp32
/// storage, TF32 tensor cores for the linear layers) or bf16 (linear weights stored in bf16,
/// activations rounded to bf16 per product, fp32 accumulation and output); LoRA, attention,
/// norms, softmax and the loss stay fp32 in every mode.

#include <algorithm>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include <cuda_bf16.h>

#include "lorahub/backend/cuda/gemm.cuh"
#include "lorahub/backend/cuda/kernels.cuh"
#include "lorahub/backend/cuda/runtime.cuh"
#include "lorahub/core/activation.hpp"
#include "lorahub/core/primitives.hpp"

namespace lorahub::cuda {

enum class precision { fp32, tf32, bf16 };

template <precision P>
struct basic_backend {
    static constexpr std::string_view name = P == precision::fp32 ? "cuda" : (P == precision::tf32 ? "cuda-tf32" : "cuda-bf16");
    template <class T>
    using buffer = device_buffer<T>;
    using stored = std::conditional_t<P == precision::bf16, __nv_bfloat16, float>;

    /// A linear layer's weight W [out, in] uploaded once (converted to bf16 in bf16 mode).
    struct weight {
        std::shared_ptr<const device_buffer<stored>> values;
        std::size_t rows = 0, cols = 0;
    };
    static constexpr bool reads_source_weights = false;

    /// Uploads W (host, row-major [rows, cols]).
    static weight prepare(const float* w, std::size_t rows, std::size_t cols) {
        auto uploaded = to_device(std::span<const float>(w, rows * cols));
        if constexpr (P == precision::bf16) {
            auto converted = std::make_shared<device_buffer<__nv_bfloat16>>(rows * cols);
            to_bf16(uploaded.data(), rows, cols, cols, converted->data());
            session::current().synchronize();  // `uploaded` is freed on return
            return {std::move(converted), rows, cols};
        } else {
            return {std::make_shared<const device_buffer<float>>(std::move(uploaded)), rows, cols};
        }
    }
    /// y = alpha x W^T + beta y.
    static void linear(const matrix_ref& x, const weight& w, const mutable_matrix_ref& y, float alpha = 1.0f, float beta = 0.0f) {
        const device_matrix<stored> b{w.values->data(), w.rows, w.cols, w.cols};
        if constexpr (P == precision::bf16) {
            auto& rounded = scratch_bf16();
            rounded.resize(x.rows * x.cols);
            to_bf16(x.data, x.rows, x.cols, x.stride, rounded.data());
            cuda::gemm_nt<__nv_bfloat16>({rounded.data(), x.rows, x.cols, x.cols}, b, as_device(y), alpha, beta);
        } else {
            cuda::gemm_nt<float>(as_device(x), b, as_device(y), alpha, beta, P == precision::tf32 ? math::tf32 : math::fp32);
        }
    }
    static void gemm_nt(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f, float beta = 0.0f) {
        cuda::gemm_nt<float>(as_device(a), as_device(b), as_device(c), alpha, beta);
    }
    static void gemm_nn(const matrix_ref& a, const matrix_ref& b, const mutable_matrix_ref& c, float alpha = 1.0f, float beta = 0.0f) {
        cuda::gemm_nn(as_device(a), as_device(b), as_device(c), alpha, beta);
    }
    static void rms_norm(const float* x, std::size_t rows, std::size_t width, const float* weight, float epsilon, float* out) {
        cuda::rms_norm(x, rows, width, weight, epsilon, out);
    }
    static void activate(activation kind, float* a, const float* gate, std::size_t n) { cuda::activate(kind, a, gate, n); }
    static void scale(float* x, std::size_t n, float factor) { cuda::scale(x, n, factor); }
    /// `ids` on the host, `table` and `out` on the device.
    static void gather_rows(const float* table, std::size_t width, std::span<const int> ids, float* out) {
        auto& device_ids = scratch_ids();
        device_ids.resize(ids.size());
        upload(ids, device_ids.data());
        cuda::gather_rows(table, width, device_ids.data(), ids.size(), out);
    }
    /// p.spans on the host (copied to the device), everything else on the device.
    static void attention(const attention_problem& p) {
        auto& spans = scratch_spans();
        spans.resize(p.spans.size());
        upload(p.spans, spans.data());
        std::size_t queries = 0, keys = 0;
        for (const auto& span : p.spans) {
            queries = std::max(queries, span.query_count);
            keys = std::max(keys, span.key_count);
        }
        cuda::attention(p, spans.data(), queries, keys);
    }
    /// One row's loss, waited for: for tests and single rows; a model's loss takes
    /// cross_entropy_rows over all labeled rows and one download.
    static double cross_entropy(const float* logits, std::size_t n, std::size_t target) {
        const int row = 0, label = static_cast<int>(target);
        auto& ids = scratch_ids();
        ids.resize(2);
        upload(std::span<const int>(&row, 1), ids.data());
        upload(std::span<const int>(&label, 1), ids.data() + 1);
        device_buffer<double> loss(1);
        cross_entropy_rows(logits, n, ids.data(), ids.data() + 1, 1, loss.data());
        return to_host(loss.data(), 1)[0];
    }
    static std::size_t argmax(const float* values, std::size_t n) {
        auto& index = scratch_ids();
        index.resize(1);
        argmax_rows(values, 1, n, index.data());
        return static_cast<std::size_t>(to_host(index.data(), 1)[0]);
    }

private:
    static device_matrix<float> as_device(const matrix_ref& m) { return {m.data, m.rows, m.cols, m.stride}; }
    static mutable_device_matrix<float> as_device(const mutable_matrix_ref& m) { return {m.data, m.rows, m.cols, m.stride}; }
    static device_buffer<__nv_bfloat16>& scratch_bf16() {
        thread_local device_buffer<__nv_bfloat16> buffer;
        return buffer;
    }
    static device_buffer<int>& scratch_ids() {
        thread_local device_buffer<int> buffer;
        return buffer;
    }
    static device_buffer<attention_span>& scratch_spans() {
        thread_local device_buffer<attention_span> buffer;
        return buffer;
    }
};

using backend = basic_backend<precision::fp32>;
using tf32_backend = basic_backend<precision::tf32>;
using bf16_backend = basic_backend<precision::bf16>;

}  // namespace lorahub::cuda
