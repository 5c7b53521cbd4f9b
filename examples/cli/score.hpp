#pragma once

#include <charconv>
#include <filesystem>
#include <string>
#include <vector>

#include <lorahub/core/error.hpp>
#include <lorahub/hub/objective.hpp>
#include <lorahub/io/examples.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/lora/weighted_ab.hpp>
#include <lorahub/model/t5/model.hpp>

namespace lorahub::cli {

/// "0.5,-1,2e-1" -> {0.5, -1, 0.2}; anything else is an error naming the item.
inline std::vector<double> parse_weights(const std::string& text) {
    std::vector<double> weights;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, end - start);
        double value = 0;
        const auto [rest, failure] = std::from_chars(item.data(), item.data() + item.size(), value);
        if (item.empty() || failure != std::errc() || rest != item.data() + item.size() || !std::isfinite(value))
            throw argument_error("--weights", "\"" + item + "\" is not a finite number");
        weights.push_back(value);
        start = end + 1;
    }
    return weights;
}

struct score_result {
    double loss;
    double objective;
};

/// The LoraHub objective of fixed weights: reference loss of the WeightedAB composition
/// plus 0.05 * mean|w|.
inline score_result score(const std::filesystem::path& model_dir, const std::vector<std::filesystem::path>& modules,
                          const std::filesystem::path& examples_file, const std::vector<double>& weights, std::size_t batch_size) {
    if (weights.size() != modules.size())
        throw argument_error("--weights", std::to_string(weights.size()) + " weights for " + std::to_string(modules.size()) + " modules");
    const auto model = t5::model<>::load(model_dir);
    const auto pool = lora_pool::load(modules);
    const auto examples = io::read_examples(examples_file);
    const auto batches = tokenize_examples(model.tokens(), examples, batch_size, display(examples_file));
    auto composed = weighted_ab::allocate(pool);
    weighted_ab::compose(pool, weights, composed);
    const auto lora = model.bind(composed, "composed LoRA");
    const double loss = reference_loss(model, batches, &lora);
    return {loss, loss + l1_penalty(weights)};
}

}  // namespace lorahub::cli
