#pragma once

#include <algorithm>
#include <cctype>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/core/text_format.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"
#include "lorahub/io/peft_config.hpp"
#include "lorahub/lora/pool.hpp"

namespace lorahub {

/// What a base model says of itself to the modules composed on it.
struct model_identity {
    std::filesystem::path directory;
    std::string name_or_path;    ///< config.json's "_name_or_path" (transformers writes it); may be empty
    std::string peft_task_type;  ///< PEFT's task type of the model's family: SEQ_2_SEQ_LM, CAUSAL_LM
};

/// How module_audit treats a module trained on another base model or for another task type.
enum class base_mismatch { refuse, warn };

namespace detail {

inline std::string lowercase(std::string text) {
    std::ranges::transform(text, text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

/// The names a model directory answers to: every component of its resolved path (a Hugging
/// Face cache's "models--org--name" as "name" too) and config.json's _name_or_path's last.
inline std::vector<std::string> names_of(const model_identity& model) {
    std::vector<std::string> names;
    std::error_code ignored;
    auto resolved = std::filesystem::weakly_canonical(std::filesystem::absolute(model.directory), ignored);
    if (ignored) resolved = model.directory;
    for (const auto& part : resolved) {
        auto name = lowercase(part.string());
        if (const auto cache = name.rfind("--"); name.starts_with("models--") && cache != std::string::npos) names.push_back(name.substr(cache + 2));
        names.push_back(std::move(name));
    }
    if (!model.name_or_path.empty()) names.push_back(lowercase(lorahub::lora_pool::short_name(model.name_or_path)));
    return names;
}

/// The bytes of a module's weight file, for telling duplicates apart.
inline std::filesystem::path weights_file_of(const std::filesystem::path& module) {
    const auto safetensors = module / "adapter_model.safetensors";
    std::error_code ignored;
    return std::filesystem::exists(safetensors, ignored) ? safetensors : module / "adapter_model.bin";
}

/// A module's weight file as duplicates are found: its size and a hash of its bytes (0, 0 when unreadable).
struct content_key {
    std::uintmax_t size = 0;
    std::size_t hash = 0;
    bool operator==(const content_key&) const = default;
};
inline content_key content_key_of(const std::filesystem::path& file) {
    std::error_code failure;
    const auto size = std::filesystem::file_size(file, failure);
    if (failure || size == 0) return {};
    const io::mapped_file mapped(file);
    const auto bytes = mapped.bytes();
    return {size, std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()))};
}

inline bool same_contents(const std::filesystem::path& a, const std::filesystem::path& b) {
    std::error_code failure;
    const auto size_a = std::filesystem::file_size(a, failure);
    if (failure) return false;
    const auto size_b = std::filesystem::file_size(b, failure);
    if (failure || size_a != size_b) return false;
    const io::mapped_file first(a), second(b);
    return std::memcmp(first.bytes().data(), second.bytes().data(), size_a) == 0;
}

}  // namespace detail

/// Checks a pool's modules against the model and against each other, from their
/// adapter_config.json files (the weights are compared only between modules of equal size):
/// - a task_type other than the model's, or a base_model_name_or_path naming another model,
///   is a config_error naming the module (a warning under base_mismatch::warn);
/// - the same module twice (one directory, or identical weight files) is a warning, once per
///   repeat (against the first module it repeats);
/// - differing lora_alpha / r is a warning when `scaling` is first_module: the first module's
///   scaling then applies to all (upstream's rule).
/// `model` is null when no model is involved (combine). Returns the warnings, one line each.
inline std::vector<std::string> audit_modules(std::span<const std::filesystem::path> modules, const model_identity* model,
                                              base_mismatch mismatch, module_scaling scaling) {
    std::vector<std::string> warnings;
    struct read_config {
        std::filesystem::path directory;
        io::peft_config config;
        std::string base, task_type;
    };
    std::vector<read_config> configs;
    for (const auto& module : modules) {
        const auto path = module / "adapter_config.json";
        std::error_code missing;
        if (!std::filesystem::is_regular_file(path, missing)) continue;  // the loader says what is wrong with the module
        const auto document = io::parse_json_strict(io::read_text_file(path, 1 << 20), display(path));
        auto text_of = [&](const char* key) {
            return document.is_object() && document.contains(key) && document[key].is_string() ? document[key].get<std::string>() : std::string();
        };
        configs.push_back({module, io::parse_peft_config(document, display(path)), text_of("base_model_name_or_path"), text_of("task_type")});
    }
    if (model != nullptr) {
        const auto names = detail::names_of(*model);
        for (const auto& read : configs) {
            std::string problem;
            if (!read.task_type.empty() && !model->peft_task_type.empty() && read.task_type != model->peft_task_type)
                problem = "is a " + read.task_type + " adapter; the model at " + display(model->directory) + " takes " + model->peft_task_type;
            else if (const auto base = detail::lowercase(lora_pool::short_name(read.base));
                     !read.base.empty() && std::ranges::find(names, base) == names.end())
                problem = "was trained on \"" + read.base + "\", not on the model at " + display(model->directory);
            if (problem.empty()) continue;
            if (mismatch == base_mismatch::refuse)
                throw config_error(display(read.directory), problem + " (--allow-base-mismatch composes it anyway)");
            warnings.push_back(display(read.directory) + ": " + problem);
        }
    }
    // each module against the first earlier one it repeats: the same directory, or a weight file of
    // the same size and hash and then the same bytes (one pass over the files, not one per pair)
    std::map<std::string, std::size_t> directories;
    std::vector<detail::content_key> keys;
    for (std::size_t j = 0; j < configs.size(); ++j) {
        std::error_code ignored;
        const auto canonical = std::filesystem::weakly_canonical(configs[j].directory, ignored).string();
        const auto [seen, fresh] = directories.emplace(canonical.empty() ? configs[j].directory.string() : canonical, j);
        const auto weights = detail::weights_file_of(configs[j].directory);
        keys.push_back(detail::content_key_of(weights));
        std::optional<std::size_t> repeats;
        if (!fresh) repeats = seen->second;
        for (std::size_t i = 0; !repeats && keys[j].size > 0 && i < j; ++i)
            if (keys[i] == keys[j] && detail::same_contents(detail::weights_file_of(configs[i].directory), weights)) repeats = i;
        if (repeats)
            warnings.push_back(display(configs[j].directory) + ": is the same module as " + display(configs[*repeats].directory) +
                               (fresh ? " (identical weights)" : "") + "; it is composed twice");
    }
    if (scaling == module_scaling::first_module && !configs.empty()) {
        auto scaling_of = [](const io::peft_config& c) { return formatted("%g", c.scaling_for("")); };
        const auto& first = configs.front();
        std::vector<std::string> differing;
        for (const auto& read : configs)
            if (read.config.lora_alpha / static_cast<double>(read.config.r) != first.config.lora_alpha / static_cast<double>(first.config.r) ||
                read.config.use_rslora != first.config.use_rslora || read.config.alpha_pattern != first.config.alpha_pattern ||
                read.config.rank_pattern != first.config.rank_pattern)
                differing.push_back(lora_pool::short_name(read.directory) + " (" + scaling_of(read.config) + ")");
        if (!differing.empty()) {
            std::string list;
            for (const auto& entry : differing) list += (list.empty() ? "" : ", ") + entry;
            warnings.push_back("modules differ in lora_alpha / r: " + list + " are composed with the scaling of " +
                               lora_pool::short_name(first.directory) + " (" + scaling_of(first.config) +
                               "), upstream's rule; --scaling per-module gives each module its own");
        }
    }
    return warnings;
}

}  // namespace lorahub
