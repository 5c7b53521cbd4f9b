#pragma once

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "lorahub/concepts.hpp"
#include "lorahub/hub/objective.hpp"
#include "lorahub/lora/pool.hpp"
#include "lorahub/lora/weighted_ab.hpp"
#include "lorahub/optim/common.hpp"

namespace lorahub {

/// One objective evaluation of the search, in the order they happened.
struct evaluation {
    std::vector<double> weights;
    double loss = 0;
    double objective = 0;  ///< +infinity when the loss was not finite
    double seconds = 0;    ///< wall time of this evaluation (compose + loss)
};

template <Model M>
struct learn_options {
    std::size_t budget = 40;
    std::uint64_t seed = 42;
    double lower = -1.5;
    double upper = 1.5;
    double initial_step = 0.5;
    /// The loss of a composed LoRA on the examples; default: upstream LoraHub's reduction.
    std::function<double(const M&, const examples_for<M>&, const typename M::lora_binding&, typename M::context&)> loss =
        [](const M& model, const examples_for<M>& examples, const typename M::lora_binding& lora, typename M::context& context) {
            return reference_loss(model, examples, &lora, context);
        };
    /// The penalty on the weights; default: 0.05 * mean |w|.
    std::function<double(std::span<const double>)> regularizer = [](std::span<const double> w) { return l1_penalty(w); };
    /// Called after every evaluation (progress reporting).
    std::function<void(std::size_t index, const evaluation&, const evaluation& best)> on_evaluation;
};

/// The loss of a composition and its objective.
struct score_result {
    double loss = 0;
    double objective = 0;  ///< loss + regularizer(w); +infinity when the loss is not finite
};

/// One candidate scored as learn() scores it: options.loss of the bound composition plus
/// options.regularizer(w), or +infinity when the loss is not finite.
template <Model M>
score_result score_bound(const M& model, const examples_for<M>& examples, const typename M::lora_binding& lora, std::span<const double> w,
                         const learn_options<M>& options, typename M::context& context) {
    const double loss = options.loss(model, examples, lora, context);
    return {loss, std::isfinite(loss) ? loss + options.regularizer(w) : std::numeric_limits<double>::infinity()};
}

struct learn_result {
    std::vector<double> weights;
    double objective = std::numeric_limits<double>::infinity();
    double loss = std::numeric_limits<double>::infinity();
    std::vector<evaluation> trace;
    std::vector<lora_layer> composed;  ///< the pool composed with `weights`
    std::string optimizer;
    std::string composer;
    double seconds = 0;
};

/// LoraHub: searches module weights w in the box with optimizer policy O, scoring each w by
/// loss(compose(pool, w)) + regularizer(w). The composition is written into storage
/// allocated once and bound to the model once, and the model's context is made once, so
/// composing and scoring allocate nothing after the first evaluation; the trace entry and
/// the points the optimizer returns from ask_population() are the per-evaluation
/// allocations left. A non-finite loss scores +infinity and is never the result. An
/// optimizer that is not done() but asks no point is an error, not an endless loop.
template <Optimizer O, class C = weighted_ab, Model M, LoraPool P>
    requires Composer<C, P>
learn_result learn(const M& model, const P& pool, const examples_for<M>& examples, const learn_options<M>& options = {},
                   const C& composer = {}) {
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    optim::settings settings{.dimension = pool.size(), .lower = options.lower, .upper = options.upper, .budget = options.budget,
                             .seed = options.seed, .initial_step = options.initial_step, .start = {}};
    O optimizer(settings);
    auto composed = composer.allocate(pool);
    const auto lora = model.bind(composed, "composed LoRA");
    auto context = model.make_context();
    learn_result result;
    result.optimizer = std::string(O::name);
    result.composer = std::string(C::name);
    result.trace.reserve(options.budget);
    evaluation best{{}, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(), 0};
    while (!optimizer.done() && result.trace.size() < options.budget) {
        const auto population = optimizer.ask_population();
        if (population.empty())
            throw argument_error(std::string(O::name), "ask_population() returned no point although done() is false");
        for (const auto& w : population) {
            if (result.trace.size() == options.budget) break;  // a population may overshoot the budget
            const auto begun = clock::now();
            composer.compose(pool, w, composed);
            const auto scored = score_bound(model, examples, lora, w, options, context);
            result.trace.push_back({w, scored.loss, scored.objective, std::chrono::duration<double>(clock::now() - begun).count()});
            if (scored.objective < best.objective) best = result.trace.back();
            if (options.on_evaluation) options.on_evaluation(result.trace.size(), result.trace.back(), best);
            optimizer.tell(w, scored.objective);
        }
    }
    if (!std::isfinite(best.objective))
        throw argument_error("learn", "no evaluation gave a finite loss (the model or the modules produce NaN or infinity)");
    result.weights = best.weights;
    result.objective = best.objective;
    result.loss = best.loss;
    composer.compose(pool, result.weights, composed);
    result.composed = std::move(composed);
    result.seconds = std::chrono::duration<double>(clock::now() - started).count();
    return result;
}

}  // namespace lorahub
