#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <lorahub/core/printable.hpp>
#include <lorahub/core/text_format.hpp>

#include "../commands.hpp"
#include "../flags.hpp"
#include "../model_work.hpp"
#include "../output.hpp"
#include "../weights_flag.hpp"

namespace lorahub::cli {
namespace {

struct infer_request {
    sources in;
    std::string adapter;
    std::string weights;
    composer_choice composer;
    std::string route;  ///< "arrow": route the --lora modules per token instead of composing them
    std::int64_t top_k = 3;
    double temperature = 1.0;
    std::vector<std::string> general;
    std::int64_t max_new_tokens = 256;
    std::int64_t batch_size = 16;
    bool as_json = false;
    bool summary = false;
};

int run_infer(infer_request request) {
    require_at_least(request.max_new_tokens, 1, "--max-new-tokens");
    require_at_least(request.batch_size, 1, "--batch-size");
    const bool routed = request.route == "arrow";
    const bool composed = !request.weights.empty();
    if (routed) {
        if (composed || !request.adapter.empty()) throw argument_error("--route", "arrow routes the --lora modules: give no --weights or --adapter");
        require_at_least(request.top_k, 1, "--top-k");
        if (!(request.temperature > 0.0) || !std::isfinite(request.temperature)) throw argument_error("--temperature", "must be a finite number above 0");
    } else if (!request.general.empty()) {
        throw argument_error("--general", "is Arrow's GenKnowSub: give it with --route arrow");
    }
    if (composed && !request.adapter.empty()) throw argument_error("--adapter", "give --adapter or --lora with --weights, not both");
    if (!composed && !routed && !request.in.modules.empty())
        throw argument_error("--weights", "is required with --lora (one weight per module), unless --route arrow routes them");
    complete_from_demo_hub(request.in, composed || routed, true);
    infer_job job;
    job.model = request.in.model;
    job.examples = request.in.examples;
    job.adapter = request.adapter;
    job.options = {.max_new_tokens = static_cast<std::size_t>(request.max_new_tokens),
                   .batch_size = static_cast<std::size_t>(request.batch_size), .lora_name = request.adapter};
    if (routed) {
        job.modules = request.in.modules;
        job.arrow = arrow_options{static_cast<std::size_t>(request.top_k), request.temperature};
        job.general = request.general;
        job.options.lora_name = "Arrow routing";
        auto audited = request.in;
        audited.modules.insert(audited.modules.end(), request.general.begin(), request.general.end());
        audit_sources(audited, false);
    } else if (composed) {
        job.weights = parse_weights(request.weights);
        check_weight_count(job.weights, request.in.modules.size());
        job.modules = request.in.modules;
        job.composer = request.composer.composer("--composer");
        job.scaling = request.in.module_scaling();
        audit_sources(request.in, request.composer.name == weighted_ab::name);
    } else if (!request.adapter.empty()) {
        auto adapter_only = request.in;
        adapter_only.modules = {request.adapter};
        audit_sources(adapter_only, false);
    }
    const auto result = with_model_work(request.in.options(), [&]<class Work>() { return Work::infer(job); });
    const auto examples_count = result.predictions.size();
    if (request.as_json) {
        std::cout << json_text(io::json{{"predictions", result.predictions},
                                        {"accuracy", result.accuracy ? io::json(*result.accuracy) : io::json(nullptr)}})
                  << "\n";
    } else {
        if (!request.summary)
            for (const auto& prediction : result.predictions) std::cout << printable(prediction) << "\n";
        if (result.accuracy) std::cout << formatted("accuracy=%.2f%% (%zu examples)\n", *result.accuracy, examples_count);
        else if (request.summary) std::cout << formatted("predictions=%zu (no accuracy: some examples have no output)\n", examples_count);
    }
    return 0;
}

}  // namespace

command add_infer(CLI::App& app) {
    auto* infer = app.add_subcommand("infer", "Predict with a composed or saved adapter, or zero-shot, and report accuracy");
    auto request = std::make_shared<infer_request>();
    auto& r = *request;
    add_sources(infer, r.in, true);
    infer->add_option("--adapter", r.adapter, "A PEFT adapter folder (e.g. from learn --out)");
    infer->add_option("--weights", r.weights, "Weights for the --lora modules, comma-separated");
    add_composer_options(infer, r.composer, "--composer", true);
    infer->add_option("--route", r.route,
                      "arrow: route each token among the --lora modules by Arrow (PEFT's ArrowConfig: top-k by |x . top right singular "
                      "vector of B A|, softmax mix), zero-shot, instead of composing them with --weights")
        ->check(CLI::IsMember({"arrow"}));
    infer->add_option("--top-k", r.top_k, "Modules Arrow mixes per token (default 3)");
    infer->add_option("--temperature", r.temperature, "Arrow's softmax temperature (default 1)");
    infer->add_option("--general", r.general,
                      "General-knowledge module for Arrow's GenKnowSub (repeat): their mean A and B are subtracted from every --lora module");
    infer->add_option("--max-new-tokens", r.max_new_tokens, "Greedy decoding length limit (default 256)");
    infer->add_option("--batch-size", r.batch_size, "Examples generated together (default 16)");
    infer->add_flag("--json", r.as_json, "Print {\"predictions\": [...], \"accuracy\": x or null}");
    infer->add_flag("--summary", r.summary, "Print only the accuracy line, not the predictions");
    return {infer, [request](const std::string&) { return run_infer(*request); }};
}

}  // namespace lorahub::cli
