#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <lorahub/core/error.hpp>
#include <lorahub/core/lora.hpp>
#include <lorahub/core/printable.hpp>
#include <lorahub/core/text_format.hpp>
#include <lorahub/io/peft_config.hpp>
#include <lorahub/model/llama/gguf_lora.hpp>

#include "output.hpp"

namespace lorahub::cli {

/// GGUF exports (export, learn --gguf, combine --gguf): llama.cpp LoRA adapters of
/// Llama-family models.

inline io::ggml_type gguf_type_named(const std::string& name) {
    if (name == "f16") return io::ggml_type::f16;
    if (name == "bf16") return io::ggml_type::bf16;
    return io::ggml_type::f32;
}

/// The base model of a GGUF export: `model` when given, else the adapter config's
/// base_model_name_or_path when it is a local model directory; refused unless Llama-family (llama::gguf_base_config).
inline std::filesystem::path gguf_base_model(const std::string& model, const io::peft_config& adapter, const std::string& adapter_subject) {
    std::filesystem::path directory = model;
    if (directory.empty()) {
        const auto& named = adapter.base_model_name_or_path;
        std::error_code ignored;
        if (named.empty() || !std::filesystem::is_regular_file(std::filesystem::path(named) / "config.json", ignored))
            throw argument_error(adapter_subject, "base_model_name_or_path \"" + named +
                                                      "\" is not a local model directory: give the base model's directory with --model "
                                                      "(its config.json gives the architecture and head counts)");
        directory = named;
    }
    llama::gguf_base_config(directory);
    return directory;
}

/// Writes `layers` (with lora_alpha `alpha`) as a llama.cpp LoRA GGUF for the model in
/// `model`; returns the line that says so.
inline std::string export_gguf(const std::filesystem::path& target, const std::filesystem::path& model, const std::vector<lora_layer>& layers,
                               double alpha, io::ggml_type type, const std::string& name, const std::string& subject, bool force) {
    const auto config = llama::gguf_base_config(model);
    const auto file = llama::write_gguf_lora(target, config, layers, alpha, {type, name}, subject, existing_output_policy(force));
    std::string line = formatted("gguf: %zu LoRA pairs for %s (%s) in %s", file.tensors.size() / 2, llama::gguf_architecture(config).c_str(),
                                 std::string(io::name_of(type)).c_str(), printable(display(target)).c_str());
    if (file.folded > 0) line += formatted(" (%zu with their scaling folded into lora_b: alpha / r alone cannot express it)", file.folded);
    return line + "\n";
}

}  // namespace lorahub::cli
