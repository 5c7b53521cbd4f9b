#include <iostream>
#include <memory>
#include <string>

#include <lorahub/core/printable.hpp>

#include "../commands.hpp"
#include "../flags.hpp"
#include "../model_work.hpp"
#include "../output.hpp"

namespace lorahub::cli {
namespace {

struct merge_request {
    std::string model, adapter, out;
    bool force = false;
    bool allow_base_mismatch = false;
};

int run_merge(const merge_request& request) {
    planned_outputs{{request.model, request.adapter}, {request.out}, {}, request.force}.check();
    sources audited;
    audited.model = request.model;
    audited.modules = {request.adapter};
    audited.allow_base_mismatch = request.allow_base_mismatch;
    audit_sources(audited, false);
    with_model_work(model_options{}, [&]<class Work>() { Work::merge(request.model, request.adapter, request.out, existing_output_policy(request.force)); });
    std::cout << "merged model: " << printable(request.out) << "\n";
    return 0;
}

}  // namespace

command add_merge(CLI::App& app) {
    auto* merge = app.add_subcommand("merge", "Write a full model directory with an adapter merged into its weights");
    auto request = std::make_shared<merge_request>();
    merge->add_option("--model", request->model, "Base model directory")->required();
    merge->add_option("--adapter", request->adapter, "PEFT adapter folder")->required();
    merge->add_option("--out", request->out, "Output model directory")->required();
    add_force_flag(merge, request->force);
    add_allow_base_mismatch_flag(merge, request->allow_base_mismatch);
    return {merge, [request](const std::string&) { return run_merge(*request); }};
}

}  // namespace lorahub::cli
