#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <lorahub/backend/cpu/declarations.hpp>
#include <lorahub/hub/evaluation_plan.hpp>
#include <lorahub/hub/evaluation_runs.hpp>
#include <lorahub/hub/shard.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/hub/infer.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/io/atomic_output.hpp>
#include <lorahub/io/peft_config.hpp>
#include <lorahub/lora/any_composer.hpp>
#include <lorahub/lora/arrow.hpp>
#include <lorahub/lora/granular_pool.hpp>
#include <lorahub/model/model_options.hpp>

namespace lorahub::cli {

/// What the commands do with a model, in model-independent terms: the commands (commands/*.cpp)
/// parse flags, call these and print; model_work<Backend> runs them on the model of any family
/// of the registry. Its members are compiled once per CPU backend, in model_work_fp32.cpp and
/// model_work_bf16.cpp, and declared `extern template` here, so that no command's translation
/// unit instantiates a model.

struct learn_job {
    std::filesystem::path model, examples;
    std::vector<std::string> modules;
    std::size_t batch_size = 0;  ///< 0: one batch
    std::string optimizer;       ///< a name of optim::policies
    any_composer composer;
    search_settings search;
    module_scaling scaling = module_scaling::first_module;
    weight_granularity granularity = weight_granularity::module;  ///< finer ones with weighted_ab only
    std::function<void(std::size_t modules, std::size_t examples)> on_loaded;  ///< after loading, before the search
    std::function<void(std::size_t index, const evaluation&, const evaluation& best)> on_evaluation;
};

struct learned {
    learn_result result;
    std::vector<std::string> module_names;  ///< one per weight: "add", or "add@encoder.block.0" at a finer granularity
    io::peft_config pool_config;  ///< the first module's: what the composed adapter is saved with
    double load_seconds = 0;
};

struct score_job {
    std::filesystem::path model, examples;
    std::vector<std::string> modules;
    std::vector<double> weights;
    std::size_t batch_size = 0;
    module_scaling scaling = module_scaling::first_module;
};

struct infer_job {
    std::filesystem::path model, examples;
    std::filesystem::path adapter;        ///< a saved adapter, or
    std::vector<std::string> modules;     ///< the pool composed with `weights` by `composer` or routed by `arrow`, or neither: zero-shot
    std::vector<double> weights;
    std::optional<arrow_options> arrow;   ///< route the modules per token (Arrow) instead of composing them
    std::vector<std::string> general;     ///< Arrow's GenKnowSub: general modules whose mean is subtracted
    any_composer composer;
    infer_options options;
    module_scaling scaling = module_scaling::first_module;
};

struct evaluate_job {
    std::filesystem::path model;
    std::vector<std::filesystem::path> modules;
    std::vector<evaluation_task> tasks;
    evaluation_plan plan;
    io::json sources;                ///< what the runs read, recorded with them in runs_dir
    shard share;                     ///< the runs this process runs
    std::filesystem::path runs_dir;  ///< results stored here as each run ends, and taken from here when stored before; empty: none
    std::vector<std::filesystem::path> inputs;  ///< the command's inputs, which runs_dir must not be nor hold
    std::function<void(const std::string& run, const run_result&, bool stored_before)> on_run;
};

/// The runs of an evaluation and the results of one share of them.
struct evaluated_share {
    evaluation_runs runs;
    std::vector<run_result> results;
};

template <class Backend>
struct model_work {
    static learned learn(const learn_job& job);
    static score_result score(const score_job& job);
    static inference_result infer(const infer_job& job);
    static evaluated_share evaluate(const evaluate_job& job);
    static void merge(const std::filesystem::path& model, const std::filesystem::path& adapter, const std::filesystem::path& out,
                      io::existing_output existing);
};

extern template struct model_work<cpu::backend>;
extern template struct model_work<cpu::bf16_backend>;

/// Calls f.template operator()<model_work<Backend>>() for the backend of `options.precision`
/// (the device was checked by the caller).
template <class F>
decltype(auto) with_model_work(const model_options& options, F&& f) {
    return with_cpu_backend(options.precision, [&]<class Backend>() -> decltype(auto) { return f.template operator()<model_work<Backend>>(); });
}

}  // namespace lorahub::cli
