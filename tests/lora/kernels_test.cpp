// The vector merge kernels against their scalar definitions, bit for bit: weighted sums run
// module after module with one multiply-add each (simd::mul_add: fused where the target has
// FMA, as the vector MulAdd is), concatenations scale each entry once.
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/lora/kernels.hpp>

using namespace lorahub;

namespace {

std::vector<float> random_values(std::size_t count, std::uint32_t seed) {
    std::mt19937 random(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> values(count);
    for (auto& value : values) value = normal(random);
    return values;
}

bool same_bits(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

}  // namespace

TEST_CASE("weighted sums over many jobs equal the scalar module-by-module sum bit for bit", "[lora][kernels]") {
    // lengths that are no multiple of any vector width, one past a tile, and (with 20 modules)
    // enough work to run on every thread; module counts around the four-at-a-time unrolling
    for (const std::size_t n : {1, 3, 4, 5, 20}) {
        const std::vector<std::size_t> lengths{1, 37, 16384 + 5, 70001, 16, (1 << 18) + 3};
        std::vector<std::vector<float>> stacks, outs;
        for (std::size_t k = 0; k < lengths.size(); ++k) {
            stacks.push_back(random_values(n * lengths[k], static_cast<std::uint32_t>(7 * k + n)));
            outs.emplace_back(lengths[k] + 1, -1.0f);  // written from offset 1: unaligned
        }
        const auto w = random_values(n, 99);
        lora::weighted_sums(lengths.size(), n, [&](std::size_t k, std::span<float> weights) {
            for (std::size_t i = 0; i < n; ++i) weights[i] = w[i] * static_cast<float>(k + 1);
            return lora::sum_job{stacks[k].data(), outs[k].data() + 1, lengths[k]};
        });
        for (std::size_t k = 0; k < lengths.size(); ++k) {
            CHECK(outs[k][0] == -1.0f);
            for (std::size_t j = 0; j < lengths[k]; ++j) {
                const float scale = static_cast<float>(k + 1);
                float expected = (w[0] * scale) * stacks[k][j];
                for (std::size_t i = 1; i < n; ++i) expected = simd::mul_add(w[i] * scale, stacks[k][i * lengths[k] + j], expected);
                if (!same_bits(outs[k][j + 1], expected))
                    FAIL("n " << n << ", job " << k << ", entry " << j << ": " << outs[k][j + 1] << " != " << expected);
            }
        }
    }
}

TEST_CASE("scaled column concatenations equal their definition bit for bit", "[lora][kernels]") {
    for (const std::size_t rank : {1, 3, 4, 16, 20}) {
        const std::size_t n = 5;
        const std::vector<std::size_t> rows{1, 7, 3000, 50000};
        std::vector<std::vector<float>> sources, outs;
        for (std::size_t k = 0; k < rows.size(); ++k) {
            sources.push_back(random_values(n * rows[k] * rank, static_cast<std::uint32_t>(k + rank)));
            outs.emplace_back(rows[k] * n * rank + 2, -1.0f);
        }
        const auto factors = random_values(n, 5);
        for (const std::size_t offset : {0, 1}) {  // 16-byte aligned (streamed when rank % 4 == 0) or not
            lora::scaled_column_concats(rows.size(), n, [&](std::size_t k, std::span<float> into) {
                for (std::size_t i = 0; i < n; ++i) into[i] = factors[i] + static_cast<float>(k);
                return lora::concat_job{sources[k].data(), outs[k].data() + offset, rows[k], rank};
            });
            for (std::size_t k = 0; k < rows.size(); ++k)
                for (std::size_t o = 0; o < rows[k]; ++o)
                    for (std::size_t i = 0; i < n; ++i)
                        for (std::size_t r = 0; r < rank; ++r) {
                            const float expected = (factors[i] + static_cast<float>(k)) * sources[k][i * rows[k] * rank + o * rank + r];
                            const float got = outs[k][offset + o * n * rank + i * rank + r];
                            if (!same_bits(got, expected)) FAIL("rank " << rank << ", job " << k << ", row " << o << ", module " << i << ": " << got);
                        }
        }
    }
}

TEST_CASE("the single-target kernels keep their meaning", "[lora][kernels]") {
    const std::size_t n = 3, length = 1000;
    const auto stack = random_values(n * length, 1);
    const std::vector<double> w{0.5, -1.25, 2.0};
    std::vector<float> out(length);
    lora::weighted_sum(stack, w, out);
    for (std::size_t j = 0; j < length; ++j)
        CHECK(same_bits(out[j], simd::mul_add(2.0f, stack[2 * length + j], simd::mul_add(-1.25f, stack[length + j], 0.5f * stack[j]))));
    const std::size_t rows = 4, rank = 2;
    const std::vector<float> factors{2.0f, -1.0f, 0.5f};
    std::vector<float> concatenated(rows * n * rank);
    lora::scaled_column_concat(std::span(stack).first(n * rows * rank), factors, rows, rank, concatenated);
    for (std::size_t o = 0; o < rows; ++o)
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t r = 0; r < rank; ++r)
                CHECK(concatenated[o * n * rank + i * rank + r] == factors[i] * stack[i * rows * rank + o * rank + r]);
}
