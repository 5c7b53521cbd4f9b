#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/dtype.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/core/finite.hpp"
#include "lorahub/io/atomic_output.hpp"
#include "lorahub/io/peft_config.hpp"
#include "lorahub/io/safetensors.hpp"
#include "lorahub/io/torch_checkpoint.hpp"
#include "lorahub/core/lora.hpp"

namespace lorahub::io {

/// A PEFT LoRA adapter folder in memory: its config and one lora_layer per targeted module,
/// sorted by module name.
struct peft_adapter {
    std::filesystem::path directory;
    peft_config config;
    std::vector<lora_layer> layers;

    const lora_layer* find(std::string_view module) const {
        auto it = std::lower_bound(layers.begin(), layers.end(), module,
                                   [](const lora_layer& layer, std::string_view key) { return layer.module < key; });
        return it != layers.end() && it->module == module ? &*it : nullptr;
    }
};

inline constexpr std::string_view peft_key_prefix = "base_model.model.";

/// The key PEFT saves for a module's A or B matrix (no adapter name in saved files).
inline std::string peft_key(const std::string& module, char which) {
    return std::string(peft_key_prefix) + module + (which == 'A' ? ".lora_A.weight" : ".lora_B.weight");
}

/// Loads adapter_config.json + adapter_model.safetensors (or, without it, the torch.save
/// adapter_model.bin that the public LoraHub modules ship, read safely), checking that every tensor is a
/// LoRA A or B of a module the config targets, with the rank the config gives it.
inline peft_adapter load_peft_adapter(const std::filesystem::path& directory) {
    peft_adapter adapter;
    adapter.directory = directory;
    if (!std::filesystem::is_directory(directory)) throw io_error(display(directory), "is not a directory");
    const auto config_path = directory / "adapter_config.json";
    if (!std::filesystem::exists(config_path)) throw io_error(display(directory), "has no adapter_config.json");
    adapter.config = load_peft_config(config_path);
    const auto& config = adapter.config;
    if (config.use_dora) throw unsupported_error(display(config_path), "DoRA adapters (use_dora) are not supported");
    if (config.bias != "none") throw unsupported_error(display(config_path), "LoRA biases (bias \"" + config.bias + "\") are not supported");
    if (!config.modules_to_save.empty())
        throw unsupported_error(display(config_path), "modules_to_save (fully trained extra modules) are not supported");

    auto weights_path = directory / "adapter_model.safetensors";
    if (!std::filesystem::exists(weights_path)) {
        weights_path = directory / "adapter_model.bin";
        if (!std::filesystem::exists(weights_path)) throw io_error(display(directory), "has neither adapter_model.safetensors nor adapter_model.bin");
    }
    const safetensors_file file = open_weights_file(weights_path);
    const std::string subject = display(weights_path);

    struct pair {
        const tensor_view* a = nullptr;
        const tensor_view* b = nullptr;
    };
    std::map<std::string, pair> modules;
    for (const auto& view : file.tensors()) {
        const std::string_view name = view.name;
        if (!name.starts_with(peft_key_prefix))
            throw format_error(subject, "tensor \"" + view.name + "\" does not start with \"" + std::string(peft_key_prefix) + "\"");
        const bool is_a = name.ends_with(".lora_A.weight"), is_b = name.ends_with(".lora_B.weight");
        if (!is_a && !is_b)
            throw unsupported_error(subject, "tensor \"" + view.name + "\" is not a LoRA A or B weight (only plain LoRA is supported)");
        const auto module = std::string(name.substr(peft_key_prefix.size(), name.size() - peft_key_prefix.size() - 14));
        if (!is_floating(view.type))
            throw format_error(subject, "tensor \"" + view.name + "\" has dtype " + std::string(name_of(view.type)));
        if (view.shape.size() != 2)
            throw shape_error(subject, "tensor \"" + view.name + "\" has shape " + shape_string(view.shape) + "; LoRA weights are 2-D");
        (is_a ? modules[module].a : modules[module].b) = &view;
    }
    if (modules.empty()) throw format_error(subject, "holds no LoRA weights");

    for (const auto& [module, tensors] : modules) {
        if (tensors.a == nullptr || tensors.b == nullptr)
            throw format_error(subject, "module \"" + module + "\" has lora_" + (tensors.a ? "A" : "B") + " but no lora_" +
                                            (tensors.a ? "B" : "A"));
        if (!config.targets(module))
            throw config_error(subject, "has weights for module \"" + module + "\", which adapter_config.json does not target");
        const std::size_t rank = config.rank_for(module);
        const auto& a = *tensors.a;
        const auto& b = *tensors.b;
        if (a.shape[0] != rank || b.shape[1] != rank)
            throw shape_error(subject, "module \"" + module + "\" has lora_A " + shape_string(a.shape) + " and lora_B " +
                                           shape_string(b.shape) + ", but adapter_config.json gives it rank " + std::to_string(rank));
        lora_layer layer;
        layer.module = module;
        layer.rank = rank;
        layer.in_features = a.shape[1];
        layer.out_features = b.shape[0];
        layer.scaling = static_cast<float>(config.scaling_for(module));
        layer.a = file.read_f32(a);
        layer.b = file.read_f32(b);
        for (const auto& [view, values] : {std::pair{&a, &layer.a}, std::pair{&b, &layer.b}})
            if (const auto note = non_finite_note(*values); !note.empty())
                throw format_error(subject, "tensor \"" + view->name + "\" holds " + note);
        adapter.layers.push_back(std::move(layer));
    }
    return adapter;
}

/// A config that describes `layers` exactly: target_modules lists their full module names,
/// r and lora_alpha come from the first layer, and rank_pattern / alpha_pattern (keys are
/// escaped full names) cover every layer whose rank or scaling differs. Other fields
/// (task type, base model) come from `base`.
inline peft_config config_for_layers(const peft_config& base, const std::vector<lora_layer>& layers) {
    if (layers.empty()) throw argument_error("adapter", "needs at least one LoRA layer");
    peft_config config;
    config.task_type = base.task_type;
    config.base_model_name_or_path = base.base_model_name_or_path;
    config.r = layers.front().rank;
    config.lora_alpha = static_cast<double>(layers.front().scaling) * static_cast<double>(config.r);
    std::vector<std::string> names;
    for (const auto& layer : layers) {
        names.push_back(layer.module);
        std::string key;
        for (char c : layer.module) {
            if (c == '.') key += '\\';
            key += c;
        }
        if (layer.rank != config.r) config.rank_pattern.emplace_back(key, layer.rank);
        const double alpha = static_cast<double>(layer.scaling) * static_cast<double>(layer.rank);
        if (std::abs(alpha - config.lora_alpha) > 1e-9 * std::abs(alpha)) config.alpha_pattern.emplace_back(key, alpha);
    }
    config.target_modules = names;
    return config;
}

/// Writes a PEFT folder (adapter_config.json + adapter_model.safetensors) that PEFT loads
/// with PeftModel.from_pretrained. The folder appears whole or not at all; an existing one
/// is treated as `policy` says.
inline void save_peft_adapter(const std::filesystem::path& directory, const peft_config& config, const std::vector<lora_layer>& layers,
                              dtype type = dtype::f32, existing_output policy = existing_output::refuse) {
    if (layers.empty()) throw argument_error(display(directory), "an adapter needs at least one LoRA layer");
    std::vector<f32_tensor> tensors;
    tensors.reserve(layers.size() * 2);
    for (const auto& layer : layers) {
        if (layer.routing)
            throw argument_error(display(directory), "layer \"" + layer.module + "\" is routed among LoRA experts per token (Arrow): it is no PEFT LoRA");
        if (layer.a.size() != layer.rank * layer.in_features || layer.b.size() != layer.out_features * layer.rank)
            throw argument_error(layer.module, "LoRA matrices do not match rank " + std::to_string(layer.rank));
        tensors.push_back({peft_key(layer.module, 'A'), {layer.rank, layer.in_features}, layer.a});
        tensors.push_back({peft_key(layer.module, 'B'), {layer.out_features, layer.rank}, layer.b});
    }
    staged_directory staging(directory, policy);
    write_safetensors(staging.path() / "adapter_model.safetensors", tensors, type, {{"format", "pt"}});
    atomic_file config_file(staging.path() / "adapter_config.json");
    config_file.write(to_json(config).dump(2) + "\n");
    config_file.commit();
    staging.commit();
}

}  // namespace lorahub::io
