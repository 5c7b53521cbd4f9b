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
#include <lorahub/hub/run_store.hpp>
#include <lorahub/hub/shard.hpp>
#include <lorahub/io/config_fields.hpp>
#include <lorahub/io/hub_manifest.hpp>
#include <lorahub/optim/policies.hpp>

#include "../commands.hpp"
#include "../demo_hub.hpp"
#include "../errors.hpp"
#include "../flags.hpp"
#include "../model_work.hpp"
#include "../output.hpp"
#include "../process_group.hpp"
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
    std::vector<std::string> granularities{"module"};
    std::vector<std::string> select_by{"loss"};
    std::int64_t seeds = 5, subset = 20, icl = 0, max_new_tokens = 32, arrow_top_k = -1;  // -1: 3, or every module of a smaller pool
    double arrow_temperature = 1.0;
    bool no_oracle = false;
    std::string json, svg, markdown;
    std::string shard;      ///< "i/n" or "slurm"; empty: every run (under mpirun: the job's share)
    std::string runs_dir;   ///< where each run's result is stored as it ends
    std::string from_runs;  ///< build the report from a runs directory alone
    bool quiet = false;
};

/// The reports of a complete evaluation: the files asked for, and the table on stdout.
void write_reports(const eval_request& request, const std::vector<task_outcome>& outcomes, const evaluation_plan& plan, const io::json& sources,
                   std::size_t modules, const std::string& timing, const std::string& command_line) {
    if (!request.json.empty()) write_text_file(request.json, json_text(evaluation_json(outcomes, plan, sources), 2) + "\n");
    if (!request.svg.empty()) write_text_file(request.svg, evaluation_svg(outcomes));
    if (!request.markdown.empty()) write_text_file(request.markdown, evaluation_document(command_line, outcomes, plan, modules, timing));
    std::cout << evaluation_markdown(outcomes);
}

/// --from-runs: the report of a sweep whose every run has a stored result, from the files alone.
int report_from_runs(const eval_request& request, const std::string& command_line) {
    const auto store = run_store::open(request.from_runs);
    const auto missing = store.missing();
    if (!missing.empty())
        throw argument_error(request.from_runs, std::to_string(missing.size()) + " of " + std::to_string(store.runs().items().size()) +
                                                    " runs have no result yet (the first: " + store.runs().item_name(missing.front()) +
                                                    "): run the sweep's command again to finish them");
    const std::vector<std::filesystem::path> inputs{request.from_runs};
    planned_outputs{inputs, {}, {request.json, request.svg, request.markdown}}.check();
    const auto results = store.load_all();
    double seconds = 0;
    for (const auto& result : results) seconds += result.wall_seconds;
    const auto precision = io::string_field(store.sources(), "precision", "fp32", display(store.directory() / run_store::record_name));
    write_reports(request, store.runs().outcomes(results), store.runs().plan(), store.sources(), store.runs().modules().size(),
                  formatted("The runs took %.0f s in all, summed over runs (CPU backend, %s); this report was gathered from their results.",
                            seconds, precision.c_str()),
                  command_line);
    return 0;
}

int run_sweep(eval_request request, const std::string& command_line, const process_group& group) {
    require_at_least(request.seeds, 1, "--seeds");
    require_at_least(request.subset, 1, "--modules-per-seed");
    require_at_least(request.icl, 0, "--icl");
    require_at_least(request.max_new_tokens, 1, "--max-new-tokens");
    if (request.arrow_top_k != -1) require_at_least(request.arrow_top_k, 0, "--arrow-top-k");
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
    plan.granularities = request.granularities;
    plan.select_by = request.select_by;
    plan.oracle = !request.no_oracle;
    plan.seeds = static_cast<std::size_t>(request.seeds);
    plan.subset = static_cast<std::size_t>(request.subset);
    plan.icl_examples = static_cast<std::size_t>(request.icl);
    plan.max_new_tokens = static_cast<std::size_t>(request.max_new_tokens);
    plan.arrow_top_k = request.arrow_top_k == -1 ? std::min<std::size_t>(3, modules.size()) : static_cast<std::size_t>(request.arrow_top_k);
    plan.arrow_temperature = request.arrow_temperature;

    const shard outer = request.shard.empty() ? shard{} : request.shard == "slurm" ? slurm_shard() : parse_shard(request.shard, "--shard");
    if (!outer.whole() && request.runs_dir.empty())
        throw argument_error("--shard", "a share's results are gathered from files: give --runs-dir DIR (then lorahub eval --from-runs DIR)");
    if (!outer.whole() && !(request.json.empty() && request.svg.empty() && request.markdown.empty()))
        throw argument_error("--shard", "a share writes no report: once every share is done, lorahub eval --from-runs DIR writes it");

    std::vector<std::filesystem::path> inputs = modules;
    inputs.push_back(request.in.model);
    for (const auto& task : tasks) inputs.insert(inputs.end(), {task.few_shot, task.test});
    planned_outputs{inputs, {}, {request.json, request.svg, request.markdown}}.check();
    auto audited = request.in;
    audited.modules.assign(modules.begin(), modules.end());
    audit_sources(audited, true);
    const int threads = group.size() > 1 ? group.share_cores() : 0;

    const auto started = std::chrono::steady_clock::now();
    const io::json sources{{"model", request.in.model}, {"modules", request.in.modules},
                           {"hub", hub ? hub->root.string() : std::string()}, {"precision", request.in.precision}};
    evaluate_job job{request.in.model, modules, tasks, plan, sources, outer.within(group.share()), request.runs_dir, inputs, {}};
    if (!request.quiet) {
        const std::string who = group.size() > 1 ? formatted("lorahub eval [rank %zu of %zu, %d threads]: ", group.rank(), group.size(), threads)
                                                 : std::string("lorahub eval: ");
        job.on_run = [who](const std::string& run, const run_result& result, bool stored_before) {
            std::cerr << who << printable(run) << ": " << formatted("%.1f%%", result.accuracy) << (stored_before ? " (stored before)" : "") << "\n";
        };
    }
    const auto share = with_model_work(request.in.options(), [&]<class Work>() { return Work::evaluate(job); });
    const auto results = group.gather(share.results);
    if (group.rank() != 0) return 0;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!outer.whole()) {
        std::cout << formatted("share %zu of %zu: %zu of the sweep's %zu runs have results in %s; once every share is done, "
                               "lorahub eval --from-runs %s writes the report\n",
                               outer.index, outer.count, results.size(), share.runs.items().size(), request.runs_dir.c_str(), request.runs_dir.c_str());
        return 0;
    }
    const std::string on = group.size() > 1 ? formatted("%zu processes", group.size()) : std::string("this machine");
    write_reports(request, share.runs.outcomes(results), plan, sources, modules.size(),
                  formatted("All of the above took %.0f s on %s (CPU backend, %s).", seconds, on.c_str(), request.in.precision.c_str()),
                  command_line);
    return 0;
}

int run_eval(const eval_request& request, const std::string& command_line) {
    process_group group;  // the MPI job's processes when launched by mpirun or srun, else this one alone
    try {
        if (!request.from_runs.empty()) return group.rank() == 0 ? report_from_runs(request, command_line) : 0;
        return run_sweep(request, command_line, group);
    } catch (...) {
        if (group.size() == 1) throw;
        report_current_error();
        group.abort(1);  // the other processes may wait for this one's results
    }
}

}  // namespace

command add_eval(CLI::App& app) {
    auto* eval = app.add_subcommand("eval", "Compare zero-shot, ICL, uniform, Arrow routing, the best single module and LoraHub on a hub's tasks or your own");
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
    eval->add_option("--granularities", r.granularities,
                     "LoraHub weights per module (default), per module and transformer block (layer) or target layer (target), "
                     "comma-separated; layer and target run with --select 0 only")
        ->delimiter(',')
        ->check(CLI::IsMember({"module", "layer", "target"}));
    eval->add_option("--select-by", r.select_by,
                     "How --select k picks its modules, comma-separated: loss (each module's few-shot loss alone; default) and/or "
                     "routing (Arrow's routing mass on the few-shot examples: one pass, no N evaluations)")
        ->delimiter(',')
        ->check(CLI::IsMember({"loss", "routing"}));
    eval->add_option("--seeds", r.seeds, "LoraHub runs per method, seeds 1..N (default 5)");
    eval->add_option("--modules-per-seed", r.subset, "Modules drawn at random per seed, as upstream's 20 of 196 (default 20; a smaller pool is used whole)");
    eval->add_option("--icl", r.icl, "Examples prepended for ICL (default: all the few-shot examples)");
    eval->add_option("--max-new-tokens", r.max_new_tokens, "Greedy decoding length limit (default 32)");
    eval->add_option("--arrow-top-k", r.arrow_top_k,
                     "Modules Arrow's zero-shot routing mixes per token, among the whole pool (default 3, as PEFT's ArrowConfig, or all of a smaller pool); 0: no Arrow row");
    eval->add_option("--arrow-temperature", r.arrow_temperature, "Arrow's softmax temperature (default 1)");
    eval->add_option("--precision", r.in.precision, "fp32 (default) or bf16")->check(CLI::IsMember({"fp32", "bf16"}));
    eval->add_option("--device", r.in.device, "cpu (default) or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
    eval->add_flag("--no-oracle", r.no_oracle, "Leave out the best single module row (it runs inference once per module: for large hubs)");
    eval->add_option("--json", r.json, "Write every number (per seed) as JSON");
    eval->add_option("--svg", r.svg, "Write a bar chart of accuracy per task and method");
    eval->add_option("--markdown", r.markdown, "Write a markdown document: methods, tables, the command that made it");
    add_allow_base_mismatch_flag(eval, r.in.allow_base_mismatch);
    eval->add_flag("--quiet", r.quiet, "No progress on stderr");
    auto* shard = eval->add_option("--shard", r.shard,
                                   "Run share i of n of the runs (i/n, counted from 0), or this Slurm array task's share (slurm); "
                                   "with --runs-dir. Under mpirun every process takes its share and rank 0 writes the report");
    auto* runs_dir = eval->add_option("--runs-dir", r.runs_dir,
                                      "Store each run's result in DIR as it ends; a rerun of the same command skips the runs stored there");
    auto* from_runs = eval->add_option("--from-runs", r.from_runs, "Write the report of a finished sweep from its --runs-dir alone (no model is loaded)");
    for (auto* sweep_option : {shard, runs_dir}) from_runs->excludes(sweep_option);
    for (const char* name : {"--hub", "--model", "--lora", "--task", "--few-shot", "--test", "--name", "--optimizers", "--budgets", "--select", "--granularities", "--select-by",
                             "--seeds", "--modules-per-seed", "--icl", "--max-new-tokens", "--arrow-top-k", "--arrow-temperature", "--no-oracle", "--precision", "--device"})
        from_runs->excludes(eval->get_option(name));
    return {eval, [request](const std::string& command_line) { return run_eval(*request, command_line); }};
}

}  // namespace lorahub::cli
