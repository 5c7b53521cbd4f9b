#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "lorahub/core/error.hpp"

namespace lorahub {

/// What both model families do the same way around their forward passes.

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
