#include <cmath>

#include <catch2/catch.hpp>

#include <lorahub/model/t5/model.hpp>
#include <lorahub/hub/score.hpp>

#include "../support/files.hpp"

using namespace lorahub;

TEST_CASE("score() of fixed weights equals upstream LoraHub's get_score", "[hub][score]") {
    const auto expected = io::parse_json_strict(test::read_file(test::fixtures() / "t5/expected.json"), "expected.json");
    const auto model = t5::model<>::load(test::fixtures() / "t5/flan-odd");
    const std::vector<std::string> modules{"t5/pool-0", "t5/pool-1", "t5/pool-2"};
    std::vector<std::filesystem::path> directories;
    for (const auto& module : modules) directories.push_back(test::fixtures() / module);
    const auto pool = lora_pool::load(directories);
    const auto examples = io::read_examples(test::fixtures() / "t5/examples.jsonl");
    std::size_t checked = 0;
    for (const auto& item : expected["scores"]) {
        const auto weights = item["weights"].get<std::vector<double>>();
        INFO("weights " << item["weights"].dump());
        const auto batches = tokenize_examples(model, examples, item["batch_size"].get<std::size_t>(), "examples.jsonl");
        const auto scored = score(model, pool, batches, weights);
        CHECK(std::abs(scored.loss - item["loss"].get<double>()) / item["loss"].get<double>() <= 1e-5);
        CHECK(std::abs(scored.objective - item["objective"].get<double>()) / item["objective"].get<double>() <= 1e-5);
        ++checked;
    }
    CHECK(checked == 8);
}
