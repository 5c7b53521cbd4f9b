#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <numeric>
#include <vector>

namespace lorahub {

/// Per-token routing of one linear layer among E LoRA experts of rank r (Arrow, Ostapenko et
/// al. 2024, as PEFT's ArrowLoraLinearLayer computes it). The layer's LoRA then holds every
/// expert side by side: A stacked [E r, in], B concatenated [out, E r]. For each token x the
/// router scores |x . p_e| against each expert's prototype p_e, keeps the top_k, and mixes them
/// by softmax(score / temperature): delta(x) = sum_e c_e s_e B_e A_e x.
struct expert_routing {
    std::size_t experts = 0;
    std::size_t expert_rank = 0;
    std::size_t top_k = 0;
    float temperature = 1.0f;
    std::vector<float> prototypes;  ///< [experts, in]: each expert's unit top right singular vector of B_e A_e
    std::vector<float> scaling;     ///< [experts]: each expert's lora_alpha / r
    /// When set, the routing only observes: each token's coefficients are added to usage[e]
    /// and the layer adds nothing, so that the model runs on its base hidden states (how
    /// much Arrow would route a task's tokens to each module: hub/module_selection.hpp).
    std::shared_ptr<std::vector<double>> usage{};
};

/// Routes `rows` tokens: `similarity` [rows, experts] holds x . p_e, `projected` [rows, experts *
/// expert_rank] holds x A_e^T for every expert; each expert's block of a row is scaled by the
/// token's coefficient times the expert's scaling (zero outside the top k), so that
/// projected B^T is the routed delta. Ties among scores keep the lower expert index.
inline void route_rows(const expert_routing& routing, const float* similarity, float* projected, std::size_t rows) {
    const std::size_t experts = routing.experts, rank = routing.expert_rank, k = routing.top_k;
    thread_local std::vector<std::size_t> order;
    thread_local std::vector<float> factor;
    order.resize(experts);
    factor.resize(experts);
    for (std::size_t t = 0; t < rows; ++t) {
        const float* scores = similarity + t * experts;
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), [&](std::size_t a, std::size_t b) {
            const float sa = std::abs(scores[a]), sb = std::abs(scores[b]);
            return sa > sb || (sa == sb && a < b);
        });
        std::fill(factor.begin(), factor.end(), 0.0f);
        const float peak = std::abs(scores[order[0]]) / routing.temperature;
        float total = 0.0f;
        for (std::size_t j = 0; j < k; ++j) {
            const std::size_t e = order[j];
            factor[e] = std::exp(std::abs(scores[e]) / routing.temperature - peak);
            total += factor[e];
        }
        float* row = projected + t * experts * rank;
        if (routing.usage) {
            for (std::size_t e = 0; e < experts; ++e) (*routing.usage)[e] += factor[e] / total;
            std::fill(row, row + experts * rank, 0.0f);
            continue;
        }
        for (std::size_t e = 0; e < experts; ++e) {
            const float f = factor[e] / total * routing.scaling[e];
            for (std::size_t j = 0; j < rank; ++j) row[e * rank + j] *= f;
        }
    }
}

}  // namespace lorahub
