#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace lorahub::cli {

/// A subcommand of the app and what runs it once parsed, given the whole command line (for
/// the records that name it); `run` returns the exit status. Every add_* function adds its
/// subcommand and flags to the app; each lives in commands/<name>.cpp.
struct command {
    CLI::App* subcommand = nullptr;
    std::function<int(const std::string& command_line)> run;
};

command add_inspect(CLI::App& app);
command add_score(CLI::App& app);
command add_learn(CLI::App& app);
command add_infer(CLI::App& app);
command add_combine(CLI::App& app);
command add_merge(CLI::App& app);
command add_convert(CLI::App& app);
command add_export(CLI::App& app);
command add_eval(CLI::App& app);
command add_tokenize(CLI::App& app);

}  // namespace lorahub::cli
