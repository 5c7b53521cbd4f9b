#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <lorahub/io/peft_adapter.hpp>

#include "../commands.hpp"
#include "../gguf_output.hpp"
#include "../output.hpp"

namespace lorahub::cli {
namespace {

struct export_request {
    std::string format = "gguf";
    std::string model, adapter, out;
    std::string outtype = "f32";
    std::string name;
    bool force = false;
};

/// A PEFT adapter of a Llama-family model as a llama.cpp LoRA GGUF (what llama.cpp's
/// convert_lora_to_gguf.py writes), checked before anything is read.
int run_export(const export_request& request) {
    const std::filesystem::path adapter_directory = request.adapter;
    const auto config_path = adapter_directory / "adapter_config.json";
    if (!std::filesystem::is_directory(adapter_directory)) throw io_error(request.adapter, "is not a directory");
    if (!std::filesystem::exists(config_path)) throw io_error(request.adapter, "has no adapter_config.json");
    const auto model = gguf_base_model(request.model, io::load_peft_config(config_path), display(config_path));
    const std::vector<std::filesystem::path> inputs{adapter_directory, model};
    llama::check_gguf_output(request.out, existing_output_policy(request.force), inputs);
    const auto adapter = io::load_peft_adapter(adapter_directory);
    auto name = request.name;
    if (name.empty()) name = std::filesystem::absolute(adapter_directory).lexically_normal().filename().string();
    if (name.empty()) name = std::filesystem::absolute(adapter_directory).lexically_normal().parent_path().filename().string();
    std::cout << export_gguf(request.out, model, adapter.layers, adapter.config.lora_alpha, gguf_type_named(request.outtype), name,
                             request.adapter, request.force);
    return 0;
}

}  // namespace

command add_export(CLI::App& app) {
    auto* command = app.add_subcommand(
        "export", "Write a PEFT adapter of a Llama-family model as a llama.cpp LoRA GGUF (llama-cli -m base.gguf --lora OUT.gguf), "
                  "with the tensors and metadata llama.cpp's convert_lora_to_gguf.py writes");
    auto request = std::make_shared<export_request>();
    auto& r = *request;
    command->add_option("--format", r.format, "Output format: gguf (default; the only one)")->check(CLI::IsMember({"gguf"}));
    command->add_option("--model", r.model,
                        "Base model directory (its config.json: architecture, head counts, shapes); default: the adapter's "
                        "base_model_name_or_path when that is a local directory");
    command->add_option("--outtype", r.outtype, "Tensor type: f32 (default, as the converter), f16 or bf16")->check(CLI::IsMember({"f32", "f16", "bf16"}));
    command->add_option("--name", r.name, "general.name (default: the adapter folder's name)");
    command->add_flag("--force", r.force, "Replace an existing OUT.gguf (only a GGUF LoRA adapter, never a model or any other file)");
    command->add_option("adapter", r.adapter, "PEFT adapter folder (adapter_config.json, adapter_model.safetensors or .bin)")->required();
    command->add_option("output", r.out, "The .gguf file to write")->required();
    return {command, [request](const std::string&) { return run_export(*request); }};
}

}  // namespace lorahub::cli
