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
#include "lorahub/core/error.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/core/primitives.hpp"

namespace lorahub::cuda {

enum class precision { fp32, tf32, bf16 };

/// A model's LoRA binding with its matrices copied to the device: operator[] gives device
/// views (what the model multiplies with); host() the host views it was made from, which
/// refresh() uploads again after they changed.
class device_lora_binding {
public:
    device_lora_binding() = default;
    explicit device_lora_binding(lorahub::lora_binding host) : host_(std::move(host)), device_(host_.size()) {
        for (const auto& view : host_)
            if (view.routing)
                throw argument_error("Arrow routing", "runs on the CPU backends only: the CUDA backend has no per-token routing kernel");
        a_.resize(host_.size());
        b_.resize(host_.size());
        refresh();
    }
    void refresh() {
        for (std::size_t i = 0; i < host_.size(); ++i) {
            const auto& view = host_[i];
            if (view.rank == 0) continue;
            const std::size_t a_size = view.rank * view.in_features, b_size = view.out_features * view.rank;
            a_[i].resize(a_size);
            b_[i].resize(b_size);
            upload(std::span<const float>(view.a, a_size), a_[i].data());
            upload(std::span<const float>(view.b, b_size), b_[i].data());
            device_[i] = {a_[i].data(), b_[i].data(), view.rank, view.scaling, view.in_features, view.out_features};
        }
    }
    const lora_view& operator[](std::size_t i) const { return device_[i]; }
    std::size_t size() const noexcept { return device_.size(); }
    const lorahub::lora_binding& host() const noexcept { return host_; }

private:
    lorahub::lora_binding host_;
    std::vector<lora_view> device_;
    std::vector<device_buffer<float>> a_, b_;
};

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
    static void add_bias(float* x, std::size_t rows, std::size_t width, const float* bias) { cuda::add_bias(x, rows, width, bias); }
    static void rotary(float* x, std::size_t rows, std::size_t heads, std::size_t head_dim, std::size_t stride, const float* cos,
                       const float* sin) {
        cuda::rotary(x, rows, heads, head_dim, stride, cos, sin);
    }
    /// `ids` on the host, `table` and `out` on the device.
    static void gather_rows(const float* table, std::size_t width, std::span<const int> ids, float* out) {
        auto& device_ids = scratch_ids();
        device_ids.resize(ids.size());
        cuda::upload(ids, device_ids.data());
        cuda::gather_rows(table, width, device_ids.data(), ids.size(), out);
    }
    /// p.spans on the host (copied to the device), everything else on the device.
    static void attention(const attention_problem& p) {
        auto& spans = scratch_spans();
        spans.resize(p.spans.size());
        cuda::upload(p.spans, spans.data());
        std::size_t queries = 0, keys = 0;
        for (const auto& span : p.spans) {
            queries = std::max(queries, span.query_count);
            keys = std::max(keys, span.key_count);
        }
        cuda::attention(p, spans.data(), queries, keys);
    }
    /// One row's loss or argmax, waited for (the model takes the *_rows forms).
    static double cross_entropy(const float* logits, std::size_t n, std::size_t target) {
        const labeled_row row{0, target};
        double loss = 0;
        cross_entropy_rows(logits, n, std::span<const labeled_row>(&row, 1), std::span<double>(&loss, 1));
        return loss;
    }
    static std::size_t argmax(const float* values, std::size_t n) {
        int index = 0;
        argmax_rows(values, 1, n, std::span<int>(&index, 1));
        return static_cast<std::size_t>(index);
    }

    /// out[i] = cross-entropy of logits row rows[i].row at rows[i].target: rows uploaded,
    /// one kernel over all of them, one download (the only wait of a loss evaluation).
    static void cross_entropy_rows(const float* logits, std::size_t vocab, std::span<const labeled_row> rows, std::span<double> out) {
        if (rows.empty()) return;
        auto& host = host_ids();
        host.clear();
        for (const auto& row : rows) host.push_back(static_cast<int>(row.row));
        for (const auto& row : rows) host.push_back(static_cast<int>(row.target));
        auto& ids = scratch_ids();
        ids.resize(host.size());
        cuda::upload(std::span<const int>(host), ids.data());
        auto& losses = scratch_losses();
        losses.resize(rows.size());
        cuda::cross_entropy_rows(logits, vocab, ids.data(), ids.data() + rows.size(), rows.size(), losses.data());
        auto& s = session::current();
        check(cudaMemcpyAsync(out.data(), losses.data(), rows.size() * sizeof(double), cudaMemcpyDeviceToHost, s.stream()), "download");
        s.synchronize();
    }
    static void argmax_rows(const float* values, std::size_t rows, std::size_t n, std::span<int> out) {
        if (rows == 0) return;
        auto& indices = scratch_ids();
        indices.resize(rows);
        cuda::argmax_rows(values, rows, n, indices.data());
        auto& s = session::current();
        check(cudaMemcpyAsync(out.data(), indices.data(), rows * sizeof(int), cudaMemcpyDeviceToHost, s.stream()), "download");
        s.synchronize();
    }

    using lora_binding = device_lora_binding;
    static lora_binding adopt_lora(lorahub::lora_binding host) { return device_lora_binding(std::move(host)); }
    static void refresh_lora(lora_binding& binding) { binding.refresh(); }
    static const lorahub::lora_binding& host_lora(const lora_binding& binding) { return binding.host(); }

    /// A parameter other than a linear weight, uploaded once.
    struct parameter {
        std::shared_ptr<const device_buffer<float>> values;
        const float* data() const noexcept { return values->data(); }
    };
    static parameter place(std::span<const float> host) { return {std::make_shared<const device_buffer<float>>(to_device(host))}; }
    static void upload(std::span<const float> host, float* to) { cuda::upload(host, to); }
    static void download(const float* from, std::size_t n, float* host) {
        auto& s = session::current();
        check(cudaMemcpyAsync(host, from, n * sizeof(float), cudaMemcpyDeviceToHost, s.stream()), "download");
        s.synchronize();
    }
    static void copy(const float* from, std::size_t n, float* to) {
        check(cudaMemcpyAsync(to, from, n * sizeof(float), cudaMemcpyDeviceToDevice, session::current().stream()), "device copy");
    }

private:
    static std::vector<int>& host_ids() {
        thread_local std::vector<int> ids;
        return ids;
    }
    static device_buffer<double>& scratch_losses() {
        thread_local device_buffer<double> buffer;
        return buffer;
    }
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
