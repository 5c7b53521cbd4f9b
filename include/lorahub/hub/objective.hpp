#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "lorahub/concepts.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/io/examples.hpp"

namespace lorahub {

/// Examples as a model's token batches, split into the batches the loss is computed over.
template <class Batch>
struct tokenized_examples {
    std::vector<Batch> batches;
    std::size_t count = 0;
};

/// The tokenized examples type of model M.
template <class M>
using examples_for = tokenized_examples<typename M::batch>;

/// Tokenizes inputs and outputs as the model's LoraHub loss wants them (for T5: eos
/// appended, truncated at 2048 tokens) and splits them in order into batches of
/// `batch_size` (0 = one batch). `subject` names the examples in errors.
template <Model M>
examples_for<M> tokenize_examples(const M& model, std::span<const io::example> examples, std::size_t batch_size,
                                  const std::string& subject) {
    if (examples.empty()) throw argument_error(subject, "holds no examples");
    examples_for<M> result;
    result.count = examples.size();
    const std::size_t per_batch = batch_size == 0 ? examples.size() : batch_size;
    for (std::size_t i = 0; i < examples.size(); ++i) {
        if (!examples[i].output)
            throw argument_error(subject, "example " + std::to_string(i + 1) + " has no output; scoring needs one for every example");
        if (i % per_batch == 0) result.batches.emplace_back();
        model.add_example(result.batches.back(), examples[i].input, *examples[i].output);
    }
    return result;
}

/// The reference LoraHub loss: the mean token cross-entropy of each batch, summed over
/// batches, divided by the number of examples (so one batch of 5 gives CE / 5).
template <Model M>
double reference_loss(const M& model, const examples_for<M>& examples, const typename M::lora_binding* lora,
                      typename M::context& context) {
    double total = 0.0;
    for (const auto& batch : examples.batches) total += model.loss(batch, lora, context);
    return total / static_cast<double>(examples.count);
}

template <Model M>
double reference_loss(const M& model, const examples_for<M>& examples, const typename M::lora_binding* lora = nullptr) {
    auto context = model.make_context();
    return reference_loss(model, examples, lora, context);
}

/// reference_loss() of each candidate's LoRA (nullptr: none), the candidates of a population
/// scored together in one pass per batch.
template <PopulationModel M>
std::vector<double> reference_losses(const M& model, const examples_for<M>& examples,
                                     std::span<const typename M::lora_binding* const> candidates, typename M::context& context) {
    std::vector<double> totals(candidates.size(), 0.0);
    for (const auto& batch : examples.batches) {
        const auto losses = model.losses(batch, candidates, context);
        for (std::size_t p = 0; p < totals.size(); ++p) totals[p] += losses[p];
    }
    for (auto& total : totals) total /= static_cast<double>(examples.count);
    return totals;
}

/// The loss as the mean token cross-entropy over all label tokens of all examples, instead
/// of upstream's per-batch sum divided by the number of examples. Each batch's mean is
/// weighted by its kept tokens, so nothing is copied per evaluation.
template <Model M>
double token_mean_loss(const M& model, const examples_for<M>& examples, const typename M::lora_binding* lora,
                       typename M::context& context) {
    double total = 0.0;
    std::size_t kept = 0;
    for (const auto& batch : examples.batches) {
        const std::size_t batch_kept = model.label_tokens(batch);
        total += model.loss(batch, lora, context) * static_cast<double>(batch_kept);
        kept += batch_kept;
    }
    return total / static_cast<double>(kept);
}

/// The reference regularizer: strength * mean_i |w_i| (strength 0.05 in LoraHub).
inline double l1_penalty(std::span<const double> w, double strength = 0.05) {
    if (w.empty()) return 0.0;
    double total = 0.0;
    for (double value : w) total += std::abs(value);
    return strength * total / static_cast<double>(w.size());
}

}  // namespace lorahub
