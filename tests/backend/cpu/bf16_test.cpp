#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/backend/cpu/onednn_bf16.hpp>
#include <lorahub/core/dtype.hpp>

using namespace lorahub;

TEST_CASE("the vectorized bf16 rounding is torch's round-to-nearest-even", "[backend][bf16]") {
    const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 1.00390625f /* tie, even below */, 1.01171875f /* tie, odd below */,
                              3.4e38f, -3.4e38f, 1e-40f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::signaling_NaN()};
    for (float value : specials) CHECK(cpu::onednn_bf16::to_bf16(value) == f32_to_bf16(value));
    std::mt19937 random(5);
    std::uniform_int_distribution<std::uint32_t> bits;
    for (int i = 0; i < 100000; ++i) {
        const float value = std::bit_cast<float>(bits(random));
        CHECK(cpu::onednn_bf16::to_bf16(value) == f32_to_bf16(value));
    }
}

TEST_CASE("bf16 linear accumulates bf16-rounded inputs in fp32", "[backend][bf16]") {
    const std::size_t m = 37, n = 53, k = 300;
    std::mt19937 random(6);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(m * k), w(n * k), y(m * n, 0.5f);
    for (auto& v : x) v = normal(random);
    for (auto& v : w) v = normal(random);
    const auto weight = cpu::onednn_bf16::convert(w.data(), n, k);
    cpu::onednn_bf16::linear({x.data(), m, k, k}, weight, {y.data(), m, n, n}, 2.0f, 1.0f);
    for (std::size_t r = 0; r < m; ++r)
        for (std::size_t c = 0; c < n; ++c) {
            double expected = 0;
            for (std::size_t i = 0; i < k; ++i)
                expected += static_cast<double>(bf16_to_f32(f32_to_bf16(x[r * k + i]))) * bf16_to_f32(f32_to_bf16(w[c * k + i]));
            expected = 2.0 * expected + 0.5;
            CHECK(std::abs(y[r * n + c] - expected) <= 1e-4 * std::max(1.0, std::abs(expected)));
        }
}
