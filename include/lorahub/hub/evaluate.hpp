#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lorahub/concepts.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/core/random.hpp"
#include "lorahub/hub/evaluation_plan.hpp"
#include "lorahub/hub/evaluation_runs.hpp"
#include "lorahub/hub/infer.hpp"
#include "lorahub/hub/learn.hpp"
#include "lorahub/hub/objective.hpp"
#include "lorahub/hub/run_store.hpp"
#include "lorahub/hub/shard.hpp"
#include "lorahub/io/examples.hpp"
#include "lorahub/io/peft_adapter.hpp"
#include "lorahub/lora/arrow.hpp"
#include "lorahub/lora/granular_pool.hpp"
#include "lorahub/lora/pool.hpp"
#include "lorahub/optim/policies.hpp"

namespace lorahub {

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

/// Test inputs with the first k few-shot examples prepended ("input\noutput" blocks, a blank
/// line between), as upstream's few-shot ICL baseline builds its prompts.
inline std::vector<io::example> with_demonstrations(std::vector<io::example> test, const std::vector<io::example>& few_shot, std::size_t k) {
    std::string context;
    for (std::size_t i = 0; i < std::min(k, few_shot.size()); ++i) context += few_shot[i].input + "\n" + few_shot[i].output.value_or("") + "\n\n";
    for (auto& example : test) example.input = context + example.input;
    return test;
}

/// An evaluation of one model on a pool and a list of tasks: every input loaded and checked
/// once (the pool, each seed's subset of it, each task's few-shot and test examples), the
/// plan's independent runs (runs(): items, names, the gathering of results into the table), a
/// run of any of them (run()), and a share of them run and stored (run_share()).
template <Model M>
class evaluation_session {
public:
    evaluation_session(const M& model, const std::vector<std::filesystem::path>& modules, std::vector<evaluation_task> tasks,
                       evaluation_plan plan)
        : model_(model), tasks_(std::move(tasks)), pool_(lora_pool::load(modules)), runs_(load_inputs(std::move(plan), modules)) {}

    const std::vector<evaluation_task>& tasks() const noexcept { return tasks_; }
    const evaluation_plan& plan() const noexcept { return runs_.plan(); }
    const lora_pool& pool() const noexcept { return pool_; }
    const evaluation_runs& runs() const noexcept { return runs_; }
    const std::vector<run_item>& items() const noexcept { return runs_.items(); }
    std::string item_name(std::size_t index) const { return runs_.item_name(index); }

    /// Runs item `index` (deterministic: the same result wherever and whenever it runs).
    run_result run(std::size_t index) const {
        const auto started = std::chrono::steady_clock::now();
        const auto& item = runs_.items().at(index);
        const auto& task = inputs_[item.task];
        const infer_options answers{.max_new_tokens = plan().max_new_tokens};
        const std::size_t n = pool_.size();
        run_result result{index};
        switch (item.method) {
            case run_method::zero_shot: result.accuracy = *infer(model_, task.test, answers).accuracy; break;
            case run_method::icl:
                result.accuracy = *infer(model_, with_demonstrations(task.test, task.few_shot, runs_.icl_examples(item.task)), answers).accuracy;
                break;
            case run_method::uniform:
                result.accuracy = *infer(model_, task.test, pool_, std::vector<double>(n, 1.0 / static_cast<double>(n)), answers).accuracy;
                break;
            case run_method::arrow:
                result.accuracy = *infer(model_, task.test, std::span<const lora_layer>(arrow_routed_layers()), answers).accuracy;
                break;
            case run_method::single_module: {
                std::vector<double> w(n, 0.0);
                w[item.module] = 1.0;
                result.accuracy = *infer(model_, task.test, pool_, w, answers).accuracy;
                break;
            }
            case run_method::lorahub: {
                learn_options<M> options;
                options.budget = item.budget;
                options.seed = item.seed;
                options.select = item.select;
                options.select_by = selection_rule_named(item.select_by);
                const auto& pool = seed_pools_.empty() ? pool_ : seed_pools_[item.seed - 1];
                const auto granularity = weight_granularity_named(item.granularity);
                const learn_result learned = optim::with_optimizer(item.optimizer, [&]<class O>() {
                    if (granularity == weight_granularity::module) return learn<O>(model_, pool, task.batches, options);
                    return learn<O>(model_, granular_pool(pool, granularity), task.batches, options);
                });
                result.accuracy = *infer(model_, task.test, learned, answers).accuracy;
                result.objective = learned.objective;
                result.seconds = learned.seconds;
                break;
            }
            case run_method::task_lora:
                result.accuracy = *infer(model_, task.test, io::load_peft_adapter(tasks_[item.task].trained_lora).layers, answers).accuracy;
                break;
        }
        result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return result;
    }

    /// The results of `share`'s runs, in order: each taken from `store` when it holds one,
    /// else run here and stored there (when given) as soon as it ends. `progress(index, result,
    /// stored_before)` is called for each.
    std::vector<run_result> run_share(shard share, const run_store* store = nullptr,
                                      const std::function<void(std::size_t, const run_result&, bool)>& progress = {}) const {
        std::vector<run_result> results;
        for (const auto index : share.runs_of(runs_.items().size())) {
            std::optional<run_result> stored;
            if (store) stored = store->load(index);
            results.push_back(stored ? *stored : run(index));
            if (store && !stored) store->save(results.back());
            if (progress) progress(index, results.back(), stored.has_value());
        }
        return results;
    }

    /// The table of a complete set of results (evaluation_runs::outcomes).
    std::vector<task_outcome> outcomes(std::span<const run_result> results) const { return runs_.outcomes(results); }

    /// Every item run here in order, then gathered: the serial evaluation. `progress(index,
    /// result)` is called after each run.
    std::vector<task_outcome> run_all(const std::function<void(std::size_t, const run_result&)>& progress = {}) const {
        return outcomes(run_share({}, nullptr, [&](std::size_t index, const run_result& result, bool) {
            if (progress) progress(index, result);
        }));
    }

private:
    /// Arrow's routed layers over the whole pool, built on first use (prototypes cost an SVD per module and layer).
    const std::vector<lora_layer>& arrow_routed_layers() const {
        std::call_once(arrow_built_, [&] { arrow_layers_ = arrow_layers(pool_, {plan().arrow_top_k, plan().arrow_temperature}); });
        return arrow_layers_;
    }

    struct task_inputs {
        std::vector<io::example> few_shot, test;
        examples_for<M> batches;
    };

    /// Loads and checks every task's examples and each seed's subset of the pool; the runs they make.
    evaluation_runs load_inputs(evaluation_plan plan, const std::vector<std::filesystem::path>& modules) {
        check_run_count(plan, tasks_.size(), modules.size());
        if (modules.size() > plan.subset)  // upstream's per-seed subsets, loaded once
            for (std::uint64_t seed = 1; seed <= plan.seeds; ++seed)
                seed_pools_.push_back(lora_pool::load(modules_for_seed(modules, plan.subset, seed)));
        std::vector<task_summary> summaries;
        for (const auto& task : tasks_) {
            auto few_shot = io::read_examples(task.few_shot);
            auto test = io::read_examples(task.test);
            for (const auto& example : test)
                if (!example.output) throw argument_error(display(task.test), "every test example needs an output to score accuracy");
            auto batches = tokenize_examples(model_, few_shot, 0, display(task.few_shot));
            summaries.push_back({task.name, few_shot.size(), test.size(), !task.trained_lora.empty()});
            inputs_.push_back({std::move(few_shot), std::move(test), std::move(batches)});
        }
        return evaluation_runs(std::move(plan), std::move(summaries), pool_.names());
    }

    const M& model_;
    std::vector<evaluation_task> tasks_;
    lora_pool pool_;
    std::vector<lora_pool> seed_pools_;  ///< empty when every seed uses the whole pool
    std::vector<task_inputs> inputs_;
    evaluation_runs runs_;
    mutable std::once_flag arrow_built_;
    mutable std::vector<lora_layer> arrow_layers_;
};

}  // namespace lorahub
