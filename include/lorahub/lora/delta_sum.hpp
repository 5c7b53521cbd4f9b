#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/lora/module.hpp"
#include "lorahub/lora/pool.hpp"

namespace lorahub {

/// Delta-space composition: dW = sum_i w_i s_i B_i A_i, with no cross terms between modules.
/// Exact as one LoRA of rank N r by concatenation: A = [A_1; ...; A_N] (fixed, copied once)
/// and B = [w_1 s_1 B_1, ..., w_N s_N B_N], scaling 1. (PEFT's add_weighted_adapter "cat".)
struct delta_sum {
    static constexpr std::string_view name = "delta-sum";

    static std::vector<lora_layer> allocate(const lora_pool& pool) {
        std::vector<lora_layer> out;
        out.reserve(pool.targets().size());
        const std::size_t n = pool.size();
        for (const auto& target : pool.targets())
            out.push_back({target.module, n * target.rank, target.in_features, target.out_features, 1.0f, target.a,
                           std::vector<float>(target.out_features * n * target.rank)});
        return out;
    }

    static void compose(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) {
        pool.check_weights(w);
        const std::size_t n = pool.size();
        for (std::size_t t = 0; t < pool.targets().size(); ++t) {
            const auto& target = pool.targets()[t];
            const std::size_t r = target.rank, rows = target.out_features, block = rows * r;
            float* b = out[t].b.data();
            for (std::size_t i = 0; i < n; ++i) {
                const float factor = static_cast<float>(w[i]) * target.scaling[i];
                const float* source = target.b.data() + i * block;
                for (std::size_t o = 0; o < rows; ++o)
                    for (std::size_t k = 0; k < r; ++k) b[o * n * r + i * r + k] = factor * source[o * r + k];
            }
        }
    }
};

}  // namespace lorahub
