#include <algorithm>
#include <cmath>
#include <numbers>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/concepts.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/optim/cma_es.hpp>
#include <lorahub/optim/cobyla.hpp>
#include <lorahub/optim/minimize.hpp>
#include <lorahub/optim/nelder_mead.hpp>
#include <lorahub/optim/random_search.hpp>

#include "../support/files.hpp"

using namespace lorahub;
using optim::point;

static_assert(Optimizer<optim::cma_es> && Optimizer<optim::cobyla> && Optimizer<optim::nelder_mead> && Optimizer<optim::random_search>);

namespace {

double sphere(const point& x) {
    double f = 0;
    for (double v : x) f += v * v;
    return f;
}
double ellipsoid(const point& x) {
    const auto n = x.size();
    double f = 0;
    for (std::size_t i = 0; i < n; ++i) f += std::pow(1e6, n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.0) * x[i] * x[i];
    return f;
}
double rosenbrock(const point& x) {
    double f = 0;
    for (std::size_t i = 0; i + 1 < x.size(); ++i) f += 100 * std::pow(x[i + 1] - x[i] * x[i], 2) + std::pow(1 - x[i], 2);
    return f;
}
double rastrigin(const point& x) {
    double f = 10.0 * static_cast<double>(x.size());
    for (double v : x) f += v * v - 10.0 * std::cos(2 * std::numbers::pi * v);
    return f;
}

/// Evaluations until the best value drops below `target`, or 0 if the budget runs out.
template <class O, class F>
std::size_t evaluations_to(F f, const optim::settings& options, double target) {
    O optimizer(options);
    while (!optimizer.done()) {
        const auto x = optimizer.ask();
        optimizer.tell(x, f(x));
        if (optimizer.best().value < target) return optimizer.best().evaluations;
    }
    return 0;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}  // namespace

TEST_CASE("CMA-ES needs about as many evaluations as pycma on sphere, ellipsoid and Rosenbrock", "[optim][cma-es]") {
    const auto reference = io::parse_json_strict(test::read_file(test::fixtures() / "optim/cma_reference.json"), "cma_reference.json");
    for (const auto& item : reference["cases"]) {
        const auto function = item["function"].get<std::string>();
        const auto n = item["dimension"].get<std::size_t>();
        const double pycma = item["median"].get<double>();
        INFO(function << " in " << n << "-D; pycma median " << pycma);
        const auto f = function == "sphere" ? sphere : function == "ellipsoid" ? ellipsoid : rosenbrock;
        std::vector<double> counts;
        for (std::uint64_t seed = 1; seed <= 7; ++seed) {
            optim::settings options{.dimension = n, .lower = -1e6, .upper = 1e6, .budget = static_cast<std::size_t>(3 * pycma), .seed = seed,
                                    .initial_step = 0.5, .start = point(n, function == "rosenbrock" ? 0.0 : 1.0)};
            const auto count = evaluations_to<optim::cma_es>(f, options, 1e-8);
            counts.push_back(count == 0 ? 1e9 : static_cast<double>(count));
        }
        const double ours = median(counts);
        INFO("ours median " << ours);
        CHECK(ours <= 1.2 * pycma);
        CHECK(ours >= 0.8 * pycma);
    }
}

TEST_CASE("CMA-ES with a large population solves 10-D Rastrigin, the default one does not reliably", "[optim][cma-es]") {
    // Hansen & Kern (2004): on Rastrigin the success rate grows with the population size.
    std::size_t small_successes = 0, large_successes = 0;
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        optim::settings options{.dimension = 10, .lower = -5.12, .upper = 5.12, .budget = 20000, .seed = seed, .initial_step = 2.0,
                                .start = point(10, 3.0)};
        optim::cma_es small(options);
        while (!small.done()) {
            const auto x = small.ask();
            small.tell(x, rastrigin(x));
        }
        small_successes += small.best().value < 1e-6;
        options.budget = 200000;
        optim::cma_es large(options, 200);
        while (!large.done() && large.best().value >= 1e-6) {
            for (const auto& x : large.ask_population()) large.tell(x, rastrigin(x));
        }
        large_successes += large.best().value < 1e-6;
    }
    CHECK(large_successes >= 3);
    CHECK(small_successes < large_successes);
}

TEST_CASE("Nelder-Mead solves Rosenbrock from (-1.2, 1) and low-dimensional spheres", "[optim][nelder-mead]") {
    // Lagarias et al. (1998) report convergence on 2-D Rosenbrock from (-1.2, 1) in a few hundred evaluations.
    const optim::settings rosen{.dimension = 2, .lower = -5, .upper = 5, .budget = 1000, .seed = 1, .initial_step = 0.5, .start = {-1.2, 1.0}};
    const auto count = evaluations_to<optim::nelder_mead>(rosenbrock, rosen, 1e-8);
    CHECK(count > 0);
    CHECK(count < 600);
    for (std::size_t n : {2u, 10u}) {
        const optim::settings ball{.dimension = n, .lower = -5, .upper = 5, .budget = 20000, .seed = 1, .initial_step = 0.5, .start = point(n, 1.0)};
        INFO(n << "-D sphere");
        CHECK(evaluations_to<optim::nelder_mead>(sphere, ball, 1e-8) > 0);
    }
}

TEST_CASE("COBYLA converges on smooth problems inside the box", "[optim][cobyla]") {
    for (std::size_t n : {2u, 10u, 20u}) {
        INFO(n << "-D shifted sphere");
        const auto shifted = [](const point& x) {
            double f = 0;
            for (double v : x) f += (v - 0.3) * (v - 0.3);
            return f;
        };
        const optim::settings options{.dimension = n, .budget = 40 * n + 200};
        const auto best = optim::minimize<optim::cobyla>(shifted, options);
        CHECK(best.value < 1e-6);
    }
    // the minimum on the boundary: x = upper bound in every coordinate
    const auto pulled = [](const point& x) {
        double f = 0;
        for (double v : x) f += (v - 3.0) * (v - 3.0);
        return f;
    };
    const auto best = optim::minimize<optim::cobyla>(pulled, optim::settings{.dimension = 5, .budget = 400});
    for (double v : best.x) CHECK(v == Approx(1.5).margin(1e-6));
}

TEMPLATE_TEST_CASE("every optimizer stays in the box, respects the budget and never returns a NaN as best", "[optim]", optim::cma_es,
                   optim::cobyla, optim::nelder_mead, optim::random_search) {
    const optim::settings options{.dimension = 6, .lower = -1.5, .upper = 1.5, .budget = 120, .seed = 3};
    TestType optimizer(options);
    std::size_t evaluations = 0;
    bool first = true;
    while (!optimizer.done()) {
        const auto x = optimizer.ask();
        if (first && !std::is_same_v<TestType, optim::cma_es>) CHECK(x == point(6, 0.0));  // CMA-ES samples around the start
        first = false;
        CHECK(optim::inside(x, -1.5, 1.5));
        ++evaluations;
        // a failing model: every third evaluation is NaN, whose point would otherwise be the best
        optimizer.tell(x, evaluations % 3 == 0 ? std::nan("") : 10.0 + rosenbrock(x));
    }
    CHECK(evaluations <= 120);
    CHECK(std::isfinite(optimizer.best().value));
    CHECK(optimizer.best().value >= 10.0);
}

TEMPLATE_TEST_CASE("the same seed gives bitwise the same search", "[optim]", optim::cma_es, optim::cobyla, optim::nelder_mead,
                   optim::random_search) {
    const optim::settings options{.dimension = 5, .budget = 80, .seed = 11};
    const auto a = optim::minimize<TestType>(rastrigin, options);
    const auto b = optim::minimize<TestType>(rastrigin, options);
    CHECK(a.x == b.x);
    CHECK(a.value == b.value);
}

TEST_CASE("seeds change the random searches", "[optim]") {
    const optim::settings one{.dimension = 5, .budget = 60, .seed = 1}, two{.dimension = 5, .budget = 60, .seed = 2};
    const auto shifted = [](const point& x) {  // optimum away from the start point 0
        point y = x;
        for (auto& v : y) v -= 0.7;
        return rastrigin(y);
    };
    CHECK(optim::minimize<optim::cma_es>(shifted, one).x != optim::minimize<optim::cma_es>(shifted, two).x);
    CHECK(optim::minimize<optim::random_search>(shifted, one).x != optim::minimize<optim::random_search>(shifted, two).x);
}

TEST_CASE("bad settings are clear errors", "[optim]") {
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(optim::cma_es(optim::settings{.dimension = 0}), Contains("at least one dimension"));
    CHECK_THROWS_WITH(optim::cobyla(optim::settings{.dimension = 2, .lower = 1, .upper = 1}), Contains("lower < upper"));
    CHECK_THROWS_WITH(optim::nelder_mead(optim::settings{.dimension = 2, .start = {0.0}}), Contains("1 values for 2 dimensions"));
    CHECK_THROWS_WITH(optim::random_search(optim::settings{.dimension = 1, .start = {9.0}}), Contains("outside the bounds"));
    optim::cma_es cma(optim::settings{.dimension = 2});
    const auto x = cma.ask();
    CHECK_THROWS_WITH(cma.tell(point{9.0, 9.0}, 1.0), Contains("order they were asked"));
}
