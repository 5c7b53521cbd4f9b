#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/layers/layer_stack.hpp"
#include "lorahub/model/llama/config.hpp"
#include "lorahub/model/llama/layout.hpp"
#include "lorahub/model/tensors.hpp"

namespace lorahub::llama {

/// The model's tensors as float32 views over the weight store (model_tensors): zero-copy into
/// the mapped files when stored as aligned F32, converted once at load otherwise; layers found
/// by the names of layout.hpp. Copies share the underlying memory.
class weights : public model_tensors {
public:
    weights(const config& c, std::shared_ptr<const io::weight_store> store, linear_weight_form form = linear_weight_form::float32)
        : model_tensors(std::move(store), form), config_(c) {
        check_weights(c, this->store());
        embed_tokens = load(llama::embed_tokens);
        lm_head = c.tie_word_embeddings ? embed_tokens : load(llama::lm_head);
        final_norm = load(llama::final_norm);
        for (const auto& target : linear_layers(c)) add_linear(target, has_bias(c, target.module));
        for (std::size_t i = 0; i < c.num_hidden_layers; ++i) {
            const auto p = layer_prefix(i);
            auto linear = [&](const char* name) { return linear_index(p + name); };
            using names = layer_names;
            layers.push_back({load(p + names::input_norm),
                              {linear(names::q), linear(names::k), linear(names::v), linear(names::o)},
                              {},
                              std::nullopt,
                              load(p + names::post_attention_norm),
                              {linear(names::gate), linear(names::up), linear(names::down)},
                              c.window_of(i)});
        }
    }

    const config& model_config() const noexcept { return config_; }

    std::span<const float> embed_tokens, lm_head, final_norm;
    std::vector<layers::host_layer> layers;

private:
    config config_;
};

}  // namespace lorahub::llama
