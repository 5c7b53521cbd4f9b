#include <cmath>
#include <cstdint>
#include <cstring>

#include <catch2/catch.hpp>

#include <lorahub/core/fast_math.hpp>

#include "../support/ulp.hpp"

using namespace lorahub;

using test::ulp_distance;

TEST_CASE("fast_exp is within 2 ulp of std::exp over the normal range", "[core][fast_math]") {
    std::int64_t worst = 0;
    for (float x = -87.0f; x <= 88.0f; x += 0.000731f) worst = std::max(worst, ulp_distance(fast_exp(x), std::exp(x)));
    for (float x : {0.0f, 1e-8f, -1e-8f, 0.5f, -0.5f, 0.693147f, -20.0f, 80.0f}) worst = std::max(worst, ulp_distance(fast_exp(x), std::exp(x)));
    CHECK(worst <= 2);
    CHECK(fast_exp(0.0f) == 1.0f);
    CHECK(fast_exp(-1000.0f) < 1.3e-38f);
    CHECK(std::isfinite(fast_exp(1000.0f)));
}

TEST_CASE("fast_tanh is within 2e-7 of std::tanh, and the fast activations follow HF's formulas", "[core][fast_math]") {
    double worst = 0;
    for (float x = -12.0f; x <= 12.0f; x += 0.0001f) worst = std::max(worst, std::abs(static_cast<double>(fast_tanh(x)) - std::tanh(static_cast<double>(x))));
    CHECK(worst <= 2e-7);
    for (float x = -8.0f; x <= 8.0f; x += 0.001f) {
        const double gelu = 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
        CHECK(std::abs(fast_activate(activation::gelu_tanh, x) - gelu) <= 1e-6 * std::max(1.0, std::abs(gelu)));
        const double silu = x / (1.0 + std::exp(-static_cast<double>(x)));
        CHECK(std::abs(fast_activate(activation::silu, x) - silu) <= 1e-6 * std::max(1.0, std::abs(silu)));
    }
}
