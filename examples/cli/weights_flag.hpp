#pragma once

#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include <lorahub/core/error.hpp>

namespace lorahub::cli {

/// "0.5,-1, 2e-1" -> {0.5, -1, 0.2} (blanks around items allowed); anything else is an
/// error naming the item.
inline std::vector<double> parse_weights(const std::string& text) {
    std::vector<double> weights;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find(',', start), text.size());
        std::string item = text.substr(start, end - start);
        const auto first = item.find_first_not_of(" \t");
        item = first == std::string::npos ? std::string() : item.substr(first, item.find_last_not_of(" \t") - first + 1);
        double value = 0;
        const auto [rest, failure] = std::from_chars(item.data(), item.data() + item.size(), value);
        if (item.empty() || failure != std::errc() || rest != item.data() + item.size() || !std::isfinite(value))
            throw argument_error("--weights", "\"" + item + "\" is not a finite number");
        weights.push_back(value);
        start = end + 1;
    }
    return weights;
}

/// One weight per module, in the words score and infer share.
inline void check_weight_count(const std::vector<double>& weights, std::size_t modules) {
    if (weights.size() != modules)
        throw argument_error("--weights", std::to_string(weights.size()) + " weights for " + std::to_string(modules) +
                                              " modules (one per --lora, in order)");
}

}  // namespace lorahub::cli
