#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <lorahub/hub/infer.hpp>
#include <lorahub/model/llama/model.hpp>
#include <lorahub/model/t5/model.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/hub/merge.hpp>
#include <lorahub/hub/score.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/io/torch_checkpoint.hpp>
#include <lorahub/lora/combinations.hpp>
#include <lorahub/lora/delta_sum.hpp>
#include <lorahub/lora/weighted_ab.hpp>
#include <lorahub/optim/cma_es.hpp>
#include <lorahub/optim/cma_es_restarts.hpp>
#include <lorahub/optim/cobyla.hpp>
#include <lorahub/optim/nelder_mead.hpp>
#include <lorahub/optim/random_search.hpp>

#include "demo_hub.hpp"
#include "device.hpp"
#include "model_family.hpp"
#include "evaluate.hpp"
#include "evaluate_report.hpp"
#include "plot.hpp"
#include "score.hpp"

namespace lorahub::cli {

/// Inputs shared by the commands; empty fields fall back to the demo hub.
struct sources {
    std::string model;
    std::vector<std::string> modules;
    std::string examples;
    std::string task;
    std::string precision = "fp32";
    std::string device = "cpu";
};

/// Calls f.template operator()<Model>() with the model type of the model's family (from
/// config.json), the device and the compute precision: fp32 (cpu::backend) or bf16
/// (cpu::bf16_backend: bf16 linear layers, fp32 elsewhere).
template <class F>
decltype(auto) with_model_type(const sources& in, F&& f) {
    require_device(in.device);
    const auto& precision = in.precision;
    if (precision != "fp32" && precision != "bf16") throw argument_error("--precision", "\"" + precision + "\" is not fp32 or bf16");
    const bool bf16 = precision == "bf16";
    if (family_of(in.model) == model_family::llama)
        return bf16 ? f.template operator()<llama::model<cpu::bf16_backend>>() : f.template operator()<llama::model<cpu::backend>>();
    return bf16 ? f.template operator()<t5::model<cpu::bf16_backend>>() : f.template operator()<t5::model<cpu::backend>>();
}

/// printf-style formatting into a string, for output that goes through std::cout.
inline std::string formatted(const char* format, ...) __attribute__((format(printf, 1, 2)));
inline std::string formatted(const char* format, ...) {
    char buffer[512];
    va_list arguments;
    va_start(arguments, format);
    std::vsnprintf(buffer, sizeof buffer, format, arguments);
    va_end(arguments);
    return buffer;
}

/// JSON as the CLI prints it: invalid UTF-8 from a file becomes U+FFFD instead of an exception.
inline std::string json_text(const io::json& value, int indent = -1) {
    return value.dump(indent, ' ', false, io::json::error_handler_t::replace);
}

/// Fills what the user left out from the demo hub (few-shot examples for learn and score,
/// test examples for infer); without a hub, missing inputs are an error.
inline void complete_from_demo_hub(sources& in, bool want_modules, bool test_examples) {
    const bool missing = in.model.empty() || (want_modules && in.modules.empty()) || in.examples.empty();
    if (!missing) return;
    const auto hub = find_demo_hub();
    if (!hub) {
        const auto root = demo_hub_root();
        throw argument_error("lorahub", "--model, --lora and --examples are required (no demo hub at " +
                                            (root.empty() ? std::string("<none>") : display(root)) + ")");
    }
    const auto& task = hub->task_named(in.task);
    if (in.model.empty()) in.model = hub->model.string();
    if (want_modules && in.modules.empty())
        for (const auto& module : hub->modules) in.modules.push_back(module.string());
    if (in.examples.empty()) in.examples = (test_examples ? task.test : task.few_shot).string();
}

/// Numeric flags are checked here, so that an error names the flag the user typed.
inline void require_at_least(std::int64_t value, std::int64_t minimum, const char* flag) {
    if (value < minimum) throw argument_error(flag, std::to_string(value) + " is less than " + std::to_string(minimum));
}

/// A composer named on the command line with its options (--density, --svd-rank, ...).
struct composer_choice {
    std::string name = "weighted-ab";
    double density = 1.0;
    std::int64_t svd_rank = 0;
    double svd_clamp = 0.0;  ///< 0: none
    std::string majority_sign = "total";
    std::int64_t seed = 42;
};

/// The composers the CLI offers: LoraHub's, the exact rank concatenation, and PEFT's
/// add_weighted_adapter combination types under PEFT's names.
inline const std::vector<std::string>& composer_names() {
    static const std::vector<std::string> names{"weighted-ab", "delta-sum", "cat", "linear", "svd", "ties", "ties_svd", "dare_linear",
                                                "dare_ties", "dare_linear_svd", "dare_ties_svd", "magnitude_prune", "magnitude_prune_svd"};
    return names;
}

/// Calls f(composer) with the composer object named on the command line.
template <class F>
decltype(auto) with_composer(const composer_choice& choice, F&& f) {
    combination_options options;
    options.density = choice.density;
    options.svd_rank = static_cast<std::size_t>(choice.svd_rank);
    if (choice.svd_clamp > 0.0) options.svd_clamp = choice.svd_clamp;
    options.sign = choice.majority_sign == "frequency" ? majority_sign::frequency : majority_sign::total;
    options.seed = static_cast<std::uint64_t>(choice.seed);
    const auto& name = choice.name;
    if (name == "weighted-ab") return f(weighted_ab{});
    if (name == "delta-sum") return f(delta_sum{});
    if (name == "cat") return f(combine_cat{options});
    if (name == "linear") return f(combine_linear{options});
    if (name == "svd") return f(combine_svd_sum{options});
    if (name == "ties") return f(combine_ties{options});
    if (name == "ties_svd") return f(combine_ties_svd{options});
    if (name == "dare_linear") return f(combine_dare_linear{options});
    if (name == "dare_ties") return f(combine_dare_ties{options});
    if (name == "dare_linear_svd") return f(combine_dare_linear_svd{options});
    if (name == "dare_ties_svd") return f(combine_dare_ties_svd{options});
    if (name == "magnitude_prune") return f(combine_magnitude_prune{options});
    if (name == "magnitude_prune_svd") return f(combine_magnitude_prune_svd{options});
    throw argument_error("--composer", "\"" + name + "\" is not a composer lorahub knows");
}

inline const std::vector<std::string>& optimizer_names() {
    static const std::vector<std::string> names{"cobyla", "cma-es", "cma-es-ipop", "cma-es-bipop", "nelder-mead", "random"};
    return names;
}

/// Calls f.template operator()<Optimizer>() for the optimizer named on the command line.
template <class F>
decltype(auto) with_optimizer(const std::string& optimizer, F&& f) {
    if (optimizer == "cobyla") return f.template operator()<optim::cobyla>();
    if (optimizer == "cma-es") return f.template operator()<optim::cma_es>();
    if (optimizer == "cma-es-ipop") return f.template operator()<optim::cma_es_ipop>();
    if (optimizer == "cma-es-bipop") return f.template operator()<optim::cma_es_bipop>();
    if (optimizer == "nelder-mead") return f.template operator()<optim::nelder_mead>();
    if (optimizer == "random") return f.template operator()<optim::random_search>();
    throw argument_error("--optimizer", "\"" + optimizer + "\" is not cobyla, cma-es, cma-es-ipop, cma-es-bipop, nelder-mead or random");
}

/// Calls f.template operator()<Optimizer>(composer) for the policies named on the command line.
template <class F>
decltype(auto) with_policies(const std::string& optimizer, const composer_choice& composer, F&& f) {
    return with_optimizer(optimizer, [&]<class O>() -> decltype(auto) {
        return with_composer(composer, [&](const auto& c) -> decltype(auto) { return f.template operator()<O>(c); });
    });
}

struct learn_request {
    sources in;
    std::int64_t budget = 40;
    std::string optimizer = "cobyla";
    composer_choice composer;
    std::int64_t seed = 42;
    std::int64_t batch_size = 0;
    std::int64_t population = 0;
    std::string start = "zero";
    std::int64_t starts = 1;
    std::int64_t select = 0;
    std::int64_t max_restarts = 9;
    std::int64_t stall_generations = 0;
    std::string out, report, plot;
    bool quiet = false;
};

inline io::json learn_report(const learn_request& request, const lora_pool& pool, const learn_result& result, double load_seconds) {
    io::json trace = io::json::array();
    for (std::size_t i = 0; i < result.trace.size(); ++i) {
        const auto& step = result.trace[i];
        trace.push_back({{"evaluation", i + 1},
                         {"weights", step.weights},
                         {"loss", std::isfinite(step.loss) ? io::json(step.loss) : io::json(nullptr)},
                         {"objective", std::isfinite(step.objective) ? io::json(step.objective) : io::json(nullptr)},
                         {"seconds", step.seconds}});
    }
    return {{"model", request.in.model},
            {"modules", request.in.modules},
            {"module_names", pool.names()},
            {"examples", request.in.examples},
            {"weights", result.weights},
            {"objective", result.objective},
            {"loss", result.loss},
            {"optimizer", result.optimizer},
            {"composer", result.composer},
            {"density", request.composer.density},
            {"seed", request.seed},
            {"precision", request.in.precision},
            {"budget", request.budget},
            {"population", request.population},
            {"start", request.start},
            {"starts", request.starts},
            {"select", request.select},
            {"max_restarts", request.max_restarts},
            {"stall_generations", request.stall_generations},
            {"searched", result.searched},
            {"single_losses", result.single_losses},
            {"evaluations", result.trace.size()},
            {"trace", trace},
            {"timings", {{"load_seconds", load_seconds}, {"search_seconds", result.seconds}}}};
}

template <class Model>
int learn_with(const learn_request& request);

inline int run_learn(learn_request request) {
    require_at_least(request.budget, 1, "--budget");
    require_at_least(request.seed, 0, "--seed");
    require_at_least(request.batch_size, 0, "--batch-size");
    require_at_least(request.population, 0, "--population");
    require_at_least(request.composer.svd_rank, 0, "--svd-rank");
    require_at_least(request.starts, 1, "--starts");
    require_at_least(request.select, 0, "--select");
    require_at_least(request.max_restarts, 0, "--max-restarts");
    require_at_least(request.stall_generations, 0, "--stall-generations");
    if (request.starts > request.budget) throw argument_error("--starts", "is more than --budget: every start needs an evaluation");
    request.composer.seed = request.seed;  // DARE's masks follow --seed
    complete_from_demo_hub(request.in, true, false);
    return with_model_type(request.in, [&]<class Model>() { return learn_with<Model>(request); });
}

template <class Model>
int learn_with(const learn_request& request) {
    const auto started = std::chrono::steady_clock::now();
    const auto model = Model::load(request.in.model);
    const auto pool = lora_pool::load(request.in.modules);
    const auto examples = io::read_examples(request.in.examples);
    const auto batches = tokenize_examples(model, examples, static_cast<std::size_t>(request.batch_size), request.in.examples);
    const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    const bool live = ::isatty(STDERR_FILENO) != 0;
    learn_options<Model> options;
    options.budget = static_cast<std::size_t>(request.budget);
    options.seed = static_cast<std::uint64_t>(request.seed);
    options.population = static_cast<std::size_t>(request.population);
    options.start = request.start == "uniform" ? start_point::uniform : request.start == "best-single" ? start_point::best_single : start_point::zero;
    options.starts = static_cast<std::size_t>(request.starts);
    options.select = static_cast<std::size_t>(request.select);
    options.restarts = {.max_restarts = static_cast<std::size_t>(request.max_restarts),
                        .stall_generations = static_cast<std::size_t>(request.stall_generations)};
    if (!request.quiet)
        options.on_evaluation = [&](std::size_t index, const evaluation& step, const evaluation& best) {
            char line[160];
            std::snprintf(line, sizeof line, "[%3zu/%zu] objective %.5f  best %.5f  (%.2f s)", index, options.budget, step.objective,
                          best.objective, step.seconds);
            if (live) std::fprintf(stderr, "\r%s\033[K", line);
            else std::fprintf(stderr, "%s\n", line);
        };
    if (!request.quiet)
        std::cerr << formatted("lorahub learn: %zu modules, %zu examples, %s + %s, budget %zu\n", pool.size(), examples.size(),
                               request.optimizer.c_str(), request.composer.name.c_str(), options.budget);
    const auto result = with_policies(request.optimizer, request.composer, [&]<class O>(const auto& composer) {
        auto bounded = options;
        if constexpr (requires { std::remove_cvref_t<decltype(composer)>::nonnegative_weights; }) {
            bounded.lower = 0.0;  // the sqrt-weighted PEFT types are defined for w >= 0 only
            if (!request.quiet) std::cerr << "lorahub learn: " << request.composer.name << " takes sqrt(w x scaling): weights searched in [0, 1.5]\n";
        }
        return learn<O>(model, pool, batches, bounded, composer);
    });
    if (live && !request.quiet) std::fprintf(stderr, "\n");

    if (!request.out.empty()) {
        auto config = io::config_for_layers(pool.config(), result.composed);
        config.base_model_name_or_path = request.in.model;
        io::save_peft_adapter(request.out, config, result.composed);
    }
    if (!request.report.empty()) write_text_file(request.report, json_text(learn_report(request, pool, result, load_seconds), 2) + "\n");
    if (!request.plot.empty()) write_text_file(request.plot, learn_plot_svg(result, pool.names()));
    std::cout << formatted("objective=%.9g loss=%.9g evaluations=%zu seconds=%.2f\n", result.objective, result.loss, result.trace.size(),
                           result.seconds);
    for (std::size_t i = 0; i < result.weights.size(); ++i)
        std::cout << formatted("  %+.6f  ", result.weights[i]) << printable(pool.names()[i]) << "\n";
    if (!request.out.empty()) std::cout << "composed adapter: " << printable(request.out) << "\n";
    return 0;
}

struct infer_request {
    sources in;
    std::string adapter;
    std::string weights;
    composer_choice composer;
    std::int64_t max_new_tokens = 256;
    std::int64_t batch_size = 16;
    bool as_json = false;
    bool summary = false;
};

template <class Model>
inference_result infer_with(const infer_request& request);

inline int run_infer(infer_request request) {
    require_at_least(request.max_new_tokens, 1, "--max-new-tokens");
    require_at_least(request.batch_size, 1, "--batch-size");
    const bool composed = !request.weights.empty();
    if (composed && !request.adapter.empty()) throw argument_error("--adapter", "give --adapter or --lora with --weights, not both");
    if (!composed && !request.in.modules.empty()) throw argument_error("--weights", "is required with --lora (one weight per module)");
    complete_from_demo_hub(request.in, composed, true);
    const auto result = with_model_type(request.in, [&]<class Model>() { return infer_with<Model>(request); });
    const auto examples_count = result.predictions.size();
    if (request.as_json) {
        std::cout << json_text(io::json{{"predictions", result.predictions},
                                        {"accuracy", result.accuracy ? io::json(*result.accuracy) : io::json(nullptr)}})
                  << "\n";
    } else {
        if (!request.summary)
            for (const auto& prediction : result.predictions) std::cout << printable(prediction) << "\n";
        if (result.accuracy) std::cout << formatted("accuracy=%.2f%% (%zu examples)\n", *result.accuracy, examples_count);
        else if (request.summary) std::cout << formatted("predictions=%zu (no accuracy: some examples have no output)\n", examples_count);
    }
    return 0;
}

template <class Model>
inference_result infer_with(const infer_request& request) {
    const bool composed = !request.weights.empty();
    const auto model = Model::load(request.in.model);
    const auto examples = io::read_examples(request.in.examples);
    infer_options options{.max_new_tokens = static_cast<std::size_t>(request.max_new_tokens),
                          .batch_size = static_cast<std::size_t>(request.batch_size), .lora_name = request.adapter};
    inference_result result;
    if (!request.adapter.empty()) {
        result = infer(model, examples, io::load_peft_adapter(request.adapter).layers, options);
    } else if (composed) {
        const auto weights = parse_weights(request.weights);
        check_weight_count(weights, request.in.modules.size());
        const auto pool = lora_pool::load(request.in.modules);
        result = with_composer(request.composer, [&](const auto& composer) { return infer(model, examples, pool, weights, options, composer); });
    } else {
        result = infer(model, examples, options);
    }
    return result;
}

struct combine_request {
    std::vector<std::string> modules;
    std::string weights;
    composer_choice combination;
    std::string out;
};

/// PEFT's add_weighted_adapter without Python: the modules combined by one composer, written
/// as a PEFT adapter folder (whole or not at all).
inline int run_combine(const combine_request& request) {
    if (request.modules.empty()) throw argument_error("--lora", "give the modules to combine (repeat --lora)");
    if (request.weights.empty()) throw argument_error("--weights", "is required (one weight per --lora)");
    require_at_least(request.combination.svd_rank, 0, "--svd-rank");
    require_at_least(request.combination.seed, 0, "--seed");
    const auto weights = parse_weights(request.weights);
    check_weight_count(weights, request.modules.size());
    const auto pool = lora_pool::load(request.modules);
    const auto layers = with_composer(request.combination, [&](const auto& composer) {
        auto combined = composer.allocate(pool);
        composer.compose(pool, weights, combined);
        return combined;
    });
    io::save_peft_adapter(request.out, io::config_for_layers(pool.config(), layers), layers);
    std::cout << formatted("combined %zu modules with %s into %s (rank %zu)\n", pool.size(), request.combination.name.c_str(),
                           printable(request.out).c_str(), layers.front().rank);
    return 0;
}

struct score_request {
    sources in;
    std::string weights;
    std::int64_t batch_size = 0;
    bool as_json = false;
};

/// The LoraHub objective of fixed weights, as learn scores a candidate.
inline int run_score(score_request request) {
    require_at_least(request.batch_size, 0, "--batch-size");
    if (request.weights.empty()) throw argument_error("--weights", "is required with --lora (one weight per module)");
    const auto weights = parse_weights(request.weights);
    complete_from_demo_hub(request.in, true, false);
    check_weight_count(weights, request.in.modules.size());
    const auto result = with_model_type(request.in, [&]<class Model>() {
        const auto model = Model::load(request.in.model);
        const auto pool = lora_pool::load(request.in.modules);
        const auto examples = io::read_examples(request.in.examples);
        const auto batches = tokenize_examples(model, examples, static_cast<std::size_t>(request.batch_size), request.in.examples);
        return score(model, pool, batches, weights);
    });
    if (request.as_json) std::cout << json_text(io::json{{"loss", result.loss}, {"objective", result.objective}}) << "\n";
    else std::cout << formatted("loss=%.9g objective=%.9g\n", result.loss, result.objective);
    return 0;
}

/// Writes the safetensors equivalent of a torch.save checkpoint: the bytes
/// safetensors.torch.save_file writes for the same state dict.
inline int run_convert(const std::string& in, const std::string& out) {
    const auto bytes = io::torch_checkpoint_as_safetensors(in);
    io::atomic_file file(out);
    file.write(bytes);
    file.commit();
    std::cout << "converted: " << printable(out) << "\n";
    return 0;
}

inline int run_merge(const std::string& model_dir, const std::string& adapter_dir, const std::string& out) {
    sources in;
    in.model = model_dir;
    with_model_type(in, [&]<class Model>() {
        const auto model = Model::load(model_dir);
        const auto adapter = io::load_peft_adapter(adapter_dir);
        save_merged_model(model, model.bind(adapter.layers, adapter_dir), out);
    });
    std::cout << "merged model: " << printable(out) << "\n";
    return 0;
}

struct eval_request {
    std::string hub;  ///< empty: the demo hub
    sources in;       ///< model and modules: default the hub's
    std::vector<std::string> tasks;  ///< hub tasks to run; empty: all
    std::string few_shot, test, name = "task";  ///< a task of your own instead of the hub's
    std::vector<std::string> optimizers{"cobyla"};
    std::vector<std::int64_t> budgets{40};
    std::vector<std::int64_t> selects{0};
    std::int64_t seeds = 5, subset = 20, icl = 0, max_new_tokens = 32;
    std::string json, svg, markdown;
    std::string command_line;  ///< for the markdown document's "produced by" line
    bool quiet = false;
};

template <class Model>
std::vector<task_outcome> evaluate_with(const eval_request& request, const std::vector<std::filesystem::path>& modules,
                                        const std::vector<evaluation_task>& tasks, const evaluation_plan& plan);

/// A markdown document: what each method is, the tables, the plan and the command that made it.
inline std::string evaluation_document(const eval_request& request, const std::vector<task_outcome>& outcomes, const evaluation_plan& plan,
                                       std::size_t modules, double seconds) {
    std::ostringstream out;
    out << "# LoraHub evaluation\n\n"
        << "Exact-match accuracy in percent (upstream's: strip, lowercase, drop \".\") on each task's test examples, "
        << modules << " modules. Produced by:\n\n    " << request.command_line << "\n\n"
        << "- *zero-shot*: the base model alone.\n"
        << "- *ICL*: the base model with few-shot examples prepended to each test input (\"input\\noutput\" blocks).\n"
        << "- *uniform*: every module at weight 1/N (A and B averaged, LoraHub's composition rule).\n"
        << "- *best single module (oracle)*: the module with the highest test accuracy alone (w = e_i); it looks at the test set.\n"
        << "- *LoraHub optimizer/budget*: weights learned from the few-shot examples only (objective: upstream's loss + 0.05 mean|w|), "
        << "mean over seeds 1.." << plan.seeds << " with the range in brackets; each seed composes "
        << (modules <= plan.subset ? std::string("all the modules") : std::to_string(plan.subset) + " modules drawn at random")
        << " (upstream's reproduce_bbh.py draws 20 of 196 per seed). *select k*: every module is first scored alone on the few-shot "
        << "examples (N evaluations on top of the budget) and only the k with the lowest loss are searched.\n"
        << "- *task LoRA (upper bound)*: a LoRA trained on the task's own training data, when the hub has one.\n"
        << "- Upstream LoraHub (the pip package, NGOpt choosing COBYLA) on the demo hub, side by side: `docs/benchmarks.md` "
        << "(`bench/peers/run_upstream.sh`).\n\n"
        << evaluation_markdown(outcomes) << "\n"
        << formatted("All of the above took %.0f s on this machine (CPU backend, %s).\n", seconds, request.in.precision.c_str());
    return out.str();
}

inline int run_eval(eval_request request) {
    require_at_least(request.seeds, 1, "--seeds");
    require_at_least(request.subset, 1, "--modules-per-seed");
    require_at_least(request.icl, 0, "--icl");
    require_at_least(request.max_new_tokens, 1, "--max-new-tokens");
    for (const auto budget : request.budgets) require_at_least(budget, 1, "--budgets");
    for (const auto select : request.selects) require_at_least(select, 0, "--select");
    for (const auto& optimizer : request.optimizers)
        if (std::find(optimizer_names().begin(), optimizer_names().end(), optimizer) == optimizer_names().end())
            throw argument_error("--optimizers", "\"" + optimizer + "\" is not cobyla, cma-es, cma-es-ipop, cma-es-bipop, nelder-mead or random");
    if (request.few_shot.empty() != request.test.empty()) throw argument_error("--few-shot", "give --few-shot and --test together");

    std::optional<io::hub_manifest> hub;
    if (!request.hub.empty()) hub = io::load_hub_manifest(request.hub);
    else if (request.in.model.empty() || request.in.modules.empty() || request.few_shot.empty()) hub = find_demo_hub();
    if (!hub && (request.in.model.empty() || request.in.modules.empty() || request.few_shot.empty()))
        throw argument_error("eval", "give --hub, or --model, --lora and --few-shot/--test (no demo hub found)");
    if (request.in.model.empty()) request.in.model = hub->model.string();
    std::vector<std::filesystem::path> modules(request.in.modules.begin(), request.in.modules.end());
    if (modules.empty()) modules = hub->modules;
    std::vector<evaluation_task> tasks;
    if (!request.few_shot.empty()) {
        tasks.push_back({request.name, request.few_shot, request.test, {}});
    } else {
        for (const auto& task : hub->tasks)
            if (request.tasks.empty() || std::find(request.tasks.begin(), request.tasks.end(), task.name) != request.tasks.end())
                tasks.push_back({task.name, task.few_shot, task.test, task.trained_lora});
        for (const auto& name : request.tasks) hub->task_named(name);  // an unknown name is an error naming hub.json
    }
    evaluation_plan plan;
    plan.optimizers = request.optimizers;
    plan.budgets.assign(request.budgets.begin(), request.budgets.end());
    plan.selects.assign(request.selects.begin(), request.selects.end());
    plan.seeds = static_cast<std::size_t>(request.seeds);
    plan.subset = static_cast<std::size_t>(request.subset);
    plan.icl_examples = static_cast<std::size_t>(request.icl);
    plan.max_new_tokens = static_cast<std::size_t>(request.max_new_tokens);

    const auto started = std::chrono::steady_clock::now();
    const auto outcomes = with_model_type(request.in, [&]<class Model>() { return evaluate_with<Model>(request, modules, tasks, plan); });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    const io::json sources{{"model", request.in.model}, {"modules", request.in.modules},
                           {"hub", hub ? hub->root.string() : std::string()}, {"precision", request.in.precision}};
    if (!request.json.empty()) write_text_file(request.json, json_text(evaluation_json(outcomes, plan, sources), 2) + "\n");
    if (!request.svg.empty()) write_text_file(request.svg, evaluation_svg(outcomes));
    if (!request.markdown.empty()) write_text_file(request.markdown, evaluation_document(request, outcomes, plan, modules.size(), seconds));
    std::cout << evaluation_markdown(outcomes);
    return 0;
}

template <class Model>
std::vector<task_outcome> evaluate_with(const eval_request& request, const std::vector<std::filesystem::path>& modules,
                                        const std::vector<evaluation_task>& tasks, const evaluation_plan& plan) {
    const auto model = Model::load(request.in.model);
    auto learn_one = [](const Model& m, const lora_pool& pool, const examples_for<Model>& batches, const std::string& optimizer,
                        std::size_t budget, std::size_t select, std::uint64_t seed) {
        learn_options<Model> options;
        options.budget = budget;
        options.seed = seed;
        options.select = select;
        return with_optimizer(optimizer, [&]<class O>() { return learn<O>(m, pool, batches, options); });
    };
    auto progress = [&](const std::string& line) {
        if (!request.quiet) std::cerr << "lorahub eval: " << printable(line) << "\n";
    };
    return evaluate(model, modules, tasks, plan, learn_one, progress);
}

}  // namespace lorahub::cli
