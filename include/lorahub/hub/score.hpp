#pragma once

#include <span>
#include <vector>

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

/// score() of every point, as learn() scores a population: the compositions bound once, the
/// points scored together up to options.population_pass at a time when the model is a
/// PopulationModel and options.loss is the default (equal to one at a time up to float
/// rounding), else one at a time.
template <class C = weighted_ab, Model M, LoraPool P>
    requires Composer<C, P>
std::vector<score_result> score_all(const M& model, const P& pool, const examples_for<M>& examples, std::span<const std::vector<double>> points,
                                    const learn_options<M>& options = {}, const C& composer = {}) {
    for (const auto& w : points) pool.check_weights(w);
    std::vector<score_result> results;
    if (points.empty()) return results;
    results.reserve(points.size());
    composition_slots<C, M, P> slots(model, pool, composer);
    auto context = model.make_context();
    detail::score_points(model, examples, options, slots, context, points, [&](const std::vector<double>& w, double loss, double) {
        results.push_back({loss, objective_of(loss, w, options.regularizer)});
    });
    return results;
}

}  // namespace lorahub
