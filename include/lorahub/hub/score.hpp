#pragma once

#include <span>

#include "lorahub/concepts.hpp"
#include "lorahub/hub/learn.hpp"
#include "lorahub/hub/objective.hpp"
#include "lorahub/lora/weighted_ab.hpp"

namespace lorahub {

/// Scores fixed weights `w` exactly as learn() scores a candidate: the pool composed by C,
/// options.loss on the examples (upstream's reduction by default), plus options.regularizer.
template <class C = weighted_ab, Model M, LoraPool P>
    requires Composer<C, P>
score_result score(const M& model, const P& pool, const examples_for<M>& examples, std::span<const double> w,
                   const learn_options<M>& options = {}, const C& composer = {}) {
    auto composed = composer.allocate(pool);
    composer.compose(pool, w, composed);
    auto context = model.make_context();
    return score_bound(model, examples, model.bind(composed, "composed LoRA"), w, options, context);
}

}  // namespace lorahub
