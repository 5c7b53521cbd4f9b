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
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lorahub/concepts.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/core/random.hpp"
#include "lorahub/hub/evaluation_plan.hpp"
#include "lorahub/hub/infer.hpp"
#include "lorahub/hub/learn.hpp"
#include "lorahub/hub/objective.hpp"
#include "lorahub/io/examples.hpp"
#include "lorahub/io/peft_adapter.hpp"
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

/// Checks a plan's numbers and names before any run: an error names the field.
inline void check_plan(const evaluation_plan& plan) {
    if (plan.seeds == 0) throw argument_error("evaluation", "needs at least one seed");
    if (plan.subset == 0) throw argument_error("evaluation", "needs at least one module per seed");
    for (const auto budget : plan.budgets)
        if (budget == 0) throw argument_error("evaluation", "a LoraHub budget must be at least 1");
        else optim::check_search_size(budget, 0, plan.subset, "evaluation budget");
    for (const auto& optimizer : plan.optimizers)
        if (!optim::policies::contains(optimizer))
            throw argument_error("evaluation", "\"" + optimizer + "\" is not " + optim::policies::sentence());
}

/// An evaluation of one model on a pool and a list of tasks: every input loaded and checked
/// once (the pool, each seed's subset of it, each task's few-shot and test examples), the
/// plan's independent runs (items()), a run of any of them (run()), and the gathering of any
/// complete set of results into the per-task table (outcomes()).
template <Model M>
class evaluation_session {
public:
    evaluation_session(const M& model, const std::vector<std::filesystem::path>& modules, std::vector<evaluation_task> tasks,
                       evaluation_plan plan)
        : model_(model), tasks_(std::move(tasks)), plan_(std::move(plan)), pool_(lora_pool::load(modules)) {
        check_plan(plan_);
        if (modules.size() > plan_.subset)  // upstream's per-seed subsets, loaded once
            for (std::uint64_t seed = 1; seed <= plan_.seeds; ++seed)
                seed_pools_.push_back(lora_pool::load(modules_for_seed(modules, plan_.subset, seed)));
        for (const auto& task : tasks_) {
            auto few_shot = io::read_examples(task.few_shot);
            auto test = io::read_examples(task.test);
            for (const auto& example : test)
                if (!example.output) throw argument_error(display(task.test), "every test example needs an output to score accuracy");
            auto batches = tokenize_examples(model_, few_shot, 0, display(task.few_shot));
            inputs_.push_back({std::move(few_shot), std::move(test), std::move(batches)});
        }
        build_items();
    }

    const std::vector<evaluation_task>& tasks() const noexcept { return tasks_; }
    const evaluation_plan& plan() const noexcept { return plan_; }
    const lora_pool& pool() const noexcept { return pool_; }

    /// Every run of the plan, in the order the table lists them: per task, zero-shot, ICL,
    /// uniform, each module alone, LoraHub per optimizer x budget x selection x seed, and the
    /// task's trained LoRA when it has one.
    const std::vector<run_item>& items() const noexcept { return items_; }

    /// "sum/lorahub/cobyla/40/select-0/seed-2": the name of item `index`, unique in the plan.
    std::string item_name(std::size_t index) const {
        const auto& item = items_.at(index);
        std::string name = tasks_[item.task].name + "/";
        switch (item.method) {
            case run_method::zero_shot: return name + "zero-shot";
            case run_method::icl: return name + "icl";
            case run_method::uniform: return name + "uniform";
            case run_method::single_module: return name + "single/" + pool_.names()[item.module];
            case run_method::task_lora: return name + "task-lora";
            case run_method::lorahub: break;
        }
        return name + "lorahub/" + item.optimizer + "/" + std::to_string(item.budget) + "/select-" + std::to_string(item.select) + "/seed-" +
               std::to_string(item.seed);
    }

    /// Runs item `index` (deterministic: the same result wherever and whenever it runs).
    run_result run(std::size_t index) const {
        const auto& item = items_.at(index);
        const auto& task = inputs_[item.task];
        const infer_options answers{.max_new_tokens = plan_.max_new_tokens};
        const std::size_t n = pool_.size();
        run_result result{index};
        switch (item.method) {
            case run_method::zero_shot: result.accuracy = *infer(model_, task.test, answers).accuracy; break;
            case run_method::icl:
                result.accuracy = *infer(model_, with_demonstrations(task.test, task.few_shot, icl_examples(item.task)), answers).accuracy;
                break;
            case run_method::uniform:
                result.accuracy = *infer(model_, task.test, pool_, std::vector<double>(n, 1.0 / static_cast<double>(n)), answers).accuracy;
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
                const auto& pool = seed_pools_.empty() ? pool_ : seed_pools_[item.seed - 1];
                const learn_result learned =
                    optim::with_optimizer(item.optimizer, [&]<class O>() { return learn<O>(model_, pool, task.batches, options); });
                result.accuracy = *infer(model_, task.test, learned, answers).accuracy;
                result.objective = learned.objective;
                result.seconds = learned.seconds;
                break;
            }
            case run_method::task_lora:
                result.accuracy = *infer(model_, task.test, io::load_peft_adapter(tasks_[item.task].trained_lora).layers, answers).accuracy;
                break;
        }
        return result;
    }

    /// The table of a complete set of results (one per item, in any order): per task, the
    /// methods in items() order, LoraHub's seeds gathered, the oracle as the first module of
    /// highest accuracy. A missing or repeated item is an error.
    std::vector<task_outcome> outcomes(std::span<const run_result> results) const {
        std::vector<const run_result*> by_item(items_.size(), nullptr);
        for (const auto& result : results) {
            if (result.item >= items_.size()) throw argument_error("evaluation", "a result names run " + std::to_string(result.item) + ", outside the plan");
            if (by_item[result.item] != nullptr) throw argument_error("evaluation", "run " + item_name(result.item) + " has two results");
            by_item[result.item] = &result;
        }
        for (std::size_t i = 0; i < items_.size(); ++i)
            if (by_item[i] == nullptr) throw argument_error("evaluation", "run " + item_name(i) + " has no result");
        std::vector<task_outcome> outcomes;
        for (std::size_t t = 0; t < tasks_.size(); ++t)
            outcomes.push_back({tasks_[t].name, inputs_[t].few_shot.size(), inputs_[t].test.size(), {}});
        for (std::size_t i = 0; i < items_.size(); ++i) {
            const auto& item = items_[i];
            const auto& result = *by_item[i];
            auto& methods = outcomes[item.task].methods;
            const auto name = method_name(item);
            if (methods.empty() || methods.back().method != name) methods.push_back({name, {}, {}, {}, 0});
            auto& method = methods.back();
            if (item.method == run_method::single_module) {
                if (method.accuracy.empty() || result.accuracy > method.accuracy.front()) {
                    method.accuracy.assign(1, result.accuracy);
                    method.detail = pool_.names()[item.module];
                }
                continue;
            }
            method.accuracy.push_back(result.accuracy);
            if (item.method == run_method::lorahub) {
                method.objective.push_back(result.objective);
                method.seconds += result.seconds;
            }
        }
        return outcomes;
    }

    /// Every item run here in order, then gathered: the serial evaluation. `progress(index,
    /// result)` is called after each run.
    std::vector<task_outcome> run_all(const std::function<void(std::size_t, const run_result&)>& progress = {}) const {
        std::vector<run_result> results;
        for (std::size_t i = 0; i < items_.size(); ++i) {
            results.push_back(run(i));
            if (progress) progress(i, results.back());
        }
        return outcomes(results);
    }

    /// The table's name of an item's method ("ICL (5 examples)", "LoraHub cobyla/40 select 3").
    std::string method_name(const run_item& item) const {
        switch (item.method) {
            case run_method::zero_shot: return "zero-shot";
            case run_method::icl: return "ICL (" + std::to_string(icl_examples(item.task)) + " examples)";
            case run_method::uniform: return "uniform";
            case run_method::single_module: return "best single module (oracle)";
            case run_method::task_lora: return "task LoRA (upper bound)";
            case run_method::lorahub: break;
        }
        return lorahub_method_name(item.optimizer, item.budget, item.select);
    }

private:
    struct task_inputs {
        std::vector<io::example> few_shot, test;
        examples_for<M> batches;
    };

    std::size_t icl_examples(std::size_t task) const {
        const std::size_t available = inputs_[task].few_shot.size();
        return std::min(plan_.icl_examples > 0 ? plan_.icl_examples : available, available);
    }

    void build_items() {
        for (std::size_t t = 0; t < tasks_.size(); ++t) {
            for (const auto method : {run_method::zero_shot, run_method::icl, run_method::uniform}) items_.push_back({.task = t, .method = method});
            for (std::size_t i = 0; i < pool_.size(); ++i) items_.push_back({.task = t, .method = run_method::single_module, .module = i});
            for (const auto& optimizer : plan_.optimizers)
                for (const auto budget : plan_.budgets)
                    for (const auto select : plan_.selects)
                        for (std::uint64_t seed = 1; seed <= plan_.seeds; ++seed)
                            items_.push_back({t, run_method::lorahub, 0, optimizer, budget, select, seed});
            if (!tasks_[t].trained_lora.empty()) items_.push_back({.task = t, .method = run_method::task_lora});
        }
    }

    const M& model_;
    std::vector<evaluation_task> tasks_;
    evaluation_plan plan_;
    lora_pool pool_;
    std::vector<lora_pool> seed_pools_;  ///< empty when every seed uses the whole pool
    std::vector<task_inputs> inputs_;
    std::vector<run_item> items_;
};

}  // namespace lorahub
