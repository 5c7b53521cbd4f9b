#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
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
    double seconds = 0;    ///< wall time of this evaluation (compose + loss); a share of its population's pass when scored together
};

template <Model M>
struct learn_options {
    std::size_t budget = 40;
    std::uint64_t seed = 42;
    double lower = -1.5;
    double upper = 1.5;
    double initial_step = 0.5;
    std::size_t population = 0;  ///< points per generation of CMA-ES / per batch of random search; 0: the policy's default
    /// The loss of a composed LoRA on the examples. Empty (the default): upstream LoraHub's
    /// reduction (reference_loss), with the candidates of a population scored together in one
    /// pass when the model can (PopulationModel). A loss given here scores one at a time.
    std::function<double(const M&, const examples_for<M>&, const typename M::lora_binding&, typename M::context&)> loss;
    /// At most this many candidates of a population share one pass (bounds the activations).
    std::size_t population_pass = 16;
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
    const double loss = options.loss ? options.loss(model, examples, lora, context) : reference_loss(model, examples, &lora, context);
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

/// Compositions written into storage allocated once and bound to the model once: one slot
/// per candidate that a population pass scores together.
template <class C, Model M, LoraPool P>
class composition_slots {
public:
    composition_slots(const M& model, const P& pool, const C& composer) : model_(model), pool_(pool), composer_(composer) { grow(1); }

    /// Composes the first points.size() slots (growing them on first use).
    void compose(std::span<const std::vector<double>> points) {
        grow(points.size());
        for (std::size_t p = 0; p < points.size(); ++p) {
            composer_.compose(pool_, points[p], layers_[p]);
            if constexpr (requires(typename M::lora_binding& binding) { model_.refresh(binding); }) model_.refresh(*bindings_[p]);
        }
    }
    const typename M::lora_binding& binding(std::size_t slot) const { return *bindings_[slot]; }
    std::span<const typename M::lora_binding* const> bindings(std::size_t count) const { return {pointers_.data(), count}; }
    std::vector<lora_layer> release_first() { return std::move(layers_.front()); }

private:
    void grow(std::size_t count) {
        while (layers_.size() < count) {
            layers_.push_back(composer_.allocate(pool_));
            bindings_.push_back(std::make_unique<typename M::lora_binding>(model_.bind(layers_.back(), "composed LoRA")));
            pointers_.push_back(bindings_.back().get());
        }
    }
    const M& model_;
    const P& pool_;
    const C& composer_;
    std::vector<std::vector<lora_layer>> layers_;  // moving the outer vector keeps each matrix's storage, so bindings stay valid
    std::vector<std::unique_ptr<typename M::lora_binding>> bindings_;
    std::vector<const typename M::lora_binding*> pointers_;
};

/// LoraHub: searches module weights w in the box with optimizer policy O, scoring each w by
/// loss(compose(pool, w)) + regularizer(w). Compositions are written into storage allocated
/// once and bound to the model once, and the model's context is made once, so composing and
/// scoring allocate nothing after the first evaluation of a size; the trace entry and the
/// points the optimizer returns from ask_population() are the per-evaluation allocations
/// left. The points of ask_population() (a CMA-ES generation, a batch of random search) are
/// scored together, up to options.population_pass at a time, when the model is a
/// PopulationModel and options.loss is the default; otherwise one at a time. Either way the
/// trace and the result are those of one-at-a-time scoring, up to float rounding. A
/// non-finite loss scores +infinity and is never the result. An optimizer that is not done()
/// but asks no point is an error, not an endless loop.
template <Optimizer O, class C = weighted_ab, Model M, LoraPool P>
    requires Composer<C, P>
learn_result learn(const M& model, const P& pool, const examples_for<M>& examples, const learn_options<M>& options = {},
                   const C& composer = {}) {
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    if constexpr (requires { C::nonnegative_weights; })
        if (C::nonnegative_weights && options.lower < 0.0)
            throw argument_error(std::string(C::name), "takes the square root of each weight x scaling: search with lower >= 0");
    optim::settings settings{.dimension = pool.size(), .lower = options.lower, .upper = options.upper, .budget = options.budget,
                             .seed = options.seed, .initial_step = options.initial_step, .start = {},
                             .population = options.population};
    O optimizer(settings);
    composition_slots<C, M, P> slots(model, pool, composer);
    auto context = model.make_context();
    const bool together = PopulationModel<M> && !options.loss && options.population_pass > 1;
    learn_result result;
    result.optimizer = std::string(O::name);
    result.composer = std::string(C::name);
    result.trace.reserve(options.budget);
    evaluation best{{}, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(), 0};
    auto record = [&](const std::vector<double>& w, double loss, double seconds) {
        const double objective = std::isfinite(loss) ? loss + options.regularizer(w) : std::numeric_limits<double>::infinity();
        result.trace.push_back({w, loss, objective, seconds});
        if (objective < best.objective) best = result.trace.back();
        if (options.on_evaluation) options.on_evaluation(result.trace.size(), result.trace.back(), best);
        optimizer.tell(w, objective);
    };
    while (!optimizer.done() && result.trace.size() < options.budget) {
        const auto population = optimizer.ask_population();
        if (population.empty())
            throw argument_error(std::string(O::name), "ask_population() returned no point although done() is false");
        const std::size_t usable = std::min(population.size(), options.budget - result.trace.size());  // may overshoot the budget
        const std::size_t pass = together ? options.population_pass : 1;
        for (std::size_t first = 0; first < usable; first += pass) {
            const std::span<const std::vector<double>> points(population.data() + first, std::min(pass, usable - first));
            const auto begun = clock::now();
            slots.compose(points);
            std::vector<double> losses;
            if constexpr (PopulationModel<M>) {
                if (together) losses = reference_losses(model, examples, slots.bindings(points.size()), context);
            }
            if (losses.empty()) losses.push_back(score_bound(model, examples, slots.binding(0), points[0], options, context).loss);
            const double seconds = std::chrono::duration<double>(clock::now() - begun).count() / static_cast<double>(points.size());
            for (std::size_t p = 0; p < points.size(); ++p) record(points[p], losses[p], seconds);
        }
    }
    if (!std::isfinite(best.objective))
        throw argument_error("learn", "no evaluation gave a finite loss (the model or the modules produce NaN or infinity)");
    result.weights = best.weights;
    result.objective = best.objective;
    result.loss = best.loss;
    slots.compose(std::span(&result.weights, 1));
    result.composed = slots.release_first();
    result.seconds = std::chrono::duration<double>(clock::now() - started).count();
    return result;
}

}  // namespace lorahub
