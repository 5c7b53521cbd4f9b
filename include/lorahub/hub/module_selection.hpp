#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "lorahub/concepts.hpp"
#include "lorahub/hub/objective.hpp"
#include "lorahub/hub/selection_rule.hpp"
#include "lorahub/lora/arrow.hpp"
#include "lorahub/lora/pool.hpp"

namespace lorahub {

/// Modules Arrow mixes per token when it scores a pool for selection (PEFT's default top-k).
inline constexpr std::size_t selection_top_k = 3;

/// Arrow's routing mass of each module on the examples: the base model runs the examples once
/// (teacher-forced, as the loss does) and at every layer the pool targets each token's top-k
/// softmax coefficients over |x . v_i| (v_i: module i's top right singular vector of B_i A_i)
/// are summed per module. The modules change nothing on the way (the base hidden states).
template <Model M>
std::vector<double> routing_usage(const M& model, const lora_pool& pool, const examples_for<M>& examples, std::size_t top_k = selection_top_k) {
    auto usage = std::make_shared<std::vector<double>>(pool.size(), 0.0);
    const auto layers = arrow_layers(pool, {std::min(top_k, pool.size()), 1.0, usage});
    const auto binding = model.bind(layers, "Arrow routing");
    reference_loss(model, examples, &binding);
    return *usage;
}

}  // namespace lorahub
