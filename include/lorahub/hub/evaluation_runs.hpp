#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/hub/evaluation_plan.hpp"
#include "lorahub/hub/selection_rule.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/lora/granular_pool.hpp"
#include "lorahub/optim/policies.hpp"

namespace lorahub {

/// The most runs one evaluation may have (tasks x methods x seeds): the paper's BBH sweep with
/// every option is a few thousand.
inline constexpr std::size_t max_evaluation_runs = 1'000'000;

/// What naming and gathering an evaluation's runs needs of a task: its name, its number of
/// few-shot and test examples, and whether it has a trained LoRA.
struct task_summary {
    std::string name;
    std::size_t few_shot = 0, test = 0;
    bool trained_lora = false;

    bool operator==(const task_summary&) const = default;
};

/// Checks a plan's numbers and names before any run: an error names the field.
inline void check_plan(const evaluation_plan& plan) {
    if (plan.seeds == 0) throw argument_error("evaluation", "needs at least one seed");
    if (plan.subset == 0) throw argument_error("evaluation", "needs at least one module per seed");
    if (plan.seeds > max_evaluation_runs) throw argument_error("evaluation", "more than " + std::to_string(max_evaluation_runs) + " seeds");
    for (const auto budget : plan.budgets)
        if (budget == 0) throw argument_error("evaluation", "a LoraHub budget must be at least 1");
        else optim::check_search_size(budget, 0, plan.subset, "evaluation budget");
    for (const auto& optimizer : plan.optimizers)
        if (!optim::policies::contains(optimizer))
            throw argument_error("evaluation", "\"" + optimizer + "\" is not " + optim::policies::sentence());
    if (plan.granularities.empty()) throw argument_error("evaluation", "needs at least one weight granularity");
    for (const auto& granularity : plan.granularities) weight_granularity_named(granularity);
    if (plan.select_by.empty()) throw argument_error("evaluation", "needs at least one selection rule");
    for (const auto& rule : plan.select_by) selection_rule_named(rule);
    if (!(plan.arrow_temperature > 0.0) || !std::isfinite(plan.arrow_temperature))
        throw argument_error("evaluation", "Arrow's temperature must be a finite number above 0");
}

/// Checks a plan (check_plan) and that it makes at most max_evaluation_runs runs over `tasks`
/// tasks and `modules` modules, before anything is loaded or allocated for them.
inline void check_run_count(const evaluation_plan& plan, std::size_t tasks, std::size_t modules) {
    check_plan(plan);
    if (plan.arrow_top_k > modules)
        throw argument_error("evaluation", "Arrow's top-k " + std::to_string(plan.arrow_top_k) + " exceeds the pool's " + std::to_string(modules) +
                                               " modules");
    constexpr std::size_t most = max_evaluation_runs;
    std::size_t lorahub_runs = plan.seeds;  // at most `most`, by check_plan
    for (const std::size_t factor : {plan.optimizers.size(), plan.budgets.size(), plan.selects.size(), plan.granularities.size(), plan.select_by.size()})
        lorahub_runs = factor == 0 || lorahub_runs <= most / factor ? lorahub_runs * factor : most + 1;
    const std::size_t per_task = modules > most || lorahub_runs > most ? most + 1 : 5 + modules + lorahub_runs;
    if (per_task > most || (tasks > 0 && tasks > most / per_task))
        throw argument_error("evaluation", "has more than " + std::to_string(most) + " runs");
}

/// The independent runs of a plan over tasks and a pool of named modules (items()), their
/// names, and the gathering of any complete set of results into the per-task table
/// (outcomes()). It needs no model, so a report can be built from stored results alone
/// (hub/run_store.hpp), and every process of a sweep lists the same items in the same order.
class evaluation_runs {
public:
    evaluation_runs(evaluation_plan plan, std::vector<task_summary> tasks, std::vector<std::string> modules)
        : plan_(std::move(plan)), tasks_(std::move(tasks)), modules_(std::move(modules)) {
        check_run_count(plan_, tasks_.size(), modules_.size());
        for (std::size_t t = 0; t < tasks_.size(); ++t) {
            for (const auto method : {run_method::zero_shot, run_method::icl, run_method::uniform}) items_.push_back({t, method, 0, {}, 0, 0, 0, "module", "loss"});
            if (plan_.arrow_top_k > 0) items_.push_back({t, run_method::arrow, 0, {}, 0, 0, 0, "module", "loss"});
            for (std::size_t i = 0; i < (plan_.oracle ? modules_.size() : 0); ++i) items_.push_back({t, run_method::single_module, i, {}, 0, 0, 0, "module", "loss"});
            for (const auto& optimizer : plan_.optimizers)
                for (const auto budget : plan_.budgets)
                    for (const auto& granularity : plan_.granularities)
                        for (const auto select : plan_.selects)
                            for (const auto& rule : plan_.select_by)
                                if ((select == 0 && rule == plan_.select_by.front()) || (select > 0 && granularity == "module"))
                                    for (std::uint64_t seed = 1; seed <= plan_.seeds; ++seed)
                                        items_.push_back({t, run_method::lorahub, 0, optimizer, budget, select, seed, granularity,
                                                          select == 0 ? std::string("loss") : rule});
            if (tasks_[t].trained_lora) items_.push_back({t, run_method::task_lora, 0, {}, 0, 0, 0, "module", "loss"});
        }
    }

    const evaluation_plan& plan() const noexcept { return plan_; }
    const std::vector<task_summary>& tasks() const noexcept { return tasks_; }
    const std::vector<std::string>& modules() const noexcept { return modules_; }

    /// Every run of the plan, in the order the table lists them: per task, zero-shot, ICL,
    /// uniform, Arrow (unless the plan has no Arrow row), each module alone (unless no oracle), LoraHub per optimizer x budget x granularity x
    /// selection (finer granularities with selection 0 only) x seed, and the
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
            case run_method::arrow: return name + "arrow";
            case run_method::single_module: return name + "single/" + modules_[item.module];
            case run_method::task_lora: return name + "task-lora";
            case run_method::lorahub: break;
        }
        name += "lorahub/" + item.optimizer + "/" + std::to_string(item.budget);
        if (item.granularity != "module") name += "/per-" + item.granularity;
        name += "/select-" + std::to_string(item.select);
        if (item.select > 0 && item.select_by != "loss") name += "-by-" + item.select_by;
        return name + "/seed-" + std::to_string(item.seed);
    }

    /// The table's name of an item's method ("ICL (5 examples)", "LoraHub cobyla/40 select 3").
    std::string method_name(const run_item& item) const {
        switch (item.method) {
            case run_method::zero_shot: return "zero-shot";
            case run_method::icl: return "ICL (" + std::to_string(icl_examples(item.task)) + " examples)";
            case run_method::uniform: return "uniform";
            case run_method::arrow: return arrow_method_name(plan_);
            case run_method::single_module: return "best single module (oracle)";
            case run_method::task_lora: return "task LoRA (upper bound)";
            case run_method::lorahub: break;
        }
        return lorahub_method_name(item.optimizer, item.budget, item.select, item.granularity, item.select_by);
    }

    /// The few-shot examples ICL prepends for task `task`: the plan's number, at most all of them.
    std::size_t icl_examples(std::size_t task) const {
        const std::size_t available = tasks_.at(task).few_shot;
        return std::min(plan_.icl_examples > 0 ? plan_.icl_examples : available, available);
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
        for (const auto& task : tasks_) outcomes.push_back({task.name, task.few_shot, task.test, {}});
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
                    method.detail = modules_[item.module];
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

private:
    evaluation_plan plan_;
    std::vector<task_summary> tasks_;
    std::vector<std::string> modules_;
    std::vector<run_item> items_;
};

/// A plan as the reports and a sweep's record write it.
inline io::json plan_json(const evaluation_plan& plan) {
    return {{"optimizers", plan.optimizers},
            {"budgets", plan.budgets},
            {"selects", plan.selects},
            {"granularities", plan.granularities},
            {"select_by", plan.select_by},
            {"seeds", plan.seeds},
            {"modules_per_seed", plan.subset},
            {"icl_examples", plan.icl_examples},
            {"max_new_tokens", plan.max_new_tokens},
            {"oracle", plan.oracle},
            {"arrow_top_k", plan.arrow_top_k},
            {"arrow_temperature", plan.arrow_temperature}};
}

/// The runs as a sweep's record keeps them: the plan, each task's summary, the modules' names.
inline io::json runs_json(const evaluation_runs& runs) {
    io::json tasks = io::json::array();
    for (const auto& task : runs.tasks())
        tasks.push_back({{"name", task.name}, {"few_shot_examples", task.few_shot}, {"test_examples", task.test}, {"trained_lora", task.trained_lora}});
    return {{"plan", plan_json(runs.plan())}, {"tasks", tasks}, {"modules", runs.modules()}};
}

namespace detail {

inline bool is_count(const io::json& value) {
    return value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0);
}

template <class T>
T json_field(const io::json& object, const char* key, const std::string& subject) {
    if (!object.is_object() || !object.contains(key)) throw format_error(subject, std::string("has no \"") + key + "\"");
    const auto& value = object[key];
    try {
        if constexpr (std::is_same_v<T, std::size_t>) {
            if (!is_count(value)) throw format_error(subject, std::string("\"") + key + "\" must be a non-negative integer");
        } else if constexpr (std::is_same_v<T, std::vector<std::size_t>>) {
            if (!value.is_array() || !std::all_of(value.begin(), value.end(), is_count))
                throw format_error(subject, std::string("\"") + key + "\" must be a list of non-negative integers");
        }
        return value.get<T>();
    } catch (const io::json::exception&) {
        throw format_error(subject, std::string("\"") + key + "\" has the wrong type (" + value.type_name() + ")");
    }
}

}  // namespace detail

/// The runs of a record written by runs_json; a missing field or one of the wrong type is an
/// error naming `subject` and the field.
inline evaluation_runs runs_from_json(const io::json& record, const std::string& subject) {
    using detail::json_field;
    const auto plan_record = json_field<io::json>(record, "plan", subject);
    evaluation_plan plan;
    plan.optimizers = json_field<std::vector<std::string>>(plan_record, "optimizers", subject);
    plan.budgets = json_field<std::vector<std::size_t>>(plan_record, "budgets", subject);
    plan.selects = json_field<std::vector<std::size_t>>(plan_record, "selects", subject);
    plan.granularities = json_field<std::vector<std::string>>(plan_record, "granularities", subject);
    plan.select_by = json_field<std::vector<std::string>>(plan_record, "select_by", subject);
    plan.seeds = json_field<std::size_t>(plan_record, "seeds", subject);
    plan.subset = json_field<std::size_t>(plan_record, "modules_per_seed", subject);
    plan.icl_examples = json_field<std::size_t>(plan_record, "icl_examples", subject);
    plan.max_new_tokens = json_field<std::size_t>(plan_record, "max_new_tokens", subject);
    plan.oracle = json_field<bool>(plan_record, "oracle", subject);
    plan.arrow_top_k = json_field<std::size_t>(plan_record, "arrow_top_k", subject);
    plan.arrow_temperature = json_field<double>(plan_record, "arrow_temperature", subject);
    std::vector<task_summary> tasks;
    const auto task_records = json_field<io::json>(record, "tasks", subject);
    if (!task_records.is_array()) throw format_error(subject, "\"tasks\" must be a list");
    for (const auto& task : task_records)
        tasks.push_back({json_field<std::string>(task, "name", subject), json_field<std::size_t>(task, "few_shot_examples", subject),
                         json_field<std::size_t>(task, "test_examples", subject), json_field<bool>(task, "trained_lora", subject)});
    try {
        return evaluation_runs(std::move(plan), std::move(tasks), json_field<std::vector<std::string>>(record, "modules", subject));
    } catch (const argument_error& failure) {
        throw format_error(subject, failure.what());
    }
}

}  // namespace lorahub
