// PEFT's add_weighted_adapter combination types against PEFT 0.17.1 itself
// (tests/fixtures/make_merge_fixtures.py): the combined adapter's delta weight s' B' A' of
// every target, for the three score-pool modules with weights 0.7, 0.4, 1.3, density 0.5 and
// svd rank 3; DARE with the masks PEFT drew, injected.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/io/json.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/lora/combinations.hpp>
#include <lorahub/lora/pool.hpp>

#include "../support/files.hpp"

using namespace lorahub;

namespace {

const io::safetensors_file& reference() {
    static const io::safetensors_file file(test::fixtures() / "merge/expected.safetensors");
    return file;
}

const lora_pool& score_pool() {
    static const auto pool = lora_pool::load(std::vector{test::fixtures() / "t5/pool-0", test::fixtures() / "t5/pool-1",
                                                         test::fixtures() / "t5/pool-2"});
    return pool;
}

const std::vector<double> weights{0.7, 0.4, 1.3};

combination_options fixture_options(const std::string& type) {
    combination_options options;
    options.density = 0.5;
    options.svd_rank = 3;
    options.masks = [type](std::string_view module, std::string_view part, std::size_t adapter, double, std::span<float> mask) {
        const auto key = type + ".mask." + std::string(module) + "." + std::string(part) + "." + std::to_string(adapter);
        const auto values = reference().read_f32(reference().at(key));
        REQUIRE(values.size() == mask.size());
        std::copy(values.begin(), values.end(), mask.begin());
    };
    return options;
}

/// max over targets of max |ours - PEFT's| / max |PEFT's| of the delta weight s' B' A'.
template <class C>
double worst_relative_error(const C& composer, const std::string& type) {
    const auto& pool = score_pool();
    auto layers = composer.allocate(pool);
    composer.compose(pool, weights, layers);
    double worst = 0;
    for (const auto& layer : layers) {
        const auto theirs = reference().read_f32(reference().at(type + "." + layer.module));
        REQUIRE(theirs.size() == layer.out_features * layer.in_features);
        double largest = 0, error = 0;
        for (std::size_t o = 0; o < layer.out_features; ++o)
            for (std::size_t i = 0; i < layer.in_features; ++i) {
                double ours = 0;
                for (std::size_t k = 0; k < layer.rank; ++k)
                    ours += static_cast<double>(layer.b[o * layer.rank + k]) * layer.a[k * layer.in_features + i];
                ours *= layer.scaling;
                const double want = theirs[o * layer.in_features + i];
                largest = std::max(largest, std::abs(want));
                error = std::max(error, std::abs(ours - want));
            }
        worst = std::max(worst, error / std::max(largest, 1e-30));
    }
    return worst;
}

}  // namespace

TEMPLATE_TEST_CASE("each LoRA-space and cat combination gives PEFT's delta weights", "[lora][combination]", combine_cat, combine_linear,
                   combine_ties, combine_dare_linear, combine_dare_ties, combine_magnitude_prune) {
    const std::string type(TestType::name);
    TestType composer{fixture_options(type)};
    CHECK(worst_relative_error(composer, type) <= 1e-5);
}

TEMPLATE_TEST_CASE("each SVD combination gives PEFT's delta weights", "[lora][combination]", combine_svd_sum, combine_ties_svd,
                   combine_dare_linear_svd, combine_dare_ties_svd, combine_magnitude_prune_svd) {
    const std::string type(TestType::name);
    TestType composer{fixture_options(type)};
    CHECK(worst_relative_error(composer, type) <= 1e-4);  // float SVDs of 36 x 40 deltas (BDCSVD here, LAPACK there)
}

TEST_CASE("combination inputs PEFT would turn into NaN or nonsense are clear errors", "[lora][combination]") {
    const auto& pool = score_pool();
    combine_linear linear;
    auto layers = linear.allocate(pool);
    CHECK_THROWS_WITH(linear.compose(pool, std::vector<double>{0.5, -0.5, 1.0}, layers),
                      Catch::Matchers::Contains("module 2's is negative (PEFT would give NaN)"));
    combine_ties ties;
    ties.options.density = 1.5;
    CHECK_THROWS_WITH(ties.allocate(pool), Catch::Matchers::Contains("ties: density must be in [0, 1]"));
    combine_svd_sum svd;
    svd.options.svd_rank = 1000;
    CHECK_THROWS_WITH(svd.allocate(pool), Catch::Matchers::Contains("svd rank 1000 exceeds"));
    CHECK_THROWS(combine_cat{}.compose(pool, std::vector<double>{0.5, std::nan(""), 1.0}, layers));
}

TEST_CASE("svd_clamp bounds both factors by the quantile of their entries", "[lora][combination]") {
    const auto& pool = score_pool();
    combine_svd_sum unclamped, clamped;
    clamped.options.svd_clamp = 0.9;
    auto free_layers = unclamped.allocate(pool), bounded = clamped.allocate(pool);
    unclamped.compose(pool, weights, free_layers);
    clamped.compose(pool, weights, bounded);
    for (std::size_t t = 0; t < bounded.size(); ++t) {
        std::vector<float> entries(free_layers[t].b);
        entries.insert(entries.end(), free_layers[t].a.begin(), free_layers[t].a.end());
        std::sort(entries.begin(), entries.end());
        const double position = 0.9 * static_cast<double>(entries.size() - 1);  // torch.quantile's linear interpolation
        const auto low = static_cast<std::size_t>(position);
        const double bound = entries[low] + (position - static_cast<double>(low)) * (entries[low + 1] - entries[low]);
        std::size_t clipped = 0;
        for (const auto* factors : {&bounded[t].a, &bounded[t].b})
            for (float value : *factors) {
                CHECK(std::abs(value) <= bound + 1e-7);
                clipped += std::abs(std::abs(value) - bound) <= 1e-7;
            }
        CHECK(clipped > 0);  // the largest tenth of the entries sits at the bound
    }
}

TEST_CASE("DARE without injected masks is seeded: same seed, same result, another seed, another", "[lora][combination]") {
    const auto& pool = score_pool();
    combine_dare_ties first, again, other;
    first.options.density = again.options.density = other.options.density = 0.5;
    other.options.seed = 7;
    auto a = first.allocate(pool), b = again.allocate(pool), c = other.allocate(pool);
    first.compose(pool, weights, a);
    again.compose(pool, weights, b);
    other.compose(pool, weights, c);
    CHECK(a[0].a == b[0].a);
    CHECK(a[0].a != c[0].a);
}

namespace {

/// A pool of 5 random modules on two targets whose block lengths are no multiple of a vector;
/// `quantized` rounds the entries to a coarse grid, so that magnitudes tie often.
lora_pool random_pool(bool quantized) {
    const std::vector<lora_target> shapes{{"t0", 29, 37}, {"t1", 64, 40}};
    auto pool = lora_pool::with_shapes(5, shapes, 4, 2.0f);
    std::mt19937 random(quantized ? 5 : 4);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto value = [&] { return quantized ? std::round(normal(random) * 4.0f) / 4.0f : normal(random); };
    for (auto& stack : pool.stacks()) {
        for (auto& v : stack.a) v = value();
        for (auto& v : stack.b) v = value();
        for (std::size_t i = 0; i < stack.scaling.size(); ++i) stack.scaling[i] = 0.5f + 0.25f * static_cast<float>(i);
    }
    return pool;
}

template <class C>
constexpr combination::reduction reduction_of() {
    if constexpr (std::is_same_v<C, combine_magnitude_prune>) return combination::reduction::magnitude_prune;
    else if constexpr (std::is_same_v<C, combine_ties>) return combination::reduction::ties;
    else if constexpr (std::is_same_v<C, combine_dare_linear>) return combination::reduction::dare_linear;
    else return combination::reduction::dare_ties;
}

}  // namespace

/// Composes `pool` with C, then again with the weights reversed (reusing what the first
/// composition found that does not depend on them), and checks every entry of each against
/// combination::reduce on copies of the stacks, with the same masks, bit for bit.
template <class C>
void check_against_definition(const lora_pool& pool, const std::vector<double>& w, double density, majority_sign sign) {
    constexpr auto R = reduction_of<C>();
    C composer;
    composer.options.density = density;
    composer.options.sign = sign;
    composer.options.seed = 9;
    auto out = composer.allocate(pool);
    for (const auto& weights : {w, std::vector<double>(w.rbegin(), w.rend())}) {
        composer.compose(pool, weights, out);
        for (std::size_t t = 0; t < pool.stacks().size(); ++t) {
            const auto& stack = pool.stacks()[t];
            std::vector<double> roots;
            for (std::size_t i = 0; i < weights.size(); ++i) roots.push_back(std::sqrt(weights[i] * static_cast<double>(stack.scaling[i])));
            for (const std::string part : {"A", "B"}) {
                const auto& values = part == "A" ? stack.a : stack.b;
                const std::size_t block = values.size() / weights.size();
                std::vector<std::vector<float>> tensors;
                for (std::size_t i = 0; i < weights.size(); ++i)
                    tensors.emplace_back(values.begin() + static_cast<std::ptrdiff_t>(i * block), values.begin() + static_cast<std::ptrdiff_t>((i + 1) * block));
                std::vector<float> expected(block);
                combination::reduce<R>(tensors, roots, density, sign, combination::mask_source(composer.options, t, stack.module, part), expected);
                const auto& got = part == "A" ? out[t].a : out[t].b;
                for (std::size_t j = 0; j < block; ++j)
                    if (std::bit_cast<std::uint32_t>(got[j]) != std::bit_cast<std::uint32_t>(expected[j]))
                        FAIL(stack.module << " " << part << "[" << j << "]: " << got[j] << ", the definition " << expected[j]);
            }
        }
    }
}

TEMPLATE_TEST_CASE("the pruning types' vector kernels give the bits of the scalar definition", "[lora][combination]", combine_magnitude_prune,
                   combine_ties, combine_dare_linear, combine_dare_ties) {
    const std::vector<double> w{0.7, 0.4, 1.3, 0.0, 2.5};
    for (const bool quantized : {false, true})
        for (const double density : {0.0, 0.1, 0.5, 0.77, 1.0})
            for (const auto sign : {majority_sign::total, majority_sign::frequency}) {
                INFO("quantized " << quantized << ", density " << density << ", sign " << static_cast<int>(sign));
                check_against_definition<TestType>(random_pool(quantized), w, density, sign);
            }
}

TEMPLATE_TEST_CASE("on a pool large enough to reduce its targets in parallel, the same bits", "[lora][combination]", combine_ties,
                   combine_dare_linear) {
    const std::vector<lora_target> shapes{{"t0", 1024, 2048}, {"t1", 2048, 1024}, {"t2", 2047, 2049}, {"t3", 2048, 2048}};  // 4.6 M floats
    auto pool = lora_pool::with_shapes(5, shapes, 64, 2.0f);
    std::mt19937 random(6);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& stack : pool.stacks()) {
        for (auto& v : stack.a) v = normal(random);
        for (auto& v : stack.b) v = normal(random);
    }
    check_against_definition<TestType>(pool, {0.7, 0.4, 1.3, 0.1, 2.5}, 0.3, majority_sign::total);
}

TEMPLATE_TEST_CASE("what a pruning finds once per pool follows the pool's stacks and settings", "[lora][combination]", combine_magnitude_prune,
                   combine_ties, combine_dare_ties) {
    // a pool composed at one density, then at others, then with its stacks rewritten: each
    // composition is the scalar definition's for the pool and settings of that moment
    auto pool = random_pool(false);
    const std::vector<double> w{0.7, 0.4, 1.3, 0.0, 2.5};
    for (const double density : {0.5, 0.3, 0.5})
        for (const auto sign : {majority_sign::total, majority_sign::frequency}) check_against_definition<TestType>(pool, w, density, sign);
    const lora_pool before = pool;
    for (auto& stack : pool.stacks())
        for (std::size_t j = 0; j < stack.a.size(); j += 3) stack.a[j] = -2.0f * stack.a[j];
    check_against_definition<TestType>(pool, w, 0.5, majority_sign::total);
    TestType composer;
    composer.options.density = 0.5;
    auto now = composer.allocate(pool), then = composer.allocate(before);
    composer.compose(pool, w, now);
    composer.compose(before, w, then);
    CHECK(now[0].a != then[0].a);  // the rewrite changes the composition: a stale threshold or sign fails the check above
}

TEST_CASE("DARE's counter-based masks keep each entry with probability density, independently per adapter", "[lora][combination]") {
    const std::size_t length = 1 << 20;
    for (const double density : {0.1, 0.5, 0.9}) {
        const auto first = combination::dare_stream::of(42, 3, 1, 0, density), second = combination::dare_stream::of(42, 3, 1, 1, density);
        std::size_t kept = 0, both = 0;
        for (std::size_t j = 0; j < length; ++j) {
            kept += first.keeps(j);
            both += first.keeps(j) && second.keeps(j);
        }
        const double n = static_cast<double>(length), sd = std::sqrt(n * density * (1 - density));
        CHECK(std::abs(static_cast<double>(kept) - n * density) < 5 * sd);
        const double sd_both = std::sqrt(n * density * density * (1 - density * density));
        CHECK(std::abs(static_cast<double>(both) - n * density * density) < 5 * sd_both);
    }
}

namespace {

/// The largest entry of |s' B' A'| that `ours` and `reference` (layers of rank `rank`) differ
/// by, over the largest of the reference's, for target t.
double relative_delta_gap(const std::vector<lora_layer>& ours, const std::vector<lora_layer>& reference, std::size_t t, std::size_t rank) {
    const auto& layer = ours[t];
    double largest = 0, error = 0;
    for (std::size_t o = 0; o < layer.out_features; ++o)
        for (std::size_t i = 0; i < layer.in_features; ++i) {
            double mine = 0, theirs = 0;
            for (std::size_t k = 0; k < rank; ++k) {
                mine += static_cast<double>(layer.b[o * rank + k]) * layer.a[k * layer.in_features + i];
                theirs += static_cast<double>(reference[t].b[o * rank + k]) * reference[t].a[k * layer.in_features + i];
            }
            largest = std::max(largest, std::abs(theirs));
            error = std::max(error, std::abs(mine - theirs));
        }
    return error / largest;
}

}  // namespace

TEST_CASE("svd's factored SVD (rank N r below the matrix's side) equals the full SVD's truncation", "[lora][combination]") {
    const auto pool = random_pool(false);
    const std::vector<double> w{0.7, 0.4, 1.3, 0.1, 2.5};
    for (const std::size_t rank : {1, 3, 8}) {
        combine_svd_sum factored, exact;
        factored.options.svd_rank = exact.options.svd_rank = rank;
        exact.options.exact_svd = true;
        auto ours = factored.allocate(pool), reference = exact.allocate(pool);
        factored.compose(pool, w, ours);
        exact.compose(pool, w, reference);
        for (std::size_t t = 0; t < ours.size(); ++t) {
            INFO("rank " << rank << ", target " << ours[t].module);
            CHECK(relative_delta_gap(ours, reference, t, rank) <= 1e-4);
        }
    }
}

TEMPLATE_TEST_CASE("the pruned SVD types' Krylov truncation equals the full SVD's", "[lora][combination]", combine_ties_svd,
                   combine_dare_linear_svd, combine_dare_ties_svd, combine_magnitude_prune_svd) {
    // 12 modules of rank 8 on 200 x 180: the pruned delta has full rank, and 8 = r' sits
    // inside its cluster of singular values
    auto pool = lora_pool::with_shapes(12, std::vector<lora_target>{{"t0", 180, 200}}, 8, 8.0f);
    std::mt19937 random(9);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& stack : pool.stacks()) {
        for (auto& v : stack.a) v = 0.05f * normal(random);
        for (auto& v : stack.b) v = normal(random);
    }
    const std::vector<double> w{0.7, 0.4, 1.3, 0.1, 0.9, 0.5, 0.2, 1.1, 0.6, 0.8, 0.3, 1.0};
    TestType krylov, exact;
    krylov.options.density = exact.options.density = 0.5;
    exact.options.exact_svd = true;
    auto ours = krylov.allocate(pool), reference = exact.allocate(pool);
    krylov.compose(pool, w, ours);
    exact.compose(pool, w, reference);
    CHECK(relative_delta_gap(ours, reference, 0, ours[0].rank) <= 1e-4);
}
