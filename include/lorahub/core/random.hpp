#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

namespace lorahub {

/// A seeded generator that gives the same numbers on every platform: mt19937_64 is fully
/// specified by the standard, and the distributions below are ours, not the library's.
class random_source {
public:
    explicit random_source(std::uint64_t seed) : engine_(seed) {}
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
    double uniform(double low, double high) { return low + (high - low) * uniform(); }
    double normal() {  // Box-Muller, both values used
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u = 0;
        do u = uniform();
        while (u <= 0.0);
        const double v = uniform(), radius = std::sqrt(-2.0 * std::log(u)), angle = 2.0 * std::numbers::pi * v;
        spare_ = radius * std::sin(angle);
        has_spare_ = true;
        return radius * std::cos(angle);
    }

private:
    std::mt19937_64 engine_;
    double spare_ = 0;
    bool has_spare_ = false;
};

}  // namespace lorahub
