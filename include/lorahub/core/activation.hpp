#pragma once

#include <cmath>

/// Marks scalar code that CPU and CUDA kernels share bit for bit.
#if defined(__CUDACC__)
#define LORAHUB_HOST_DEVICE __host__ __device__
#else
#define LORAHUB_HOST_DEVICE
#endif

namespace lorahub {

/// Feed-forward activations of the model families (HF's ACT2FN names in comments).
enum class activation { relu, gelu_tanh, gelu_erf, silu };

/// act(x): relu; gelu_tanh ("gelu_new", T5 v1.1 / Flan) = 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)));
/// gelu_erf ("gelu") = 0.5x(1 + erf(x / sqrt 2)); silu = x / (1 + e^-x).
LORAHUB_HOST_DEVICE inline float activate(activation kind, float x) {
    switch (kind) {
        case activation::relu: return x > 0.0f ? x : 0.0f;
        case activation::gelu_tanh: {
            constexpr float k = 0.7978845608028654f;  // sqrt(2 / pi)
            return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
        }
        case activation::gelu_erf: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
        case activation::silu: return x / (1.0f + std::exp(-x));
    }
    return x;
}

}  // namespace lorahub
