#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlopt.h>

#include "lorahub/optim/common.hpp"

namespace lorahub::optim {

/// COBYLA (Powell 1994) from NLopt, set up as upstream LoraHub runs it through nevergrad's
/// NGOpt: start at the start point (0), first trust-region radius `initial_step` (0.5),
/// box bounds, at most `budget` evaluations. NLopt drives its own loop through a callback,
/// so a worker thread runs it and hands each point to ask() and waits for tell(); the
/// sequence is deterministic (COBYLA uses no randomness; the seed is unused).
class cobyla {
public:
    static constexpr std::string_view name = "cobyla";
    static constexpr std::string_view description = "COBYLA (NLopt), as upstream LoraHub runs it through NGOpt (the default)";

    explicit cobyla(const settings& options) : options_(options) {
        options_.validate();
        worker_ = std::thread([this] { run(); });
    }
    cobyla(const cobyla&) = delete;
    cobyla& operator=(const cobyla&) = delete;
    ~cobyla() {
        {
            std::lock_guard lock(mutex_);
            abandoned_ = true;
        }
        changed_.notify_all();
        worker_.join();
    }

    point ask() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return request_.has_value() || finished_; });
        if (!request_) throw argument_error("cobyla", "ask() after the optimizer finished; check done() first");
        return *request_;
    }
    std::vector<point> ask_population() { return {ask()}; }

    void tell(std::span<const double> x, double value) {
        {
            std::lock_guard lock(mutex_);
            if (!request_ || !std::equal(x.begin(), x.end(), request_->begin(), request_->end()))
                throw argument_error("cobyla", "tell() must follow ask() with the point it returned");
            best_.record(x, value);
            reply_ = comparable(value);
            request_.reset();
        }
        changed_.notify_all();
    }

    /// True once the budget is spent or NLopt has converged (its trust region is exhausted).
    bool done() const {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return request_.has_value() || finished_; });
        return finished_ || best_.evaluations >= options_.budget;
    }
    const best_so_far& best() const { return best_; }
    /// NLopt's result code once finished (for diagnostics).
    int status() const { return status_; }

private:
    static double objective(unsigned n, const double* x, double*, void* self) {
        return static_cast<cobyla*>(self)->evaluate(std::span<const double>(x, n));
    }

    double evaluate(std::span<const double> x) {
        std::unique_lock lock(mutex_);
        if (abandoned_ || best_.evaluations >= options_.budget) {
            nlopt_force_stop(handle_);
            return 0.0;
        }
        request_ = clip(point(x.begin(), x.end()), options_.lower, options_.upper);
        changed_.notify_all();
        changed_.wait(lock, [&] { return reply_.has_value() || abandoned_; });
        if (abandoned_) {
            nlopt_force_stop(handle_);
            return 0.0;
        }
        const double value = *reply_;
        reply_.reset();
        // COBYLA cannot use +inf: hand it a large finite penalty for failed evaluations
        return std::isfinite(value) ? value : 1e30;
    }

    void run() {
        const auto n = static_cast<unsigned>(options_.dimension);
        handle_ = nlopt_create(NLOPT_LN_COBYLA, n);
        std::vector<double> lower(n, options_.lower), upper(n, options_.upper), x = options_.start_point();
        nlopt_set_lower_bounds(handle_, lower.data());
        nlopt_set_upper_bounds(handle_, upper.data());
        nlopt_set_min_objective(handle_, &cobyla::objective, this);
        nlopt_set_initial_step1(handle_, options_.initial_step);
        nlopt_set_maxeval(handle_, static_cast<int>(std::min<std::size_t>(options_.budget, 1u << 30)));
        nlopt_set_xtol_abs1(handle_, 1e-10);
        double minimum = 0;
        const nlopt_result result = nlopt_optimize(handle_, x.data(), &minimum);
        nlopt_destroy(handle_);
        {
            std::lock_guard lock(mutex_);
            status_ = static_cast<int>(result);
            finished_ = true;
            request_.reset();
        }
        changed_.notify_all();
    }

    settings options_;
    best_so_far best_;
    nlopt_opt handle_ = nullptr;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::optional<point> request_;
    std::optional<double> reply_;
    bool finished_ = false;
    bool abandoned_ = false;
    int status_ = 0;
    std::thread worker_;
};

}  // namespace lorahub::optim
