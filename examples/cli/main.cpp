#include <filesystem>
#include <iostream>
#include <new>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <lorahub/core/error.hpp>
#include <lorahub/core/printable.hpp>

#include "commands.hpp"
#include "errors.hpp"
#include "terminal.hpp"

namespace {

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
    std::vector<command> commands;
    for (auto* add : {add_inspect, add_score, add_learn, add_infer, add_combine, add_merge, add_convert, add_export, add_eval, add_tokenize}) commands.push_back(add(app));
    if (const auto usage = parse_command_line(app, argc, argv)) return *usage;
    std::string command_line = "lorahub";
    for (int i = 1; i < argc; ++i) command_line += " " + std::string(argv[i]);
    try {
        for (const auto& parsed : commands)
            if (parsed.subcommand->parsed()) return parsed.run(command_line);
    } catch (...) {
        return report_current_error();
    }
    return 0;
}
