// Selection by Arrow's routing mass (hub/module_selection.hpp) against a torch computation on HF's
// base hidden states (make_arrow_fixtures.py: hooks on every targeted layer, top-3 softmax).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/hub/module_selection.hpp>
#include <lorahub/model/t5/model.hpp>
#include <lorahub/optim/cobyla.hpp>

#include "../support/arrow_fixtures.hpp"
#include "../support/files.hpp"
#include "../support/t5_fixtures.hpp"

using namespace lorahub;

namespace {

lora_pool arrow_t5_tasks() { return lora_pool::load(test::arrow_modules("t5", "task", 4)); }

}  // namespace

TEST_CASE("each module's routing mass on the examples equals torch's on HF's base hidden states", "[selection][arrow]") {
    const auto model = t5::model<cpu::backend>::load(test::fixtures() / "t5/flan-odd");
    const examples_for<t5::model<cpu::backend>> examples{{test::t5_fixture_batch()}, 5};
    const auto usage = routing_usage(model, arrow_t5_tasks(), examples, test::arrow_expected()["t5_usage"]["top_k"].get<std::size_t>());
    const auto want = test::arrow_expected()["t5_usage"]["usage"].get<std::vector<double>>();
    REQUIRE(usage.size() == want.size());
    for (std::size_t i = 0; i < usage.size(); ++i) CHECK(std::abs(usage[i] - want[i]) / want[i] <= 1e-5);
    // the modules observe without acting: the loss afterwards is the base model's
    CHECK(model.loss(examples.batches[0]) == Approx(test::t5_expected()["flan-odd"]["base"]["loss"].get<double>()).epsilon(1e-5));
}

TEST_CASE("select by routing searches the modules of most routing mass, without single-module evaluations", "[selection][learn]") {
    const auto model = t5::model<cpu::backend>::load(test::fixtures() / "t5/flan-odd");
    const examples_for<t5::model<cpu::backend>> examples{{test::t5_fixture_batch()}, 5};
    const auto pool = arrow_t5_tasks();
    learn_options<t5::model<cpu::backend>> options;
    options.budget = 8;
    options.select = 2;
    options.select_by = selection_rule::arrow_routing;
    const auto result = learn<optim::cobyla>(model, pool, examples, options);
    const auto want = test::arrow_expected()["t5_usage"]["usage"].get<std::vector<double>>();
    std::vector<std::size_t> order(want.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return want[a] > want[b]; });
    CHECK(result.searched == std::vector<std::size_t>{order[0], order[1]});
    CHECK(result.single_losses.empty());
    CHECK(result.routing_usage.size() == 4);
    CHECK(result.trace.size() == 8);  // the budget alone: no N evaluations first
    for (std::size_t i = 0; i < 4; ++i)
        if (i != order[0] && i != order[1]) CHECK(result.weights[i] == 0.0);
    CHECK_THROWS_WITH(selection_rule_named("similarity"), Catch::Contains("\"similarity\" is not loss or routing"));
}
