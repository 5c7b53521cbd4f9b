#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/concepts.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/optim/cma_es_restarts.hpp>
#include <lorahub/optim/minimize.hpp>

#include "../support/files.hpp"

using namespace lorahub;
using optim::point;

static_assert(Optimizer<optim::cma_es_ipop> && Optimizer<optim::cma_es_bipop>);

namespace {

double rastrigin(const point& x) {
    double f = 10.0 * static_cast<double>(x.size());
    for (double v : x) f += v * v - 10.0 * std::cos(2 * std::numbers::pi * v);
    return f;
}
double ackley(const point& x) {
    const double n = static_cast<double>(x.size());
    double squares = 0, cosines = 0;
    for (double v : x) squares += v * v, cosines += std::cos(2 * std::numbers::pi * v);
    return -20.0 * std::exp(-0.2 * std::sqrt(squares / n)) - std::exp(cosines / n) + 20.0 + std::numbers::e;
}
double schwefel(const point& x) {
    double f = 418.982887272433799807913601398 * static_cast<double>(x.size());
    for (double v : x) f -= v * std::sin(std::sqrt(std::abs(v)));
    return f;
}

std::function<double(const point&)> named(const std::string& function) {
    if (function == "rastrigin") return rastrigin;
    if (function == "ackley") return ackley;
    return schwefel;
}

/// Evaluations until f < target first happens, or 0 if the budget runs out first.
template <class O>
std::size_t evaluations_to(const std::function<double(const point&)>& f, const optim::settings& options, double target) {
    O optimizer(options);
    while (!optimizer.done())
        for (const auto& x : optimizer.ask_population()) {
            optimizer.tell(x, f(x));
            if (optimizer.best().value < target) return optimizer.best().evaluations;
        }
    return 0;
}

struct outcome {
    double success_rate = 0;
    double median_evaluations = 0;  ///< over the successful seeds
};

template <class O>
outcome run_seeds(const std::string& function, std::size_t n, double lower, double upper, std::size_t budget, std::size_t seeds,
                  double target) {
    std::vector<double> reached;
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
        random_source starts(1000 + seed);
        point start(n);
        for (auto& value : start) value = starts.uniform(lower, upper);
        const optim::settings options{.dimension = n, .lower = lower, .upper = upper, .budget = budget, .seed = seed,
                                      .initial_step = 0.2 * (upper - lower), .start = start, .bounds = optim::box_handling::transform};
        if (const auto count = evaluations_to<O>(named(function), options, target); count > 0) reached.push_back(static_cast<double>(count));
    }
    std::sort(reached.begin(), reached.end());
    const auto middle = reached.size() / 2;
    const double median = reached.empty() ? 0 : reached.size() % 2 ? reached[middle] : (reached[middle - 1] + reached[middle]) / 2;
    return {static_cast<double>(reached.size()) / static_cast<double>(seeds), median};
}

}  // namespace

TEST_CASE("IPOP doubles the population at each restart and restarts from new points", "[optim][cma-es][restarts]") {
    const optim::settings options{.dimension = 10, .lower = -5.12, .upper = 5.12, .budget = 60000, .seed = 4, .initial_step = 2.0,
                                  .start = point(10, 3.0)};
    optim::cma_es_ipop search(options);
    while (!search.done())
        for (const auto& x : search.ask_population()) search.tell(x, rastrigin(x));
    const auto& runs = search.runs();
    REQUIRE(runs.size() >= 3);
    std::size_t evaluations = 0;
    for (std::size_t k = 0; k < runs.size(); ++k) {
        INFO("run " << k << " stopped by " << runs[k].stop);
        // pycma doubles the unrounded 4 + 3 ln 10 = 10.91: 10, 21, 43, 87, 174, 349
        CHECK(runs[k].population == static_cast<std::size_t>(std::floor((4.0 + 3.0 * std::log(10.0)) * std::pow(2.0, k))));
        CHECK(runs[k].initial_step == 2.0);
        if (k + 1 < runs.size()) CHECK_FALSE(runs[k].stop.empty());
        evaluations += runs[k].evaluations;
    }
    CHECK(evaluations == search.best().evaluations);
}

TEST_CASE("BIPOP interleaves small local runs within the large runs' budget", "[optim][cma-es][restarts]") {
    const optim::settings options{.dimension = 5, .lower = -5.12, .upper = 5.12, .budget = 40000, .seed = 2, .initial_step = 2.0};
    optim::cma_es_bipop search(options);
    while (!search.done())
        for (const auto& x : search.ask_population()) search.tell(x, rastrigin(x) + 1.0);  // never reaches 0: runs to the budget
    const auto& runs = search.runs();
    std::size_t large = 0, small = 0, large_evaluations = 0, small_evaluations = runs.front().evaluations;
    for (std::size_t k = 1; k < runs.size(); ++k) {
        INFO("run " << k);
        // the regime is the one that has used fewer evaluations so far
        CHECK(runs[k].small == (small_evaluations < large_evaluations));
        if (runs[k].small) {
            ++small;
            CHECK(runs[k].initial_step <= 2.0);
            CHECK(runs[k].initial_step >= 0.02);
            CHECK(runs[k].population >= 8u);
            CHECK(runs[k].population <= static_cast<std::size_t>(std::floor((4.0 + 3.0 * std::log(5.0)) * std::pow(2.0, large))));
            if (k + 1 < runs.size()) CHECK(static_cast<double>(runs[k].evaluations) <= 0.5 * static_cast<double>(large_evaluations) + runs[k].population);
            small_evaluations += runs[k].evaluations;
        } else {
            ++large;
            CHECK(runs[k].population == static_cast<std::size_t>(std::floor((4.0 + 3.0 * std::log(5.0)) * std::pow(2.0, large))));
            CHECK(runs[k].initial_step == 2.0);
            large_evaluations += runs[k].evaluations;
        }
    }
    CHECK(large >= 2);
    CHECK(small >= 2);
}

TEST_CASE("a stall trigger lets restarts happen within LoraHub-sized budgets", "[optim][cma-es][restarts]") {
    optim::settings options{.dimension = 20, .lower = -1.5, .upper = 1.5, .budget = 200, .seed = 7, .initial_step = 0.5};
    const auto shifted = [](const point& x) {
        point y = x;
        for (auto& v : y) v = (v - 0.4) * 3.0;
        return rastrigin(y);
    };
    const auto run = [&](optim::cma_es_ipop& search) {
        while (!search.done()) {
            const auto x = search.ask();
            search.tell(x, shifted(x));
        }
    };
    optim::cma_es_ipop pycma_defaults(options);
    run(pycma_defaults);
    INFO("first run stopped on " << pycma_defaults.runs().front().stop);
    CHECK(pycma_defaults.runs().size() == 1);  // no pycma criterion fires in 200 evaluations
    options.restarts.stall_generations = 3;
    optim::cma_es_ipop stalled(options);
    run(stalled);
    REQUIRE(stalled.runs().size() >= 2);
    CHECK(stalled.runs().front().stop == "stall");
    CHECK(stalled.best().evaluations == 200);
}

TEST_CASE("restarts stop after max_restarts large runs", "[optim][cma-es][restarts]") {
    optim::settings options{.dimension = 2, .lower = -1, .upper = 1, .budget = 1000000, .seed = 1, .initial_step = 0.3};
    options.restarts.max_restarts = 2;
    optim::cma_es_ipop search(options);
    while (!search.done())
        for (const auto& x : search.ask_population()) search.tell(x, x[0] * x[0] + x[1] * x[1]);  // each run converges (tolfun / tolx)
    REQUIRE(search.runs().size() == 3);
    CHECK(search.best().evaluations < 1000000);
    for (const auto& run : search.runs()) CHECK_FALSE(run.stop.empty());
}

TEMPLATE_TEST_CASE("restarted searches are reproducible, stay in the box and skip NaN", "[optim][cma-es][restarts]", optim::cma_es_ipop,
                   optim::cma_es_bipop) {
    optim::settings options{.dimension = 6, .budget = 400, .seed = 11};
    options.restarts.stall_generations = 2;
    const auto noisy = [] {  // every fifth evaluation fails
        return [calls = std::size_t{0}](const point& x) mutable { return ++calls % 5 == 0 ? std::nan("") : rastrigin(x); };
    };
    const auto a = optim::minimize<TestType>(noisy(), options);
    const auto b = optim::minimize<TestType>(noisy(), options);
    CHECK(a.x == b.x);
    CHECK(a.value == b.value);
    CHECK(std::isfinite(a.value));
    CHECK(optim::inside(a.x, options.lower, options.upper));
    TestType search(options);
    while (!search.done()) {
        const auto x = search.ask();
        REQUIRE(optim::inside(x, options.lower, options.upper));
        search.tell(x, rastrigin(x));
    }
    CHECK(search.runs().size() > 1);
}

// Success over 20 seeds is a binomial sample on both sides (standard error up to 0.11 each), so
// one case cannot show a 10-point agreement: 100 of our seeds against 40 more of pycma's gave
// 0.78 / 0.775 (5-D Rastrigin IPOP), 0.29 / 0.30 (10-D Schwefel IPOP), 0.49 / 0.45 (10-D
// Rastrigin BIPOP) where the 20-seed fixture reads 0.95, 0.55 and 0.70 (docs/optimizers.md).
// Checked here: over the 18 cases the mean absolute difference of success rates is <= 0.10 and
// their mean difference is within 0.05; each case is within a 99% two-proportion bound; the
// median evaluations to the target are within 10% of pycma's where both succeed on >= 10 seeds.
TEST_CASE("IPOP and BIPOP succeed as often and as fast as pycma's on Rastrigin, Ackley and Schwefel", "[optim][cma-es][restarts]") {
    const auto reference =
        io::parse_json_strict(test::read_file(test::fixtures() / "optim/cma_restarts_reference.json"), "cma_restarts_reference.json");
    const double target = reference["target"].get<double>();
    const auto seeds = reference["seeds"].get<std::size_t>();
    double sum_difference = 0, sum_absolute_difference = 0;
    std::size_t cases = 0;
    for (const auto& item : reference["cases"]) {
        const auto function = item["function"].get<std::string>();
        const auto n = item["dimension"].get<std::size_t>();
        const auto regime = item["regime"].get<std::string>();
        const auto budget = item["budget"].get<std::size_t>();
        const double lower = item["lower"].get<double>(), upper = item["upper"].get<double>();
        const outcome ours = regime == "ipop" ? run_seeds<optim::cma_es_ipop>(function, n, lower, upper, budget, seeds, target)
                                              : run_seeds<optim::cma_es_bipop>(function, n, lower, upper, budget, seeds, target);
        const double pycma_rate = item["success_rate"].get<double>();
        INFO(function << " " << n << "-D " << regime << ": success " << ours.success_rate << " vs pycma " << pycma_rate
                      << ", median evaluations " << ours.median_evaluations << " vs pycma " << item["median_evaluations"].dump());
        const double pooled = (ours.success_rate + pycma_rate) / 2;
        const double standard_error = std::sqrt(pooled * (1 - pooled) * 2.0 / static_cast<double>(seeds));
        CHECK(std::abs(ours.success_rate - pycma_rate) <= 2.576 * standard_error + 1e-9);
        sum_difference += ours.success_rate - pycma_rate;
        sum_absolute_difference += std::abs(ours.success_rate - pycma_rate);
        ++cases;
        if (pycma_rate >= 0.5 && ours.success_rate >= 0.5) {
            const double pycma_median = item["median_evaluations"].get<double>();
            CHECK(ours.median_evaluations <= 1.10 * pycma_median);
            CHECK(ours.median_evaluations >= 0.90 * pycma_median);
        }
    }
    REQUIRE(cases == 18);
    CHECK(sum_absolute_difference / static_cast<double>(cases) <= 0.10);
    CHECK(std::abs(sum_difference) / static_cast<double>(cases) <= 0.05);
}
