#include <cstdint>
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
#include "../output.hpp"
#include "../weights_flag.hpp"

namespace lorahub::cli {
namespace {

struct combine_request {
    std::vector<std::string> modules;
    std::string weights;
    composer_choice combination;
    std::string out;
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
    planned_outputs{{request.modules.begin(), request.modules.end()}, {request.out}, {}, request.force}.check();
    sources audited;
    audited.modules = request.modules;
    audit_sources(audited, request.combination.name == weighted_ab::name);
    const auto pool = lora_pool::load(request.modules);
    const auto composer = request.combination.composer("--combination");
    auto layers = composer.allocate(pool);
    composer.compose(pool, weights, layers);
    io::save_peft_adapter(request.out, io::config_for_layers(pool.config(), layers), layers, dtype::f32,
                          existing_output_policy(request.force));
    std::cout << formatted("combined %zu modules with %s into %s (rank %zu)\n", pool.size(), request.combination.name.c_str(),
                           printable(request.out).c_str(), layers.front().rank);
    return 0;
}

}  // namespace

command add_combine(CLI::App& app) {
    auto* combine = app.add_subcommand("combine", "Combine modules as PEFT's add_weighted_adapter does and write the PEFT adapter");
    auto request = std::make_shared<combine_request>();
    auto& r = *request;
    combine->add_option("--lora", r.modules, "PEFT LoRA module directory (repeat per module)")->required();
    combine->add_option("--weights", r.weights, "One weight per --lora, comma-separated")->required();
    combine->add_option("--out", r.out, "Output adapter folder")->required();
    add_force_flag(combine, r.force);
    r.combination.name = "linear";
    add_composer_options(combine, r.combination, "--combination", true);
    return {combine, [request](const std::string&) { return run_combine(*request); }};
}

}  // namespace lorahub::cli
