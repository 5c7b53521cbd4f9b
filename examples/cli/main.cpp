#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <lorahub/core/error.hpp>

#include "inspect.hpp"

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

    CLI11_PARSE(app, argc, argv);
    try {
        if (*inspect) return run_inspect(inspect_paths, inspect_json);
    } catch (const lorahub::error& failure) {
        std::cerr << "error: " << failure.what() << "\n";
        return 1;
    } catch (const std::exception& failure) {
        std::cerr << "error: " << failure.what() << "\n";
        return 2;
    }
    return 0;
}
