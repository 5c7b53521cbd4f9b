#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/model_card.hpp"
#include "lorahub/model/t5/config.hpp"
#include "lorahub/model/t5/layout.hpp"
#include "lorahub/model/t5/tokenizer.hpp"

namespace lorahub::t5 {

template <class Backend>
class model;  // model.hpp

/// The T5 family's entry in the model registry (model/families.hpp). Light to include:
/// the model itself is in model.hpp.
struct family {
    static constexpr std::string_view name = "t5";
    static constexpr std::string_view description = "T5ForConditionalGeneration: T5, T5 v1.1, Flan-T5, mT5 (seq2seq)";
    static constexpr std::span<const std::string_view> model_types = t5::model_types;
    static constexpr std::string_view peft_task_type = "SEQ_2_SEQ_LM";  ///< what its adapters' task_type says
    template <class Backend>
    using model = t5::model<Backend>;

    /// The directory's tokenizer (spiece.model), as the model reads it.
    static t5::tokenizer load_tokenizer(const std::filesystem::path& directory) {
        if (!std::filesystem::exists(directory / "spiece.model")) throw io_error(display(directory), "has no spiece.model");
        return t5::tokenizer(directory / "spiece.model");
    }

    /// The directory's config and weights checked against each other, summarised.
    static model_card describe(const std::filesystem::path& directory) {
        const auto c = load_config(directory / "config.json");
        check_weights(c, io::weight_store(directory));
        model_card card;
        card.family = std::string(name);
        card.kind = "t5-model";
        card.title = "T5 model (" + c.feed_forward_proj + (c.tie_word_embeddings ? ", tied head)" : ", untied head)");
        card.details.push_back("d_model " + std::to_string(c.d_model) + ", d_kv " + std::to_string(c.d_kv) + ", heads " +
                               std::to_string(c.num_heads) + ", d_ff " + std::to_string(c.d_ff) + ", layers " + std::to_string(c.num_layers) +
                               "+" + std::to_string(c.num_decoder_layers) + ", vocab " + std::to_string(c.vocab_size));
        card.config = {{"feed_forward_proj", c.feed_forward_proj},
                       {"d_model", c.d_model},
                       {"d_kv", c.d_kv},
                       {"d_ff", c.d_ff},
                       {"num_heads", c.num_heads},
                       {"num_layers", c.num_layers},
                       {"num_decoder_layers", c.num_decoder_layers},
                       {"vocab_size", c.vocab_size},
                       {"relative_attention_num_buckets", c.relative_attention_num_buckets},
                       {"relative_attention_max_distance", c.relative_attention_max_distance},
                       {"tie_word_embeddings", c.tie_word_embeddings}};
        card.lora_targets = linear_layers(c).size();
        if (const auto spiece = directory / "spiece.model"; std::filesystem::exists(spiece)) {
            const tokenizer tokens(spiece);
            card.tokenizer = {{"file", "spiece.model"}, {"pieces", tokens.piece_count()}, {"size", tokens.size()}};
            card.tokenizer_line = "spiece.model, " + std::to_string(tokens.piece_count()) + " pieces";
        } else {
            card.tokenizer_line = "none (no spiece.model)";
        }
        return card;
    }
};

}  // namespace lorahub::t5
