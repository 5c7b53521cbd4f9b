#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <lorahub/core/printable.hpp>
#include <lorahub/core/text_format.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/optim/policies.hpp>

#include "../commands.hpp"
#include "../flags.hpp"
#include "../gguf_output.hpp"
#include "../model_work.hpp"
#include "../output.hpp"
#include "../plot.hpp"

namespace lorahub::cli {
namespace {

struct learn_request {
    sources in;
    std::int64_t budget = 40;
    std::string optimizer = "cobyla";
    composer_choice composer;
    std::int64_t seed = 42;
    std::int64_t batch_size = 0;
    std::int64_t population = 0;
    std::string start = "zero";
    std::string granularity = "module";
    std::string select_by = "loss";
    std::int64_t starts = 1;
    std::int64_t select = 0;
    std::int64_t max_restarts = 9;
    std::int64_t stall_generations = 0;
    std::string out, report, plot, gguf;
    bool force = false;
    bool quiet = false;
};

io::json learn_report(const learn_request& request, const std::vector<std::string>& module_names, const learn_result& result, double load_seconds) {
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
            {"module_names", module_names},
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
            {"granularity", request.granularity},
            {"starts", request.starts},
            {"select", request.select},
            {"select_by", request.select_by},
            {"routing_usage", result.routing_usage},
            {"max_restarts", request.max_restarts},
            {"stall_generations", request.stall_generations},
            {"searched", result.searched},
            {"single_losses", result.single_losses},
            {"evaluations", result.trace.size()},
            {"trace", trace},
            {"timings", {{"load_seconds", load_seconds}, {"search_seconds", result.seconds}}}};
}

int learn_with(const learn_request& request) {
    const bool live = ::isatty(STDERR_FILENO) != 0;
    learn_job job;
    job.model = request.in.model;
    job.examples = request.in.examples;
    job.modules = request.in.modules;
    job.batch_size = static_cast<std::size_t>(request.batch_size);
    job.optimizer = request.optimizer;
    job.composer = request.composer.composer("--composer");
    job.search.budget = static_cast<std::size_t>(request.budget);
    job.search.seed = static_cast<std::uint64_t>(request.seed);
    job.search.population = static_cast<std::size_t>(request.population);
    job.search.start = start_point_named(request.start);
    job.search.starts = static_cast<std::size_t>(request.starts);
    job.search.select = static_cast<std::size_t>(request.select);
    job.search.select_by = selection_rule_named(request.select_by);
    job.search.restarts = {.max_restarts = static_cast<std::size_t>(request.max_restarts),
                    .stall_generations = static_cast<std::size_t>(request.stall_generations)};
    job.scaling = request.in.module_scaling();
    job.granularity = weight_granularity_named(request.granularity);
    if (job.composer.nonnegative_weights) job.search.lower = 0.0;  // the sqrt-weighted PEFT types are defined for w >= 0 only
    if (!request.quiet) {
        job.on_loaded = [&](std::size_t modules, std::size_t examples) {
            std::cerr << formatted("lorahub learn: %zu modules, %zu examples, %s + %s, budget %zu\n", modules, examples,
                                   request.optimizer.c_str(), request.composer.name.c_str(), job.search.budget);
            if (job.composer.nonnegative_weights)
                std::cerr << "lorahub learn: " << request.composer.name << " takes sqrt(w x scaling): weights searched in [0, 1.5]\n";
        };
        job.on_evaluation = [&](std::size_t index, const evaluation& step, const evaluation& best) {
            char line[160];
            std::snprintf(line, sizeof line, "[%3zu/%zu] objective %.5f  best %.5f  (%.2f s)", index, job.search.budget, step.objective,
                          best.objective, step.seconds);
            if (live) std::fprintf(stderr, "\r%s\033[K", line);
            else std::fprintf(stderr, "%s\n", line);
        };
    }
    const auto learned = with_model_work(request.in.options(), [&]<class Work>() { return Work::learn(job); });
    const auto& result = learned.result;
    if (live && !request.quiet) std::fprintf(stderr, "\n");

    if (!request.out.empty()) {
        auto config = io::config_for_layers(learned.pool_config, result.composed);
        config.base_model_name_or_path = request.in.model;
        io::save_peft_adapter(request.out, config, result.composed, dtype::f32, existing_output_policy(request.force));
    }
    if (!request.report.empty())
        write_text_file(request.report, json_text(learn_report(request, learned.module_names, result, learned.load_seconds), 2) + "\n");
    if (!request.plot.empty()) write_text_file(request.plot, learn_plot_svg(result, learned.module_names));
    std::cout << formatted("objective=%.9g loss=%.9g evaluations=%zu seconds=%.2f\n", result.objective, result.loss, result.trace.size(),
                           result.seconds);
    for (std::size_t i = 0; i < result.weights.size(); ++i)
        std::cout << formatted("  %+.6f  ", result.weights[i]) << printable(learned.module_names[i]) << "\n";
    if (!request.out.empty()) std::cout << "composed adapter: " << printable(request.out) << "\n";
    if (!request.gguf.empty())
        std::cout << export_gguf(request.gguf, request.in.model, result.composed,
                                 io::config_for_layers(learned.pool_config, result.composed).lora_alpha, io::ggml_type::f32,
                                 std::filesystem::path(request.gguf).stem().string(), "composed adapter", request.force);
    return 0;
}

int run_learn(learn_request request) {
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
    if (request.granularity != "module") {
        if (request.composer.name != weighted_ab::name)
            throw argument_error("--granularity", "weighs modules per " + request.granularity + " with LoraHub's rule (--composer weighted-ab) only");
        if (request.select > 0) throw argument_error("--granularity", "per " + request.granularity + " searches every module: give no --select");
    }
    request.composer.seed = request.seed;  // DARE's masks follow --seed
    complete_from_demo_hub(request.in, true, false);
    optim::check_search_size(static_cast<std::size_t>(request.budget), static_cast<std::size_t>(request.population), request.in.modules.size(),
                             "--budget", "--population");
    planned_outputs{request.in.paths(), {request.out}, {request.report, request.plot, request.gguf}, request.force}.check();
    if (!request.gguf.empty()) {
        gguf_base_model(request.in.model, {}, "--gguf");
        llama::check_gguf_output(request.gguf, existing_output_policy(request.force), request.in.paths());
    }
    audit_sources(request.in, request.composer.name == weighted_ab::name);
    return learn_with(request);
}

}  // namespace

command add_learn(CLI::App& app) {
    auto* learn = app.add_subcommand("learn", "Find module weights for a task from its few-shot examples");
    auto request = std::make_shared<learn_request>();
    auto& r = *request;
    add_sources(learn, r.in, true);
    learn->add_option("--budget", r.budget, "Objective evaluations (default 40)");
    learn->add_option("--optimizer", r.optimizer, "Optimizer (default cobyla, as upstream):\n" + optim::policies::described("    "))
        ->check(CLI::IsMember(optim::policies::names()));
    learn->add_option("--max-restarts", r.max_restarts, "cma-es-ipop / -bipop: large-population restarts at most (default 9)");
    learn->add_option("--stall-generations", r.stall_generations,
                      "cma-es-ipop / -bipop: also restart when a run's best has not improved for G generations (default 0: off, as pycma)");
    add_composer_options(learn, r.composer, "--composer", false);
    learn->add_option("--seed", r.seed, "Random seed (default 42)")->check(within_int64());
    learn->add_option("--batch-size", r.batch_size, "Examples per loss batch (default: all in one batch)");
    learn->add_option("--population", r.population,
                      "Candidates per CMA-ES generation / random-search batch, scored together in one pass (default: CMA-ES 4 + 3 ln n, random 16)");
    learn->add_option("--start", r.start, "Where the search starts: zero (default, as upstream), uniform (1/N each) or best-single")
        ->check(CLI::IsMember({"zero", "uniform", "best-single"}));
    learn->add_option("--granularity", r.granularity,
                      "One weight per module (default, LoraHub), per module and transformer block (layer), or per module and target "
                      "layer (target); the L1 penalty over all of them (weighted-ab only)")
        ->check(CLI::IsMember({"module", "layer", "target"}));
    learn->add_option("--starts", r.starts, "Searches sharing the budget, the later ones from random points of the box (default 1)");
    learn->add_option("--select", r.select, "Search only the K modules with the lowest single-module loss (N evaluations first; default: all)");
    learn->add_option("--select-by", r.select_by,
                      "How --select picks: loss (each module's loss alone, N evaluations; default) or routing (Arrow's routing mass "
                      "on the examples: one forward pass)")
        ->check(CLI::IsMember({"loss", "routing"}));
    learn->add_option("--out", r.out, "Write the composed adapter here as a PEFT folder");
    learn->add_option("--report", r.report, "Write a JSON report (weights, objective, trace, timings)");
    learn->add_option("--gguf", r.gguf,
                      "Also write the composed adapter as a llama.cpp LoRA GGUF (Llama-family models; llama-cli --lora OUT.gguf)");
    learn->add_option("--plot", r.plot, "Write an SVG of the objective per evaluation and the module weights");
    add_force_flag(learn, r.force);
    learn->add_flag("--quiet", r.quiet, "No progress on stderr");
    return {learn, [request](const std::string&) { return run_learn(*request); }};
}

}  // namespace lorahub::cli
