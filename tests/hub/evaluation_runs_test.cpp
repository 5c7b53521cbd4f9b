#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/hub/evaluation_runs.hpp>

using namespace lorahub;

namespace {

evaluation_runs two_tasks() {
    evaluation_plan plan;
    plan.optimizers = {"cobyla", "cma-es"};
    plan.budgets = {40};
    plan.selects = {0, 2};
    plan.seeds = 3;
    plan.arrow_top_k = 0;
    return evaluation_runs(plan, {{"sum", 5, 100, true}, {"count", 4, 50, false}}, {"add", "plural", "color"});
}

evaluation_runs with_arrow(std::size_t top_k, double temperature) {
    evaluation_plan plan;
    plan.seeds = 2;
    plan.arrow_top_k = top_k;
    plan.arrow_temperature = temperature;
    return evaluation_runs(plan, {{"sum", 5, 100, false}}, {"add", "plural", "color"});
}

}  // namespace

TEST_CASE("the runs of a plan: baselines, each module, LoraHub per optimizer x budget x selection x seed, the task LoRA", "[evaluation]") {
    const auto runs = two_tasks();
    // per task: zero-shot, ICL, uniform, 3 modules, 2 x 1 x 2 x 3 LoraHub runs; the task LoRA where there is one
    CHECK(runs.items().size() == (3 + 3 + 12 + 1) + (3 + 3 + 12));
    CHECK(runs.item_name(0) == "sum/zero-shot");
    CHECK(runs.item_name(4) == "sum/single/plural");
    CHECK(runs.item_name(6) == "sum/lorahub/cobyla/40/select-0/seed-1");
    CHECK(runs.item_name(17) == "sum/lorahub/cma-es/40/select-2/seed-3");
    CHECK(runs.item_name(18) == "sum/task-lora");
    CHECK(runs.item_name(19) == "count/zero-shot");
    CHECK(runs.method_name(runs.items()[1]) == "ICL (5 examples)");
    CHECK(runs.method_name(runs.items()[20]) == "ICL (4 examples)");
    CHECK(runs.method_name(runs.items()[15]) == "LoraHub cma-es/40 select 2");
}

TEST_CASE("Arrow's zero-shot row follows uniform, once per task, named with its top-k and temperature", "[evaluation][arrow]") {
    const auto runs = with_arrow(2, 1.0);
    CHECK(runs.items().size() == 3 + 1 + 3 + 2);
    CHECK(runs.item_name(3) == "sum/arrow");
    CHECK(runs.items()[3].method == run_method::arrow);
    CHECK(runs.method_name(runs.items()[3]) == "Arrow (zero-shot, top 2)");
    const auto cooler = with_arrow(3, 0.25);
    CHECK(cooler.method_name(cooler.items()[3]) == "Arrow (zero-shot, top 3, T 0.25)");
    const auto record = io::parse_json_strict(runs_json(with_arrow(1, 2.5)).dump(), "record");
    CHECK(runs_from_json(record, "record").plan().arrow_temperature == 2.5);
    CHECK(runs_from_json(record, "record").plan().arrow_top_k == 1);
    CHECK_THROWS_WITH(with_arrow(4, 1.0), Catch::Contains("Arrow's top-k 4 exceeds the pool's 3 modules"));
    CHECK_THROWS_WITH(with_arrow(2, 0.0), Catch::Contains("Arrow's temperature must be a finite number above 0"));
    CHECK_THROWS_WITH(with_arrow(2, NAN), Catch::Contains("Arrow's temperature"));
}

TEST_CASE("finer weight granularities add LoraHub rows per layer or target, with selection 0 only", "[evaluation][granularity]") {
    evaluation_plan plan;
    plan.seeds = 2;
    plan.arrow_top_k = 0;
    plan.selects = {0, 2};
    plan.granularities = {"module", "layer"};
    const evaluation_runs runs(plan, {{"sum", 5, 100, false}}, {"add", "plural", "color"});
    // 3 baselines, 3 modules; module x {0, 2} x 2 seeds; layer x {0} x 2 seeds
    REQUIRE(runs.items().size() == 3 + 3 + 4 + 2);
    CHECK(runs.item_name(10) == "sum/lorahub/cobyla/40/per-layer/select-0/seed-1");
    CHECK(runs.method_name(runs.items()[10]) == "LoraHub cobyla/40 per layer");
    CHECK(runs.items()[10].granularity == "layer");
    CHECK(runs_from_json(io::parse_json_strict(runs_json(runs).dump(), "r"), "r").item_name(11) == runs.item_name(11));
    plan.granularities = {"block"};
    CHECK_THROWS_WITH(evaluation_runs(plan, {{"sum", 5, 100, false}}, {"add"}), Catch::Contains("\"block\" is not module, layer or target"));
}

TEST_CASE("results gather into the table in any order, the oracle is the first best module", "[evaluation]") {
    const auto runs = two_tasks();
    std::vector<run_result> results;
    for (std::size_t i = runs.items().size(); i-- > 0;) {
        const auto& item = runs.items()[i];
        double accuracy = static_cast<double>(i % 7) * 10;
        if (item.method == run_method::single_module) accuracy = item.module == 0 ? 20 : 50;  // plural and color tie at 50
        results.push_back({i, accuracy, item.method == run_method::lorahub ? 0.5 + static_cast<double>(item.seed) : NAN, 1.0, 2.0});
    }
    const auto outcomes = runs.outcomes(results);
    REQUIRE(outcomes.size() == 2);
    CHECK(outcomes[0].task == "sum");
    CHECK(outcomes[0].few_shot == 5);
    CHECK(outcomes[0].test == 100);
    REQUIRE(outcomes[0].methods.size() == 4 + 4 + 1);
    CHECK(outcomes[0].methods[3].method == "best single module (oracle)");
    CHECK(outcomes[0].methods[3].accuracy == std::vector<double>{50});
    CHECK(outcomes[0].methods[3].detail == "plural");
    const auto& cobyla = outcomes[0].methods[4];
    CHECK(cobyla.method == "LoraHub cobyla/40");
    CHECK(cobyla.accuracy == std::vector<double>{60, 0, 10});  // items 6, 7, 8 in seed order
    CHECK(cobyla.objective == std::vector<double>{1.5, 2.5, 3.5});
    CHECK(cobyla.seconds == 3.0);
    CHECK(outcomes[1].methods.size() == 4 + 4);

    results.pop_back();
    CHECK_THROWS_WITH(runs.outcomes(results), Catch::Contains("run sum/zero-shot has no result"));
    results.push_back(results.front());
    CHECK_THROWS_WITH(runs.outcomes(results), Catch::Contains("has two results"));
}

TEST_CASE("the runs' record reads back as the same runs", "[evaluation]") {
    const auto runs = two_tasks();
    const auto record = io::parse_json_strict(runs_json(runs).dump(), "record");
    const auto read = runs_from_json(record, "record");
    REQUIRE(read.items().size() == runs.items().size());
    for (std::size_t i = 0; i < runs.items().size(); ++i) CHECK(read.item_name(i) == runs.item_name(i));
    CHECK(read.tasks() == runs.tasks());
    CHECK(read.modules() == runs.modules());
    CHECK(runs_json(read) == runs_json(runs));
}

TEST_CASE("a hostile record is an error naming the field, too many runs are refused before any is listed", "[evaluation]") {
    const auto good = runs_json(two_tasks());
    auto with = [&](const char* pointer, io::json value) {
        auto changed = good;
        changed[io::json::json_pointer(pointer)] = std::move(value);
        return changed;
    };
    CHECK_THROWS_WITH(runs_from_json(with("/plan/seeds", -3), "s.json"), Catch::Contains("s.json: \"seeds\" must be a non-negative integer"));
    CHECK_THROWS_WITH(runs_from_json(with("/plan/budgets", io::json::array({"40"})), "s.json"), Catch::Contains("\"budgets\" must be a list"));
    CHECK_THROWS_WITH(runs_from_json(with("/plan/optimizers", io::json::array({"simplex"})), "s.json"), Catch::Contains("\"simplex\" is not"));
    CHECK_THROWS_WITH(runs_from_json(with("/tasks/0/name", 7), "s.json"), Catch::Contains("\"name\" has the wrong type"));
    CHECK_THROWS_WITH(runs_from_json(with("/modules", "add"), "s.json"), Catch::Contains("\"modules\" has the wrong type"));
    CHECK_THROWS_WITH(runs_from_json(with("/plan/seeds", 999'999), "s.json"), Catch::Contains("more than 1000000 runs"));
    CHECK_THROWS_WITH(runs_from_json(with("/plan/seeds", std::uint64_t{1} << 62), "s.json"), Catch::Contains("more than 1000000 seeds"));
    auto no_plan = good;
    no_plan.erase("plan");
    CHECK_THROWS_WITH(runs_from_json(no_plan, "s.json"), Catch::Contains("s.json: has no \"plan\""));
}
