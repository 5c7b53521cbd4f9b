#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "lorahub/core/activation.hpp"
#include "lorahub/core/dtype.hpp"
#include "lorahub/core/fast_math.hpp"
#include "lorahub/core/simd.hpp"

namespace lorahub::cpu {

/// RMSNorm as T5LayerNorm and LlamaRMSNorm compute it in float32:
/// x * rsqrt(mean(x^2) + eps) * weight, no mean subtraction, no bias.
inline void rms_norm(const float* x, std::size_t rows, std::size_t width, const float* weight, float epsilon, float* out) {
#pragma omp parallel for schedule(static) if (rows * width > 65536)
    for (std::size_t r = 0; r < rows; ++r) {
        const float* in = x + r * width;
        float* o = out + r * width;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (std::size_t i = 0; i < width; ++i) sum += in[i] * in[i];
        const float scale = 1.0f / std::sqrt(sum / static_cast<float>(width) + epsilon);
        for (std::size_t i = 0; i < width; ++i) o[i] = weight[i] * (in[i] * scale);
    }
}

/// x[i] = x[i] factor + add[i] (add may be null: x[i] factor) for i < n; returns the largest
/// result (-inf when n is 0). Attention's scores pass: scale, relative bias and row maximum.
inline float scale_add_max(float* x, const float* add, std::size_t n, float factor) {
    namespace hn = simd::hn;
    const hn::ScalableTag<float> d;
    const std::size_t lanes = hn::Lanes(d);
    const auto scale = hn::Set(d, factor);
    auto peaks = hn::Set(d, -std::numeric_limits<float>::infinity());
    std::size_t i = 0;
    if (add != nullptr) {
        for (; i + lanes <= n; i += lanes) {
            const auto v = hn::MulAdd(hn::LoadU(d, x + i), scale, hn::LoadU(d, add + i));
            hn::StoreU(v, d, x + i);
            peaks = hn::Max(peaks, v);
        }
    } else {
        for (; i + lanes <= n; i += lanes) {
            const auto v = hn::Mul(hn::LoadU(d, x + i), scale);
            hn::StoreU(v, d, x + i);
            peaks = hn::Max(peaks, v);
        }
    }
    float peak = hn::GetLane(hn::MaxOfLanes(d, peaks));
    for (; i < n; ++i) {
        x[i] = add != nullptr ? simd::mul_add(x[i], factor, add[i]) : x[i] * factor;
        peak = std::max(peak, x[i]);
    }
    return peak;
}

/// fast_exp a vector at a time (Highway), the same steps with fused multiply-adds.
template <class D>
hwy::HWY_NAMESPACE::Vec<D> fast_exp_vector(D d, hwy::HWY_NAMESPACE::Vec<D> x) {
    namespace hn = simd::hn;
    using namespace fast_exp_constants;
    const hn::RebindToSigned<D> di;
    x = hn::Min(hn::Max(x, hn::Set(d, lowest)), hn::Set(d, highest));
    const auto magic = hn::Set(d, round_magic);
    const auto n = hn::Sub(hn::MulAdd(x, hn::Set(d, log2e), magic), magic);
    const auto r = hn::NegMulAdd(n, hn::Set(d, ln2_low), hn::NegMulAdd(n, hn::Set(d, ln2_high), x));
    auto p = hn::Set(d, p0);
    for (const float c : {p1, p2, p3, p4, p5}) p = hn::MulAdd(p, r, hn::Set(d, c));
    p = hn::Add(hn::MulAdd(hn::Mul(p, r), r, r), hn::Set(d, 1.0f));
    return hn::Mul(p, hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, n), hn::Set(di, 127)))));
}

/// out[j] = bf16(fast_exp(row[j] - peak)) (round to nearest even) for j < n; returns the sum of
/// the float exponentials. The bf16 softmax's exp pass and its rounding in one pass.
inline float exp_to_bf16(const float* row, std::size_t n, float peak, std::uint16_t* out) {
    namespace hn = simd::hn;
    const hn::ScalableTag<float> d;
    const hn::RebindToUnsigned<decltype(d)> du;
    const hn::Rebind<std::uint16_t, decltype(d)> dh;
    const std::size_t lanes = hn::Lanes(d);
    const auto shift = hn::Set(d, peak);
    auto sums = hn::Zero(d);
    std::size_t j = 0;
    for (; j + lanes <= n; j += lanes) {
        const auto e = fast_exp_vector(d, hn::Sub(hn::LoadU(d, row + j), shift));
        sums = hn::Add(sums, e);
        // exponentials are positive and finite: no NaN to keep quiet
        hn::StoreU(hn::TruncateTo(dh, lorahub::detail::bf16_rounded(du, hn::BitCast(du, e))), dh, out + j);
    }
    float total = hn::GetLane(hn::SumOfLanes(d, sums));
    for (; j < n; ++j) {
        const float e = fast_exp(row[j] - peak);
        total += e;
        out[j] = f32_to_bf16(e);
    }
    return total;
}

/// Rotary position embedding in place (rotate-half layout), as basic_backend::rotary says.
inline void rotary(float* x, std::size_t rows, std::size_t heads, std::size_t head_dim, std::size_t stride, const float* cos,
                   const float* sin) {
    const std::size_t half = head_dim / 2;
#pragma omp parallel for schedule(static) if (rows * heads * head_dim > 65536)
    for (std::size_t r = 0; r < rows; ++r) {
        const float* c = cos + r * half;
        const float* s = sin + r * half;
        for (std::size_t h = 0; h < heads; ++h) {
            float* first = x + r * stride + h * head_dim;
            float* second = first + half;
#pragma omp simd
            for (std::size_t i = 0; i < half; ++i) {
                const float a = first[i], b = second[i];
                first[i] = a * c[i] - b * s[i];
                second[i] = b * c[i] + a * s[i];
            }
        }
    }
}

/// a = act(a) (* gate when gated), element-wise over n values; one loop per activation so
/// that each vectorizes, 16 lanes asked for: with -march=native on AVX-512 CPUs GCC prefers
/// 256-bit vectors, and GELU's polynomial runs 1.6x faster in 512-bit ones (4.6 M values:
/// 3.6 -> 2.2 ms). Each value's arithmetic is the same either way.
inline void activate_in_place(activation kind, float* a, const float* gate, std::size_t n) {
    auto apply = [&](auto act) {
        constexpr std::size_t block = 4096;
#pragma omp parallel for schedule(static) if (n > 65536)
        for (std::size_t begin = 0; begin < n; begin += block) {
            const std::size_t end = std::min(n, begin + block);
            if (gate) {
#pragma omp simd simdlen(16)
                for (std::size_t i = begin; i < end; ++i) a[i] = act(a[i]) * gate[i];
            } else {
#pragma omp simd simdlen(16)
                for (std::size_t i = begin; i < end; ++i) a[i] = act(a[i]);
            }
        }
    };
    switch (kind) {
        case activation::relu: return apply([](float x) { return fast_activate(activation::relu, x); });
        case activation::gelu_tanh: return apply([](float x) { return fast_activate(activation::gelu_tanh, x); });
        case activation::gelu_erf: return apply([](float x) { return fast_activate(activation::gelu_erf, x); });
        case activation::silu: return apply([](float x) { return fast_activate(activation::silu, x); });
    }
}

/// -log softmax(logits)[target], computed in double from float logits.
inline double cross_entropy(const float* logits, std::size_t n, std::size_t target) {
    float peak = -std::numeric_limits<float>::infinity();
    for (std::size_t i = 0; i < n; ++i) peak = std::max(peak, logits[i]);
    double total = 0.0;
    for (std::size_t i = 0; i < n; ++i) total += std::exp(static_cast<double>(logits[i] - peak));
    return std::log(total) - static_cast<double>(logits[target] - peak);
}

/// First index of the largest value (torch.argmax breaks ties towards the first).
inline std::size_t argmax(const float* values, std::size_t n) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (values[i] > values[best]) best = i;
    return best;
}

}  // namespace lorahub::cpu
