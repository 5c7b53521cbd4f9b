#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lorahub/core/lora.hpp"
#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/bind_lora.hpp"
#include "lorahub/model/layers/linear.hpp"
#include "lorahub/model/merged_weights.hpp"

namespace lorahub {

/// What every model family holds and answers alike: its tensors (shared by copies of the
/// model), its tokenizer when the directory has one, its linear layers prepared once for the
/// backend, and LoRA bindings to those layers. t5::model and llama::model derive from it.
template <class Backend, class Weights, class Tokenizer>
class model_base {
public:
    using backend = Backend;
    using tokenizer = Tokenizer;
    /// LoRA views the backend reads: the host views on the CPU, device copies on a GPU.
    using lora_binding = typename Backend::lora_binding;
    /// One LoRA binding per candidate of a population (nullptr: none); see the models' losses().
    using candidates = layers::candidates<Backend>;

    const Weights& tensors() const noexcept { return *weights_; }
    const io::weight_store& weight_store() const noexcept { return weights_->store(); }
    bool has_tokenizer() const noexcept { return tokenizer_ != nullptr; }

    /// The linear layers LoRA can target, in binding order.
    std::vector<lora_target> lora_targets() const { return weights_->lora_targets(); }
    lora_binding bind(std::span<const lora_layer> layers, const std::string& subject) const {
        return Backend::adopt_lora(lorahub::bind_lora(*weights_, layers, subject));
    }
    /// Makes a binding see new values of the layers it was made from (learn() composes in
    /// place): nothing on the CPU, an upload on a device backend.
    void refresh(lora_binding& binding) const { Backend::refresh_lora(binding); }

    /// W' = W + s B A for every layer the binding gives a LoRA: (tensor name, values) pairs.
    std::vector<std::pair<std::string, std::vector<float>>> merged_weights(const lora_binding& binding) const {
        return merged_linear_weights(*weights_, Backend::host_lora(binding));
    }

protected:
    /// What a family's load() reads alike from a HF model directory: its Weights over the
    /// directory's weight files as config `c` lays them out (BF16 linear weights kept as stored
    /// when the backend packs them itself: linear_weight_form_for), and its tokenizer from
    /// `tokenizer_file` when the directory has one (null otherwise).
    struct loaded_parts {
        std::shared_ptr<const Weights> tensors;
        std::shared_ptr<const Tokenizer> tokens;
    };
    template <class Config>
    static loaded_parts load_parts(const std::filesystem::path& directory, const Config& c, std::string_view tokenizer_file) {
        loaded_parts parts{std::make_shared<const Weights>(c, std::make_shared<const io::weight_store>(directory), layers::linear_weight_form_for<Backend>),
                           nullptr};
        if (!tokenizer_file.empty() && std::filesystem::exists(directory / tokenizer_file)) parts.tokens = std::make_shared<const Tokenizer>(directory / tokenizer_file);
        return parts;
    }

    model_base(std::shared_ptr<const Weights> tensors, std::shared_ptr<const Tokenizer> tokens)
        : weights_(std::move(tensors)), tokenizer_(std::move(tokens)), linears_(*weights_) {}

    /// Tensors whose bound layers hold W' = W + s B A: what a merged model is built from.
    std::shared_ptr<const Weights> merged_tensors_of(const lora_binding& lora) const {
        return merged_tensors(*weights_, Backend::host_lora(lora));
    }

    std::shared_ptr<const Weights> weights_;
    std::shared_ptr<const Tokenizer> tokenizer_;
    layers::prepared_linears<Backend> linears_;
};

}  // namespace lorahub
