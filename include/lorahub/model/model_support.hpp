#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/model/linear_layers.hpp"

namespace lorahub {

/// What both model families do the same way around their forward passes.

/// Every linear layer's weight prepared once for `Backend` (a view for fp32; a bf16 copy in
/// bf16 mode, after which the float32 source pages are released, so that the peak stays near
/// the converted size).
template <class Backend>
std::shared_ptr<const std::vector<typename Backend::weight>> prepare_linears(const model_tensors& tensors) {
    auto prepared = std::make_shared<std::vector<typename Backend::weight>>();
    prepared->reserve(tensors.linears.size());
    for (std::size_t index = 0; index < tensors.linears.size(); ++index) {
        const auto& linear = tensors.linears[index];
        prepared->push_back(Backend::prepare(linear.weight.data(), linear.out_features, linear.in_features));
        if constexpr (!Backend::reads_source_weights) tensors.evict_linear_source(index);
    }
    return prepared;
}

/// Token-id sequences a model is given: none empty, every id inside the vocabulary.
inline void check_token_ids(const std::vector<std::vector<int>>& sequences, std::size_t vocab_size, const char* what) {
    for (std::size_t s = 0; s < sequences.size(); ++s) {
        if (sequences[s].empty()) throw argument_error(what, "sequence " + std::to_string(s) + " is empty");
        for (int id : sequences[s])
            if (id < 0 || static_cast<std::size_t>(id) >= vocab_size)
                throw argument_error(what, "sequence " + std::to_string(s) + " holds token id " + std::to_string(id) +
                                               ", outside the model's vocabulary of " + std::to_string(vocab_size));
    }
}

/// Mean of each of `copies` equal consecutive blocks of per-row losses (one block per stacked
/// copy of a batch, i.e. per candidate) into `means`.
inline void mean_per_copy(std::span<const double> row_losses, std::size_t copies, std::vector<double>& means) {
    const std::size_t kept = row_losses.size() / copies;
    means.resize(copies);
    for (std::size_t copy = 0; copy < copies; ++copy) {
        double total = 0.0;
        for (std::size_t i = 0; i < kept; ++i) total += row_losses[copy * kept + i];
        means[copy] = total / static_cast<double>(kept);
    }
}

}  // namespace lorahub
