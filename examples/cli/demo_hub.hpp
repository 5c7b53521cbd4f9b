#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <lorahub/core/error.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/mapped_file.hpp>

namespace lorahub::cli {

/// The embedded demo hub, described by its hub.json: a model, a pool of modules, and
/// held-out tasks with few-shot and test examples.
struct demo_hub {
    std::filesystem::path root;
    std::filesystem::path model;
    std::vector<std::filesystem::path> modules;
    std::string task;
    std::filesystem::path few_shot;
    std::filesystem::path test;
};

/// Where the demo hub is: $LORAHUB_DEMO_HUB, else the source tree's examples/demo-hub.
inline std::filesystem::path demo_hub_root() {
    if (const char* override_path = std::getenv("LORAHUB_DEMO_HUB")) return override_path;
#ifdef LORAHUB_DEMO_HUB_DIR
    return LORAHUB_DEMO_HUB_DIR;
#else
    return {};
#endif
}

/// The demo hub for `task` (its default task when empty), or nothing if there is no hub.
inline std::optional<demo_hub> find_demo_hub(const std::string& task = {}) {
    const auto root = demo_hub_root();
    if (root.empty() || !std::filesystem::exists(root / "hub.json")) return std::nullopt;
    const auto manifest_path = root / "hub.json";
    const std::string subject = display(manifest_path);
    const auto manifest = io::parse_json_strict(io::read_text_file(manifest_path, 1 << 20), subject);
    try {
        demo_hub hub;
        hub.root = root;
        hub.model = root / manifest.at("model").get<std::string>();
        for (const auto& module : manifest.at("modules")) hub.modules.push_back(root / module.get<std::string>());
        hub.task = task.empty() ? manifest.at("default_task").get<std::string>() : task;
        if (!manifest.at("tasks").contains(hub.task)) throw argument_error(subject, "has no task \"" + hub.task + "\"");
        const auto& entry = manifest.at("tasks").at(hub.task);
        hub.few_shot = root / entry.at("few_shot").get<std::string>();
        hub.test = root / entry.at("test").get<std::string>();
        return hub;
    } catch (const io::json::exception& failure) {
        throw format_error(subject, std::string("is not a valid hub manifest: ") + failure.what());
    }
}

}  // namespace lorahub::cli
