#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "lorahub/core/lora.hpp"
#include "lorahub/lora/kernels.hpp"
#include "lorahub/lora/pool.hpp"

namespace lorahub {

/// Delta-space composition: dW = sum_i w_i s_i B_i A_i, with no cross terms between modules.
/// Exact as one LoRA of rank N r by concatenation: A = [A_1; ...; A_N] (fixed, copied once)
/// and B = [w_1 s_1 B_1, ..., w_N s_N B_N], scaling 1. (PEFT's add_weighted_adapter "cat".)
struct delta_sum {
    static constexpr std::string_view name = "delta-sum";
    static constexpr std::string_view description = "dW = sum w_i s_i B_i A_i, exact by rank concatenation";

    std::vector<lora_layer> allocate(const lora_pool& pool) const {
        std::vector<lora_layer> out;
        out.reserve(pool.stacks().size());
        const std::size_t n = pool.size();
        for (const auto& stack : pool.stacks())
            out.push_back({stack.module, n * stack.rank, stack.in_features, stack.out_features, 1.0f, stack.a,
                           std::vector<float>(stack.out_features * n * stack.rank)});
        return out;
    }

    /// B' = [w_i s_i B_i] column blocks into `out` (from allocate()); no allocation.
    void compose(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) const {
        pool.check_weights(w);
        constexpr std::size_t max_modules = 4096;
        if (w.size() > max_modules) throw argument_error("delta-sum", "composes at most 4096 modules");
        lora::scaled_column_concats(pool.stacks().size(), w.size(), [&](std::size_t t, std::span<float> factors) {
            const auto& stack = pool.stacks()[t];
            for (std::size_t i = 0; i < w.size(); ++i) factors[i] = static_cast<float>(w[i]) * stack.scaling[i];
            return lora::concat_job{stack.b.data(), out[t].b.data(), stack.out_features, stack.rank};
        });
    }
};

}  // namespace lorahub
