#pragma once

#include <filesystem>
#include <string>

#include <lorahub/io/json.hpp>
#include <lorahub/model/t5/layout.hpp>

#include "random_model.hpp"

namespace lorahub::bench {

/// Flan-T5-base or -large's shape (gated-gelu, untied, vocab 32128).
inline t5::config flan_t5_config(bool large) {
    t5::config c;
    c.vocab_size = 32128;
    c.d_model = large ? 1024 : 768;
    c.d_kv = 64;
    c.num_heads = large ? 16 : 12;
    c.d_ff = large ? 2816 : 2048;
    c.num_layers = c.num_decoder_layers = large ? 24 : 12;
    c.gated_activation = true;
    c.dense_activation = activation::gelu_tanh;
    c.tie_word_embeddings = false;
    return c;
}

/// A model directory of random weights (normal, sd 0.05; norms 1) of that shape, stored as
/// `type`, under the system temp dir, written once and reused by later runs.
inline std::filesystem::path random_flan_t5(bool large, dtype type = dtype::f32) {
    const auto c = flan_t5_config(large);
    const io::json document = {{"model_type", "t5"}, {"vocab_size", c.vocab_size}, {"d_model", c.d_model}, {"d_kv", c.d_kv},
                               {"d_ff", c.d_ff}, {"num_layers", c.num_layers}, {"num_heads", c.num_heads},
                               {"feed_forward_proj", "gated-gelu"}, {"tie_word_embeddings", false}};
    const std::string name = std::string(large ? "lorahub-bench-t5-large" : "lorahub-bench-t5-base") +
                             (type == dtype::f32 ? "" : "-" + std::string(name_of(type)));
    return cached_random_model(name, t5::required_weights(c), document.dump(), 0.05f, type);
}

}  // namespace lorahub::bench
