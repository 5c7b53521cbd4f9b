#pragma once

/// The CUDA kernels for what cuBLAS does not do, each with a launcher on the session's
/// stream: compose (N-way weighted sum over a pool stack), RMSNorm, activations, embedding
/// gather, scaling, attention with relative-position bias over ragged spans, cross-entropy
/// per labeled row, argmax per row and the fp32 -> bf16 conversion of activations. The
/// scalar math is core/'s (fast_activate, fast_exp), shared with the CPU kernels.

#include <cfloat>
#include <cstddef>
#include <cstdint>
#include <span>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "lorahub/backend/cuda/runtime.cuh"
#include "lorahub/core/activation.hpp"
#include "lorahub/core/fast_math.hpp"
#include "lorahub/core/primitives.hpp"

namespace lorahub::cuda {

/// Kernels have internal linkage (static): a header-only library defines them in every
/// translation unit that includes this header.
namespace kernels {

constexpr int warp = 32;

template <class T>
__device__ T warp_sum(T value) {
    for (int offset = warp / 2; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
    return value;
}
__device__ inline float warp_max(float value) {
    for (int offset = warp / 2; offset > 0; offset /= 2) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
    return value;
}

/// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
template <class T>
__device__ T block_sum(T value) {
    __shared__ T partial[32];
    const int lane = static_cast<int>(threadIdx.x) % warp, id = static_cast<int>(threadIdx.x) / warp;
    value = warp_sum(value);
    __syncthreads();
    if (lane == 0) partial[id] = value;
    __syncthreads();
    T total = 0;
    for (int i = 0; i < static_cast<int>(blockDim.x) / warp; ++i) total += partial[i];
    return total;
}
__device__ inline float block_max(float value) {
    __shared__ float partial[32];
    const int lane = static_cast<int>(threadIdx.x) % warp, id = static_cast<int>(threadIdx.x) / warp;
    value = warp_max(value);
    __syncthreads();
    if (lane == 0) partial[id] = value;
    __syncthreads();
    float peak = -FLT_MAX;
    for (int i = 0; i < static_cast<int>(blockDim.x) / warp; ++i) peak = fmaxf(peak, partial[i]);
    return peak;
}

/// out = sum_i w_i stack[i] over `modules` blocks of `length` floats; four floats per thread
/// when aligned (one streaming pass: each stack element is read once).
static __global__ void weighted_sum(const float* __restrict__ stack, std::size_t length, int modules, const float* __restrict__ w,
                             float* __restrict__ out) {
    const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    const std::size_t vectors = length / 4;
    for (std::size_t v = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; v < vectors; v += stride) {
        float4 total = make_float4(0.f, 0.f, 0.f, 0.f);
        for (int i = 0; i < modules; ++i) {
            const float4 x = __ldg(reinterpret_cast<const float4*>(stack + static_cast<std::size_t>(i) * length) + v);
            const float weight = w[i];
            total.x += weight * x.x;
            total.y += weight * x.y;
            total.z += weight * x.z;
            total.w += weight * x.w;
        }
        reinterpret_cast<float4*>(out)[v] = total;
    }
    for (std::size_t j = vectors * 4 + blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; j < length; j += stride) {
        float total = 0.f;
        for (int i = 0; i < modules; ++i) total += w[i] * stack[static_cast<std::size_t>(i) * length + j];
        out[j] = total;
    }
}

/// weighted_sum for a length that is not a multiple of 4 or storage that is not 16-byte aligned.
static __global__ void weighted_sum_scalar(const float* __restrict__ stack, std::size_t length, int modules, const float* __restrict__ w,
                                    float* __restrict__ out) {
    const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    for (std::size_t j = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; j < length; j += stride) {
        float total = 0.f;
        for (int i = 0; i < modules; ++i) total += w[i] * stack[static_cast<std::size_t>(i) * length + j];
        out[j] = total;
    }
}

/// One block per row: x * rsqrt(mean(x^2) + eps) * weight, in fp32.
static __global__ void rms_norm(const float* __restrict__ x, std::size_t width, const float* __restrict__ weight, float epsilon,
                         float* __restrict__ out) {
    const float* in = x + blockIdx.x * width;
    float* o = out + blockIdx.x * width;
    float sum = 0.f;
    for (std::size_t i = threadIdx.x; i < width; i += blockDim.x) sum += in[i] * in[i];
    const float scale = rsqrtf(block_sum(sum) / static_cast<float>(width) + epsilon);
    for (std::size_t i = threadIdx.x; i < width; i += blockDim.x) o[i] = weight[i] * (in[i] * scale);
}

static __global__ void activate(activation kind, float* __restrict__ a, const float* __restrict__ gate, std::size_t n) {
    const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
        const float value = fast_activate(kind, a[i]);
        a[i] = gate ? value * gate[i] : value;
    }
}

static __global__ void scale(float* __restrict__ x, std::size_t n, float factor) {
    const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n; i += stride) x[i] *= factor;
}

/// x[r, i] += bias[i] over the `n` = rows * width elements of x.
static __global__ void add_bias(float* __restrict__ x, std::size_t n, std::size_t width, const float* __restrict__ bias) {
    const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n; i += stride) x[i] += bias[i % width];
}

/// One block per row: rotary position embedding in place (rotate-half layout), as the CPU kernel.
static __global__ void rotary(float* __restrict__ x, std::size_t heads, std::size_t head_dim, std::size_t stride,
                              const float* __restrict__ cos, const float* __restrict__ sin) {
    const std::size_t half = head_dim / 2, r = blockIdx.x;
    for (std::size_t k = threadIdx.x; k < heads * half; k += blockDim.x) {
        const std::size_t h = k / half, i = k % half;
        float* first = x + r * stride + h * head_dim + i;
        const float a = first[0], b = first[half], c = cos[r * half + i], s = sin[r * half + i];
        first[0] = a * c - b * s;
        first[half] = b * c + a * s;
    }
}

/// One block per id: row ids[i] of table [*, width] into out row i.
static __global__ void gather_rows(const float* __restrict__ table, std::size_t width, const int* __restrict__ ids, float* __restrict__ out) {
    const float* from = table + static_cast<std::size_t>(ids[blockIdx.x]) * width;
    float* to = out + blockIdx.x * width;
    for (std::size_t i = threadIdx.x; i < width; i += blockDim.x) to[i] = from[i];
}

static __global__ void to_bf16(const float* __restrict__ x, std::size_t rows, std::size_t cols, std::size_t stride, __nv_bfloat16* __restrict__ out) {
    const std::size_t n = rows * cols, step = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n; i += step)
        out[i] = __float2bfloat16_rn(x[(i / cols) * stride + i % cols]);
}

/// Attention, one warp per (query row, head): scores against the span's keys in shared
/// memory (scale Q K^T + relative bias, causal mask), softmax with fast_exp as the CPU
/// kernel, then the context row = P V / sum. Grid: (spans, heads, query tiles); the block
/// holds `warps` warps, each taking every warps-th query of its tile.
static __global__ void attention(attention_problem p, const attention_span* __restrict__ spans, std::size_t max_keys) {
    extern __shared__ float shared[];
    const int warps = static_cast<int>(blockDim.x) / warp, lane = static_cast<int>(threadIdx.x) % warp, id = static_cast<int>(threadIdx.x) / warp;
    const attention_span span = spans[blockIdx.x];
    const std::size_t h = blockIdx.y, kh = key_head_of(p, h), dk = p.head_dim;
    float* scores = shared + static_cast<std::size_t>(id) * (max_keys + dk);
    float* query = scores + max_keys;
    const std::size_t width = span.query_position + span.query_count - 1 + span.key_count;
    for (std::size_t i = blockIdx.z * static_cast<std::size_t>(warps) + id; i < span.query_count; i += static_cast<std::size_t>(gridDim.z) * warps) {
        const float* q = p.query + (span.query_row + i) * p.query_stride + h * dk;
        for (std::size_t d = lane; d < dk; d += warp) query[d] = q[d];
        __syncwarp();
        const std::size_t position = span.query_position + i;
        const std::size_t visible = p.causal ? min(position + 1, span.key_count) : span.key_count;
        const std::size_t first = min(first_visible_key(p, position), visible);
        const float* bias = span.relative_bias ? span.relative_bias + h * width + (span.query_position + span.query_count - 1 - position) : nullptr;
        float peak = -FLT_MAX;
        for (std::size_t j = first + lane; j < visible; j += warp) {
            const float* k = p.keys + (span.key_row + j) * p.key_stride + kh * dk;
            float dot = 0.f;
            for (std::size_t d = 0; d < dk; ++d) dot += query[d] * k[d];
            float score = p.scale * dot;
            if (bias) score += bias[j];
            scores[j] = score;
            peak = fmaxf(peak, score);
        }
        peak = warp_max(peak);
        float total = 0.f;
        for (std::size_t j = first + lane; j < visible; j += warp) {
            const float e = fast_exp(scores[j] - peak);
            scores[j] = e;
            total += e;
        }
        total = warp_sum(total);
        __syncwarp();
        const float inverse = 1.0f / total;
        float* out = p.context + (span.query_row + i) * p.query_stride + h * dk;
        for (std::size_t d = lane; d < dk; d += warp) {
            float acc = 0.f;
            for (std::size_t j = first; j < visible; ++j) acc += scores[j] * p.values[(span.key_row + j) * p.key_stride + kh * dk + d];
            out[d] = acc * inverse;
        }
        __syncwarp();
    }
}

/// One block per labeled row: -log softmax(logits[row])[target], the sum in double as the
/// CPU kernel (cpu::cross_entropy) computes it.
static __global__ void cross_entropy_rows(const float* __restrict__ logits, std::size_t vocab, const int* __restrict__ rows,
                                   const int* __restrict__ targets, double* __restrict__ losses) {
    const float* row = logits + static_cast<std::size_t>(rows[blockIdx.x]) * vocab;
    float peak = -FLT_MAX;
    for (std::size_t i = threadIdx.x; i < vocab; i += blockDim.x) peak = fmaxf(peak, row[i]);
    peak = block_max(peak);
    double total = 0.0;
    for (std::size_t i = threadIdx.x; i < vocab; i += blockDim.x) total += exp(static_cast<double>(row[i] - peak));
    total = block_sum(total);
    if (threadIdx.x == 0) losses[blockIdx.x] = log(total) - static_cast<double>(row[targets[blockIdx.x]] - peak);
}

/// One block per row: the first index of the row's largest value (torch.argmax's tie rule).
static __global__ void argmax_rows(const float* __restrict__ values, std::size_t n, int* __restrict__ out) {
    __shared__ float best_value[1024];
    __shared__ int best_index[1024];
    const float* row = values + blockIdx.x * n;
    float value = -FLT_MAX;
    int index = static_cast<int>(n);
    for (std::size_t i = threadIdx.x; i < n; i += blockDim.x)
        if (index == static_cast<int>(n) || row[i] > value) {  // strictly greater: a thread's first maximum stays
            value = row[i];
            index = static_cast<int>(i);
        }
    best_value[threadIdx.x] = value;
    best_index[threadIdx.x] = index;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) {
            const float other = best_value[threadIdx.x + half];
            const int other_index = best_index[threadIdx.x + half];
            if (other > best_value[threadIdx.x] || (other == best_value[threadIdx.x] && other_index < best_index[threadIdx.x])) {
                best_value[threadIdx.x] = other;
                best_index[threadIdx.x] = other_index;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = best_index[0];
}

}  // namespace kernels

namespace detail {
inline unsigned grid_for(std::size_t n, unsigned threads) {
    const std::size_t blocks = (n + threads - 1) / threads;
    return static_cast<unsigned>(blocks < 65535 * 8 ? (blocks == 0 ? 1 : blocks) : 65535 * 8);
}
inline void launched(const char* what) { check(cudaGetLastError(), what); }
}  // namespace detail

/// out = sum_i w[i] stack[i]: stack [modules, length] and out on the device, w (floats) too.
inline void weighted_sum(const float* stack, std::size_t modules, std::size_t length, const float* w, float* out) {
    const auto stream = session::current().stream();
    const bool aligned = reinterpret_cast<std::uintptr_t>(stack) % 16 == 0 && reinterpret_cast<std::uintptr_t>(out) % 16 == 0 && length % 4 == 0;
    if (aligned)
        kernels::weighted_sum<<<detail::grid_for(length / 4, 256), 256, 0, stream>>>(stack, length, static_cast<int>(modules), w, out);
    else
        kernels::weighted_sum_scalar<<<detail::grid_for(length, 256), 256, 0, stream>>>(stack, length, static_cast<int>(modules), w, out);
    detail::launched("weighted_sum");
}

inline void rms_norm(const float* x, std::size_t rows, std::size_t width, const float* weight, float epsilon, float* out) {
    if (rows == 0) return;
    kernels::rms_norm<<<static_cast<unsigned>(rows), 256, 0, session::current().stream()>>>(x, width, weight, epsilon, out);
    detail::launched("rms_norm");
}

inline void activate(activation kind, float* a, const float* gate, std::size_t n) {
    if (n == 0) return;
    kernels::activate<<<detail::grid_for(n, 256), 256, 0, session::current().stream()>>>(kind, a, gate, n);
    detail::launched("activate");
}

inline void scale(float* x, std::size_t n, float factor) {
    if (n == 0) return;
    kernels::scale<<<detail::grid_for(n, 256), 256, 0, session::current().stream()>>>(x, n, factor);
    detail::launched("scale");
}

inline void add_bias(float* x, std::size_t rows, std::size_t width, const float* bias) {
    const std::size_t n = rows * width;
    if (n == 0) return;
    kernels::add_bias<<<detail::grid_for(n, 256), 256, 0, session::current().stream()>>>(x, n, width, bias);
    detail::launched("add_bias");
}

/// cos and sin ([rows, head_dim / 2]) live on the device.
inline void rotary(float* x, std::size_t rows, std::size_t heads, std::size_t head_dim, std::size_t stride, const float* cos,
                   const float* sin) {
    if (rows == 0) return;
    kernels::rotary<<<static_cast<unsigned>(rows), 128, 0, session::current().stream()>>>(x, heads, head_dim, stride, cos, sin);
    detail::launched("rotary");
}

/// ids live on the device.
inline void gather_rows(const float* table, std::size_t width, const int* ids, std::size_t count, float* out) {
    if (count == 0) return;
    kernels::gather_rows<<<static_cast<unsigned>(count), 128, 0, session::current().stream()>>>(table, width, ids, out);
    detail::launched("gather_rows");
}

inline void to_bf16(const float* x, std::size_t rows, std::size_t cols, std::size_t stride, __nv_bfloat16* out) {
    if (rows * cols == 0) return;
    kernels::to_bf16<<<detail::grid_for(rows * cols, 256), 256, 0, session::current().stream()>>>(x, rows, cols, stride, out);
    detail::launched("to_bf16");
}

/// `spans` is a device copy of p.spans (whose relative_bias pointers are device pointers).
inline void attention(const attention_problem& p, const attention_span* spans, std::size_t max_query_count, std::size_t max_key_count) {
    if (p.spans.empty() || max_query_count == 0) return;
    constexpr unsigned warps = 4;
    const std::size_t shared_bytes = warps * (max_key_count + p.head_dim) * sizeof(float);
    if (shared_bytes > 200 * 1024) throw argument_error("cuda::attention", "a span has more keys than shared memory holds");
    static thread_local std::size_t opted_in = 48 * 1024;
    if (shared_bytes > opted_in) {
        check(cudaFuncSetAttribute(kernels::attention, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared_bytes)),
              "attention shared memory");
        opted_in = shared_bytes;
    }
    const dim3 grid(static_cast<unsigned>(p.spans.size()), static_cast<unsigned>(p.heads),
                    static_cast<unsigned>((max_query_count + warps - 1) / warps));
    kernels::attention<<<grid, warps * kernels::warp, shared_bytes, session::current().stream()>>>(p, spans, max_key_count);
    detail::launched("attention");
}

/// losses[i] = -log softmax(logits[rows[i]])[targets[i]] for `count` rows (all on the device).
inline void cross_entropy_rows(const float* logits, std::size_t vocab, const int* rows, const int* targets, std::size_t count, double* losses) {
    if (count == 0) return;
    kernels::cross_entropy_rows<<<static_cast<unsigned>(count), 256, 0, session::current().stream()>>>(logits, vocab, rows, targets, losses);
    detail::launched("cross_entropy_rows");
}

inline void argmax_rows(const float* values, std::size_t rows, std::size_t n, int* out) {
    if (rows == 0) return;
    kernels::argmax_rows<<<static_cast<unsigned>(rows), 256, 0, session::current().stream()>>>(values, n, out);
    detail::launched("argmax_rows");
}

}  // namespace lorahub::cuda
