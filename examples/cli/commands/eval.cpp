#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <lorahub/core/printable.hpp>
#include <lorahub/core/text_format.hpp>
#include <lorahub/hub/evaluation_report.hpp>
#include <lorahub/io/hub_manifest.hpp>
#include <lorahub/optim/policies.hpp>

#include "../commands.hpp"
#include "../demo_hub.hpp"
#include "../flags.hpp"
#include "../model_work.hpp"
#include "../output.hpp"
#include "../sources.hpp"

namespace lorahub::cli {
namespace {

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
    bool quiet = false;
};

int run_eval(eval_request request, const std::string& command_line) {
    require_at_least(request.seeds, 1, "--seeds");
    require_at_least(request.subset, 1, "--modules-per-seed");
    require_at_least(request.icl, 0, "--icl");
    require_at_least(request.max_new_tokens, 1, "--max-new-tokens");
    for (const auto budget : request.budgets) require_at_least(budget, 1, "--budgets");
    for (const auto select : request.selects) require_at_least(select, 0, "--select");
    for (const auto& optimizer : request.optimizers)
        if (!optim::policies::contains(optimizer))
            throw argument_error("--optimizers", "\"" + optimizer + "\" is not " + optim::policies::sentence());
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

    std::vector<std::filesystem::path> inputs = modules;
    inputs.push_back(request.in.model);
    for (const auto& task : tasks) inputs.insert(inputs.end(), {task.few_shot, task.test});
    planned_outputs{inputs, {}, {request.json, request.svg, request.markdown}}.check();
    auto audited = request.in;
    audited.modules.assign(modules.begin(), modules.end());
    audit_sources(audited, true);

    const auto started = std::chrono::steady_clock::now();
    evaluate_job job{request.in.model, modules, tasks, plan, {}};
    if (!request.quiet)
        job.on_run = [](const std::string& run, const run_result& result) {
            std::cerr << "lorahub eval: " << printable(run) << ": " << formatted("%.1f%%", result.accuracy) << "\n";
        };
    const auto outcomes = with_model_work(request.in.options(), [&]<class Work>() { return Work::evaluate(job); });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    const io::json sources{{"model", request.in.model}, {"modules", request.in.modules},
                           {"hub", hub ? hub->root.string() : std::string()}, {"precision", request.in.precision}};
    if (!request.json.empty()) write_text_file(request.json, json_text(evaluation_json(outcomes, plan, sources), 2) + "\n");
    if (!request.svg.empty()) write_text_file(request.svg, evaluation_svg(outcomes));
    if (!request.markdown.empty())
        write_text_file(request.markdown, evaluation_document(command_line, outcomes, plan, modules.size(), seconds, request.in.precision));
    std::cout << evaluation_markdown(outcomes);
    return 0;
}

}  // namespace

command add_eval(CLI::App& app) {
    auto* eval = app.add_subcommand("eval", "Compare zero-shot, ICL, uniform, the best single module and LoraHub on a hub's tasks or your own");
    auto request = std::make_shared<eval_request>();
    auto& r = *request;
    eval->add_option("--hub", r.hub, "Hub directory with a hub.json (default: the demo hub)");
    eval->add_option("--model", r.in.model, "Base model directory (default: the hub's)");
    eval->add_option("--lora", r.in.modules, "PEFT LoRA module directory (repeat per module; default: the hub's pool)");
    eval->add_option("--task", r.tasks, "Hub task to evaluate (repeat; default: all)");
    eval->add_option("--few-shot", r.few_shot, "Your task's few-shot examples (JSONL), instead of the hub's tasks");
    eval->add_option("--test", r.test, "Your task's test examples (JSONL, with outputs)");
    eval->add_option("--name", r.name, "Your task's name in the table (default: task)");
    eval->add_option("--optimizers", r.optimizers, "LoraHub optimizers, comma-separated (default cobyla): " + optim::policies::sentence())
        ->delimiter(',');
    eval->add_option("--budgets", r.budgets, "LoraHub budgets, comma-separated (default 40)")->delimiter(',');
    eval->add_option("--select", r.selects, "Module selection sizes, comma-separated; 0: all (default 0)")->delimiter(',');
    eval->add_option("--seeds", r.seeds, "LoraHub runs per method, seeds 1..N (default 5)");
    eval->add_option("--modules-per-seed", r.subset, "Modules drawn at random per seed, as upstream's 20 of 196 (default 20; a smaller pool is used whole)");
    eval->add_option("--icl", r.icl, "Examples prepended for ICL (default: all the few-shot examples)");
    eval->add_option("--max-new-tokens", r.max_new_tokens, "Greedy decoding length limit (default 32)");
    eval->add_option("--precision", r.in.precision, "fp32 (default) or bf16")->check(CLI::IsMember({"fp32", "bf16"}));
    eval->add_option("--device", r.in.device, "cpu (default) or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
    eval->add_option("--json", r.json, "Write every number (per seed) as JSON");
    eval->add_option("--svg", r.svg, "Write a bar chart of accuracy per task and method");
    eval->add_option("--markdown", r.markdown, "Write a markdown document: methods, tables, the command that made it");
    add_allow_base_mismatch_flag(eval, r.in.allow_base_mismatch);
    eval->add_flag("--quiet", r.quiet, "No progress on stderr");
    return {eval, [request](const std::string& command_line) { return run_eval(*request, command_line); }};
}

}  // namespace lorahub::cli
