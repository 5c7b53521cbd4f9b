#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <lorahub/hub/infer.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/io/examples.hpp>
#include <lorahub/io/hub_manifest.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/lora/pool.hpp>

namespace lorahub::cli {

/// What `lorahub eval` compares, as the LoraHub paper does: the base model zero-shot, in-context
/// learning, the uniform average of the modules, the best single module (an oracle: chosen by
/// test accuracy), a LoRA trained on the task (an upper bound, when the hub has one) and
/// LoraHub for every optimizer x budget x selection, over seeds.
struct evaluation_plan {
    std::vector<std::string> optimizers{"cobyla"};
    std::vector<std::size_t> budgets{40};
    std::vector<std::size_t> selects{0};  ///< 0: all modules of the seed's subset
    std::size_t seeds = 5;                ///< seeds 1..seeds
    /// Modules per seed, drawn at random as upstream's reproduce_bbh.py draws 20 of its 196;
    /// a pool no larger than this is used whole by every seed.
    std::size_t subset = 20;
    std::size_t icl_examples = 0;  ///< examples prepended for ICL; 0: all the few-shot examples
    std::size_t max_new_tokens = 32;
};

/// One method on one task: a value per seed (one value for the deterministic baselines).
struct method_outcome {
    std::string method;
    std::vector<double> accuracy;   ///< percent, per seed
    std::vector<double> objective;  ///< LoraHub only: the learned objective, per seed
    std::string detail;             ///< e.g. the oracle's module
    double seconds = 0;             ///< learning time summed over seeds (LoraHub only)

    double mean_accuracy() const { return mean(accuracy); }
    double mean_objective() const { return mean(objective); }
    static double mean(const std::vector<double>& values) {
        double sum = 0;
        for (double value : values) sum += value;
        return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
    }
};

struct task_outcome {
    std::string task;
    std::size_t few_shot = 0, test = 0;
    std::vector<method_outcome> methods;  ///< the same methods, in the same order, for every task
};

/// A task given by its files (from a hub manifest or from the command line).
struct evaluation_task {
    std::string name;
    std::filesystem::path few_shot, test, trained_lora;
};

/// The seed's modules, as upstream's reproduce_bbh.py draws them: a seeded random subset of
/// `subset` modules (all of them, in the hub's order, when the pool is no larger).
inline std::vector<std::filesystem::path> modules_for_seed(const std::vector<std::filesystem::path>& all, std::size_t subset, std::uint64_t seed) {
    if (all.size() <= subset) return all;
    std::vector<std::filesystem::path> chosen = all;
    random_source random(seed);
    for (std::size_t i = chosen.size(); i > 1; --i)
        std::swap(chosen[i - 1], chosen[static_cast<std::size_t>(random.uniform() * static_cast<double>(i))]);
    chosen.resize(subset);
    return chosen;
}

/// The LoraHub methods of a plan, named as the table shows them ("LoraHub cobyla/40", "... select 5").
inline std::string lorahub_method_name(const std::string& optimizer, std::size_t budget, std::size_t select) {
    std::string name = "LoraHub " + optimizer + "/" + std::to_string(budget);
    if (select > 0) name += " select " + std::to_string(select);
    return name;
}

/// Test inputs with the first k few-shot examples prepended ("input\noutput" blocks, a blank
/// line between), as upstream's few-shot ICL baseline builds its prompts.
inline std::vector<io::example> with_demonstrations(std::vector<io::example> test, const std::vector<io::example>& few_shot, std::size_t k) {
    std::string context;
    for (std::size_t i = 0; i < std::min(k, few_shot.size()); ++i) context += few_shot[i].input + "\n" + few_shot[i].output.value_or("") + "\n\n";
    for (auto& example : test) example.input = context + example.input;
    return test;
}

/// Runs the plan on every task. `learn_one(model, pool, few_shot_batches, optimizer, budget, select, seed)`
/// dispatches the optimizer named at run time to its policy type; `progress(line)` reports each method.
template <class Model, class LearnOne, class Progress>
std::vector<task_outcome> evaluate(const Model& model, const std::vector<std::filesystem::path>& modules, const std::vector<evaluation_task>& tasks,
                                   const evaluation_plan& plan, LearnOne&& learn_one, Progress&& progress) {
    const infer_options answers{.max_new_tokens = plan.max_new_tokens};
    const auto pool = lora_pool::load(modules);
    const std::size_t n = pool.size();
    std::vector<lora_pool> seed_pools;  // upstream's per-seed subsets, loaded once; empty when every seed uses the whole pool
    if (modules.size() > plan.subset)
        for (std::uint64_t seed = 1; seed <= plan.seeds; ++seed) seed_pools.push_back(lora_pool::load(modules_for_seed(modules, plan.subset, seed)));
    auto pool_for = [&](std::uint64_t seed) -> const lora_pool& { return seed_pools.empty() ? pool : seed_pools[seed - 1]; };
    std::vector<task_outcome> outcomes;
    for (const auto& task : tasks) {
        const auto few_shot = io::read_examples(task.few_shot);
        const auto test = io::read_examples(task.test);
        for (const auto& example : test)
            if (!example.output) throw argument_error(display(task.test), "every test example needs an output to score accuracy");
        const auto batches = tokenize_examples(model, few_shot, 0, display(task.few_shot));
        task_outcome outcome{task.name, few_shot.size(), test.size(), {}};
        auto add = [&](method_outcome method) {
            char accuracy[32];
            std::snprintf(accuracy, sizeof accuracy, "%.1f%%", method.mean_accuracy());
            progress(task.name + ": " + method.method + ": " + accuracy);
            outcome.methods.push_back(std::move(method));
        };

        add({"zero-shot", {*infer(model, test, answers).accuracy}, {}, {}, 0});
        const std::size_t k = plan.icl_examples > 0 ? plan.icl_examples : few_shot.size();
        add({"ICL (" + std::to_string(std::min(k, few_shot.size())) + " examples)",
             {*infer(model, with_demonstrations(test, few_shot, k), answers).accuracy}, {}, {}, 0});
        add({"uniform", {*infer(model, test, pool, std::vector<double>(n, 1.0 / static_cast<double>(n)), answers).accuracy}, {}, {}, 0});
        double best = -1;
        std::string best_module;
        for (std::size_t i = 0; i < n; ++i) {
            std::vector<double> w(n, 0.0);
            w[i] = 1.0;
            const double accuracy = *infer(model, test, pool, w, answers).accuracy;
            if (accuracy > best) best = accuracy, best_module = pool.names()[i];
        }
        add({"best single module (oracle)", {best}, {}, best_module, 0});
        for (const auto& optimizer : plan.optimizers)
            for (const auto budget : plan.budgets)
                for (const auto select : plan.selects) {
                    method_outcome method{lorahub_method_name(optimizer, budget, select), {}, {}, {}, 0};
                    for (std::uint64_t seed = 1; seed <= plan.seeds; ++seed) {
                        const learn_result result = learn_one(model, pool_for(seed), batches, optimizer, budget, select, seed);
                        method.accuracy.push_back(*infer(model, test, result, answers).accuracy);
                        method.objective.push_back(result.objective);
                        method.seconds += result.seconds;
                    }
                    add(std::move(method));
                }
        if (!task.trained_lora.empty())
            add({"task LoRA (upper bound)", {*infer(model, test, io::load_peft_adapter(task.trained_lora).layers, answers).accuracy}, {}, {}, 0});
        outcomes.push_back(std::move(outcome));
    }
    return outcomes;
}

}  // namespace lorahub::cli
