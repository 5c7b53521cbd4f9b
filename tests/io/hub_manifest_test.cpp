#include <catch2/catch.hpp>

#include <lorahub/io/hub_manifest.hpp>

#include "../support/files.hpp"

using namespace lorahub;
using Catch::Matchers::Contains;

TEST_CASE("the demo hub's manifest gives its model, modules in order and tasks", "[io][hub]") {
    const std::filesystem::path root = LORAHUB_DEMO_HUB;
    const auto hub = io::load_hub_manifest(root);
    CHECK(hub.model == root / "model");
    REQUIRE(hub.modules.size() == 12);
    CHECK(hub.modules.front() == root / "modules/reverse_letters");
    CHECK(hub.modules.back() == root / "modules/repeat");
    CHECK(hub.default_task == "letter_count");
    REQUIRE(hub.tasks.size() == 4);
    CHECK(hub.tasks.front().name == "several");
    CHECK(hub.tasks.back().name == "tally");
    CHECK(hub.task_named().few_shot == root / "tasks/letter_count/few_shot.jsonl");
    CHECK(hub.task_named("sum").test == root / "tasks/sum/test.jsonl");
    CHECK(hub.task_named("sum").trained_lora == root / "tasks/sum/trained_lora");
    CHECK_THROWS_WITH(hub.task_named("nope"), Contains("hub.json: has no task \"nope\""));
}

TEST_CASE("a malformed hub manifest is an error naming hub.json", "[io][hub]") {
    test::temp_dir dir;
    test::write_file(dir / "hub.json", R"({"model": "m", "modules": ["a"], "default_task": "t", "tasks": {"u": {"few_shot": "f", "test": "x"}}})");
    CHECK_THROWS_WITH(io::load_hub_manifest(dir.path()), Contains("hub.json: has no task \"t\""));
    test::write_file(dir / "hub.json", R"({"model": "m", "modules": [], "default_task": "t", "tasks": {}})");
    CHECK_THROWS_WITH(io::load_hub_manifest(dir.path()), Contains("hub.json: lists no modules"));
    test::write_file(dir / "hub.json", R"({"model": 3})");
    CHECK_THROWS_WITH(io::load_hub_manifest(dir.path()), Contains("hub.json: is not a valid hub manifest"));
    CHECK_THROWS_WITH(io::load_hub_manifest(dir / "absent"), Contains("hub.json"));
    test::write_file(dir / "hub.json", R"({"model": "m", "modules": ["a"], "default_task": "t", "tasks": {"t": {"few_shot": "f", "test": "x", "trained_lora": 1}}})");
    CHECK_THROWS_WITH(io::load_hub_manifest(dir.path()), Contains("hub.json: is not a valid hub manifest"));
}

TEST_CASE("a task without a trained LoRA has an empty trained_lora", "[io][hub]") {
    test::temp_dir dir;
    test::write_file(dir / "hub.json", R"({"model": "m", "modules": ["a"], "default_task": "t", "tasks": {"t": {"few_shot": "f", "test": "x"}}})");
    CHECK(io::load_hub_manifest(dir.path()).task_named("t").trained_lora.empty());
}
