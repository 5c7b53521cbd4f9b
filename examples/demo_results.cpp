// Baselines and LoraHub on every held-out task of a hub, printed as the markdown of
// docs/results.md:
//
//     build/release/examples/lorahub_demo_results examples/demo-hub > docs/results.md
//
// For each task: zero-shot base model, the best single module, the uniform average of all
// modules, LoraHub with COBYLA (budget 40) and with CMA-ES (budgets 40 and 200) over seeds
// 1..5, and in-context learning (the 5 examples prepended to every test input).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <utility>
#include <string>
#include <vector>

#include <lorahub/lorahub.hpp>

namespace fs = std::filesystem;
using namespace lorahub;
using model_type = t5::model<>;

namespace {

constexpr std::size_t max_new_tokens = 32;

const infer_options short_answers{.max_new_tokens = max_new_tokens};

double accuracy_with(const model_type& model, const lora_pool& pool, const std::vector<io::example>& test, const std::vector<double>& w) {
    return *infer(model, test, pool, w, short_answers).accuracy;
}

struct summary {
    double mean = 0, best = 0, objective = 0, seconds = 0;
};

/// Upstream's protocol (reproduce_bbh.py): seed s draws a random subset of the modules
/// (20 of 196 there; `subset` of ours here) and LoraHub composes that subset.
std::vector<fs::path> module_subset(const std::vector<fs::path>& all, std::size_t subset, std::uint64_t seed) {
    std::vector<fs::path> chosen = all;
    optim::random_source random(seed);
    for (std::size_t i = chosen.size(); i > 1; --i)
        std::swap(chosen[i - 1], chosen[static_cast<std::size_t>(random.uniform() * static_cast<double>(i))]);
    chosen.resize(std::min(subset, chosen.size()));
    return chosen;
}

constexpr std::size_t modules_per_seed = 8;

template <class O, class Model>
summary lorahub_runs(const Model& model, const std::vector<fs::path>& modules, const examples_for<Model>& few_shot,
                     const std::vector<io::example>& test, std::size_t budget) {
    summary out;
    std::vector<double> accuracies;
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        const auto pool = lora_pool::load(module_subset(modules, modules_per_seed, seed));
        learn_options<Model> options;
        options.budget = budget;
        options.seed = seed;
        const auto result = learn<O>(model, pool, few_shot, options);
        accuracies.push_back(*infer(model, test, result, short_answers).accuracy);
        out.objective += result.objective / 5.0;
        out.seconds += result.seconds / 5.0;
    }
    out.mean = std::accumulate(accuracies.begin(), accuracies.end(), 0.0) / 5.0;
    out.best = *std::max_element(accuracies.begin(), accuracies.end());
    return out;
}

std::string percent(double value) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%.1f", value);
    return buffer;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: lorahub_demo_results HUB_DIR\n";
        return 2;
    }
    try {
        const fs::path root = argv[1];
        const auto hub = io::load_hub_manifest(root);
        const auto model = model_type::load(hub.model);
        const auto model_bf16 = t5::model<cpu::bf16_backend>::load(hub.model);
        const auto& module_dirs = hub.modules;
        const auto pool = lora_pool::load(module_dirs);
        const std::size_t n = pool.size();
        const auto started = std::chrono::steady_clock::now();

        std::cout << "# Results on the demo hub\n\n"
                  << "Accuracy in percent (upstream's exact match after strip, lowercase, drop \".\") on the 100 test examples of\n"
                  << "each held-out task of `examples/demo-hub/`, with " << n << " upstream modules. Produced by one command:\n\n"
                  << "    build/release/examples/lorahub_demo_results examples/demo-hub > docs/results.md\n\n"
                  << "- *best single module*: the module with the highest test accuracy used alone (w = e_i): an oracle choice.\n"
                  << "- *uniform*: every module at weight 1/N (A and B averaged, the LoraHub composition rule).\n"
                  << "- *LoraHub*: weights learned from the 5 few-shot examples only (objective: upstream's loss + 0.05 mean|w|),\n"
                  << "  mean and best test accuracy over seeds 1..5. As in upstream's reproduce_bbh.py, each seed draws a random\n"
                  << "  subset of the modules (there 20 of 196, here " << modules_per_seed << " of " << n << ") for LoraHub to compose.\n"
                  << "- *bf16*: the same LoraHub COBYLA runs in the bf16 compute mode (`--precision bf16`: bf16 linear layers,\n"
                  << "  fp32 accumulation and everything else in fp32), learning and predicting in bf16.\n"
                  << "- *ICL*: the base model with the 5 examples prepended to each input (\"input\\noutput\" blocks), as upstream's\n"
                  << "  few-shot baseline; the base model was never trained on such prompts.\n\n";
        std::cout << "| task | zero-shot | best single module | uniform | LoraHub COBYLA/40 mean (best) | LoraHub CMA-ES/40 mean (best) "
                     "| LoraHub CMA-ES/200 mean (best) | LoraHub COBYLA/40 bf16 mean (best) | ICL (5 examples) |\n"
                     "|---|---|---|---|---|---|---|---|---|\n";
        for (const auto& [task, few_shot_file, test_file] : hub.tasks) {
            const auto few_shot_examples = io::read_examples(few_shot_file);
            const auto test = io::read_examples(test_file);
            const auto few_shot = tokenize_examples(model, few_shot_examples, 0, task);
            const double zero_shot = *infer(model, test, short_answers).accuracy;
            double best_single = -1;
            std::string best_module;
            for (std::size_t i = 0; i < n; ++i) {
                std::vector<double> w(n, 0.0);
                w[i] = 1.0;
                const double value = accuracy_with(model, pool, test, w);
                if (value > best_single) {
                    best_single = value;
                    best_module = pool.names()[i];
                }
            }
            const double uniform = accuracy_with(model, pool, test, std::vector<double>(n, 1.0 / static_cast<double>(n)));
            const auto cobyla = lorahub_runs<optim::cobyla>(model, module_dirs, few_shot, test, 40);
            const auto cma_40 = lorahub_runs<optim::cma_es>(model, module_dirs, few_shot, test, 40);
            const auto cma_200 = lorahub_runs<optim::cma_es>(model, module_dirs, few_shot, test, 200);
            const auto cobyla_bf16 = lorahub_runs<optim::cobyla>(model_bf16, module_dirs, tokenize_examples(model_bf16, few_shot_examples, 0, task),
                                                                 test, 40);
            std::string context;
            for (const auto& example : few_shot_examples) context += example.input + "\n" + *example.output + "\n\n";
            std::vector<io::example> prompted = test;
            for (auto& example : prompted) example.input = context + example.input;
            const double icl = *infer(model, prompted, short_answers).accuracy;
            std::cout << "| " << task << " | " << percent(zero_shot) << " | " << percent(best_single) << " (" << best_module << ") | "
                      << percent(uniform) << " | " << percent(cobyla.mean) << " (" << percent(cobyla.best) << ") | " << percent(cma_40.mean)
                      << " (" << percent(cma_40.best) << ") | " << percent(cma_200.mean) << " (" << percent(cma_200.best) << ") | "
                      << percent(cobyla_bf16.mean) << " (" << percent(cobyla_bf16.best) << ") | " << percent(icl) << " |\n";
            std::cout.flush();
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::printf("\nAll of the above took %.0f s on this machine (the CPU backend, %s GEMM policy).\n", seconds, "oneDNN");
        return 0;
    } catch (const lorahub::error& failure) {
        std::cerr << "error: " << failure.what() << "\n";
        return 1;
    }
}
