#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/examples.hpp"
#include "lorahub/model/t5/model.hpp"
#include "lorahub/model/t5/tokenizer.hpp"

namespace lorahub {

/// Examples as token ids, split into the batches the loss is computed over.
struct tokenized_examples {
    std::vector<t5::batch> batches;
    std::size_t count = 0;
};

/// Tokenizes inputs and outputs as the reference does (eos appended, truncated at 2048
/// tokens) and splits them in order into batches of `batch_size` (0 = one batch).
inline tokenized_examples tokenize_examples(const t5::tokenizer& tokens, std::span<const io::example> examples,
                                            std::size_t batch_size, const std::string& subject) {
    if (examples.empty()) throw argument_error(subject, "holds no examples");
    tokenized_examples result;
    result.count = examples.size();
    const std::size_t per_batch = batch_size == 0 ? examples.size() : batch_size;
    for (std::size_t i = 0; i < examples.size(); ++i) {
        if (!examples[i].output)
            throw argument_error(subject, "example " + std::to_string(i + 1) + " has no output; scoring needs one for every example");
        if (i % per_batch == 0) result.batches.emplace_back();
        result.batches.back().inputs.push_back(tokens.encode(examples[i].input));
        result.batches.back().labels.push_back(tokens.encode(*examples[i].output));
    }
    return result;
}

/// The reference LoraHub loss: the mean token cross-entropy of each batch, summed over
/// batches, divided by the number of examples (so one batch of 5 gives CE / 5).
template <class Model>
double reference_loss(const Model& model, const tokenized_examples& examples, const t5::lora_binding* lora) {
    double total = 0.0;
    for (const auto& batch : examples.batches) total += model.loss(batch, lora);
    return total / static_cast<double>(examples.count);
}

/// The reference regularizer: strength * mean_i |w_i| (strength 0.05 in LoraHub).
inline double l1_penalty(std::span<const double> w, double strength = 0.05) {
    if (w.empty()) return 0.0;
    double total = 0.0;
    for (double value : w) total += std::abs(value);
    return strength * total / static_cast<double>(w.size());
}

}  // namespace lorahub
