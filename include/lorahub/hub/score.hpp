#pragma once

#include <span>

#include "lorahub/concepts.hpp"
#include "lorahub/hub/learn.hpp"
#include "lorahub/hub/objective.hpp"
#include "lorahub/lora/pool.hpp"
#include "lorahub/lora/weighted_ab.hpp"

namespace lorahub {

/// Scores fixed weights `w` exactly as learn() scores a candidate: the pool composed by C,
/// options.loss on the examples (upstream's reduction by default), plus options.regularizer.
template <Composer C = weighted_ab, class Model>
score_result score(const Model& model, const lora_pool& pool, const tokenized_examples& examples, std::span<const double> w,
                   const learn_options<Model>& options = {}) {
    auto composed = C::allocate(pool);
    C::compose(pool, w, composed);
    return score_bound(model, examples, model.bind(composed, "composed LoRA"), w, options);
}

}  // namespace lorahub
