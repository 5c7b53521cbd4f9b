#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include <lorahub/core/text_format.hpp>

#include "../commands.hpp"
#include "../flags.hpp"
#include "../model_work.hpp"
#include "../output.hpp"
#include "../weights_flag.hpp"

namespace lorahub::cli {
namespace {

struct score_request {
    sources in;
    std::string weights;
    std::int64_t batch_size = 0;
    bool as_json = false;
};

/// The LoraHub objective of fixed weights, as learn scores a candidate.
int run_score(score_request request) {
    require_at_least(request.batch_size, 0, "--batch-size");
    if (request.weights.empty()) throw argument_error("--weights", "is required with --lora (one weight per module)");
    const auto weights = parse_weights(request.weights);
    complete_from_demo_hub(request.in, true, false);
    check_weight_count(weights, request.in.modules.size());
    audit_sources(request.in, true);
    const score_job job{request.in.model, request.in.examples, request.in.modules, weights, static_cast<std::size_t>(request.batch_size),
                        request.in.module_scaling()};
    const auto result = with_model_work(request.in.options(), [&]<class Work>() { return Work::score(job); });
    if (!std::isfinite(result.loss))
        throw argument_error(request.in.examples, formatted("the loss of these weights is %g: the model overflows on these examples", result.loss));
    if (request.as_json) std::cout << json_text(io::json{{"loss", result.loss}, {"objective", result.objective}}) << "\n";
    else std::cout << formatted("loss=%.9g objective=%.9g\n", result.loss, result.objective);
    return 0;
}

}  // namespace

command add_score(CLI::App& app) {
    auto* score = app.add_subcommand("score", "Print the LoraHub objective of fixed module weights");
    auto request = std::make_shared<score_request>();
    add_sources(score, request->in, true);
    score->add_option("--weights", request->weights, "One weight per --lora, comma-separated");
    score->add_option("--batch-size", request->batch_size, "Examples per loss batch (default: all in one batch)");
    score->add_flag("--json", request->as_json, "Print {\"loss\": x, \"objective\": y}");
    return {score, [request](const std::string&) { return run_score(*request); }};
}

}  // namespace lorahub::cli
