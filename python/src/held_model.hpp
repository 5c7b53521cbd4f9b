#pragma once

// model_handle for one model type; included only by model_fp32.cpp and model_bf16.cpp.

#include <algorithm>
#include <mutex>
#include <optional>
#include <utility>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/hub/infer.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/hub/merge.hpp>
#include <lorahub/hub/score.hpp>
#include <lorahub/model/registry.hpp>
#include <lorahub/optim/policies.hpp>

#include "model_handle.hpp"

namespace lorahub::python {

template <class M>
class held_model final : public model_handle {
public:
    held_model(M model, std::string family, std::filesystem::path directory)
        : model_(std::move(model)), family_(std::move(family)), directory_(std::move(directory)) {}

    std::string family() const override { return family_; }
    const std::filesystem::path& directory() const override { return directory_; }
    std::vector<lora_target> targets() const override { return model_.lora_targets(); }
    std::vector<int> tokenize(std::string_view text) const override { return model_.encode_input(text); }
    std::string detokenize(std::span<const int> ids) const override { return model_.decode_output(ids); }

    learn_result learn(const lora_pool& pool, const any_composer& composer, std::span<const io::example> examples,
                       const search_request& request) const override {
        learn_options<M> options;
        static_cast<search_settings&>(options) = request.search;
        if (request.regularizer) options.regularizer = request.regularizer;
        options.on_evaluation = request.on_evaluation;
        options.stop = request.stop;
        const auto batches = tokenized(examples, request.batch_size);
        if (!request.optimizer.empty())
            return optim::with_optimizer(request.optimizer, [&]<class O>() { return lorahub::learn<O>(model_, pool, *batches, options, composer); });
        bool made = false;
        auto make = [&](const optim::settings& settings) {
            if (made) throw argument_error("optimizer", "an ask/tell object drives one search: use starts=1 with it");
            made = true;
            auto self = request.make_external(settings);
            auto name = self->name();
            return external_optimizer{std::move(self), std::move(name)};
        };
        return learn_using(make, model_, pool, *batches, options, composer);
    }

    std::vector<score_result> score(const lora_pool& pool, const any_composer& composer, std::span<const io::example> examples,
                                    std::size_t batch_size, std::span<const std::vector<double>> points,
                                    const std::function<double(std::span<const double>)>& regularizer) const override {
        learn_options<M> options;
        if (regularizer) options.regularizer = regularizer;
        const auto batches = tokenized(examples, batch_size);
        if (points.size() == 1) return {lorahub::score(model_, pool, *batches, points.front(), options, composer)};
        return score_all(model_, pool, *batches, points, options, composer);
    }

    inference_result infer(std::span<const io::example> examples, std::span<const lora_layer> layers,
                           const infer_options& options) const override {
        return lorahub::infer(model_, examples, layers, options);
    }

    void save_merged(std::span<const lora_layer> layers, const std::string& name, const std::filesystem::path& out,
                     io::existing_output existing) const override {
        save_merged_model(model_, model_.bind(layers, name), out, existing);
    }

private:
    /// The examples as token batches; the last ones asked for are kept, so that scoring many
    /// weights on the same examples tokenizes them once.
    std::shared_ptr<const examples_for<M>> tokenized(std::span<const io::example> examples, std::size_t batch_size) const {
        std::lock_guard lock(cache_mutex_);
        const bool same = cached_ && cached_batch_size_ == batch_size && cached_examples_.size() == examples.size() &&
                          std::equal(examples.begin(), examples.end(), cached_examples_.begin(), [](const io::example& a, const io::example& b) {
                              return a.input == b.input && a.output == b.output;
                          });
        if (!same) {
            cached_ = std::make_shared<const examples_for<M>>(tokenize_examples(model_, examples, batch_size, "examples"));
            cached_examples_.assign(examples.begin(), examples.end());
            cached_batch_size_ = batch_size;
        }
        return cached_;
    }

    M model_;
    std::string family_;
    std::filesystem::path directory_;
    mutable std::mutex cache_mutex_;
    mutable std::shared_ptr<const examples_for<M>> cached_;
    mutable std::vector<io::example> cached_examples_;
    mutable std::size_t cached_batch_size_ = 0;
};

template <class Backend>
std::shared_ptr<const model_handle> load_held(const std::filesystem::path& directory) {
    return with_family(directory, [&]<class Family>() -> std::shared_ptr<const model_handle> {
        using model_type = typename Family::template model<Backend>;
        return std::make_shared<const held_model<model_type>>(model_type::load(directory), std::string(Family::name), directory);
    });
}

}  // namespace lorahub::python
