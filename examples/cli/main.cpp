#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <lorahub/core/error.hpp>

#include "inspect.hpp"
#include "score.hpp"

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
            std::cerr << "error: " << path << ": " << failure.what() << "\n";
            status = 1;
        }
    }
    if (as_json && !all.empty()) std::cout << (paths.size() == 1 ? all[0] : all).dump(2) << "\n";
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lorahub: compose LoRA modules for a new task from a few examples (LoraHub)"};
    app.require_subcommand(1);

    auto* inspect = app.add_subcommand("inspect", "Summarise a model dir, a PEFT adapter dir or a .safetensors file");
    std::vector<std::string> inspect_paths;
    bool inspect_json = false;
    inspect->add_option("paths", inspect_paths, "Paths to inspect")->required();
    inspect->add_flag("--json", inspect_json, "Print the summary as JSON (an array for several paths)");

    auto* score = app.add_subcommand("score", "Print the LoraHub objective of fixed module weights");
    std::string score_model, score_examples, score_weights;
    std::vector<std::string> score_modules;
    std::size_t score_batch_size = 0;
    bool score_json = false;
    score->add_option("--model", score_model, "Base model directory (config.json, model.safetensors, spiece.model)")->required();
    score->add_option("--lora", score_modules, "PEFT LoRA module directory (repeat for each module)")->required();
    score->add_option("--examples", score_examples, "Examples JSONL ({input, output} or {context, completion})")->required();
    score->add_option("--weights", score_weights, "One weight per --lora, comma-separated")->required();
    score->add_option("--batch-size", score_batch_size, "Examples per loss batch (default: all in one batch)");
    score->add_flag("--json", score_json, "Print {\"loss\": x, \"objective\": y}");

    CLI11_PARSE(app, argc, argv);
    try {
        if (*inspect) return run_inspect(inspect_paths, inspect_json);
        if (*score) {
            const std::vector<std::filesystem::path> modules(score_modules.begin(), score_modules.end());
            const auto result = lorahub::cli::score(score_model, modules, score_examples,
                                                    lorahub::cli::parse_weights(score_weights), score_batch_size);
            if (score_json) std::cout << lorahub::io::json{{"loss", result.loss}, {"objective", result.objective}}.dump() << "\n";
            else std::printf("loss=%.9g objective=%.9g\n", result.loss, result.objective);
            return 0;
        }
    } catch (const lorahub::error& failure) {
        std::cerr << "error: " << failure.what() << "\n";
        return 1;
    } catch (const std::exception& failure) {
        std::cerr << "error: " << failure.what() << "\n";
        return 2;
    }
    return 0;
}
