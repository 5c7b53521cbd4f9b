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

/// The LoraHub composition rule (sail-sg/lorahub, algorithm.py): A = sum_i w_i A_i and
/// B = sum_i w_i B_i, separately, so dW = s (sum_i w_i B_i)(sum_j w_j A_j) with cross terms.
/// The scaling is the first module's, because the reference loads the composed weights
/// into a model built from the first module's config.
struct weighted_ab {
    static constexpr std::string_view name = "weighted-ab";

    /// Storage shaped for compose(): one lora_layer per pool target, allocated once.
    static std::vector<lora_layer> allocate(const lora_pool& pool) {
        std::vector<lora_layer> out;
        out.reserve(pool.targets().size());
        for (const auto& target : pool.targets())
            out.push_back({target.module, target.rank, target.in_features, target.out_features, target.scaling.front(),
                           std::vector<float>(target.rank * target.in_features), std::vector<float>(target.out_features * target.rank)});
        return out;
    }

    /// Writes the composition for weights `w` into `out` (from allocate()); no allocation.
    static void compose(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) {
        pool.check_weights(w);
        for (std::size_t t = 0; t < pool.targets().size(); ++t) {
            const auto& target = pool.targets()[t];
            weighted_sum(target.a, w, out[t].a);
            weighted_sum(target.b, w, out[t].b);
        }
    }

private:
    /// out = sum_i w_i stack[i], one streaming pass over the stack.
    static void weighted_sum(const std::vector<float>& stack, std::span<const double> w, std::vector<float>& out) {
        const std::size_t length = out.size();
        const float first = static_cast<float>(w[0]);
        for (std::size_t j = 0; j < length; ++j) out[j] = first * stack[j];
        for (std::size_t i = 1; i < w.size(); ++i) {
            const float weight = static_cast<float>(w[i]);
            const float* source = stack.data() + i * length;
            for (std::size_t j = 0; j < length; ++j) out[j] += weight * source[j];
        }
    }
};

}  // namespace lorahub
