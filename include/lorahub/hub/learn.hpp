#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lorahub/concepts.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/core/random.hpp"
#include "lorahub/hub/module_selection.hpp"
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

/// Where the search starts: w = 0 (upstream), the uniform average w = 1/N, or the module
/// whose single-module loss is lowest (w = its unit vector; N evaluations first).
enum class start_point { zero, uniform, best_single };

/// The start point named "zero", "uniform" or "best-single" (the CLI's --start, Python's start=).
inline start_point start_point_named(std::string_view name) {
    if (name == "zero") return start_point::zero;
    if (name == "uniform") return start_point::uniform;
    if (name == "best-single") return start_point::best_single;
    throw argument_error("start", "\"" + std::string(name) + "\" is not zero, uniform or best-single");
}

/// What a search is, apart from the model: its budget, start, selection, box, seed and the
/// optimizer's population and restarts. Front ends (the CLI, Python) fill one from their flags
/// or arguments; learn_options<M> is one plus what depends on the model type.
struct search_settings {
    std::size_t budget = 40;
    start_point start = start_point::zero;
    std::vector<double> start_weights;  ///< when not empty: the first start (one weight per module), instead of `start`
    /// Searches in turn: the first from `start`, the others from uniform random points of the
    /// box (seeded), each with an equal share of the budget; the best of all is the result.
    /// Helps the local optimizers (COBYLA, Nelder-Mead) out of the L1 kink at 0.
    std::size_t starts = 1;
    /// 0: search all modules. k: first score each module alone (one evaluation each, on top
    /// of the budget) and search only the k with the lowest loss; the others get weight 0
    /// (and the regularizer still sees all N weights, so objectives compare across k).
    std::size_t select = 0;
    /// How select picks its k modules: the lowest single-module losses (default), or the most
    /// Arrow routing mass on the examples (no N evaluations; hub/module_selection.hpp).
    selection_rule select_by = selection_rule::single_loss;
    std::uint64_t seed = 42;
    double lower = -1.5;
    double upper = 1.5;
    double initial_step = 0.5;
    std::size_t population = 0;  ///< points per generation of CMA-ES / per batch of random search; 0: the policy's default
    /// CMA-ES with IPOP / BIPOP restarts (optim::cma_es_ipop, cma_es_bipop): how many, and the
    /// stall trigger that lets them happen within LoraHub's budgets.
    optim::restart_settings restarts{};
};

template <Model M>
struct learn_options : search_settings {
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
    /// Asked after every evaluation (after on_evaluation): true ends the search there, the best
    /// evaluation so far its result (a user's early stop). The points of a population pass
    /// already scored are still recorded.
    std::function<bool()> stop;
};

/// The loss of a composition and its objective.
struct score_result {
    double loss = 0;
    double objective = 0;  ///< loss + regularizer(w); +infinity when the loss is not finite
};

/// The objective of a loss at weights w: loss + regularizer(w), or +infinity when the loss is
/// not finite (such a candidate is never the result).
inline double objective_of(double loss, std::span<const double> w, const std::function<double(std::span<const double>)>& regularizer) {
    return std::isfinite(loss) ? loss + regularizer(w) : std::numeric_limits<double>::infinity();
}

/// One candidate scored as learn() scores it: options.loss of the bound composition (upstream's
/// reduction by default) and its objective.
template <Model M>
score_result score_bound(const M& model, const examples_for<M>& examples, const typename M::lora_binding& lora, std::span<const double> w,
                         const learn_options<M>& options, typename M::context& context) {
    const double loss = options.loss ? options.loss(model, examples, lora, context) : reference_loss(model, examples, &lora, context);
    return {loss, objective_of(loss, w, options.regularizer)};
}

struct learn_result {
    std::vector<double> weights;
    double objective = std::numeric_limits<double>::infinity();
    double loss = std::numeric_limits<double>::infinity();
    std::vector<evaluation> trace;
    std::vector<lora_layer> composed;  ///< the pool composed with `weights`
    std::string optimizer;
    std::string composer;
    std::vector<double> single_losses;  ///< each module's loss alone, when start or select needed them (else empty)
    std::vector<double> routing_usage;  ///< each module's Arrow routing mass, when select_by routing needed it (else empty)
    std::vector<std::size_t> searched;  ///< the modules the search weighted (all, unless select)
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

namespace detail {

/// Scores `points` as learn() does: composed into slots, together in passes of
/// options.population_pass when the model and the loss allow it, else one at a time.
/// Calls record(point, loss, seconds) for each, in order.
template <class C, Model M, LoraPool P, class Record>
void score_points(const M& model, const examples_for<M>& examples, const learn_options<M>& options, composition_slots<C, M, P>& slots,
                  typename M::context& context, std::span<const std::vector<double>> points, Record&& record) {
    using clock = std::chrono::steady_clock;
    const bool together = PopulationModel<M> && !options.loss && options.population_pass > 1;
    const std::size_t pass = together ? options.population_pass : 1;
    for (std::size_t first = 0; first < points.size(); first += pass) {
        const auto chunk = points.subspan(first, std::min(pass, points.size() - first));
        const auto begun = clock::now();
        slots.compose(chunk);
        std::vector<double> losses;
        if constexpr (PopulationModel<M>) {
            if (together) losses = reference_losses(model, examples, slots.bindings(chunk.size()), context);
        }
        if (losses.empty()) losses.push_back(score_bound(model, examples, slots.binding(0), chunk[0], options, context).loss);
        const double seconds = std::chrono::duration<double>(clock::now() - begun).count() / static_cast<double>(chunk.size());
        for (std::size_t p = 0; p < chunk.size(); ++p) record(chunk[p], losses[p], seconds);
    }
}

/// Each module's loss alone (w = its unit vector), N evaluations scored as learn() scores.
template <class C, Model M, LoraPool P>
std::vector<double> single_module_losses(const M& model, const examples_for<M>& examples, const learn_options<M>& options,
                                         composition_slots<C, M, P>& slots, typename M::context& context, std::size_t n) {
    std::vector<std::vector<double>> units(n, std::vector<double>(n, 0.0));
    for (std::size_t i = 0; i < n; ++i) units[i][i] = 1.0;
    std::vector<double> losses;
    score_points(model, examples, options, slots, context, units, [&](const std::vector<double>&, double loss, double) {
        losses.push_back(std::isfinite(loss) ? loss : std::numeric_limits<double>::infinity());
    });
    return losses;
}

}  // namespace detail

namespace detail {

/// The weights of the pool's modules at `order` as one weight per module of a pool of `n`
/// (zeros for the modules left out): a sub-pool's weights in the whole pool.
inline std::vector<double> expand_weights(std::span<const double> sub, std::span<const std::size_t> order, std::size_t n) {
    std::vector<double> full(n, 0.0);
    for (std::size_t i = 0; i < order.size(); ++i) full[order[i]] = sub[i];
    return full;
}

/// The first start of the search: options.start_weights, else the point options.start names,
/// clipped to the box.
template <Model M>
std::vector<double> first_start(const learn_options<M>& options, std::size_t n, std::span<const double> single_losses) {
    std::vector<double> start(n, 0.0);
    if (!options.start_weights.empty()) {
        if (options.start_weights.size() != n)
            throw argument_error("learn", std::to_string(options.start_weights.size()) + " start weights for " + std::to_string(n) + " modules");
        start = options.start_weights;
    } else if (options.start == start_point::uniform) {
        start.assign(n, 1.0 / static_cast<double>(n));
    } else if (options.start == start_point::best_single) {
        start[static_cast<std::size_t>(std::min_element(single_losses.begin(), single_losses.end()) - single_losses.begin())] = 1.0;
    }
    for (auto& value : start) value = std::clamp(value, options.lower, options.upper);
    return start;
}

/// The search of learn() over the whole pool: options.starts runs of the optimizers that
/// make_optimizer makes, sharing the budget, the first from `start`, the later ones from
/// seeded random points of the box; each evaluation recorded in result.trace.
template <OptimizerFactory F, class C, Model M, LoraPool P>
void search(F& make_optimizer, const M& model, const examples_for<M>& examples, const learn_options<M>& options,
            composition_slots<C, M, P>& slots, typename M::context& context, const std::vector<double>& start, learn_result& result) {
    result.trace.reserve(std::min<std::size_t>(options.budget, 1 << 16));
    evaluation best{{}, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(), 0};
    random_source start_points(options.seed ^ 0x9e3779b97f4a7c15ull);
    bool stopped = false;
    for (std::size_t run = 0; run < options.starts && !stopped; ++run) {
        const std::size_t share = options.budget / options.starts + (run < options.budget % options.starts ? 1 : 0);
        const std::size_t limit = result.trace.size() + share;
        optim::settings settings{.dimension = start.size(), .lower = options.lower, .upper = options.upper, .budget = share,
                                 .seed = options.seed + run, .initial_step = options.initial_step, .start = start,
                                 .population = options.population, .restarts = options.restarts};
        if (run > 0)
            for (auto& value : settings.start) value = start_points.uniform(options.lower, options.upper);
        auto optimizer = make_optimizer(std::as_const(settings));
        if (run == 0) result.optimizer = std::string(optimizer.name);
        auto record = [&](const std::vector<double>& w, double loss, double seconds) {
            const double objective = objective_of(loss, w, options.regularizer);
            result.trace.push_back({w, loss, objective, seconds});
            if (objective < best.objective) best = result.trace.back();
            if (options.on_evaluation) options.on_evaluation(result.trace.size(), result.trace.back(), best);
            optimizer.tell(w, objective);
            if (options.stop && options.stop()) stopped = true;
        };
        while (!stopped && !optimizer.done() && result.trace.size() < limit) {
            const auto population = optimizer.ask_population();
            if (population.empty())
                throw argument_error(std::string(optimizer.name), "ask_population() returned no point although done() is false");
            const std::size_t usable = std::min(population.size(), limit - result.trace.size());  // may overshoot the budget
            score_points(model, examples, options, slots, context, std::span(population.data(), usable), record);
        }
    }
    if (!std::isfinite(best.objective))
        throw argument_error("learn", "no evaluation gave a finite loss (the model or the modules produce NaN or infinity)");
    result.weights = best.weights;
    result.objective = best.objective;
    result.loss = best.loss;
}

}  // namespace detail

/// learn() with each start's optimizer made by make_optimizer(settings) instead of a policy
/// type: an optimizer known only at run time (one driven from Python, say).
template <OptimizerFactory F, class C = weighted_ab, Model M, LoraPool P>
    requires Composer<C, P>
learn_result learn_using(F& make_optimizer, const M& model, const P& pool, const examples_for<M>& examples,
                         const learn_options<M>& options = {}, const C& composer = {}) {
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    if constexpr (requires { composer.nonnegative_weights; })
        if (composer.nonnegative_weights && options.lower < 0.0)
            throw argument_error(std::string(composer.name), "takes the square root of each weight x scaling: search with lower >= 0");
    if (options.starts == 0) throw argument_error("learn", "starts must be at least 1");
    if (options.budget < options.starts) throw argument_error("learn", "the budget must give every start at least one evaluation");
    const std::size_t n = pool.size();
    optim::check_search_size(options.budget, options.population, n);
    auto context = model.make_context();
    learn_result result;
    result.composer = std::string(composer.name);
    composition_slots<C, M, P> slots(model, pool, composer);
    const bool selecting = options.select > 0 && options.select < n;
    const bool by_routing = selecting && options.select_by == selection_rule::arrow_routing;
    if ((options.select > 0 && !by_routing) || options.start == start_point::best_single)
        result.single_losses = detail::single_module_losses(model, examples, options, slots, context, n);
    if (selecting) {
        if constexpr (requires { pool.subset(std::span<const std::size_t>()); }) {
            // search the `select` modules of lowest single loss (or most routing mass) as a pool of their own
            std::vector<std::size_t> order(n);
            std::iota(order.begin(), order.end(), std::size_t{0});
            if (by_routing) {
                if constexpr (std::same_as<P, lora_pool>) result.routing_usage = routing_usage(model, pool, examples);
                else throw argument_error("learn", "selection by routing needs a lora_pool");
                std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return result.routing_usage[a] > result.routing_usage[b]; });
            } else {
                std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return result.single_losses[a] < result.single_losses[b]; });
            }
            order.resize(options.select);
            auto sub_options = options;
            sub_options.select = 0;
            // the penalty stays the one of the full weight vector
            sub_options.regularizer = [regularizer = options.regularizer, order, n](std::span<const double> w) {
                return regularizer(detail::expand_weights(w, order, n));
            };
            if (options.start == start_point::best_single) {  // the selected module of lowest single loss
                sub_options.start = start_point::zero;
                sub_options.start_weights.assign(order.size(), 0.0);
                sub_options.start_weights[static_cast<std::size_t>(
                    std::min_element(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return result.single_losses[a] < result.single_losses[b]; }) -
                    order.begin())] = 1.0;
            } else if (!options.start_weights.empty()) {
                sub_options.start_weights.clear();
                for (std::size_t index : order) sub_options.start_weights.push_back(options.start_weights.at(index));
            }
            auto sub = learn_using(make_optimizer, model, pool.subset(order), examples, sub_options, composer);
            sub.weights = detail::expand_weights(sub.weights, order, n);
            for (auto& step : sub.trace) step.weights = detail::expand_weights(step.weights, order, n);
            sub.single_losses = std::move(result.single_losses);
            sub.routing_usage = std::move(result.routing_usage);
            sub.searched = std::move(order);
            sub.seconds = std::chrono::duration<double>(clock::now() - started).count();
            return sub;
        } else {
            throw argument_error("learn", "module selection needs a pool with subset()");
        }
    }
    result.searched.resize(n);
    std::iota(result.searched.begin(), result.searched.end(), std::size_t{0});
    detail::search(make_optimizer, model, examples, options, slots, context, detail::first_start(options, n, result.single_losses), result);
    slots.compose(std::span(&result.weights, 1));
    result.composed = slots.release_first();
    result.seconds = std::chrono::duration<double>(clock::now() - started).count();
    return result;
}

/// LoraHub: searches module weights w in the box with optimizer policy O, scoring each w by
/// loss(compose(pool, w)) + regularizer(w). Compositions are written into storage allocated
/// once and bound to the model once, and the model's context is made once, so composing and
/// scoring allocate nothing after the first evaluation of a size; the trace entry, the
/// points the optimizer returns from ask_population() and the small vector of losses of a
/// pass are the per-evaluation allocations left. The points of ask_population() (a CMA-ES
/// generation, a batch of random search) are scored together, up to options.population_pass
/// at a time, when the model is a PopulationModel and options.loss is the default; otherwise
/// one at a time. Either way the trace and the result are those of one-at-a-time scoring, up
/// to float rounding. A non-finite loss scores +infinity and is never the result. An
/// optimizer that is not done() but asks no point is an error, not an endless loop.
/// options.start, options.starts and options.select choose where and over which modules the
/// search runs (see learn_options).
template <Optimizer O, class C = weighted_ab, Model M, LoraPool P>
    requires Composer<C, P>
learn_result learn(const M& model, const P& pool, const examples_for<M>& examples, const learn_options<M>& options = {},
                   const C& composer = {}) {
    auto make_optimizer = [](const optim::settings& settings) { return O(settings); };
    return learn_using(make_optimizer, model, pool, examples, options, composer);
}

}  // namespace lorahub
