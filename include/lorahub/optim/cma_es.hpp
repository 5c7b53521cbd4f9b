#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <span>
#include <string_view>
#include <vector>

#include <Eigen/Dense>

#include "lorahub/optim/common.hpp"

namespace lorahub::optim {

/// CMA-ES with full covariance and cumulative step-size adaptation, with the default
/// parameters of Hansen, "The CMA Evolution Strategy: A Tutorial" (2016, Table 1):
/// population 4 + floor(3 ln n), log-linear weights, positive for the best half (mean and
/// rank-mu update) and negative for the worse half (active covariance update), as pycma.
/// Bounds: a sample outside the box is drawn again (up to `resamples` times) and then
/// clipped, so no point outside the box is ever asked; the update uses the point asked.
/// `initial_step` is sigma0. Points must be told in the order they were asked.
class cma_es {
public:
    static constexpr std::string_view name = "cma-es";
    static constexpr int resamples = 20;

    explicit cma_es(const settings& options, std::size_t population = 0) : options_(options), random_(options.seed) {
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
        mean_ = Eigen::Map<const Eigen::VectorXd>(start.data(), static_cast<Eigen::Index>(n));
        sigma_ = options_.initial_step;
        p_sigma_ = p_c_ = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(n));
        covariance_ = basis_ = Eigen::MatrixXd::Identity(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
        scales_ = Eigen::VectorXd::Ones(static_cast<Eigen::Index>(n));
    }

    std::size_t population_size() const { return lambda_; }
    double step_size() const { return sigma_; }

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
        best_.record(x, value);
        if (told_ == population_.size()) update();
    }

    bool done() const { return best_.evaluations >= options_.budget || sigma_ * scales_.maxCoeff() < 1e-15; }
    const best_so_far& best() const { return best_; }

private:
    void sample_generation() {
        const auto n = static_cast<Eigen::Index>(options_.dimension);
        population_.assign(lambda_, point(options_.dimension));
        values_.assign(lambda_, 0.0);
        Eigen::VectorXd z(n);
        for (auto& x : population_) {
            for (int attempt = 0; attempt <= resamples; ++attempt) {
                for (Eigen::Index i = 0; i < n; ++i) z[i] = random_.normal();
                const Eigen::VectorXd candidate = mean_ + sigma_ * (basis_ * scales_.cwiseProduct(z));
                std::copy(candidate.data(), candidate.data() + n, x.begin());
                if (inside(x, options_.lower, options_.upper)) break;
            }
            x = clip(std::move(x), options_.lower, options_.upper);
        }
        next_ = told_ = 0;
    }

    void update() {
        const auto n = static_cast<Eigen::Index>(options_.dimension);
        const double dn = static_cast<double>(options_.dimension);
        std::vector<std::size_t> order(lambda_);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values_[a] < values_[b]; });
        Eigen::MatrixXd steps(n, static_cast<Eigen::Index>(lambda_));  // y_i = (x_i - m) / sigma, best first
        for (std::size_t i = 0; i < lambda_; ++i)
            steps.col(static_cast<Eigen::Index>(i)) = (Eigen::Map<const Eigen::VectorXd>(population_[order[i]].data(), n) - mean_) / sigma_;
        const auto best_half = steps.leftCols(static_cast<Eigen::Index>(mu_));
        const Eigen::VectorXd positive = Eigen::Map<const Eigen::VectorXd>(weights_.data(), static_cast<Eigen::Index>(mu_));
        const Eigen::VectorXd y_w = best_half * positive;
        mean_ += sigma_ * y_w;
        const Eigen::MatrixXd inverse_root = basis_ * scales_.cwiseInverse().asDiagonal() * basis_.transpose();  // C^-1/2
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
        const Eigen::MatrixXd rank_mu = steps * adjusted.asDiagonal() * steps.transpose();
        const double lost = (1.0 - h_sigma) * c_c_ * (2.0 - c_c_);
        covariance_ = (1.0 + c_1_ * lost - c_1_ - c_mu_ * weight_sum_) * covariance_ + c_1_ * (p_c_ * p_c_.transpose()) + c_mu_ * rank_mu;
        sigma_ *= std::exp(std::min(1.0, (c_sigma_ / d_sigma_) * (p_sigma_norm / expected_norm_ - 1.0)));
        covariance_ = 0.5 * (covariance_ + covariance_.transpose());
        const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(covariance_);
        basis_ = solver.eigenvectors();
        scales_ = solver.eigenvalues().cwiseMax(1e-300).cwiseSqrt();
    }

    settings options_;
    random_source random_;
    best_so_far best_;
    std::size_t lambda_ = 0, mu_ = 0, generation_ = 0, next_ = 0, told_ = 0;
    std::vector<double> weights_;
    double weight_sum_ = 0, mu_eff_ = 0, c_sigma_ = 0, d_sigma_ = 0, c_c_ = 0, c_1_ = 0, c_mu_ = 0, expected_norm_ = 0, sigma_ = 0;
    Eigen::VectorXd mean_, p_sigma_, p_c_, scales_;
    Eigen::MatrixXd covariance_, basis_;
    std::vector<point> population_;
    std::vector<double> values_;
};

}  // namespace lorahub::optim
