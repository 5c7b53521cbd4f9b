#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/linear_layers.hpp"
#include "lorahub/model/t5/config.hpp"
#include "lorahub/model/t5/layout.hpp"

namespace lorahub::t5 {

using lorahub::linear_weight;

struct attention_block {
    std::size_t q, k, v, o;  // indices into weights::linears
};

struct feed_forward_block {
    std::size_t wi, wi_1, wo;  // wi is wi_0 when gated; wi_1 is used only when gated
};

struct encoder_layer {
    std::span<const float> self_norm, ff_norm;
    attention_block self;
    feed_forward_block ff;
};

struct decoder_layer {
    std::span<const float> self_norm, cross_norm, ff_norm;
    attention_block self, cross;
    feed_forward_block ff;
};

/// The model's tensors as float32 views (model_tensors): zero-copy into the mapped files when
/// stored as aligned F32, converted once at load otherwise. Copies share the underlying memory.
class weights : public model_tensors {
public:
    weights(const config& c, std::shared_ptr<const io::weight_store> store) : model_tensors(std::move(store)), config_(c) {
        check_weights(c, this->store());
        shared = load("shared.weight");
        lm_head = c.tie_word_embeddings ? shared : load("lm_head.weight");
        encoder_position_bias = load("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
        decoder_position_bias = load("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
        encoder_final_norm = load("encoder.final_layer_norm.weight");
        decoder_final_norm = load("decoder.final_layer_norm.weight");
        std::map<std::string, std::size_t> index;
        for (const auto& spec : linear_layers(c)) {
            index[spec.module] = linears.size();
            add_linear(spec);
        }
        auto attention = [&](const std::string& prefix) {
            return attention_block{index.at(prefix + "q"), index.at(prefix + "k"), index.at(prefix + "v"), index.at(prefix + "o")};
        };
        auto feed_forward = [&](const std::string& prefix) {
            if (c.gated_activation) return feed_forward_block{index.at(prefix + "wi_0"), index.at(prefix + "wi_1"), index.at(prefix + "wo")};
            return feed_forward_block{index.at(prefix + "wi"), index.at(prefix + "wi"), index.at(prefix + "wo")};
        };
        for (std::size_t i = 0; i < c.num_layers; ++i) {
            const auto p = encoder_block(i);
            encoder.push_back({load(p + "0.layer_norm.weight"), load(p + "1.layer_norm.weight"), attention(p + "0.SelfAttention."),
                               feed_forward(p + "1.DenseReluDense.")});
        }
        for (std::size_t i = 0; i < c.num_decoder_layers; ++i) {
            const auto p = decoder_block(i);
            decoder.push_back({load(p + "0.layer_norm.weight"), load(p + "1.layer_norm.weight"), load(p + "2.layer_norm.weight"),
                               attention(p + "0.SelfAttention."), attention(p + "1.EncDecAttention."),
                               feed_forward(p + "2.DenseReluDense.")});
        }
    }

    const config& model_config() const noexcept { return config_; }

    std::span<const float> shared, lm_head;
    std::span<const float> encoder_position_bias, decoder_position_bias;  // [buckets, heads]
    std::span<const float> encoder_final_norm, decoder_final_norm;
    std::vector<encoder_layer> encoder;
    std::vector<decoder_layer> decoder;

private:
    config config_;
};

}  // namespace lorahub::t5
