#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <lorahub/hub/infer.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/hub/merge.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/lora/delta_sum.hpp>
#include <lorahub/lora/weighted_ab.hpp>
#include <lorahub/optim/cma_es.hpp>
#include <lorahub/optim/cobyla.hpp>
#include <lorahub/optim/nelder_mead.hpp>
#include <lorahub/optim/random_search.hpp>

#include "demo_hub.hpp"
#include "plot.hpp"
#include "score.hpp"

namespace lorahub::cli {

using model_type = t5::model<>;

/// Inputs shared by the commands; empty fields fall back to the demo hub.
struct sources {
    std::string model;
    std::vector<std::string> modules;
    std::string examples;
    std::string task;
};

/// Fills what the user left out from the demo hub (few-shot examples for learn and score,
/// test examples for infer); without a hub, missing inputs are an error.
inline void complete_from_demo_hub(sources& in, bool want_modules, bool test_examples) {
    const bool missing = in.model.empty() || (want_modules && in.modules.empty()) || in.examples.empty();
    if (!missing) return;
    const auto hub = find_demo_hub(in.task);
    if (!hub) {
        const auto root = demo_hub_root();
        throw argument_error("lorahub", "--model, --lora and --examples are required (no demo hub at " +
                                            (root.empty() ? std::string("<none>") : display(root)) + ")");
    }
    if (in.model.empty()) in.model = hub->model.string();
    if (want_modules && in.modules.empty())
        for (const auto& module : hub->modules) in.modules.push_back(module.string());
    if (in.examples.empty()) in.examples = (test_examples ? hub->test : hub->few_shot).string();
}

inline std::vector<std::filesystem::path> paths(const std::vector<std::string>& names) { return {names.begin(), names.end()}; }

inline std::string module_label(const std::string& path) {
    const auto name = std::filesystem::path(path).filename().string();
    return name.empty() ? std::filesystem::path(path).parent_path().filename().string() : name;
}

/// Calls f.template operator()<Composer>() for the composer named on the command line.
template <class F>
decltype(auto) with_composer(const std::string& composer, F&& f) {
    if (composer == "weighted-ab") return f.template operator()<weighted_ab>();
    if (composer == "delta-sum") return f.template operator()<delta_sum>();
    throw argument_error("--composer", "\"" + composer + "\" is not weighted-ab or delta-sum");
}

/// Calls f.template operator()<Optimizer, Composer>() for the policies named on the command line.
template <class F>
decltype(auto) with_policies(const std::string& optimizer, const std::string& composer, F&& f) {
    auto for_optimizer = [&]<class O>() -> decltype(auto) {
        return with_composer(composer, [&]<class C>() -> decltype(auto) { return f.template operator()<O, C>(); });
    };
    if (optimizer == "cobyla") return for_optimizer.template operator()<optim::cobyla>();
    if (optimizer == "cma-es") return for_optimizer.template operator()<optim::cma_es>();
    if (optimizer == "nelder-mead") return for_optimizer.template operator()<optim::nelder_mead>();
    if (optimizer == "random") return for_optimizer.template operator()<optim::random_search>();
    throw argument_error("--optimizer", "\"" + optimizer + "\" is not cobyla, cma-es, nelder-mead or random");
}

struct learn_request {
    sources in;
    std::size_t budget = 40;
    std::string optimizer = "cobyla";
    std::string composer = "weighted-ab";
    std::uint64_t seed = 42;
    std::size_t batch_size = 0;
    std::string out, report, plot;
    bool quiet = false;
};

inline io::json learn_report(const learn_request& request, const learn_result& result, double load_seconds) {
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
            {"examples", request.in.examples},
            {"weights", result.weights},
            {"objective", result.objective},
            {"loss", result.loss},
            {"optimizer", result.optimizer},
            {"composer", result.composer},
            {"seed", request.seed},
            {"budget", request.budget},
            {"evaluations", result.trace.size()},
            {"trace", trace},
            {"timings", {{"load_seconds", load_seconds}, {"search_seconds", result.seconds}}}};
}

inline int run_learn(learn_request request) {
    complete_from_demo_hub(request.in, true, false);
    const auto started = std::chrono::steady_clock::now();
    const auto model = model_type::load(request.in.model);
    const auto pool = lora_pool::load(paths(request.in.modules));
    const auto examples = io::read_examples(request.in.examples);
    const auto batches = tokenize_examples(model.tokens(), examples, request.batch_size, request.in.examples);
    const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    const bool live = ::isatty(STDERR_FILENO) != 0;
    learn_options<model_type> options;
    options.budget = request.budget;
    options.seed = request.seed;
    if (!request.quiet)
        options.on_evaluation = [&](std::size_t index, const evaluation& step, const evaluation& best) {
            char line[160];
            std::snprintf(line, sizeof line, "[%3zu/%zu] objective %.5f  best %.5f  (%.2f s)", index, request.budget, step.objective,
                          best.objective, step.seconds);
            if (live) std::fprintf(stderr, "\r%s\033[K", line);
            else std::fprintf(stderr, "%s\n", line);
        };
    std::fprintf(stderr, "lorahub learn: %zu modules, %zu examples, %s + %s, budget %zu\n", pool.size(), examples.size(),
                 request.optimizer.c_str(), request.composer.c_str(), request.budget);
    const auto result = with_policies(request.optimizer, request.composer, [&]<class O, class C>() {
        return learn<O, C>(model, pool, batches, options);
    });
    if (live && !request.quiet) std::fprintf(stderr, "\n");

    if (!request.out.empty()) {
        auto config = io::config_for_layers(pool.config(), result.composed);
        config.base_model_name_or_path = request.in.model;
        io::save_peft_adapter(request.out, config, result.composed);
    }
    if (!request.report.empty()) write_text_file(request.report, learn_report(request, result, load_seconds).dump(2) + "\n");
    if (!request.plot.empty()) {
        std::vector<std::string> labels;
        for (const auto& module : request.in.modules) labels.push_back(module_label(module));
        write_text_file(request.plot, learn_plot_svg(result, labels));
    }
    std::printf("objective=%.9g loss=%.9g evaluations=%zu seconds=%.2f\n", result.objective, result.loss, result.trace.size(),
                result.seconds);
    for (std::size_t i = 0; i < result.weights.size(); ++i)
        std::printf("  %+.6f  %s\n", result.weights[i], module_label(request.in.modules[i]).c_str());
    if (!request.out.empty()) std::printf("composed adapter: %s\n", request.out.c_str());
    return 0;
}

struct infer_request {
    sources in;
    std::string adapter;
    std::string weights;
    std::string composer = "weighted-ab";
    std::size_t max_new_tokens = 256;
    std::size_t batch_size = 16;
    bool as_json = false;
    bool summary = false;
};

inline int run_infer(infer_request request) {
    const bool composed = !request.weights.empty();
    if (composed && !request.adapter.empty()) throw argument_error("lorahub infer", "give --adapter or --lora/--weights, not both");
    if (!composed && !request.in.modules.empty()) throw argument_error("lorahub infer", "--lora needs --weights");
    complete_from_demo_hub(request.in, composed, true);
    const auto model = model_type::load(request.in.model);
    const auto examples = io::read_examples(request.in.examples);
    std::vector<lora_layer> layers;
    if (!request.adapter.empty()) {
        layers = io::load_peft_adapter(request.adapter).layers;
    } else if (composed) {
        const auto pool = lora_pool::load(paths(request.in.modules));
        const auto weights = parse_weights(request.weights);
        with_composer(request.composer, [&]<class C>() {
            layers = C::allocate(pool);
            C::compose(pool, weights, layers);
        });
    }
    const auto lora = model.bind(layers, request.adapter.empty() ? "composed LoRA" : request.adapter);
    const auto result = infer(model, examples, layers.empty() ? nullptr : &lora, request.max_new_tokens, request.batch_size);
    if (request.as_json) {
        std::cout << io::json{{"predictions", result.predictions},
                              {"accuracy", result.accuracy ? io::json(*result.accuracy) : io::json(nullptr)}}
                         .dump()
                  << "\n";
    } else {
        if (!request.summary)
            for (const auto& prediction : result.predictions) std::cout << prediction << "\n";
        if (result.accuracy) std::printf("accuracy=%.2f%% (%zu examples)\n", *result.accuracy, examples.size());
        else if (request.summary) std::printf("predictions=%zu (no accuracy: some examples have no output)\n", examples.size());
    }
    return 0;
}

inline int run_merge(const std::string& model_dir, const std::string& adapter_dir, const std::string& out) {
    const auto model = model_type::load(model_dir);
    const auto adapter = io::load_peft_adapter(adapter_dir);
    const auto lora = model.bind(adapter.layers, adapter_dir);
    save_merged_model(model, lora, out);
    std::printf("merged model: %s\n", out.c_str());
    return 0;
}

}  // namespace lorahub::cli
