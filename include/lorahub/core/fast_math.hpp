#pragma once

#include <bit>
#include <cstdint>

#include "lorahub/core/activation.hpp"

namespace lorahub {

/// fast_exp's constants, shared with its vector form (cpu::fast_exp_vector).
namespace fast_exp_constants {
inline constexpr float lowest = -87.3f, highest = 88.3f;
inline constexpr float log2e = 1.44269504088896341f, round_magic = 12582912.0f;  // 1.5 * 2^23
inline constexpr float ln2_high = 0.693359375f, ln2_low = -2.12194440e-4f;       // ln 2 in two parts
inline constexpr float p0 = 1.9875691500e-4f, p1 = 1.3981999507e-3f, p2 = 8.3334519073e-3f, p3 = 4.1665795894e-2f,
                       p4 = 1.6666665459e-1f, p5 = 5.0000001201e-1f;
}  // namespace fast_exp_constants

/// e^x in float without branches or library calls, so that loops over it vectorize (and the
/// same code can run in a CUDA kernel). Cephes' expf: x = n ln2 + r with n rounded to
/// nearest (|r| <= ln2 / 2), e^r by a degree-6 polynomial, then scaled by 2^n. Inputs are
/// clamped to [-87.3, 88.3]: below, the result is ~1.2e-38 instead of a denormal or 0.
/// Measured against std::exp: within 2 ulp (tests/core/fast_math_test.cpp).
LORAHUB_HOST_DEVICE inline float fast_exp(float x) {
    using namespace fast_exp_constants;
    x = x < lowest ? lowest : (x > highest ? highest : x);
    const float n = (x * log2e + round_magic) - round_magic;
    const float r = (x - n * ln2_high) - n * ln2_low;
    float p = p0;
    p = p * r + p1;
    p = p * r + p2;
    p = p * r + p3;
    p = p * r + p4;
    p = p * r + p5;
    p = p * r * r + r + 1.0f;
    const auto exponent = static_cast<std::int32_t>(n) + 127;
    return p * std::bit_cast<float>(static_cast<std::uint32_t>(exponent) << 23);
}

/// tanh(x) = 1 - 2 / (e^{2x} + 1), branch-free; absolute error within 2e-7 (so 1 + tanh, as
/// GELU uses it, keeps float precision).
LORAHUB_HOST_DEVICE inline float fast_tanh(float x) {
    const float clamped = x < -9.0f ? -9.0f : (x > 9.0f ? 9.0f : x);
    return 1.0f - 2.0f / (fast_exp(2.0f * clamped) + 1.0f);
}

/// activate() with fast_exp / fast_tanh for the activations that need them: the form the
/// CPU and CUDA kernels vectorize. gelu_erf keeps std::erf.
LORAHUB_HOST_DEVICE inline float fast_activate(activation kind, float x) {
    switch (kind) {
        case activation::relu: return x > 0.0f ? x : 0.0f;
        case activation::gelu_tanh: {
            constexpr float k = 0.7978845608028654f;  // sqrt(2 / pi)
            return 0.5f * x * (1.0f + fast_tanh(k * (x + 0.044715f * x * x * x)));
        }
        case activation::gelu_erf: return activate(kind, x);
        case activation::silu: return x / (1.0f + fast_exp(-x));
    }
    return x;
}

}  // namespace lorahub
