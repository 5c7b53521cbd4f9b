#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/core/memory.hpp"
#include "lorahub/core/random.hpp"

namespace lorahub::optim {

using point = std::vector<double>;

/// How a restarting optimizer (CMA-ES with IPOP or BIPOP) restarts. A run ends on pycma's
/// termination criteria; those need hundreds of evaluations, so for small budgets
/// `stall_generations` also ends a run whose best value has not improved for that many
/// generations (0: off, as pycma).
struct restart_settings {
    std::size_t max_restarts = 9;  ///< pycma's `restarts=9`; BIPOP's small runs do not count
    std::size_t stall_generations = 0;
};

/// How CMA-ES keeps the points it asks inside the box.
enum class box_handling {
    /// A sample outside the box is drawn again (up to 20 times), then clipped; the update uses
    /// the point asked. The default: on LoraHub objectives, whose optima lie inside the box,
    /// it finds better weights than `transform` (docs/optimizers.md has the figures).
    resample,
    /// pycma's default (BoundTransform): the search runs on unbounded genotypes and asks their
    /// `box_transform` images; no coordinate's deviation exceeds (upper - lower) / 3 (pycma's
    /// maxstd_boundrange). Better when optima lie near the bounds (Schwefel's function).
    transform,
};

/// The largest budget and population a search takes. Beyond them a search's own bookkeeping
/// (a trace entry per evaluation, a population's points and their ranking) would outgrow a
/// workstation's memory before any model runs; LoraHub's searches use 40 to a few thousand.
inline constexpr std::size_t max_budget = 1'000'000;
inline constexpr std::size_t max_population = 10'000;

/// Checks a search's size before anything is allocated for it: budget and population within
/// the limits above, and the bookkeeping of `dimension` weights within the memory available
/// now. Errors name `budget_subject` / `population_subject` (a flag, a field).
inline void check_search_size(std::size_t budget, std::size_t population, std::size_t dimension, std::string_view budget_subject = "budget",
                              std::string_view population_subject = "population") {
    if (budget > max_budget)
        throw argument_error(std::string(budget_subject), std::to_string(budget) + " evaluations is more than the limit of " + std::to_string(max_budget));
    if (population > max_population)
        throw argument_error(std::string(population_subject),
                             std::to_string(population) + " points per generation is more than the limit of " + std::to_string(max_population));
    // per evaluation: its weights, loss, objective and time; per population point: the point,
    // its genotype and step (CMA-ES), all doubles
    const double bytes = (static_cast<double>(budget) * static_cast<double>(dimension + 8) +
                          3.0 * static_cast<double>(population) * static_cast<double>(dimension + 1)) * sizeof(double);
    const double available = static_cast<double>(available_memory_bytes());
    if (bytes > available / 2)
        throw argument_error(std::string(budget_subject), "a search of " + std::to_string(budget) + " evaluations over " +
                                                              std::to_string(dimension) + " weights needs " + std::to_string(static_cast<std::uint64_t>(bytes / (1 << 20))) +
                                                              " MiB of bookkeeping, more than half the memory available now");
}

/// What every optimizer is given: a box, a start, a first step, a budget and a seed.
/// LoraHub's defaults: weights start at 0 in [-1.5, 1.5], first step 0.5, 40 evaluations.
struct settings {
    std::size_t dimension = 0;
    double lower = -1.5;
    double upper = 1.5;
    std::size_t budget = 40;
    std::uint64_t seed = 42;
    double initial_step = 0.5;
    point start{};  ///< empty: all zeros
    std::size_t population = 0;  ///< points a population-based policy asks at once; 0: its default
    restart_settings restarts{};  ///< read by the restarting policies only
    box_handling bounds = box_handling::resample;  ///< read by CMA-ES only

    point start_point() const { return start.empty() ? point(dimension, 0.0) : start; }

    void validate() const {
        if (dimension == 0) throw argument_error("optimizer", "needs at least one dimension");
        if (!(lower < upper) || !std::isfinite(lower) || !std::isfinite(upper))
            throw argument_error("optimizer", "bounds must be finite with lower < upper");
        if (budget == 0) throw argument_error("optimizer", "budget must be at least 1");
        check_search_size(budget, population, dimension, "optimizer budget", "optimizer population");
        if (!(initial_step > 0) || !std::isfinite(initial_step)) throw argument_error("optimizer", "initial step must be positive");
        if (!start.empty() && start.size() != dimension)
            throw argument_error("optimizer", "start point has " + std::to_string(start.size()) + " values for " +
                                                  std::to_string(dimension) + " dimensions");
        for (double value : start)
            if (!(value >= lower && value <= upper)) throw argument_error("optimizer", "start point lies outside the bounds");
    }
};

using lorahub::random_source;

/// A value as optimizers compare it: NaN and infinities count as +infinity.
inline double comparable(double value) { return std::isfinite(value) ? value : std::numeric_limits<double>::infinity(); }

inline point clip(point x, double lower, double upper) {
    for (auto& value : x) value = std::clamp(value, lower, upper);
    return x;
}

inline bool inside(std::span<const double> x, double lower, double upper) {
    return std::all_of(x.begin(), x.end(), [&](double v) { return v >= lower && v <= upper; });
}

/// The best point told so far; a non-finite value is never recorded as best.
struct best_so_far {
    point x;
    double value = std::numeric_limits<double>::infinity();
    std::size_t evaluations = 0;

    void record(std::span<const double> candidate, double f) {
        ++evaluations;
        if (std::isfinite(f) && f < value) {
            value = f;
            x.assign(candidate.begin(), candidate.end());
        }
    }
};

}  // namespace lorahub::optim
