#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/backend/cpu/onednn_bf16.hpp>
#include <lorahub/core/aligned_vector.hpp>
#include <lorahub/core/primitives.hpp>
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

TEST_CASE("bf16 inputs rounded for oneDNN start on a cache line, as the backend's buffers do", "[backend][bf16]") {
    // a row that straddles two cache lines slows oneDNN's AMX products by a quarter
    cpu::bf16_backend::buffer<float> x(1636 * 1024, 0.25f);
    CHECK(reinterpret_cast<std::uintptr_t>(x.data()) % buffer_alignment == 0);
    const auto rounded = cpu::bf16_backend::round_input({x.data(), 1636, 1024, 1024});
    CHECK(reinterpret_cast<std::uintptr_t>(rounded.data) % buffer_alignment == 0);
    CHECK(rounded.data[1636 * 1024 - 1] == f32_to_bf16(0.25f));
}

namespace {

/// softmax(scale Q K^T) V in double for the span of one head, causal, with each operand (and
/// the unnormalized probabilities) passed through `round` first: the identity for the fp32
/// definition, bf16 rounding for the bf16 one.
template <class Round>
std::vector<double> reference_attention(const attention_problem& p, const attention_span& span, std::size_t h, Round round) {
    const std::size_t dk = p.head_dim, kh = key_head_of(p, h);
    std::vector<double> context(span.query_count * dk, 0.0);
    for (std::size_t i = 0; i < span.query_count; ++i) {
        const std::size_t visible = std::min(span.query_position + i + 1, span.key_count);
        const std::size_t first = first_visible_key(p, span.query_position + i);
        std::vector<double> scores(visible, -1e300);
        double peak = -1e300;
        for (std::size_t j = first; j < visible; ++j) {
            double dot = 0;
            for (std::size_t d = 0; d < dk; ++d)
                dot += static_cast<double>(round(p.query[(span.query_row + i) * p.query_stride + h * dk + d])) *
                       round(p.keys[(span.key_row + j) * p.key_stride + kh * dk + d]);
            scores[j] = p.scale * dot;
            peak = std::max(peak, scores[j]);
        }
        double total = 0;
        for (auto& s : scores) total += s = std::exp(s - peak);
        for (std::size_t j = first; j < visible; ++j)
            for (std::size_t d = 0; d < dk; ++d)
                context[i * dk + d] += round(static_cast<float>(scores[j])) * static_cast<double>(round(p.values[(span.key_row + j) * p.key_stride + kh * dk + d])) / total;
    }
    return context;
}

}  // namespace

TEST_CASE("bf16 attention multiplies bf16-rounded operands with fp32 accumulation where oneDNN takes the product", "[backend][bf16]") {
    // multi-head (as many key heads as query heads) and grouped-query (two query heads per key
    // head); every earlier key, or a sliding window of 50; the 180-row span is longer than a
    // causal block of queries (cpu::backend::causal_block)
    const std::size_t heads = 4, dk = 64, width = heads * dk, rows = 200;
    const std::size_t key_heads = GENERATE(std::size_t{0}, std::size_t{2});
    const std::size_t window = GENERATE(std::size_t{0}, std::size_t{50});
    REQUIRE(cpu::backend::causal_block < 180);
    const std::size_t key_width = (key_heads == 0 ? heads : key_heads) * dk;
    std::mt19937 random(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> q(rows * width), k(rows * key_width), v(rows * key_width), ours(rows * width), fp32(rows * width);
    for (auto* m : {&q, &k, &v})
        for (auto& x : *m) x = normal(random);
    // a span of 180 (180 x 180 x 64: oneDNN, so bf16) and one of 20 rows (below oneDNN's size: fp32)
    const std::vector<attention_span> spans{{0, 180, 0, 0, 180}, {180, 20, 0, 180, 20}};
    REQUIRE(cpu::onednn_gemm::on_onednn(180, 180, dk));
    REQUIRE_FALSE(cpu::onednn_gemm::on_onednn(20, 20, dk));
    attention_problem p{q.data(), k.data(), v.data(), ours.data(), heads, dk, width, key_width, 0.125f, true, spans, key_heads, window};
    cpu::bf16_backend::attention(p);
    p.context = fp32.data();
    cpu::backend::attention(p);
    const auto identity = [](float x) { return x; };
    const auto bf16 = [](float x) { return bf16_to_f32(f32_to_bf16(x)); };
    for (std::size_t s = 0; s < spans.size(); ++s)
        for (std::size_t h = 0; h < heads; ++h) {
            INFO("key heads " << key_heads << ", window " << window << ", span " << s << ", head " << h);
            const auto& span = spans[s];
            const auto exact = reference_attention(p, span, h, identity), rounded = reference_attention(p, span, h, bf16);
            double to_exact = 0, to_rounded = 0, fp32_to_exact = 0;
            for (std::size_t i = 0; i < span.query_count; ++i)
                for (std::size_t d = 0; d < dk; ++d) {
                    const std::size_t at = (span.query_row + i) * width + h * dk + d;
                    to_exact = std::max(to_exact, std::abs(ours[at] - exact[i * dk + d]));
                    to_rounded = std::max(to_rounded, std::abs(ours[at] - rounded[i * dk + d]));
                    fp32_to_exact = std::max(fp32_to_exact, std::abs(fp32[at] - exact[i * dk + d]));
                }
            INFO("largest error against the fp32 definition " << to_exact << ", against the bf16 one " << to_rounded);
            CHECK(fp32_to_exact <= 1e-5);
            if (s == 0) {
                CHECK(to_rounded <= 2e-3);
                CHECK(to_rounded * 4 <= to_exact);  // it is the bf16 product, not the fp32 one
                CHECK(to_exact <= 2e-2);
            } else {
                CHECK(to_exact <= 1e-5);
            }
        }
}

TEST_CASE("the bf16 feed-forward's fused epilogue is act(x G^T) * (x U^T) of the rounded operands, rounded once", "[backend][bf16]") {
    const std::size_t rows = 45, in = 96, width = 160;
    std::mt19937 random(8);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    std::vector<float> x(rows * in), g(width * in), u(width * in), gated(rows * width);
    for (auto* m : {&x, &g, &u})
        for (auto& v : *m) v = normal(random);
    const auto gate = cpu::onednn_bf16::convert(g.data(), width, in), up = cpu::onednn_bf16::convert(u.data(), width, in);
    const auto rounded = cpu::bf16_backend::round_input({x.data(), rows, in, in});
    const auto bf16 = [](float v) { return static_cast<double>(bf16_to_f32(f32_to_bf16(v))); };
    const auto kind = GENERATE(activation::relu, activation::gelu_tanh, activation::gelu_erf, activation::silu);
    const bool with_up = GENERATE(false, true);
    INFO("activation " << static_cast<int>(kind) << (with_up ? ", gated" : ""));
    const auto inner = cpu::bf16_backend::feed_forward_inner(rounded, kind, gate, with_up ? &up : nullptr, gated.data());
    REQUIRE(inner.rows == rows);
    REQUIRE(inner.cols == width);
    double largest = 0;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < width; ++c) {
            double xg = 0, xu = 0;
            for (std::size_t i = 0; i < in; ++i) {
                xg += bf16(x[r * in + i]) * bf16(g[c * in + i]);
                xu += bf16(x[r * in + i]) * bf16(u[c * in + i]);
            }
            const double expected = activate(kind, static_cast<float>(xg)) * (with_up ? xu : 1.0);
            const double got = bf16_to_f32(inner.data[r * width + c]);
            // one bf16 rounding of the result (2^-9 relative) and fp32 accumulation
            largest = std::max(largest, std::abs(got - expected) / (std::abs(expected) + 1e-3));
            CHECK(std::abs(got - expected) <= std::abs(expected) * 0x1p-8 + 1e-5);
        }
    INFO("largest relative error " << largest);
    CHECK(largest > 0);  // the result is rounded to bf16
}
