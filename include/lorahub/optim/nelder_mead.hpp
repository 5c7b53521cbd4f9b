#pragma once

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <span>
#include <string_view>
#include <vector>

#include "lorahub/optim/common.hpp"

namespace lorahub::optim {

/// Nelder-Mead (Nelder & Mead 1965; coefficients reflection 1, expansion 2, contraction
/// 1/2, shrink 1/2, as in Lagarias et al. 1998), bounded by projecting every proposed point
/// onto the box. The first simplex is the start point plus `initial_step` along each axis
/// (minus where plus would leave the box). When the simplex collapses it restarts around
/// its best vertex while budget remains.
class nelder_mead {
public:
    static constexpr std::string_view name = "nelder-mead";
    static constexpr std::string_view description = "Nelder-Mead simplex, restarted around its best vertex";

    explicit nelder_mead(const settings& options) : options_(options) {
        options_.validate();
        restart(options_.start_point(), options_.initial_step);
    }

    point ask() {
        pending_ = propose();
        return pending_;
    }
    std::vector<point> ask_population() { return {ask()}; }

    void tell(std::span<const double> x, double value) {
        if (!std::equal(x.begin(), x.end(), pending_.begin(), pending_.end()))
            throw argument_error("nelder-mead", "tell() must follow ask() with the point it returned");
        best_.record(x, value);
        advance(comparable(value));
    }

    bool done() const { return best_.evaluations >= options_.budget; }
    const best_so_far& best() const { return best_; }

private:
    enum class phase { initial, reflect, expand, contract_outside, contract_inside, shrink };

    struct vertex {
        point x;
        double f;
    };

    void restart(const point& center, double step) {
        const std::size_t n = options_.dimension;
        simplex_.clear();
        to_evaluate_.clear();
        to_evaluate_.push_back(center);
        for (std::size_t i = 0; i < n; ++i) {
            point x = center;
            x[i] = center[i] + step <= options_.upper ? center[i] + step : center[i] - step;
            to_evaluate_.push_back(clip(std::move(x), options_.lower, options_.upper));
        }
        phase_ = phase::initial;
        step_ = step;
    }

    point propose() {
        if (phase_ == phase::initial || phase_ == phase::shrink) return to_evaluate_[simplex_.size() - (phase_ == phase::shrink ? shrink_base_ : 0)];
        const std::size_t n = options_.dimension;
        centroid_.assign(n, 0.0);
        for (std::size_t v = 0; v < n; ++v)
            for (std::size_t i = 0; i < n; ++i) centroid_[i] += simplex_[v].x[i] / static_cast<double>(n);
        const auto& worst = simplex_.back().x;
        auto along = [&](double t, const point& toward) {
            point x(n);
            for (std::size_t i = 0; i < n; ++i) x[i] = centroid_[i] + t * (toward[i] - centroid_[i]);
            return clip(std::move(x), options_.lower, options_.upper);
        };
        switch (phase_) {
            case phase::reflect: return along(-1.0, worst);
            case phase::expand: return along(-2.0, worst);
            case phase::contract_outside: return along(-0.5, worst);
            default: return along(0.5, worst);
        }
    }

    void sort() { std::stable_sort(simplex_.begin(), simplex_.end(), [](const vertex& a, const vertex& b) { return a.f < b.f; }); }

    void replace_worst(point x, double f) {
        simplex_.back() = {std::move(x), f};
        sort();
        phase_ = phase::reflect;
        maybe_restart();
    }

    void maybe_restart() {
        double diameter = 0;
        for (const auto& v : simplex_)
            for (std::size_t i = 0; i < options_.dimension; ++i) diameter = std::max(diameter, std::abs(v.x[i] - simplex_[0].x[i]));
        if (diameter < 1e-12 || simplex_.back().f - simplex_.front().f < 1e-15 * (1.0 + std::abs(simplex_.front().f)))
            restart(simplex_.front().x, std::max(step_ * 0.5, 1e-6));
    }

    void advance(double f) {
        switch (phase_) {
            case phase::initial:
                simplex_.push_back({pending_, f});
                if (simplex_.size() == options_.dimension + 1) {
                    sort();
                    phase_ = phase::reflect;
                }
                return;
            case phase::shrink:
                simplex_[simplex_.size() - shrink_base_] = {pending_, f};
                if (--shrink_base_ == 0) {
                    sort();
                    phase_ = phase::reflect;
                    maybe_restart();
                }
                return;
            case phase::reflect: {
                reflected_ = {pending_, f};
                const double second_worst = simplex_[simplex_.size() - 2].f;
                if (f < simplex_.front().f) phase_ = phase::expand;
                else if (f < second_worst) replace_worst(pending_, f);
                else phase_ = f < simplex_.back().f ? phase::contract_outside : phase::contract_inside;
                return;
            }
            case phase::expand:
                if (f < reflected_.f) replace_worst(pending_, f);
                else replace_worst(reflected_.x, reflected_.f);
                return;
            case phase::contract_outside:
            case phase::contract_inside: {
                const double bar = phase_ == phase::contract_outside ? reflected_.f : simplex_.back().f;
                if (f <= bar) {
                    replace_worst(pending_, f);
                    return;
                }
                // shrink every vertex towards the best one, then evaluate them
                to_evaluate_.assign(simplex_.size(), point{});
                for (std::size_t v = 1; v < simplex_.size(); ++v) {
                    point x(options_.dimension);
                    for (std::size_t i = 0; i < options_.dimension; ++i)
                        x[i] = simplex_[0].x[i] + 0.5 * (simplex_[v].x[i] - simplex_[0].x[i]);
                    to_evaluate_[v] = std::move(x);
                }
                shrink_base_ = simplex_.size() - 1;
                phase_ = phase::shrink;
                return;
            }
        }
    }

    settings options_;
    best_so_far best_;
    std::vector<vertex> simplex_;
    std::vector<point> to_evaluate_;
    point pending_, centroid_;
    vertex reflected_;
    phase phase_ = phase::initial;
    std::size_t shrink_base_ = 0;
    double step_ = 0;
};

}  // namespace lorahub::optim
