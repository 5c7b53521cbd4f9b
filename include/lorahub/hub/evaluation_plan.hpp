#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace lorahub {

/// What an evaluation compares, as the LoraHub paper does: the base model zero-shot, in-context
/// learning, the uniform average of the modules, Arrow's zero-shot routing among all the
/// modules (lora/arrow.hpp), the best single module (an oracle: chosen by test accuracy), a
/// LoRA trained on the task (an upper bound, when the task has one) and LoraHub for every
/// optimizer x budget x selection, over seeds.
struct evaluation_plan {
    std::vector<std::string> optimizers{"cobyla"};
    std::vector<std::size_t> budgets{40};
    std::vector<std::size_t> selects{0};  ///< 0: all modules of the seed's subset
    /// LoraHub's weights: one per module ("module"), or per module and transformer block
    /// ("layer") or target layer ("target"); the finer ones with selection 0 only.
    std::vector<std::string> granularities{"module"};
    /// How a selection picks its modules: "loss" (each module's few-shot loss alone) and/or
    /// "routing" (Arrow's routing mass on the few-shot examples): a row each for selections above 0.
    std::vector<std::string> select_by{"loss"};
    std::size_t seeds = 5;                ///< seeds 1..seeds
    /// Modules per seed, drawn at random as upstream's reproduce_bbh.py draws 20 of its 196;
    /// a pool no larger than this is used whole by every seed.
    std::size_t subset = 20;
    std::size_t icl_examples = 0;  ///< examples prepended for ICL; 0: all the few-shot examples
    std::size_t max_new_tokens = 32;
    bool oracle = true;             ///< the best single module row (one inference run per module: leave it out for large hubs)
    std::size_t arrow_top_k = 3;    ///< modules Arrow mixes per token (PEFT's default); 0: no Arrow row
    double arrow_temperature = 1.0;  ///< Arrow's softmax temperature
};

/// A task given by its files (from a hub manifest or from the command line).
struct evaluation_task {
    std::string name;
    std::filesystem::path few_shot, test, trained_lora;  ///< trained_lora: empty when the task has none
};

/// The methods of the comparison, one run each (LoraHub: one run per optimizer, budget,
/// selection and seed; the oracle: one run per module, the best chosen when gathering).
enum class run_method { zero_shot, icl, uniform, arrow, single_module, lorahub, task_lora };

/// One independent run of an evaluation: what a CLI loop, a Python call, an MPI rank or a
/// Slurm array task executes. Items depend on nothing but the session's inputs, so any
/// subset may run anywhere, in any order, and the results gather into the same table.
struct run_item {
    std::size_t task = 0;  ///< index into the session's tasks
    run_method method = run_method::zero_shot;
    std::size_t module = 0;  ///< single_module: the module's index in the pool
    std::string optimizer;   ///< lorahub: the optimizer policy's name
    std::size_t budget = 0, select = 0;
    std::uint64_t seed = 0;
    std::string granularity = "module";  ///< lorahub: weights per module, layer or target
    std::string select_by = "loss";      ///< lorahub with select > 0: "loss" or "routing"
};

/// What one run gives: test accuracy in percent; LoraHub also its learned objective and time.
struct run_result {
    std::size_t item = 0;  ///< index into the session's items()
    double accuracy = 0;
    double objective = std::numeric_limits<double>::quiet_NaN();
    double seconds = 0;       ///< LoraHub: the search's time
    double wall_seconds = 0;  ///< the whole run, inference included
};

/// One method on one task, gathered from its runs: a value per seed (one value for the
/// deterministic baselines).
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

/// The Arrow method as the table shows it ("Arrow (zero-shot, top 3)").
inline std::string arrow_method_name(const evaluation_plan& plan) {
    std::string name = "Arrow (zero-shot, top " + std::to_string(plan.arrow_top_k);
    if (plan.arrow_temperature != 1.0) {
        std::string temperature = std::to_string(plan.arrow_temperature);
        temperature.erase(temperature.find_last_not_of('0') + 1);
        if (temperature.back() == '.') temperature.pop_back();
        name += ", T " + temperature;
    }
    return name + ")";
}

/// The LoraHub methods of a plan, named as the table shows them ("LoraHub cobyla/40", "... select 5",
/// "... select 5 by routing", "... per layer").
inline std::string lorahub_method_name(const std::string& optimizer, std::size_t budget, std::size_t select,
                                       const std::string& granularity = "module", const std::string& select_by = "loss") {
    std::string name = "LoraHub " + optimizer + "/" + std::to_string(budget);
    if (select > 0) name += " select " + std::to_string(select);
    if (select > 0 && select_by != "loss") name += " by " + select_by;
    if (granularity != "module") name += " per " + granularity;
    return name;
}

}  // namespace lorahub
