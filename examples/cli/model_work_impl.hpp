#pragma once

// The definitions of model_work (model_work.hpp), for the two translation units that
// instantiate it (model_work_fp32.cpp, model_work_bf16.cpp); no other file includes this.

#include <chrono>
#include <optional>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/hub/evaluate.hpp>
#include <lorahub/hub/infer.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/hub/merge.hpp>
#include <lorahub/hub/score.hpp>
#include <lorahub/io/examples.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/model/registry.hpp>
#include <lorahub/optim/policies.hpp>

#include "model_work.hpp"

namespace lorahub::cli {

namespace detail {

/// Loads the model in `directory` with its family's model type on `Backend` and calls f(model).
template <class Backend, class F>
decltype(auto) with_loaded_model(const std::filesystem::path& directory, F&& f) {
    return with_family(directory, [&]<class Family>() -> decltype(auto) {
        const auto model = Family::template model<Backend>::load(directory);
        return f(model);
    });
}

}  // namespace detail

template <class Backend>
learned model_work<Backend>::learn(const learn_job& job) {
    return detail::with_loaded_model<Backend>(job.model, [&]<class Model>(const Model& model) {
        const auto started = std::chrono::steady_clock::now();
        const auto pool = lora_pool::load(job.modules, job.scaling);
        const auto examples = io::read_examples(job.examples);
        const auto batches = tokenize_examples(model, examples, job.batch_size, display(job.examples));
        learned out{{}, pool.names(), pool.config(), 0};
        out.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (job.on_loaded) job.on_loaded(pool.size(), examples.size());
        learn_options<Model> options;
        static_cast<search_settings&>(options) = job.search;
        options.on_evaluation = job.on_evaluation;
        if (job.granularity == weight_granularity::module) {
            out.result = optim::with_optimizer(job.optimizer, [&]<class O>() { return lorahub::learn<O>(model, pool, batches, options, job.composer); },
                                               "--optimizer");
        } else {
            const granular_pool weights_per(pool, job.granularity);
            out.module_names = weights_per.names();
            out.result = optim::with_optimizer(job.optimizer, [&]<class O>() { return lorahub::learn<O>(model, weights_per, batches, options); },
                                               "--optimizer");
        }
        return out;
    });
}

template <class Backend>
score_result model_work<Backend>::score(const score_job& job) {
    return detail::with_loaded_model<Backend>(job.model, [&](const auto& model) {
        const auto pool = lora_pool::load(job.modules, job.scaling);
        const auto examples = io::read_examples(job.examples);
        return lorahub::score(model, pool, tokenize_examples(model, examples, job.batch_size, display(job.examples)), job.weights);
    });
}

template <class Backend>
inference_result model_work<Backend>::infer(const infer_job& job) {
    return detail::with_loaded_model<Backend>(job.model, [&](const auto& model) {
        const auto examples = io::read_examples(job.examples);
        if (!job.adapter.empty()) return lorahub::infer(model, examples, io::load_peft_adapter(job.adapter).layers, job.options);
        if (job.modules.empty()) return lorahub::infer(model, examples, job.options);
        if (job.arrow) {
            auto experts = lora_pool::load(job.modules);  // each module keeps its own scaling, as PEFT routes them
            if (!job.general.empty()) experts = subtract_general_knowledge(experts, lora_pool::load(job.general));
            return lorahub::infer(model, examples, std::span<const lora_layer>(arrow_layers(experts, *job.arrow)), job.options);
        }
        return lorahub::infer(model, examples, lora_pool::load(job.modules, job.scaling), job.weights, job.options, job.composer);
    });
}

template <class Backend>
evaluated_share model_work<Backend>::evaluate(const evaluate_job& job) {
    return detail::with_loaded_model<Backend>(job.model, [&](const auto& model) {
        const evaluation_session session(model, job.modules, job.tasks, job.plan);
        std::optional<run_store> store;
        if (!job.runs_dir.empty()) store.emplace(run_store::open_for(job.runs_dir, session.runs(), job.sources, job.inputs));
        auto results = session.run_share(job.share, store ? &*store : nullptr, [&](std::size_t index, const run_result& result, bool stored_before) {
            if (job.on_run) job.on_run(session.item_name(index), result, stored_before);
        });
        return evaluated_share{session.runs(), std::move(results)};
    });
}

template <class Backend>
void model_work<Backend>::merge(const std::filesystem::path& model_directory, const std::filesystem::path& adapter_directory,
                                const std::filesystem::path& out, io::existing_output existing) {
    detail::with_loaded_model<Backend>(model_directory, [&](const auto& model) {
        const auto adapter = io::load_peft_adapter(adapter_directory);
        save_merged_model(model, model.bind(adapter.layers, display(adapter_directory)), out, existing);
    });
}

}  // namespace lorahub::cli
