// Scores compositions of a hub's LoRA modules on a task's few-shot examples and predicts
// with the best one. Run it on the embedded demo hub:
//
//     build/release/examples/compose_and_score examples/demo-hub [TASK]
#include <cstdio>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include <lorahub/lorahub.hpp>

int main(int argc, char** argv) try {
    if (argc < 2 || argc > 3) {
        std::cerr << "usage: compose_and_score HUB_DIR [TASK]\n";
        return 2;
    }
    // [readme]
    using namespace lorahub;
    const auto hub = io::load_hub_manifest(argv[1]);         // hub.json: model, modules, tasks
    const auto& task = hub.task_named(argc == 3 ? argv[2] : "");
    const auto model = t5::model<>::load(hub.model);          // config.json, model.safetensors, spiece.model
    const auto pool = lora_pool::load(hub.modules);           // PEFT adapter folders, stacked per target
    const auto few_shot = io::read_examples(task.few_shot);   // JSONL: {"input", "output"} per line
    const auto batches = tokenize_examples(model, few_shot, 0, task.few_shot.string());

    // one module alone (w = e_i), and all of them averaged (w = 1/N)
    const std::size_t n = pool.size();
    std::vector<std::vector<double>> candidates;
    for (std::size_t i = 0; i < n; ++i) {
        candidates.emplace_back(n, 0.0);
        candidates.back()[i] = 1.0;
    }
    candidates.emplace_back(n, 1.0 / static_cast<double>(n));
    std::size_t best = 0;
    double best_objective = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < candidates.size(); ++c) {
        const auto scored = score(model, pool, batches, candidates[c]);  // upstream loss + 0.05 mean|w|
        const std::string label = c < n ? pool.names()[c] : "uniform";
        std::printf("%-16s loss %.4f  objective %.4f\n", label.c_str(), scored.loss, scored.objective);
        if (scored.objective < best_objective) best = c, best_objective = scored.objective;
    }

    // greedy predictions on the task's test examples with the best of them
    const auto test = io::read_examples(task.test);
    const auto predicted = infer(model, test, pool, candidates[best], {.max_new_tokens = 32});
    std::printf("first prediction: \"%s\"\n", printable(predicted.predictions.front()).c_str());
    if (predicted.accuracy) std::printf("accuracy %.1f%% on %zu test examples\n", *predicted.accuracy, test.size());
    // [/readme]
    return 0;
} catch (const lorahub::error& failure) {
    std::cerr << "error: " << failure.what() << "\n";
    return 1;
}
