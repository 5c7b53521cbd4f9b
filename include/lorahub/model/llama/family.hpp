#pragma once

#include <algorithm>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/llama/config.hpp"
#include "lorahub/model/llama/layout.hpp"
#include "lorahub/model/llama/tokenizer.hpp"
#include "lorahub/model/model_card.hpp"

namespace lorahub::llama {

template <class Backend>
class model;  // model.hpp

/// The Llama family's entry in the model registry (model/families.hpp). Light to include:
/// the model itself is in model.hpp.
struct family {
    static constexpr std::string_view name = "llama";
    static constexpr std::string_view description = "LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM (causal LMs)";
    static constexpr std::span<const std::string_view> model_types = llama::model_types;
    static constexpr std::string_view peft_task_type = "CAUSAL_LM";  ///< what its adapters' task_type says
    template <class Backend>
    using model = llama::model<Backend>;

    /// The directory's tokenizer (tokenizer.model, else tokenizer.json), as the model reads it.
    static llama::tokenizer load_tokenizer(const std::filesystem::path& directory) {
        const auto file = tokenizer::file_in(directory);
        if (file.empty()) throw io_error(display(directory), "has no tokenizer.model or tokenizer.json");
        return llama::tokenizer(file);
    }

    /// The directory's config and weights checked against each other, summarised.
    static model_card describe(const std::filesystem::path& directory) {
        const auto c = load_config(directory / "config.json");
        check_weights(c, io::weight_store(directory));
        model_card card;
        card.family = std::string(name);
        card.kind = "llama-model";
        card.title = "Llama-family causal LM (" + c.model_type + (c.tie_word_embeddings ? ", tied head)" : ", untied head)");
        card.config = {{"model_type", c.model_type},
                       {"hidden_size", c.hidden_size},
                       {"intermediate_size", c.intermediate_size},
                       {"num_hidden_layers", c.num_hidden_layers},
                       {"num_attention_heads", c.num_attention_heads},
                       {"num_key_value_heads", c.num_key_value_heads},
                       {"head_dim", c.head_dim},
                       {"vocab_size", c.vocab_size},
                       {"rope_theta", c.rope_theta},
                       {"rope_scaling", c.rope_scaling.type},
                       {"rope_scaling_factor", c.rope_scaling.factor},
                       {"max_position_embeddings", c.max_position_embeddings},
                       {"tie_word_embeddings", c.tie_word_embeddings},
                       {"layer_windows", c.layer_windows},
                       {"qkv_bias", c.qkv_bias}};
        card.details.push_back("hidden " + std::to_string(c.hidden_size) + ", heads " + std::to_string(c.num_attention_heads) + " (key/value " +
                               std::to_string(c.num_key_value_heads) + ", head_dim " + std::to_string(c.head_dim) + "), intermediate " +
                               std::to_string(c.intermediate_size) + ", layers " + std::to_string(c.num_hidden_layers) + ", vocab " +
                               std::to_string(c.vocab_size));
        card.details.push_back("rope_theta " + card.config["rope_theta"].dump() +
                               (c.rope_scaling.type != "default" ? ", " + c.rope_scaling.type + " scaling " + card.config["rope_scaling_factor"].dump() : std::string()) +
                               ", max positions " + std::to_string(c.max_position_embeddings));
        std::size_t windowed = 0;
        for (const std::size_t window : c.layer_windows) windowed += window != 0;
        if (windowed > 0)
            card.details.push_back("sliding window " + std::to_string(*std::max_element(c.layer_windows.begin(), c.layer_windows.end())) + " on " +
                                   std::to_string(windowed) + " of " + std::to_string(c.num_hidden_layers) + " layers");
        if (c.qkv_bias) card.details.push_back("q/k/v projections with bias");
        card.lora_targets = linear_layers(c).size();
        if (const auto file = tokenizer::file_in(directory); !file.empty()) {
            const tokenizer tokens(file);
            card.tokenizer = {{"file", file.filename().string()}, {"pieces", tokens.piece_count()}};
            card.tokenizer_line = file.filename().string() + ", " + std::to_string(tokens.piece_count()) +
                                  (file.extension() == ".json" ? " tokens" : " pieces");
        } else {
            card.tokenizer_line = "none (no tokenizer.model or tokenizer.json)";
        }
        return card;
    }
};

}  // namespace lorahub::llama
