#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "lorahub/core/lora.hpp"
#include "lorahub/lora/granular_pool.hpp"
#include "lorahub/lora/kernels.hpp"
#include "lorahub/lora/pool.hpp"

namespace lorahub {

/// The LoraHub composition rule (sail-sg/lorahub, algorithm.py): A = sum_i w_i A_i and
/// B = sum_i w_i B_i, separately, so dW = s (sum_i w_i B_i)(sum_j w_j A_j) with cross terms.
/// The scaling is the first module's, because the reference loads the composed weights
/// into a model built from the first module's config.
struct weighted_ab {
    static constexpr std::string_view name = "weighted-ab";
    static constexpr std::string_view description = "LoraHub's rule: A = sum w_i A_i, B = sum w_i B_i (the default)";

    /// Storage shaped for compose(): one lora_layer per pool target, allocated once.
    std::vector<lora_layer> allocate(const lora_pool& pool) const {
        std::vector<lora_layer> out;
        out.reserve(pool.stacks().size());
        for (const auto& stack : pool.stacks())
            out.push_back({stack.module, stack.rank, stack.in_features, stack.out_features, stack.scaling.front(),
                           std::vector<float>(stack.a_block()), std::vector<float>(stack.b_block())});
        return out;
    }

    /// Writes the composition for weights `w` into `out` (from allocate()); no allocation.
    void compose(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) const {
        pool.check_weights(w);
        compose_targets(pool.stacks(), w.size(), [&](std::size_t) { return w; }, out);
    }

    /// One weight per module and group of targets (granular_pool): each target composed with its group's weights.
    std::vector<lora_layer> allocate(const granular_pool& pool) const { return allocate(pool.modules()); }
    void compose(const granular_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) const {
        pool.check_weights(w);
        compose_targets(pool.stacks(), pool.modules().size(), [&](std::size_t target) { return pool.weights_of(w, target); }, out);
    }

private:
    /// A and B of every target in one pass (job 2 t is target t's A, job 2 t + 1 its B), target
    /// t weighted by weights_of(t).
    template <class WeightsOf>
    static void compose_targets(const std::vector<lora_stack>& stacks, std::size_t n, WeightsOf weights_of, std::vector<lora_layer>& out) {
        lora::weighted_sums(2 * stacks.size(), n, [&](std::size_t k, std::span<float> weights) {
            const std::span<const double> w = weights_of(k / 2);
            std::copy(w.begin(), w.end(), weights.begin());
            const auto& stack = stacks[k / 2];
            auto& into = k % 2 == 0 ? out[k / 2].a : out[k / 2].b;
            return lora::sum_job{(k % 2 == 0 ? stack.a : stack.b).data(), into.data(), into.size()};
        });
    }
};

}  // namespace lorahub
