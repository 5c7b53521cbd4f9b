// One lorahub::score() call on the demo hub (12 modules, the five few-shot examples of
// `tally`, tokenized once), as a C++ caller makes it: the reference that
// bench/peers/python_score_overhead.py sets a Python lorahub.score() call against.
#include <filesystem>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/hub/score.hpp>
#include <lorahub/io/examples.hpp>
#include <lorahub/io/hub_manifest.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/model/t5/model.hpp>

namespace {

using namespace lorahub;

struct demo {
    t5::model<> model;
    lora_pool pool;
    examples_for<t5::model<>> few_shot;
    std::vector<double> weights;
};

const demo& shared_demo() {
    static const demo loaded = [] {
        const auto hub = io::load_hub_manifest(LORAHUB_DEMO_HUB_DIR);
        auto model = t5::model<>::load(hub.model);
        auto pool = lora_pool::load(hub.modules);
        auto few_shot = tokenize_examples(model, io::read_examples(hub.task_named("tally").few_shot), 0, "tally");
        std::vector<double> weights(pool.size());
        for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = 0.1 * static_cast<double>(i % 5) - 0.2;
        return demo{std::move(model), std::move(pool), std::move(few_shot), std::move(weights)};
    }();
    return loaded;
}

void BM_score_call(benchmark::State& state) {
    const auto& hub = shared_demo();
    for (auto _ : state) benchmark::DoNotOptimize(score(hub.model, hub.pool, hub.few_shot, hub.weights));
}
BENCHMARK(BM_score_call)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
