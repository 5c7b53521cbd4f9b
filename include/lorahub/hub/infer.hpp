#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lorahub/concepts.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/hub/learn.hpp"
#include "lorahub/io/examples.hpp"
#include "lorahub/lora/weighted_ab.hpp"

namespace lorahub {

/// Upstream's answer normalisation: s.strip().lower().replace(".", ""), on ASCII
/// (Python's strip/lower also fold non-ASCII whitespace and letters).
inline std::string normalize_answer(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\n\r\f\v");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\n\r\f\v");
    std::string out;
    for (char c : text.substr(first, last - first + 1))
        if (c != '.') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

struct inference_result {
    std::vector<std::string> predictions;
    /// Percentage of exact matches after normalisation, as upstream reports it; empty unless
    /// every example has an output.
    std::optional<double> accuracy;
};

struct infer_options {
    std::size_t max_new_tokens = 256;
    std::size_t batch_size = 16;  ///< examples generated together
    /// Names the LoRA in errors (an adapter directory, ...); empty: named after its origin.
    std::string lora_name{};
};

/// Greedy predictions for every example with the LoRA `layers` applied at run time (none:
/// zero-shot), in batches, and the upstream accuracy when every example carries an output.
template <Model M>
inference_result infer(const M& model, std::span<const io::example> examples, std::span<const lora_layer> layers = {},
                       const infer_options& options = {}) {
    const auto binding = model.bind(layers, options.lora_name.empty() ? std::string("LoRA") : options.lora_name);
    const auto* lora = layers.empty() ? nullptr : &binding;
    auto context = model.make_context();
    inference_result result;
    const std::size_t step = std::max<std::size_t>(options.batch_size, 1);
    for (std::size_t start = 0; start < examples.size(); start += step) {
        std::vector<std::vector<int>> inputs;
        for (std::size_t i = start; i < std::min(examples.size(), start + step); ++i) inputs.push_back(model.encode_input(examples[i].input));
        for (const auto& ids : model.generate(inputs, lora, options.max_new_tokens, context))
            result.predictions.push_back(model.decode_output(ids));
    }
    const bool all_answered = !examples.empty() && std::all_of(examples.begin(), examples.end(), [](const io::example& e) {
        return e.output.has_value() && !e.output->empty();
    });
    if (all_answered) {
        std::size_t correct = 0;
        for (std::size_t i = 0; i < examples.size(); ++i)
            correct += normalize_answer(result.predictions[i]) == normalize_answer(*examples[i].output);
        result.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(examples.size());
    }
    return result;
}

/// Zero-shot predictions: the base model alone.
template <Model M>
inference_result infer(const M& model, std::span<const io::example> examples, const infer_options& options) {
    return infer(model, examples, std::span<const lora_layer>(), options);
}

/// Predictions with what learn() found: its composed LoRA.
template <Model M>
inference_result infer(const M& model, std::span<const io::example> examples, const learn_result& learned,
                       infer_options options = {}) {
    if (options.lora_name.empty()) options.lora_name = "learned LoRA";
    return infer(model, examples, std::span<const lora_layer>(learned.composed), options);
}

/// Predictions with the pool composed by `w` under composer C (the LoraHub rule by default).
template <class C = weighted_ab, Model M, LoraPool P>
    requires Composer<C, P>
inference_result infer(const M& model, std::span<const io::example> examples, const P& pool, std::span<const double> w,
                       infer_options options = {}, const C& composer = {}) {
    auto composed = composer.allocate(pool);
    composer.compose(pool, w, composed);
    if (options.lora_name.empty()) options.lora_name = "composed LoRA";
    return infer(model, examples, std::span<const lora_layer>(composed), options);
}

}  // namespace lorahub
