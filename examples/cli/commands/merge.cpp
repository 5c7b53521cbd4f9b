#include <iostream>
#include <memory>
#include <string>

#include <lorahub/core/printable.hpp>

#include "../commands.hpp"
#include "../model_work.hpp"

namespace lorahub::cli {
namespace {

struct merge_request {
    std::string model, adapter, out;
};

int run_merge(const merge_request& request) {
    with_model_work(model_options{}, [&]<class Work>() { Work::merge(request.model, request.adapter, request.out); });
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
    return {merge, [request](const std::string&) { return run_merge(*request); }};
}

}  // namespace lorahub::cli
