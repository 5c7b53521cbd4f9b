#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/layers/layer_stack.hpp"
#include "lorahub/model/t5/config.hpp"
#include "lorahub/model/t5/layout.hpp"
#include "lorahub/model/tensors.hpp"

namespace lorahub::t5 {

using lorahub::linear_weight;

/// The model's tensors as float32 views (model_tensors): zero-copy into the mapped files when
/// stored as aligned F32, converted once at load otherwise. Copies share the underlying memory.
/// Every name comes from layout.hpp.
class weights : public model_tensors {
public:
    weights(const config& c, std::shared_ptr<const io::weight_store> store, linear_weight_form form = linear_weight_form::float32)
        : model_tensors(std::move(store), form), config_(c) {
        check_weights(c, this->store());
        shared = load(shared_embedding);
        lm_head = c.tie_word_embeddings ? shared : load(t5::lm_head);
        encoder_position_bias = load(t5::encoder_position_bias);
        decoder_position_bias = load(t5::decoder_position_bias);
        encoder_final_norm = load(t5::encoder_final_norm);
        decoder_final_norm = load(t5::decoder_final_norm);
        for (const auto& target : linear_layers(c)) add_linear(target);
        const auto projections = feed_forward_projections(c);
        auto attention = [&](const std::string& prefix) {
            return layers::attention_linears{linear_index(prefix + ".q"), linear_index(prefix + ".k"), linear_index(prefix + ".v"), linear_index(prefix + ".o")};
        };
        auto feed_forward = [&](const std::string& prefix) {
            const auto gate = linear_index(prefix + "." + projections.front());
            return layers::feed_forward_linears{gate, c.gated_activation ? linear_index(prefix + "." + projections[1]) : gate,
                                                linear_index(prefix + "." + projections.back())};
        };
        for (const bool decoder : {false, true}) {
            const std::size_t blocks = decoder ? c.num_decoder_layers : c.num_layers;
            for (std::size_t i = 0; i < blocks; ++i) {
                const auto names = block_names::of(decoder, i);
                layers::host_layer layer{load(names.self_norm), attention(names.self_attention), {}, {}, load(names.ff_norm),
                                         feed_forward(names.feed_forward)};
                if (decoder) {
                    layer.cross_norm = load(names.cross_norm);
                    layer.cross = attention(names.cross_attention);
                }
                (decoder ? this->decoder : encoder).push_back(layer);
            }
        }
    }

    const config& model_config() const noexcept { return config_; }

    std::span<const float> shared, lm_head;
    std::span<const float> encoder_position_bias, decoder_position_bias;  // [buckets, heads]
    std::span<const float> encoder_final_norm, decoder_final_norm;
    std::vector<layers::host_layer> encoder, decoder;

private:
    config config_;
};

}  // namespace lorahub::t5
