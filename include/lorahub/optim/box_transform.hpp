#pragma once

#include <algorithm>
#include <cmath>

namespace lorahub::optim {

/// pycma's default boundary handling (BoundTransform, cma.transformations.
/// BoxConstraintsLinQuadTransformation): a periodic map from the whole line onto [lower, upper],
/// the identity on [lower + al, upper - au] and quadratic in the margins, with
/// al = min((upper - lower) / 2, max(1, |lower|) / 20) and au likewise. CMA-ES samples and
/// adapts in the unbounded genotype space and evaluates the transformed phenotype, so a
/// boundary never truncates its distribution.
class box_transform {
public:
    box_transform(double lower, double upper)
        : lower_(lower), upper_(upper), margin_lower_(std::min((upper - lower) / 2.0, std::max(1.0, std::abs(lower)) / 20.0)),
          margin_upper_(std::min((upper - lower) / 2.0, std::max(1.0, std::abs(upper)) / 20.0)) {}

    /// Genotype to phenotype: always in [lower, upper].
    double operator()(double x) const {
        if (!std::isfinite(lower_) || !std::isfinite(upper_)) return x;
        const double width = upper_ - lower_;
        if (x < lower_ - 2 * margin_lower_ - width / 2 || x > upper_ + 2 * margin_upper_ + width / 2) {
            const double period = 2 * (width + margin_lower_ + margin_upper_);
            const double start = lower_ - 2 * margin_lower_ - width / 2;
            x -= period * std::floor((x - start) / period);
        }
        if (x > upper_ + margin_upper_) x -= 2 * (x - upper_ - margin_upper_);
        if (x < lower_ - margin_lower_) x += 2 * (lower_ - margin_lower_ - x);
        if (x < lower_ + margin_lower_) x = lower_ + (x - (lower_ - margin_lower_)) * (x - (lower_ - margin_lower_)) / 4 / margin_lower_;
        if (x > upper_ - margin_upper_) x = upper_ - (x - (upper_ + margin_upper_)) * (x - (upper_ + margin_upper_)) / 4 / margin_upper_;
        return std::clamp(x, lower_, upper_);  // rounding only
    }

    /// Phenotype in [lower, upper] to its genotype in [lower - al, upper + au].
    double inverse(double y) const {
        if (!std::isfinite(lower_) || !std::isfinite(upper_)) return y;
        y = std::clamp(y, lower_, upper_);
        if (y < lower_ + margin_lower_) return lower_ - margin_lower_ + 2 * std::sqrt(margin_lower_ * (y - lower_));
        if (y > upper_ - margin_upper_) return upper_ + margin_upper_ - 2 * std::sqrt(margin_upper_ * (upper_ - y));
        return y;
    }

private:
    double lower_, upper_, margin_lower_, margin_upper_;
};

}  // namespace lorahub::optim
