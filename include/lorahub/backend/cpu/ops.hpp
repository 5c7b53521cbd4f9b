#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "lorahub/core/activation.hpp"

namespace lorahub::cpu {

/// RMSNorm as T5LayerNorm and LlamaRMSNorm compute it in float32:
/// x * rsqrt(mean(x^2) + eps) * weight, no mean subtraction, no bias.
inline void rms_norm(const float* x, std::size_t rows, std::size_t width, const float* weight, float epsilon, float* out) {
#pragma omp parallel for schedule(static) if (rows * width > 65536)
    for (std::size_t r = 0; r < rows; ++r) {
        const float* in = x + r * width;
        float* o = out + r * width;
        float sum = 0.0f;
        for (std::size_t i = 0; i < width; ++i) sum += in[i] * in[i];
        const float scale = 1.0f / std::sqrt(sum / static_cast<float>(width) + epsilon);
        for (std::size_t i = 0; i < width; ++i) o[i] = weight[i] * (in[i] * scale);
    }
}

/// a = act(a) (* gate when gated), element-wise over n values.
inline void activate_in_place(activation kind, float* a, const float* gate, std::size_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (std::size_t i = 0; i < n; ++i) a[i] = gate ? activate(kind, a[i]) * gate[i] : activate(kind, a[i]);
}

/// Softmax of one row in place (max-subtracted, float accumulation as torch's CPU kernel).
inline void softmax_row(float* row, std::size_t n) {
    float peak = -std::numeric_limits<float>::infinity();
    for (std::size_t i = 0; i < n; ++i) peak = std::max(peak, row[i]);
    float total = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        row[i] = std::exp(row[i] - peak);
        total += row[i];
    }
    const float inverse = 1.0f / total;
    for (std::size_t i = 0; i < n; ++i) row[i] *= inverse;
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
