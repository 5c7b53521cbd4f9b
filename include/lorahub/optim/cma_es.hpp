#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <deque>
#include <limits>
#include <numeric>
#include <span>
#include <string_view>
#include <vector>

#include "lorahub/core/eigen.hpp"

#include "lorahub/optim/box_transform.hpp"
#include "lorahub/optim/common.hpp"

namespace lorahub::optim {

/// When one CMA-ES run has ended: pycma 4.0's termination criteria and defaults (options
/// tolfun, tolfunhist, tolx, tolfacupx, tolupsigma, tolconditioncov, tolflatfitness,
/// tolstagnation, maxiter, noeffectaxis, noeffectcoord), plus `stall_generations` (0: off):
/// the run's best value has not improved by more than `tolfun` for that many generations.
struct cma_termination {
    double tolfun = 1e-11;
    double tolfunhist = 1e-12;
    double tolx = 1e-11;
    double tolfacupx = 1e3;
    double tolupsigma = 1e20;
    double tolconditioncov = 1e14;
    std::size_t tolflatfitness = 1;
    std::size_t tolstagnation = 0;  ///< 0: pycma's 100 + 100 n^1.5 / lambda
    double maxiter = 0;             ///< 0: pycma's 100 + floor(150 (n + 3)^2 / sqrt(lambda))
    std::size_t stall_generations = 0;
};

/// CMA-ES with full covariance and cumulative step-size adaptation, with the default
/// parameters of Hansen, "The CMA Evolution Strategy: A Tutorial" (2016, Table 1):
/// population 4 + floor(3 ln n), log-linear weights, positive for the best half (mean and
/// rank-mu update) and negative for the worse half (active covariance update), as pycma.
/// Bounds: `settings::bounds` (resample, the default, or pycma's `box_transform`); no point
/// outside the box is ever asked.
/// `initial_step` is sigma0. Points must be told in the order they were asked.
/// `done()` is the budget (or a collapsed step size) only; `stop_reason()` names the first
/// `cma_termination` criterion met after the last complete generation, for restart policies.
/// A template over its covariance type (which can only be Eigen::MatrixXd) so that its Eigen
/// code, the eigensolver above all, is compiled only by translation units that run a search:
/// as a class its inline members cost every includer 5.6 s (g++ -O3).
template <std::same_as<Eigen::MatrixXd> Matrix = Eigen::MatrixXd>
class basic_cma_es {
public:
    static constexpr std::string_view name = "cma-es";
    static constexpr std::string_view description = "CMA-ES (active covariance update), a population per generation";
    static constexpr int resamples = 20;

    explicit basic_cma_es(const settings& options, std::size_t population = 0, const cma_termination& termination = {})
        : options_(options), termination_(termination), random_(options.seed), box_(options.lower, options.upper) {
        options_.validate();
        const auto n = options_.dimension;
        const double dn = static_cast<double>(n);
        const std::size_t asked = population > 0 ? population : options_.population;
        lambda_ = asked > 0 ? asked : 4 + static_cast<std::size_t>(std::floor(3.0 * std::log(dn)));
        mu_ = lambda_ / 2;
        weights_.resize(lambda_);
        double positive = 0, positive_squares = 0, negative = 0, negative_squares = 0;
        for (std::size_t i = 0; i < lambda_; ++i) {
            const double w = std::log((static_cast<double>(lambda_) + 1.0) / 2.0) - std::log(static_cast<double>(i) + 1.0);
            weights_[i] = w;
            (i < mu_ ? positive : negative) += w;
            (i < mu_ ? positive_squares : negative_squares) += w * w;
        }
        mu_eff_ = positive * positive / positive_squares;
        const double mu_eff_negative = negative_squares > 0 ? negative * negative / negative_squares : 0.0;
        c_sigma_ = (mu_eff_ + 2.0) / (dn + mu_eff_ + 5.0);
        d_sigma_ = 1.0 + 2.0 * std::max(0.0, std::sqrt((mu_eff_ - 1.0) / (dn + 1.0)) - 1.0) + c_sigma_;
        c_c_ = (4.0 + mu_eff_ / dn) / (dn + 4.0 + 2.0 * mu_eff_ / dn);
        c_1_ = 2.0 / ((dn + 1.3) * (dn + 1.3) + mu_eff_);
        c_mu_ = std::min(1.0 - c_1_, 2.0 * (0.25 + mu_eff_ + 1.0 / mu_eff_ - 2.0) / ((dn + 2.0) * (dn + 2.0) + mu_eff_));
        const double negative_scale = std::min({1.0 + c_1_ / c_mu_, 1.0 + 2.0 * mu_eff_negative / (mu_eff_ + 2.0),
                                                (1.0 - c_1_ - c_mu_) / (dn * c_mu_)});
        for (std::size_t i = 0; i < lambda_; ++i)
            weights_[i] = i < mu_ ? weights_[i] / positive : weights_[i] * negative_scale / std::abs(negative);
        weight_sum_ = std::accumulate(weights_.begin(), weights_.end(), 0.0);
        expected_norm_ = std::sqrt(dn) * (1.0 - 1.0 / (4.0 * dn) + 1.0 / (21.0 * dn * dn));
        const auto start = options_.start_point();
        mean_.resize(static_cast<Eigen::Index>(n));
        for (std::size_t i = 0; i < n; ++i) mean_[static_cast<Eigen::Index>(i)] = transformed() ? box_.inverse(start[i]) : start[i];
        max_std_ = transformed() ? (options_.upper - options_.lower) / 3.0 : std::numeric_limits<double>::infinity();
        sigma_ = options_.initial_step;
        p_sigma_ = p_c_ = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(n));
        covariance_ = basis_ = Matrix::Identity(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
        scales_ = Eigen::VectorXd::Ones(static_cast<Eigen::Index>(n));
        if (termination_.tolstagnation == 0)
            termination_.tolstagnation = static_cast<std::size_t>(100.0 + 100.0 * std::pow(dn, 1.5) / static_cast<double>(lambda_));
        if (termination_.maxiter == 0)
            termination_.maxiter = 100.0 + std::floor(150.0 * (dn + 3.0) * (dn + 3.0) / std::sqrt(static_cast<double>(lambda_)));
    }

    std::size_t population_size() const { return lambda_; }
    /// The termination criteria with pycma's defaults resolved for this run's n and lambda.
    const cma_termination& termination() const { return termination_; }
    /// The distribution mean as a point of the box (pycma's eval_final_mean candidate).
    point mean() const {
        point x(options_.dimension);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double m = mean_[static_cast<Eigen::Index>(i)];
            x[i] = transformed() ? box_(m) : std::clamp(m, options_.lower, options_.upper);
        }
        return x;
    }
    double step_size() const { return sigma_; }
    std::size_t generations() const { return generation_; }
    /// True when every point asked has been told (no generation half evaluated).
    bool between_generations() const { return told_ == population_.size(); }
    /// The first termination criterion met after the last complete generation; empty if none.
    std::string_view stop_reason() const { return stop_; }

    /// The next point of the current generation (sampling a new generation when needed).
    point ask() {
        if (next_ == population_.size()) sample_generation();
        return population_[next_++];
    }

    /// The rest of the current generation, to evaluate together.
    std::vector<point> ask_population() {
        if (next_ == population_.size()) sample_generation();
        std::vector<point> rest(population_.begin() + static_cast<std::ptrdiff_t>(next_), population_.end());
        next_ = population_.size();
        return rest;
    }

    void tell(std::span<const double> x, double value) {
        if (told_ >= next_ || !std::equal(x.begin(), x.end(), population_[told_].begin(), population_[told_].end()))
            throw argument_error("cma-es", "points must be told in the order they were asked");
        values_[told_++] = comparable(value);
        const double previous_best = best_.value;
        best_.record(x, value);
        if (best_.value < previous_best) best_evaluation_ = best_.evaluations;
        if (told_ == population_.size()) update();
    }

    bool done() const { return best_.evaluations >= options_.budget || sigma_ * scales_.maxCoeff() < 1e-15; }
    const best_so_far& best() const { return best_; }

private:
    void sample_generation() {
        const auto n = static_cast<Eigen::Index>(options_.dimension);
        population_.assign(lambda_, point(options_.dimension));
        genotypes_.resize(n, static_cast<Eigen::Index>(lambda_));
        values_.assign(lambda_, 0.0);
        Eigen::VectorXd z(n);
        for (std::size_t k = 0; k < lambda_; ++k) {
            auto genotype = genotypes_.col(static_cast<Eigen::Index>(k));
            auto& x = population_[k];
            for (int attempt = 0; attempt <= (transformed() ? 0 : resamples); ++attempt) {
                for (Eigen::Index i = 0; i < n; ++i) z[i] = random_.normal();
                genotype = mean_ + sigma_ * (basis_ * scales_.cwiseProduct(z));
                if (transformed()) {
                    for (Eigen::Index i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = box_(genotype[i]);
                } else {
                    std::copy(genotype.data(), genotype.data() + n, x.begin());
                    if (inside(x, options_.lower, options_.upper)) break;
                }
            }
            if (!transformed()) {  // the update uses the point asked
                x = clip(std::move(x), options_.lower, options_.upper);
                genotype = Eigen::Map<const Eigen::VectorXd>(x.data(), n);
            }
        }
        next_ = told_ = 0;
    }

    void update() {
        const auto n = static_cast<Eigen::Index>(options_.dimension);
        const double dn = static_cast<double>(options_.dimension);
        std::vector<std::size_t> order(lambda_);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values_[a] < values_[b]; });
        Matrix steps(n, static_cast<Eigen::Index>(lambda_));  // y_i = (x_i - m) / sigma, best first
        for (std::size_t i = 0; i < lambda_; ++i)
            steps.col(static_cast<Eigen::Index>(i)) = (genotypes_.col(static_cast<Eigen::Index>(order[i])) - mean_) / sigma_;
        const auto best_half = steps.leftCols(static_cast<Eigen::Index>(mu_));
        const Eigen::VectorXd positive = Eigen::Map<const Eigen::VectorXd>(weights_.data(), static_cast<Eigen::Index>(mu_));
        const Eigen::VectorXd y_w = best_half * positive;
        mean_ += sigma_ * y_w;
        const Matrix inverse_root = basis_ * scales_.cwiseInverse().asDiagonal() * basis_.transpose();  // C^-1/2
        const Eigen::VectorXd inverse_root_y = inverse_root * y_w;
        p_sigma_ = (1.0 - c_sigma_) * p_sigma_ + std::sqrt(c_sigma_ * (2.0 - c_sigma_) * mu_eff_) * inverse_root_y;
        ++generation_;
        const double p_sigma_norm = p_sigma_.norm();
        const bool stalled = p_sigma_norm / std::sqrt(1.0 - std::pow(1.0 - c_sigma_, 2.0 * static_cast<double>(generation_))) >=
                             (1.4 + 2.0 / (dn + 1.0)) * expected_norm_;
        const double h_sigma = stalled ? 0.0 : 1.0;
        p_c_ = (1.0 - c_c_) * p_c_ + h_sigma * std::sqrt(c_c_ * (2.0 - c_c_) * mu_eff_) * y_w;
        // w°_i: negative weights rescaled by n / |C^-1/2 y_i|^2 so the active update stays bounded
        Eigen::VectorXd adjusted(static_cast<Eigen::Index>(lambda_));
        for (std::size_t i = 0; i < lambda_; ++i) {
            const auto k = static_cast<Eigen::Index>(i);
            adjusted[k] = weights_[i] >= 0 ? weights_[i] : weights_[i] * dn / std::max((inverse_root * steps.col(k)).squaredNorm(), 1e-300);
        }
        const Matrix rank_mu = steps * adjusted.asDiagonal() * steps.transpose();
        const double lost = (1.0 - h_sigma) * c_c_ * (2.0 - c_c_);
        covariance_ = (1.0 + c_1_ * lost - c_1_ - c_mu_ * weight_sum_) * covariance_ + c_1_ * (p_c_ * p_c_.transpose()) + c_mu_ * rank_mu;
        sigma_ *= std::exp(std::min(1.0, (c_sigma_ / d_sigma_) * (p_sigma_norm / expected_norm_ - 1.0)));
        covariance_ = 0.5 * (covariance_ + covariance_.transpose());
        limit_coordinate_deviations();
        const Eigen::SelfAdjointEigenSolver<Matrix> solver(covariance_);
        basis_ = solver.eigenvectors();
        scales_ = solver.eigenvalues().cwiseMax(1e-300).cwiseSqrt();
        std::vector<double> sorted = values_;
        std::sort(sorted.begin(), sorted.end());
        stop_ = termination_reason(sorted);
    }

    // pycma's _stds_into_limits: a coordinate whose deviation sigma sqrt(C_ii) exceeds maxstd is
    // scaled down to it (row and column i of C, and p_c[i])
    void limit_coordinate_deviations() {
        if (!std::isfinite(max_std_)) return;
        const double slack = generation_ <= 2 ? std::exp(1e-4) : 1.0;
        for (Eigen::Index i = 0; i < covariance_.rows(); ++i) {
            const double deviation = sigma_ * std::sqrt(std::max(covariance_(i, i), 0.0));
            if (!(deviation > max_std_ * slack)) continue;
            const double factor = max_std_ / deviation;
            covariance_.row(i) *= factor;
            covariance_.col(i) *= factor;
            p_c_[i] *= factor;
        }
    }

    bool transformed() const { return options_.bounds == box_handling::transform; }

    static double median(std::span<const double> values) {
        std::vector<double> sorted(values.begin(), values.end());
        std::sort(sorted.begin(), sorted.end());
        const std::size_t i = sorted.size() / 2;
        return sorted.size() % 2 ? sorted[i] : (sorted[i - 1] + sorted[i]) / 2.0;
    }

    // pycma's _CMAStopDict._update with its fitness histories (most recent first)
    std::string_view termination_reason(const std::vector<double>& sorted) {
        const double dn = static_cast<double>(options_.dimension), dl = static_cast<double>(lambda_);
        const double generation_median = median(sorted);
        recent_best_.push_front(sorted.front());
        if (static_cast<double>(recent_best_.size()) > 10.0 + 30.0 * dn / dl) recent_best_.pop_back();
        if (generation_ % 5 == 0) {  // pycma samples these every 5th iteration
            sampled_best_.push_front(sorted.front());
            sampled_median_.push_front(generation_median);
            if (sampled_best_.size() > 20000) sampled_best_.pop_back(), sampled_median_.pop_back();
        }
        if (sorted.front() < run_best_ - termination_.tolfun) run_best_ = sorted.front(), improved_at_ = generation_;
        flat_generations_ = sorted.front() < sorted[static_cast<std::size_t>(0.75 * dl)] ? 0 : flat_generations_ + 1;

        const Eigen::VectorXd coordinate_steps = sigma_ * covariance_.diagonal().cwiseMax(0.0).cwiseSqrt();
        const auto [history_low, history_high] = std::minmax_element(recent_best_.begin(), recent_best_.end());
        const double current_range = sorted.back() - sorted.front(), history_range = *history_high - *history_low;
        if (static_cast<double>(generation_) >= termination_.maxiter) return "maxiter";
        if ((coordinate_steps.array() > options_.initial_step * termination_.tolfacupx).any()) return "tolfacupx";
        if ((coordinate_steps.array() < termination_.tolx).all() && ((sigma_ * p_c_.array().abs()) < termination_.tolx).all())
            return "tolx";
        if (current_range < termination_.tolfun && history_range < termination_.tolfun) return "tolfun";
        if (recent_best_.size() > 9 && history_range < termination_.tolfunhist) return "tolfunhist";
        if (stagnated()) return "tolstagnation";
        if (sigma_ / scales_.maxCoeff() > options_.initial_step * termination_.tolupsigma) return "tolupsigma";
        if (((mean_ + 0.2 * coordinate_steps).array() == mean_.array()).any()) return "noeffectcoord";
        const auto axis = static_cast<Eigen::Index>(generation_ % options_.dimension);
        if (((mean_ + 0.1 * sigma_ * scales_[axis] * basis_.col(axis)).array() == mean_.array()).all()) return "noeffectaxis";
        if (scales_.maxCoeff() > std::sqrt(termination_.tolconditioncov) * scales_.minCoeff()) return "tolconditioncov";
        if (flat_generations_ > termination_.tolflatfitness) return "tolflatfitness";
        if (termination_.stall_generations > 0 && generation_ - improved_at_ >= termination_.stall_generations) return "stall";
        return {};
    }

    bool stagnated() const {
        const double dn = static_cast<double>(options_.dimension), dl = static_cast<double>(lambda_);
        const double limit = static_cast<double>(termination_.tolstagnation);
        const double window = std::max(limit / 5.0 / 2.0, static_cast<double>(sampled_best_.size()) / 10.0);
        if (window > static_cast<double>(generation_)) return false;
        const auto l = static_cast<std::size_t>(window);
        if (!(static_cast<double>(generation_) > dn * (5.0 + 100.0 / dl) &&
              static_cast<double>(best_.evaluations - best_evaluation_) / dl > limit / 2.0 && sampled_best_.size() > 100 &&
              2 * l < sampled_best_.size()))
            return false;
        const auto part = [l](const std::deque<double>& history, std::size_t from) {
            return median(std::vector<double>(history.begin() + static_cast<std::ptrdiff_t>(from),
                                              history.begin() + static_cast<std::ptrdiff_t>(from + l)));
        };
        return part(sampled_median_, 0) >= part(sampled_median_, l) && part(sampled_best_, 0) >= part(sampled_best_, l);
    }

    settings options_;
    cma_termination termination_;
    random_source random_;
    box_transform box_;
    double max_std_ = 0;
    best_so_far best_;
    std::size_t lambda_ = 0, mu_ = 0, generation_ = 0, next_ = 0, told_ = 0;
    std::size_t best_evaluation_ = 0, improved_at_ = 0, flat_generations_ = 0;
    double run_best_ = std::numeric_limits<double>::infinity();
    std::deque<double> recent_best_, sampled_best_, sampled_median_;
    std::string_view stop_;
    std::vector<double> weights_;
    double weight_sum_ = 0, mu_eff_ = 0, c_sigma_ = 0, d_sigma_ = 0, c_c_ = 0, c_1_ = 0, c_mu_ = 0, expected_norm_ = 0, sigma_ = 0;
    Eigen::VectorXd mean_, p_sigma_, p_c_, scales_;
    Matrix covariance_, basis_, genotypes_;
    std::vector<point> population_;
    std::vector<double> values_;
};

using cma_es = basic_cma_es<>;

}  // namespace lorahub::optim
