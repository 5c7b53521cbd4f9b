#include <cmath>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/hub/run_store.hpp>

#include "../support/files.hpp"

using namespace lorahub;

namespace {

evaluation_runs small_runs(std::size_t seeds = 2) {
    evaluation_plan plan;
    plan.seeds = seeds;
    plan.arrow_top_k = 0;
    return evaluation_runs(plan, {{"sum", 5, 100, false}}, {"add", "plural"});  // 3 + 2 + 2 seeds = 7 runs
}

const io::json sources{{"model", "hub/model"}, {"precision", "fp32"}};

}  // namespace

TEST_CASE("stored results read back exactly, in a directory made for them", "[run_store]") {
    test::temp_dir dir;
    const auto runs = small_runs();
    const auto store = run_store::open_for(dir / "runs", runs, sources);
    CHECK(std::filesystem::exists(dir / "runs" / "sweep.json"));
    CHECK(std::filesystem::exists(dir / "runs" / io::output_marker));
    CHECK(store.missing().size() == 7);
    CHECK_FALSE(store.load(5).has_value());
    const run_result lorahub_run{5, 37.0, 0.1 + 0.2, 0.123456789012345678, 1.5};
    CHECK(store.save(lorahub_run));
    CHECK(store.save({0, 12.5, NAN, 0, 0.25}));
    CHECK_FALSE(store.save({5, 99.0, 1.0, 1.0, 1.0}));  // stored once, never replaced

    const auto reopened = run_store::open(dir / "runs");
    CHECK(reopened.runs().items().size() == 7);
    CHECK(reopened.sources() == sources);
    CHECK(reopened.missing() == std::vector<std::size_t>{1, 2, 3, 4, 6});
    const auto results = reopened.load_all();
    REQUIRE(results.size() == 2);
    CHECK(results[0].item == 0);
    CHECK(std::isnan(results[0].objective));
    CHECK(results[1].item == 5);
    CHECK(results[1].accuracy == 37.0);
    CHECK(results[1].objective == 0.1 + 0.2);  // every bit of a double
    CHECK(results[1].seconds == 0.123456789012345678);
    CHECK(results[1].wall_seconds == 1.5);
}

TEST_CASE("a sweep resumes in its own directory and in no other", "[run_store]") {
    test::temp_dir dir;
    run_store::open_for(dir / "runs", small_runs(), sources).save({3, 50, NAN, 0, 0});
    const auto resumed = run_store::open_for(dir / "runs", small_runs(), sources);
    CHECK(resumed.load(3).has_value());
    CHECK_THROWS_WITH(run_store::open_for(dir / "runs", small_runs(3), sources),
                      Catch::Contains("sweep.json: records another sweep (/runs/plan/seeds differs)"));
    CHECK_THROWS_WITH(run_store::open_for(dir / "runs", small_runs(), io::json{{"model", "other"}, {"precision", "fp32"}}),
                      Catch::Contains("(/sources/model differs)"));

    std::filesystem::create_directories(dir / "theirs");
    test::write_file(dir / "theirs" / "notes.txt", "keep");
    CHECK_THROWS_WITH(run_store::open_for(dir / "theirs", small_runs(), sources), Catch::Contains("is not empty and holds no sweep.json"));
    CHECK(test::read_file(dir / "theirs" / "notes.txt") == "keep");
    test::write_file(dir / "file", "x");
    CHECK_THROWS_WITH(run_store::open_for(dir / "file", small_runs(), sources), Catch::Contains("exists and is not a directory"));
    std::filesystem::create_directories(dir / "hub" / "model");
    const std::vector<std::filesystem::path> inputs{dir / "hub" / "model"};
    CHECK_THROWS_WITH(run_store::open_for(dir / "hub", small_runs(), sources, inputs), Catch::Contains("is an input of this command"));
    CHECK_THROWS_WITH(run_store::open(dir / "nothing"), Catch::Contains("cannot be read: not a directory of lorahub runs"));
}

TEST_CASE("processes that open one directory at once agree on one sweep", "[run_store]") {
    test::temp_dir dir;
    std::vector<std::thread> openers;
    std::vector<int> opened(6, 0);
    for (std::size_t i = 0; i < opened.size(); ++i)
        openers.emplace_back([&, i] {
            const auto store = run_store::open_for(dir / "runs", small_runs(), sources);
            opened[i] = store.save({i, static_cast<double>(i), NAN, 0, 0}) ? 1 : 0;
        });
    for (auto& opener : openers) opener.join();
    CHECK(opened == std::vector<int>(6, 1));
    CHECK(run_store::open(dir / "runs").load_all().size() == 6);
}

TEST_CASE("a hostile or foreign result file is an error naming it", "[run_store]") {
    test::temp_dir dir;
    const auto store = run_store::open_for(dir / "runs", small_runs(), sources);
    const auto file = dir / "runs" / "runs" / "000002.json";
    auto expect_error = [&](const std::string& text, const std::string& problem) {
        test::write_file(file, text);
        CHECK_THROWS_WITH(store.load(2), Catch::Contains("000002.json: " + problem));
        CHECK_THROWS_WITH(store.load_all(), Catch::Contains("000002.json"));
    };
    expect_error("{\"run\": \"sum/zero-shot\"", "invalid JSON");
    expect_error(R"({"run": "sum/zero-shot", "accuracy": 1, "objective": null, "learn_seconds": 0, "wall_seconds": 0})",
                 "is not the result of run sum/uniform of this sweep");
    expect_error(R"({"run": "sum/uniform", "accuracy": 101, "objective": null, "learn_seconds": 0, "wall_seconds": 0})",
                 "\"accuracy\" must be a percentage");
    expect_error(R"({"run": "sum/uniform", "accuracy": "50", "objective": null, "learn_seconds": 0, "wall_seconds": 0})",
                 "\"accuracy\" must be a finite number");
    expect_error(R"({"run": "sum/uniform", "accuracy": 50, "objective": null, "wall_seconds": 0})", "has no \"learn_seconds\"");
    expect_error(R"({"run": "sum/uniform", "run": "sum/uniform", "accuracy": 50})", "duplicate JSON key");
    test::write_file(dir / "runs" / "sweep.json", "{\"runs\": {}, \"sources\": {}}");
    CHECK_THROWS_WITH(run_store::open(dir / "runs"), Catch::Contains("sweep.json: has no \"plan\""));
}
