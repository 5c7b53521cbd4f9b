#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "lorahub/model/llama/config.hpp"

namespace lorahub::llama {

/// Rotary frequencies as HF's default and "linear" rope initialisers compute them in float32:
/// inv_freq[i] = 1 / theta^(2i / head_dim), divided by the linear scaling factor.
inline std::vector<float> rotary_inverse_frequencies(const config& c) {
    const std::size_t half = c.head_dim / 2;
    std::vector<float> inverse(half);
    const auto theta = static_cast<float>(c.rope_theta);
    for (std::size_t i = 0; i < half; ++i) {
        const float exponent = static_cast<float>(2 * i) / static_cast<float>(c.head_dim);
        const auto power = static_cast<float>(std::pow(static_cast<double>(theta), static_cast<double>(exponent)));
        inverse[i] = 1.0f / power;
        if (c.rope_linear_factor != 1.0) inverse[i] /= static_cast<float>(c.rope_linear_factor);
    }
    return inverse;
}

/// Appends the cos and sin rows ([head_dim / 2] each) of positions [from, to) to `cos` and
/// `sin`: angle = position * inv_freq in float32, then cos and sin of it, as HF does.
inline void append_rotary_rows(const std::vector<float>& inverse_frequencies, std::size_t from, std::size_t to, std::vector<float>& cos,
                               std::vector<float>& sin) {
    for (std::size_t position = from; position < to; ++position)
        for (const float frequency : inverse_frequencies) {
            const float angle = static_cast<float>(position) * frequency;
            cos.push_back(static_cast<float>(std::cos(static_cast<double>(angle))));
            sin.push_back(static_cast<float>(std::sin(static_cast<double>(angle))));
        }
}

}  // namespace lorahub::llama
