#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>
#include <vector>

#include "lorahub/model/llama/config.hpp"

namespace lorahub::llama {

/// Rotary frequencies as HF's rope initialisers compute them, in float32: inv_freq[i] =
/// 1 / theta^(2i / head_dim) ("default"); divided by the factor ("linear"); or, for "llama3",
/// with wavelength 2 pi / inv_freq: divided by the factor above original / low_freq_factor,
/// kept below original / high_freq_factor, and between them (1 - s) inv_freq / factor +
/// s inv_freq with s = (original / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor).
inline std::vector<float> rotary_inverse_frequencies(const config& c) {
    const std::size_t half = c.head_dim / 2;
    std::vector<float> inverse(half);
    const auto theta = static_cast<float>(c.rope_theta);
    const auto& scaling = c.rope_scaling;
    const auto factor = static_cast<float>(scaling.factor);
    const double low_wavelength = scaling.original_max_position_embeddings / scaling.low_freq_factor;
    const double high_wavelength = scaling.original_max_position_embeddings / scaling.high_freq_factor;
    for (std::size_t i = 0; i < half; ++i) {
        const float exponent = static_cast<float>(2 * i) / static_cast<float>(c.head_dim);
        const auto power = static_cast<float>(std::pow(static_cast<double>(theta), static_cast<double>(exponent)));
        inverse[i] = 1.0f / power;
        if (scaling.type == "linear") inverse[i] /= factor;
        if (scaling.type != "llama3") continue;
        const float wavelength = static_cast<float>(2.0 * std::numbers::pi) / inverse[i];
        if (wavelength > low_wavelength) {
            inverse[i] /= factor;
        } else if (!(wavelength < high_wavelength)) {
            const float smooth = (static_cast<float>(scaling.original_max_position_embeddings) / wavelength - static_cast<float>(scaling.low_freq_factor)) /
                                 static_cast<float>(scaling.high_freq_factor - scaling.low_freq_factor);
            inverse[i] = (1.0f - smooth) * inverse[i] / factor + smooth * inverse[i];
        }
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
