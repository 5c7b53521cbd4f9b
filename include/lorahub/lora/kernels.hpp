#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

namespace lorahub::lora {

/// out = sum_i w_i stack[i], where stack holds w.size() blocks of out.size() floats back to
/// back ([N, ...]). One streaming pass over the stack in cache-sized chunks, the chunks
/// shared among the OpenMP threads; weights are rounded to float as upstream's fp32 sum does.
inline void weighted_sum(std::span<const float> stack, std::span<const double> w, std::span<float> out) {
    const std::size_t length = out.size(), n = w.size();
    constexpr std::size_t chunk = 4096;
    const std::size_t chunks = (length + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (length * n > (std::size_t{1} << 18))
    for (std::size_t c = 0; c < chunks; ++c) {
        const std::size_t begin = c * chunk, end = std::min(length, begin + chunk);
        float* target = out.data() + begin;
        const float first = static_cast<float>(w[0]);
        const float* source = stack.data() + begin;
        for (std::size_t j = 0; j < end - begin; ++j) target[j] = first * source[j];
        for (std::size_t i = 1; i < n; ++i) {
            const float weight = static_cast<float>(w[i]);
            source = stack.data() + i * length + begin;
            for (std::size_t j = 0; j < end - begin; ++j) target[j] += weight * source[j];
        }
    }
}

/// Column blocks of `out` [rows, N * rank]: block i = factor_i * source_i, where source is
/// [N, rows, rank] — the B' = [f_1 B_1, ..., f_N B_N] of a rank concatenation.
inline void scaled_column_concat(std::span<const float> source, std::span<const float> factors, std::size_t rows, std::size_t rank,
                                 std::span<float> out) {
    const std::size_t n = factors.size(), block = rows * rank;
#pragma omp parallel for schedule(static) if (rows * n * rank > (std::size_t{1} << 18))
    for (std::size_t o = 0; o < rows; ++o)
        for (std::size_t i = 0; i < n; ++i) {
            const float* from = source.data() + i * block + o * rank;
            float* to = out.data() + o * n * rank + i * rank;
            for (std::size_t k = 0; k < rank; ++k) to[k] = factors[i] * from[k];
        }
}

}  // namespace lorahub::lora
