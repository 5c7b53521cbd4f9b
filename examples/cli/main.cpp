#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <lorahub/core/error.hpp>

#include "commands.hpp"
#include "inspect.hpp"
#include "score.hpp"
#include "terminal.hpp"

namespace {

int run_inspect(const std::vector<std::string>& paths, bool as_json) {
    int status = 0;
    lorahub::io::json all = lorahub::io::json::array();
    for (const auto& path : paths) {
        try {
            auto summary = lorahub::cli::inspect_path(path);
            if (as_json) all.push_back(std::move(summary));
            else lorahub::cli::print_summary(std::cout, summary);
        } catch (const lorahub::error& failure) {
            std::cerr << "error: " << failure.what() << "\n";
            status = 1;
        } catch (const std::exception& failure) {
            std::cerr << "error: " << lorahub::printable(path) << ": " << lorahub::printable(failure.what()) << "\n";
            status = 1;
        }
    }
    if (as_json && !all.empty()) std::cout << lorahub::cli::json_text(paths.size() == 1 ? all[0] : all, 2) << "\n";
    return status;
}

void add_sources(CLI::App* command, lorahub::cli::sources& in, bool modules) {
    command->add_option("--model", in.model, "Base model directory (config.json: T5 or Llama family by model_type; weights; spiece.model or tokenizer.model); default: the demo hub's");
    if (modules) command->add_option("--lora", in.modules, "PEFT LoRA module directory (repeat per module); default: the demo hub's pool");
    command->add_option("--examples", in.examples, "Examples JSONL ({input, output} or {context, completion}); default: the demo hub's");
    command->add_option("--task", in.task, "Demo hub task to take defaults from (default: the hub's default task)");
    command->add_option("--precision", in.precision, "fp32 (default) or bf16: bf16 linear layers with fp32 accumulation, fp32 elsewhere")
        ->check(CLI::IsMember({"fp32", "bf16"}));
    command->add_option("--device", in.device, "cpu (default) or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
}

/// --composer (or --combination) and the options of PEFT's combination types.
void add_composer_options(CLI::App* command, lorahub::cli::composer_choice& choice, const char* flag, bool with_seed) {
    std::string names;
    for (const auto& name : lorahub::cli::composer_names()) names += (names.empty() ? "" : ", ") + name;
    command->add_option(flag, choice.name, "Composer: " + names + " (default " + choice.name + ")")
        ->check(CLI::IsMember(lorahub::cli::composer_names()));
    command->add_option("--density", choice.density, "Fraction of entries kept by ties, dare_* and magnitude_prune* (default 1)");
    command->add_option("--svd-rank", choice.svd_rank, "Rank of the *svd combinations (default: the modules' rank)");
    command->add_option("--svd-clamp", choice.svd_clamp, "Clamp the *svd factors to this quantile of their entries (default: none)");
    command->add_option("--majority-sign", choice.majority_sign, "Sign election of ties and dare_ties: total (default) or frequency")
        ->check(CLI::IsMember({"total", "frequency"}));
    if (with_seed) command->add_option("--seed", choice.seed, "Seed of DARE's masks (default 42)");
}

/// Parses the command line; a usage error prints one `error:` line and gives exit code 1.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::CallForHelp& request) {
        return app.exit(request);
    } catch (const CLI::CallForAllHelp& request) {
        return app.exit(request);
    } catch (const CLI::CallForVersion& request) {
        return app.exit(request);
    } catch (const CLI::ParseError& failure) {
        std::string message = failure.what();
        // CLI11 says "Could not convert: --seed = x"; say it as every other error does
        static const std::regex conversion("Could not convert: (\\S+) = (.*)");
        if (std::smatch parts; std::regex_match(message, parts, conversion))
            message = parts[1].str() + ": \"" + parts[2].str() + "\" is not a valid value";
        std::cerr << "error: " << message << " (see lorahub --help)\n";
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    using namespace lorahub::cli;
    printable_standard_streams terminal_safe_output;
    CLI::App app{"lorahub: compose LoRA modules for a new task from a few examples (LoraHub)"};
    app.require_subcommand(1);

    auto* inspect = app.add_subcommand("inspect", "Summarise a model dir, a PEFT adapter dir, or a .safetensors or torch .bin file");
    std::vector<std::string> inspect_paths;
    bool inspect_json = false;
    inspect->add_option("paths", inspect_paths, "Paths to inspect")->required();
    inspect->add_flag("--json", inspect_json, "Print the summary as JSON (an array for several paths)");

    auto* score = app.add_subcommand("score", "Print the LoraHub objective of fixed module weights");
    score_request scoring;
    add_sources(score, scoring.in, true);
    score->add_option("--weights", scoring.weights, "One weight per --lora, comma-separated");
    score->add_option("--batch-size", scoring.batch_size, "Examples per loss batch (default: all in one batch)");
    score->add_flag("--json", scoring.as_json, "Print {\"loss\": x, \"objective\": y}");

    auto* learn = app.add_subcommand("learn", "Find module weights for a task from its few-shot examples");
    learn_request learning;
    add_sources(learn, learning.in, true);
    learn->add_option("--budget", learning.budget, "Objective evaluations (default 40)");
    learn->add_option("--optimizer", learning.optimizer,
                      "cobyla (default, as upstream), cma-es, cma-es-ipop, cma-es-bipop (with restarts), nelder-mead or random")
        ->check(CLI::IsMember({"cobyla", "cma-es", "cma-es-ipop", "cma-es-bipop", "nelder-mead", "random"}));
    learn->add_option("--max-restarts", learning.max_restarts, "cma-es-ipop / -bipop: large-population restarts at most (default 9)");
    learn->add_option("--stall-generations", learning.stall_generations,
                      "cma-es-ipop / -bipop: also restart when a run's best has not improved for G generations (default 0: off, as pycma)");
    add_composer_options(learn, learning.composer, "--composer", false);
    learn->add_option("--seed", learning.seed, "Random seed (default 42)");
    learn->add_option("--batch-size", learning.batch_size, "Examples per loss batch (default: all in one batch)");
    learn->add_option("--population", learning.population,
                      "Candidates per CMA-ES generation / random-search batch, scored together in one pass (default: CMA-ES 4 + 3 ln n, random 16)");
    learn->add_option("--start", learning.start, "Where the search starts: zero (default, as upstream), uniform (1/N each) or best-single")
        ->check(CLI::IsMember({"zero", "uniform", "best-single"}));
    learn->add_option("--starts", learning.starts, "Searches sharing the budget, the later ones from random points of the box (default 1)");
    learn->add_option("--select", learning.select, "Search only the K modules with the lowest single-module loss (N evaluations first; default: all)");
    learn->add_option("--out", learning.out, "Write the composed adapter here as a PEFT folder");
    learn->add_option("--report", learning.report, "Write a JSON report (weights, objective, trace, timings)");
    learn->add_option("--plot", learning.plot, "Write an SVG of the objective per evaluation and the module weights");
    learn->add_flag("--quiet", learning.quiet, "No progress on stderr");

    auto* infer = app.add_subcommand("infer", "Predict with a composed or saved adapter, or zero-shot, and report accuracy");
    infer_request inference;
    add_sources(infer, inference.in, true);
    infer->add_option("--adapter", inference.adapter, "A PEFT adapter folder (e.g. from learn --out)");
    infer->add_option("--weights", inference.weights, "Weights for the --lora modules, comma-separated");
    add_composer_options(infer, inference.composer, "--composer", true);
    infer->add_option("--max-new-tokens", inference.max_new_tokens, "Greedy decoding length limit (default 256)");
    infer->add_option("--batch-size", inference.batch_size, "Examples generated together (default 16)");
    infer->add_flag("--json", inference.as_json, "Print {\"predictions\": [...], \"accuracy\": x or null}");
    infer->add_flag("--summary", inference.summary, "Print only the accuracy line, not the predictions");

    auto* combine = app.add_subcommand("combine", "Combine modules as PEFT's add_weighted_adapter does and write the PEFT adapter");
    lorahub::cli::combine_request combining;
    combine->add_option("--lora", combining.modules, "PEFT LoRA module directory (repeat per module)")->required();
    combine->add_option("--weights", combining.weights, "One weight per --lora, comma-separated")->required();
    combine->add_option("--out", combining.out, "Output adapter folder")->required();
    combining.combination.name = "linear";
    add_composer_options(combine, combining.combination, "--combination", true);

    auto* merge = app.add_subcommand("merge", "Write a full model directory with an adapter merged into its weights");
    std::string merge_model, merge_adapter, merge_out;
    merge->add_option("--model", merge_model, "Base model directory")->required();
    merge->add_option("--adapter", merge_adapter, "PEFT adapter folder")->required();
    merge->add_option("--out", merge_out, "Output model directory")->required();

    auto* convert = app.add_subcommand("convert", "Write the safetensors file of a torch.save .bin checkpoint (read without running its pickle)");
    std::string convert_in, convert_out;
    convert->add_option("input", convert_in, "A torch .bin checkpoint (adapter_model.bin, pytorch_model.bin)")->required();
    convert->add_option("output", convert_out, "The .safetensors file to write")->required();

    auto* eval = app.add_subcommand("eval", "Compare zero-shot, ICL, uniform, the best single module and LoraHub on a hub's tasks or your own");
    eval_request evaluating;
    eval->add_option("--hub", evaluating.hub, "Hub directory with a hub.json (default: the demo hub)");
    eval->add_option("--model", evaluating.in.model, "Base model directory (default: the hub's)");
    eval->add_option("--lora", evaluating.in.modules, "PEFT LoRA module directory (repeat per module; default: the hub's pool)");
    eval->add_option("--task", evaluating.tasks, "Hub task to evaluate (repeat; default: all)");
    eval->add_option("--few-shot", evaluating.few_shot, "Your task's few-shot examples (JSONL), instead of the hub's tasks");
    eval->add_option("--test", evaluating.test, "Your task's test examples (JSONL, with outputs)");
    eval->add_option("--name", evaluating.name, "Your task's name in the table (default: task)");
    eval->add_option("--optimizers", evaluating.optimizers, "LoraHub optimizers, comma-separated (default cobyla)")->delimiter(',');
    eval->add_option("--budgets", evaluating.budgets, "LoraHub budgets, comma-separated (default 40)")->delimiter(',');
    eval->add_option("--select", evaluating.selects, "Module selection sizes, comma-separated; 0: all (default 0)")->delimiter(',');
    eval->add_option("--seeds", evaluating.seeds, "LoraHub runs per method, seeds 1..N (default 5)");
    eval->add_option("--modules-per-seed", evaluating.subset, "Modules drawn at random per seed, as upstream's 20 of 196 (default 20; a smaller pool is used whole)");
    eval->add_option("--icl", evaluating.icl, "Examples prepended for ICL (default: all the few-shot examples)");
    eval->add_option("--max-new-tokens", evaluating.max_new_tokens, "Greedy decoding length limit (default 32)");
    eval->add_option("--precision", evaluating.in.precision, "fp32 (default) or bf16")->check(CLI::IsMember({"fp32", "bf16"}));
    eval->add_option("--device", evaluating.in.device, "cpu (default) or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
    eval->add_option("--json", evaluating.json, "Write every number (per seed) as JSON");
    eval->add_option("--svg", evaluating.svg, "Write a bar chart of accuracy per task and method");
    eval->add_option("--markdown", evaluating.markdown, "Write a markdown document: methods, tables, the command that made it");
    eval->add_flag("--quiet", evaluating.quiet, "No progress on stderr");

    if (const auto usage = parse_command_line(app, argc, argv)) return *usage;
    try {
        if (*inspect) return run_inspect(inspect_paths, inspect_json);
        if (*score) return run_score(scoring);
        if (*learn) return run_learn(learning);
        if (*infer) return run_infer(inference);
        if (*combine) return run_combine(combining);
        if (*merge) return run_merge(merge_model, merge_adapter, merge_out);
        if (*convert) return run_convert(convert_in, convert_out);
        if (*eval) {
            for (int i = 0; i < argc; ++i) evaluating.command_line += (i ? " " : "") + std::string(i ? argv[i] : "lorahub");
            return run_eval(evaluating);
        }
    } catch (const lorahub::error& failure) {
        std::cerr << "error: " << failure.what() << "\n";
        return 1;
    } catch (const std::exception& failure) {
        std::cerr << "error: " << lorahub::printable(failure.what()) << "\n";
        return 1;
    }
    return 0;
}
