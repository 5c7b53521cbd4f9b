#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <lorahub/core/printable.hpp>
#include <lorahub/core/text_format.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/lora/pool.hpp>

#include "../commands.hpp"
#include "../flags.hpp"
#include "../gguf_output.hpp"
#include "../output.hpp"
#include "../weights_flag.hpp"

namespace lorahub::cli {
namespace {

struct combine_request {
    std::vector<std::string> modules;
    std::string weights;
    composer_choice combination;
    std::string out, gguf, model;
    bool force = false;
};

/// PEFT's add_weighted_adapter without Python: the modules combined by one composer, written
/// as a PEFT adapter folder (whole or not at all).
int run_combine(const combine_request& request) {
    if (request.modules.empty()) throw argument_error("--lora", "give the modules to combine (repeat --lora)");
    if (request.weights.empty()) throw argument_error("--weights", "is required (one weight per --lora)");
    require_at_least(request.combination.svd_rank, 0, "--svd-rank");
    require_at_least(request.combination.seed, 0, "--seed");
    const auto weights = parse_weights(request.weights);
    check_weight_count(weights, request.modules.size());
    if (request.out.empty() && request.gguf.empty()) throw argument_error("combine", "give --out (a PEFT folder), --gguf (a llama.cpp GGUF) or both");
    std::vector<std::filesystem::path> inputs{request.modules.begin(), request.modules.end()};
    inputs.push_back(request.model);
    planned_outputs{inputs, {request.out}, {request.gguf}, request.force}.check();
    std::filesystem::path gguf_model;
    if (!request.gguf.empty()) {
        gguf_model = gguf_base_model(request.model, io::load_peft_config(std::filesystem::path(request.modules.front()) / "adapter_config.json"),
                                     display(std::filesystem::path(request.modules.front()) / "adapter_config.json"));
        llama::check_gguf_output(request.gguf, existing_output_policy(request.force), inputs);
    }
    sources audited;
    audited.modules = request.modules;
    audit_sources(audited, request.combination.name == weighted_ab::name);
    const auto pool = lora_pool::load(request.modules);
    const auto composer = request.combination.composer("--combination");
    auto layers = composer.allocate(pool);
    composer.compose(pool, weights, layers);
    const auto config = io::config_for_layers(pool.config(), layers);
    if (!request.out.empty()) io::save_peft_adapter(request.out, config, layers, dtype::f32, existing_output_policy(request.force));
    std::cout << formatted("combined %zu modules with %s into %s (rank %zu)\n", pool.size(), request.combination.name.c_str(),
                           printable(request.out.empty() ? request.gguf : request.out).c_str(), layers.front().rank);
    if (!request.gguf.empty())
        std::cout << export_gguf(request.gguf, gguf_model, layers, config.lora_alpha, io::ggml_type::f32,
                                 std::filesystem::path(request.gguf).stem().string(), "combined adapter", request.force);
    return 0;
}

}  // namespace

command add_combine(CLI::App& app) {
    auto* combine = app.add_subcommand("combine", "Combine modules as PEFT's add_weighted_adapter does and write the PEFT adapter");
    auto request = std::make_shared<combine_request>();
    auto& r = *request;
    combine->add_option("--lora", r.modules, "PEFT LoRA module directory (repeat per module)")->required();
    combine->add_option("--weights", r.weights, "One weight per --lora, comma-separated")->required();
    combine->add_option("--out", r.out, "Output adapter folder");
    combine->add_option("--gguf", r.gguf, "Also (or only) write the combination as a llama.cpp LoRA GGUF (Llama-family models)");
    combine->add_option("--model", r.model,
                        "Base model directory for --gguf (default: the first module's base_model_name_or_path when it is a local directory)");
    add_force_flag(combine, r.force);
    r.combination.name = "linear";
    add_composer_options(combine, r.combination, "--combination", true);
    return {combine, [request](const std::string&) { return run_combine(*request); }};
}

}  // namespace lorahub::cli
