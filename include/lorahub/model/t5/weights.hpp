#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/t5/config.hpp"
#include "lorahub/model/t5/layout.hpp"

namespace lorahub::t5 {

/// A linear layer's weight [out, in], row-major, and its position in linear_layers().
struct linear_weight {
    std::string module;
    std::span<const float> weight;
    std::size_t in_features = 0;
    std::size_t out_features = 0;
};

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

/// The model's tensors as float32 views: zero-copy into the mapped files when stored as
/// aligned F32, converted once at load otherwise. Copies share the underlying memory.
class weights {
public:
    weights(const config& c, std::shared_ptr<const io::weight_store> store) : config_(c), store_(std::move(store)) {
        check_weights(c, *store_);
        shared = load("shared.weight");
        lm_head = c.tie_word_embeddings ? shared : load("lm_head.weight");
        encoder_position_bias = load("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
        decoder_position_bias = load("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
        encoder_final_norm = load("encoder.final_layer_norm.weight");
        decoder_final_norm = load("decoder.final_layer_norm.weight");
        std::map<std::string, std::size_t> index;
        for (const auto& spec : linear_layers(c)) {
            index[spec.module] = linears.size();
            linears.push_back({spec.module, load(spec.module + ".weight"), spec.in_features, spec.out_features});
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
    const io::weight_store& store() const noexcept { return *store_; }

    /// Index of a linear layer by PEFT module name, or linears.size() when there is none.
    std::size_t linear_index(const std::string& module) const {
        for (std::size_t i = 0; i < linears.size(); ++i)
            if (linears[i].module == module) return i;
        return linears.size();
    }

    /// Drops the mapped file pages of a linear layer's float32 weight from memory, for a
    /// backend that has converted it (they are read again from the file if touched).
    void evict_linear_source(std::size_t index) const noexcept {
        for (const auto& file : store_->files()) file->evict(std::as_bytes(linears[index].weight));
    }

    /// Replaces a linear layer's weight with owned values (used by merging).
    void replace_linear(std::size_t index, std::vector<float> values) {
        auto owned = std::make_shared<const std::vector<float>>(std::move(values));
        linears.at(index).weight = std::span<const float>(*owned);
        owned_.push_back(std::move(owned));
    }

    std::span<const float> shared, lm_head;
    std::span<const float> encoder_position_bias, decoder_position_bias;  // [buckets, heads]
    std::span<const float> encoder_final_norm, decoder_final_norm;
    std::vector<linear_weight> linears;
    std::vector<encoder_layer> encoder;
    std::vector<decoder_layer> decoder;

private:
    std::span<const float> load(const std::string& name) {
        const auto* found = store_->find(name);
        if (const auto direct = io::safetensors_file::f32_span(*found->view)) return *direct;
        auto owned = std::make_shared<const std::vector<float>>(found->file->read_f32(*found->view));
        std::span<const float> view(*owned);
        owned_.push_back(std::move(owned));
        return view;
    }

    config config_;
    std::shared_ptr<const io::weight_store> store_;
    std::vector<std::shared_ptr<const std::vector<float>>> owned_;
};

}  // namespace lorahub::t5
