#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/backend/cpu/ops.hpp>

#include "../../support/ulp.hpp"

using namespace lorahub;

TEST_CASE("fast_exp's vector form is within 2 ulp of std::exp and clamps as the scalar does", "[cpu][ops]") {
    namespace hn = simd::hn;
    const hn::ScalableTag<float> d;
    const std::size_t lanes = hn::Lanes(d);
    std::vector<float> in, out;
    for (float x = -87.0f; x <= 88.0f; x += 0.000731f) in.push_back(x);
    for (float x : {0.0f, 1e-8f, -1e-8f, 0.5f, -0.5f, 0.693147f, -20.0f, 80.0f}) in.push_back(x);
    in.resize((in.size() + lanes - 1) / lanes * lanes, 1.0f);
    out.resize(in.size());
    for (std::size_t i = 0; i < in.size(); i += lanes) hn::StoreU(cpu::fast_exp_vector(d, hn::LoadU(d, in.data() + i)), d, out.data() + i);
    std::int64_t worst = 0;
    for (std::size_t i = 0; i < in.size(); ++i) worst = std::max(worst, test::ulp_distance(out[i], std::exp(in[i])));
    CHECK(worst <= 2);
    std::vector<float> extremes(lanes, -1000.0f), results(lanes);
    for (std::size_t i = 0; i < lanes; i += 2) extremes[i] = 1000.0f;
    hn::StoreU(cpu::fast_exp_vector(d, hn::LoadU(d, extremes.data())), d, results.data());
    for (std::size_t i = 0; i < lanes; ++i) CHECK(results[i] == fast_exp(extremes[i]));
}

TEST_CASE("exp_to_bf16 rounds each exponential to the nearest bf16 and sums them in float", "[cpu][ops]") {
    // rows of every length around the vector width (the scalar tail), and a 534-key row
    for (const std::size_t n : {0, 1, 7, 15, 16, 17, 31, 33, 64, 70, 534}) {
        INFO("row of " << n);
        std::vector<float> row(n);
        for (std::size_t j = 0; j < n; ++j) row[j] = -30.0f + 0.37f * static_cast<float>((j * 7919) % 97);
        const float peak = 5.5f;
        std::vector<std::uint16_t> out(n + 1, 0xabcd);
        const float total = cpu::exp_to_bf16(row.data(), n, peak, out.data());
        CHECK(out[n] == 0xabcd);  // nothing past the row
        double expected = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
            const double e = std::exp(static_cast<double>(row[j]) - peak);
            expected += e;
            // the bf16 nearest to e; fast_exp's 2 ulp of float may tip it only next to a tie
            const float exact = static_cast<float>(e);
            if (out[j] != f32_to_bf16(exact)) {
                const auto low = static_cast<std::int64_t>(std::bit_cast<std::uint32_t>(exact) & 0xffffu);
                CHECK(std::llabs(low - 0x8000) <= 4);
            }
        }
        CHECK(std::abs(total - expected) <= 1e-6 * expected + 1e-30);
    }
}
