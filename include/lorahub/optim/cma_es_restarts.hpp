#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "lorahub/optim/cma_es.hpp"
#include "lorahub/optim/common.hpp"

namespace lorahub::optim {

enum class restart_regime {
    ipop,   ///< Auger & Hansen (2005): every restart doubles the population
    bipop,  ///< Hansen (2009): large-population restarts interleaved with small local ones
};

/// One CMA-ES run of a restarted search, as it went.
struct cma_run {
    std::size_t population = 0;
    double initial_step = 0;
    std::size_t evaluations = 0;
    std::string_view stop;  ///< the termination criterion that ended it; empty while running or at the budget
    bool small = false;     ///< a BIPOP small-population run
};

/// CMA-ES restarted as pycma 4.0's `fmin(..., restarts=9, incpopsize=2, bipop=...)` restarts it.
/// A run ends on `cma_termination` (pycma's defaults, maxiter and tolstagnation resolved for the
/// first run and kept; `settings.restarts.stall_generations` adds a trigger for small budgets);
/// its final mean is then evaluated once (pycma's eval_final_mean). The first run starts at
/// `settings.start`, later runs at uniform random points of the box (pycma with a callable x0),
/// with seeds seed + 1, seed + 2, ... With lambda0 = 4 + 3 ln n unrounded (or
/// `settings.population`) and k large runs so far:
/// - IPOP: every restart is large: population floor(lambda0 2^k), sigma0.
/// - BIPOP: the next run is small while the small runs (the first run counted as one) have used
///   fewer evaluations than the large runs; a small run has sigma0 0.01^U1, population
///   floor(lambda0 2^(k U2^2)) and at most half the large runs' evaluations as maxiter.
/// The search ends after `settings.restarts.max_restarts` large restarts or at the budget.
template <restart_regime Regime>
class restarted_cma_es {
public:
    static constexpr std::string_view name = Regime == restart_regime::ipop ? "cma-es-ipop" : "cma-es-bipop";
    static constexpr std::string_view description = Regime == restart_regime::ipop
                                                         ? "CMA-ES with IPOP restarts (pycma 4.0's criteria: none fires before "
                                                           "100 + 100 n^1.5/lambda generations, ~5,000 evaluations for 12 modules, "
                                                           "so it is plain CMA-ES below that unless --stall-generations)"
                                                         : "CMA-ES with BIPOP restarts (as IPOP: plain CMA-ES below ~5,000 evaluations "
                                                           "for 12 modules unless --stall-generations)";

    explicit restarted_cma_es(const settings& options) : options_(options), start_points_(options.seed ^ 0x2545f4914f6cdd1dull) {
        options_.validate();
        start_run(options_.start_point(), options_.initial_step, options_.population, {});
        first_termination_ = run_->termination();
        // pycma scales the unrounded default 4 + 3 ln n: populations 10, 21, 43, 87, ... in 10-D
        base_population_ = options_.population > 0 ? static_cast<double>(options_.population)
                                                   : 4.0 + 3.0 * std::log(static_cast<double>(options_.dimension));
    }

    point ask() {
        if (final_mean_) return *final_mean_;
        return run_->ask();
    }
    std::vector<point> ask_population() {
        if (final_mean_) return {*final_mean_};
        return run_->ask_population();
    }

    void tell(std::span<const double> x, double value) {
        best_.record(x, value);
        ++runs_.back().evaluations;
        if (final_mean_) {
            final_mean_.reset();
            restart();
            return;
        }
        run_->tell(x, value);
        if (run_->between_generations() && (!run_->stop_reason().empty() || run_->done())) {
            runs_.back().stop = run_->stop_reason().empty() ? std::string_view("tolx") : run_->stop_reason();
            final_mean_ = run_->mean();
        }
    }

    bool done() const { return finished_ || best_.evaluations >= options_.budget; }
    const best_so_far& best() const { return best_; }
    /// Every run so far, the current one last.
    const std::vector<cma_run>& runs() const { return runs_; }

private:
    void start_run(point start, double step, std::size_t population, cma_termination termination, bool small = false) {
        settings run_settings = options_;
        run_settings.start = std::move(start);
        run_settings.initial_step = step;
        run_settings.seed = options_.seed + runs_.size();
        termination.stall_generations = options_.restarts.stall_generations;
        run_.emplace(run_settings, population, termination);
        runs_.push_back({run_->population_size(), step, 0, {}, small});
    }

    void restart() {
        std::size_t small_evaluations = 0, large_evaluations = 0;
        for (std::size_t i = 0; i < runs_.size(); ++i) (i == 0 || runs_[i].small ? small_evaluations : large_evaluations) += runs_[i].evaluations;
        const bool small = Regime == restart_regime::bipop && small_evaluations < large_evaluations;
        if (!small && large_runs_ >= options_.restarts.max_restarts) {
            finished_ = true;
            return;
        }
        point start(options_.dimension);
        for (auto& value : start) value = start_points_.uniform(options_.lower, options_.upper);
        if (!small) {
            ++large_runs_;
            start_run(std::move(start), options_.initial_step, population_for(static_cast<double>(large_runs_)), first_termination_);
            return;
        }
        const double u1 = start_points_.uniform(), u2 = start_points_.uniform();
        const std::size_t population = population_for(static_cast<double>(large_runs_) * u2 * u2);
        cma_termination termination = first_termination_;
        termination.maxiter = std::max(
            1.0, std::min(first_termination_.maxiter, 0.5 * static_cast<double>(large_evaluations) / static_cast<double>(population)));
        start_run(std::move(start), options_.initial_step * std::pow(0.01, u1), population, termination, true);
    }

    std::size_t population_for(double doublings) const {
        return std::max<std::size_t>(2, static_cast<std::size_t>(std::floor(base_population_ * std::pow(2.0, doublings))));
    }

    settings options_;
    random_source start_points_;
    std::optional<cma_es> run_;
    std::vector<cma_run> runs_;
    best_so_far best_;
    std::size_t large_runs_ = 0;
    double base_population_ = 0;
    cma_termination first_termination_;  ///< maxiter and tolstagnation resolved for the first run, kept for all, as pycma
    std::optional<point> final_mean_;    ///< the ended run's mean, evaluated once before the next run (pycma's eval_final_mean)
    bool finished_ = false;
};

using cma_es_ipop = restarted_cma_es<restart_regime::ipop>;
using cma_es_bipop = restarted_cma_es<restart_regime::bipop>;

}  // namespace lorahub::optim
