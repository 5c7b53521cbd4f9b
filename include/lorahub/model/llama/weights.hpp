#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/linear_layers.hpp"
#include "lorahub/model/llama/config.hpp"
#include "lorahub/model/llama/layout.hpp"

namespace lorahub::llama {

/// Indices into weights::linears of one decoder layer's projections, and its two norms.
struct decoder_layer {
    std::span<const float> input_norm, post_attention_norm;
    std::size_t q, k, v, o, gate, up, down;
};

/// The model's tensors as float32 views (model_tensors): zero-copy into the mapped files when
/// stored as aligned F32, converted once at load otherwise (bf16/f16 checkpoints). Copies
/// share the underlying memory.
class weights : public model_tensors {
public:
    weights(const config& c, std::shared_ptr<const io::weight_store> store) : model_tensors(std::move(store)), config_(c) {
        check_weights(c, this->store());
        embed_tokens = load("model.embed_tokens.weight");
        lm_head = c.tie_word_embeddings ? embed_tokens : load("lm_head.weight");
        final_norm = load("model.norm.weight");
        for (const auto& target : linear_layers(c)) add_linear(target);
        constexpr std::size_t per_layer = std::size(projections);
        for (std::size_t i = 0; i < c.num_hidden_layers; ++i) {
            const auto p = layer_prefix(i);
            const std::size_t first = i * per_layer;
            layers.push_back({load(p + "input_layernorm.weight"), load(p + "post_attention_layernorm.weight"), first, first + 1, first + 2,
                              first + 3, first + 4, first + 5, first + 6});
        }
    }

    const config& model_config() const noexcept { return config_; }

    std::span<const float> embed_tokens, lm_head, final_norm;
    std::vector<decoder_layer> layers;

private:
    config config_;
};

}  // namespace lorahub::llama
