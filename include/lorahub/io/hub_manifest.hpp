#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"

namespace lorahub::io {

/// A hub directory described by its hub.json (the embedded demo hub is one): a base model,
/// a pool of modules in a fixed order, and held-out tasks with few-shot and test examples.
/// Paths in the manifest are relative to the hub's root; the loaded paths are not.
struct hub_manifest {
    struct task {
        std::string name;
        std::filesystem::path few_shot;
        std::filesystem::path test;
        std::filesystem::path trained_lora;  ///< a LoRA trained on the task itself (an upper bound); empty if none
    };

    std::filesystem::path root;
    std::filesystem::path model;
    std::vector<std::filesystem::path> modules;
    std::string default_task;
    std::vector<task> tasks;  ///< in the manifest's order

    /// The task named `name` (the default task when empty); an error naming hub.json if absent.
    const task& task_named(const std::string& name = {}) const {
        const std::string& wanted = name.empty() ? default_task : name;
        for (const auto& candidate : tasks)
            if (candidate.name == wanted) return candidate;
        throw argument_error(display(root / "hub.json"), "has no task \"" + wanted + "\"");
    }
};

/// Reads `root`/hub.json: {"model": dir, "modules": [dir, ...], "default_task": name,
/// "tasks": {name: {"few_shot": file, "test": file, "trained_lora": dir (optional)}, ...}};
/// other keys are ignored.
inline hub_manifest load_hub_manifest(const std::filesystem::path& root) {
    const auto path = root / "hub.json";
    const std::string subject = display(path);
    const auto manifest = parse_json_strict(read_text_file(path, std::size_t{1} << 20), subject);
    try {
        hub_manifest hub;
        hub.root = root;
        hub.model = root / manifest.at("model").get<std::string>();
        for (const auto& module : manifest.at("modules")) hub.modules.push_back(root / module.get<std::string>());
        if (hub.modules.empty()) throw config_error(subject, "lists no modules");
        for (const auto& [name, entry] : manifest.at("tasks").items()) {
            hub.tasks.push_back({name, root / entry.at("few_shot").get<std::string>(), root / entry.at("test").get<std::string>(), {}});
            if (entry.contains("trained_lora")) hub.tasks.back().trained_lora = root / entry.at("trained_lora").get<std::string>();
        }
        hub.default_task = manifest.at("default_task").get<std::string>();
        hub.task_named(hub.default_task);
        return hub;
    } catch (const json::exception& failure) {
        throw format_error(subject, std::string("is not a valid hub manifest: ") + failure.what());
    }
}

}  // namespace lorahub::io
