#include <cmath>

#include <catch2/catch.hpp>

#include <lorahub/hub/objective.hpp>
#include <lorahub/lora/weighted_ab.hpp>
#include <lorahub/model/t5/model.hpp>

#include "../support/files.hpp"

using namespace lorahub;

TEST_CASE("the objective of fixed weights equals upstream LoraHub's get_score", "[hub][objective]") {
    const auto expected = io::parse_json_strict(test::read_file(test::fixtures() / "t5/expected.json"), "expected.json");
    const auto model = t5::model<>::load(test::fixtures() / "t5/flan-odd");
    const std::vector<std::filesystem::path> modules{test::fixtures() / "t5/pool-0", test::fixtures() / "t5/pool-1",
                                                     test::fixtures() / "t5/pool-2"};
    const auto pool = lora_pool::load(modules);
    const auto examples = io::read_examples(test::fixtures() / "t5/examples.jsonl");
    auto composed = weighted_ab{}.allocate(pool);
    const auto lora = model.bind(composed, "composed");  // bound once; compose() rewrites the same storage
    std::size_t checked = 0;
    for (const auto& item : expected["scores"]) {
        const auto weights = item["weights"].get<std::vector<double>>();
        const auto batch_size = item["batch_size"].get<std::size_t>();
        INFO("weights " << item["weights"].dump() << ", batch size " << batch_size);
        const auto batches = tokenize_examples(model, examples, batch_size, "examples.jsonl");
        weighted_ab{}.compose(pool, weights, composed);
        const double loss = reference_loss(model, batches, &lora);
        const double objective = loss + l1_penalty(weights);
        CHECK(std::abs(loss - item["loss"].get<double>()) / item["loss"].get<double>() <= 1e-5);
        CHECK(std::abs(objective - item["objective"].get<double>()) / item["objective"].get<double>() <= 1e-5);
        ++checked;
    }
    CHECK(checked == 8);
}

TEST_CASE("the L1 term is 0.05 times the mean absolute weight", "[hub][objective]") {
    const std::vector<double> w{0.5, -1.5, 0.0, 1.0};
    CHECK(l1_penalty(w) == Approx(0.05 * 3.0 / 4.0));
    CHECK(l1_penalty(w, 0.1) == Approx(0.1 * 3.0 / 4.0));
}

TEST_CASE("scoring needs an output for every example", "[hub][objective]") {
    const auto model = t5::model<>::load(test::fixtures() / "t5/flan-odd");
    const std::vector<io::example> examples{{"a", "b"}, {"c", std::nullopt}};
    CHECK_THROWS_WITH(tokenize_examples(model, examples, 0, "ex.jsonl"), Catch::Matchers::Contains("ex.jsonl: example 2 has no output"));
}
