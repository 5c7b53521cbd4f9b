#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "lorahub/io/json.hpp"

namespace lorahub {

/// What a model family says about a model directory without loading it for compute (lorahub
/// inspect, Python's model.config): checked against its weights, never run.
struct model_card {
    std::string family;                ///< the family's registry name ("t5", "llama")
    std::string kind;                  ///< "t5-model", "llama-model"
    std::string title;                 ///< "T5 model (gated-gelu, untied head)"
    std::vector<std::string> details;  ///< one line each: sizes, positions
    io::json config;                   ///< the config.json fields the family reads, as it reads them
    std::size_t lora_targets = 0;      ///< linear layers a LoRA module may target
    io::json tokenizer;                ///< {"file", "pieces", ...}, or null when the directory has none
    std::string tokenizer_line;        ///< "spiece.model, 90 pieces", "none (no spiece.model)"
};

}  // namespace lorahub
