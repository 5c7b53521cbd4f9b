#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <lorahub/core/error.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/model/model_options.hpp>

#include "demo_hub.hpp"
#include "device.hpp"

namespace lorahub::cli {

/// Inputs shared by the commands; empty fields fall back to the demo hub.
struct sources {
    std::string model;
    std::vector<std::string> modules;
    std::string examples;
    std::string task;
    std::string precision = "fp32";
    std::string device = "cpu";
    std::string scaling = "first-module";  ///< --scaling: module_scaling by name
    bool allow_base_mismatch = false;

    lorahub::module_scaling module_scaling() const {
        return scaling == "per-module" ? lorahub::module_scaling::per_module : lorahub::module_scaling::first_module;
    }

    /// The files and directories the command reads, which no output may replace.
    std::vector<std::filesystem::path> paths() const {
        std::vector<std::filesystem::path> all{model, examples};
        all.insert(all.end(), modules.begin(), modules.end());
        return all;
    }

    /// How the model runs, once --device is known to be usable.
    model_options options() const {
        require_device(device);
        return {precision, device};
    }
};

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

}  // namespace lorahub::cli
