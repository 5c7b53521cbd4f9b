#pragma once

/// Arrow (Ostapenko et al. 2024, "Towards Modular LLMs by Building and Reusing a Library of
/// LoRAs"), as PEFT >= 0.18 builds it (peft/tuners/lora/arrow.py, create_arrow_model): a
/// zero-shot router, not a composer. At every target layer each task module e gets a
/// prototype p_e, the top right singular vector of its B_e A_e; each token x is routed to the
/// top_k modules by |x . p_e|, mixed by softmax(|x . p_e| / temperature) and each module's own
/// scaling. GenKnowSub (Bagherifard et al. 2025) first subtracts the mean A and the mean B of
/// general-knowledge modules from every task module's A and B.
///
/// PEFT finds the prototype by 15 power iterations from a random start; here it is the exact
/// singular vector (through a thin QR of A^T and an r x r SVD), which the power iteration
/// approaches; the sign does not matter since routing takes |x . p_e|.

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lorahub/core/eigen.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/core/expert_routing.hpp"
#include "lorahub/core/finite.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/lora/pool.hpp"

namespace lorahub {

/// PEFT's ArrowConfig: how many modules each token mixes and the softmax temperature.
struct arrow_options {
    std::size_t top_k = 3;
    double temperature = 1.0;
    /// Observe instead of route (expert_routing::usage): every layer adds its tokens'
    /// coefficients here ([modules]) and changes nothing.
    std::shared_ptr<std::vector<double>> usage{};
};

/// The unit top right singular vector of B A (A [rank, in], B [out, rank], row-major), computed
/// in `Accumulate` precision; all zeros when B A is zero (PEFT's power iteration then gives zeros too).
template <std::floating_point Accumulate = double>
std::vector<float> top_right_singular_vector(std::span<const float> a, std::span<const float> b, std::size_t rank, std::size_t in,
                                                    std::size_t out) {
    using matrix = Eigen::Matrix<Accumulate, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto r = static_cast<Eigen::Index>(rank), cols = static_cast<Eigen::Index>(in), rows = static_cast<Eigen::Index>(out);
    const matrix a_t = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(a.data(), r, cols).cast<Accumulate>().transpose();
    const matrix b_d = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(b.data(), rows, r).cast<Accumulate>();
    // B A = B R^T Q^T with A^T = Q R (thin): the right singular vectors of B A are Q times those of B R^T
    const Eigen::Index thin = std::min(r, cols);
    const Eigen::HouseholderQR<matrix> qr(a_t);
    const matrix q = qr.householderQ() * matrix::Identity(cols, thin);
    const matrix upper = qr.matrixQR().topRows(thin).template triangularView<Eigen::Upper>();
    const Eigen::JacobiSVD<matrix> small(b_d * upper.transpose(), Eigen::ComputeThinV);
    std::vector<float> prototype(in, 0.0f);
    if (small.singularValues().size() == 0 || !(small.singularValues()(0) > 0.0)) return prototype;
    const Eigen::Vector<Accumulate, Eigen::Dynamic> v = q * small.matrixV().col(0);
    const Accumulate norm = v.norm();
    for (std::size_t i = 0; i < in; ++i) prototype[i] = static_cast<float>(v(static_cast<Eigen::Index>(i)) / norm);
    return prototype;
}

/// GenKnowSub: `tasks` with the mean A and the mean B of the `general` modules subtracted
/// from every module's A and B (at every target layer; both pools must have the same targets,
/// shapes and rank).
inline lora_pool subtract_general_knowledge(const lora_pool& tasks, const lora_pool& general) {
    if (general.stacks().size() != tasks.stacks().size())
        throw shape_error("GenKnowSub", "the general modules target " + std::to_string(general.stacks().size()) + " layers, the task modules " +
                                            std::to_string(tasks.stacks().size()));
    lora_pool out = tasks;
    for (std::size_t t = 0; t < out.stacks().size(); ++t) {
        auto& stack = out.stacks()[t];
        const auto& mean_of = general.stacks()[t];
        if (mean_of.module != stack.module || mean_of.rank != stack.rank || mean_of.in_features != stack.in_features ||
            mean_of.out_features != stack.out_features)
            throw shape_error("GenKnowSub", "the general modules' layer \"" + mean_of.module + "\" (rank " + std::to_string(mean_of.rank) +
                                                ") does not match the task modules' \"" + stack.module + "\" (rank " + std::to_string(stack.rank) + ")");
        const double count = static_cast<double>(general.size());
        auto subtract_mean = [&](std::vector<float>& values, const std::vector<float>& general_values, std::size_t block) {
            std::vector<double> mean(block, 0.0);
            for (std::size_t g = 0; g < general.size(); ++g)
                for (std::size_t j = 0; j < block; ++j) mean[j] += general_values[g * block + j];
            for (double& m : mean) m /= count;
            for (std::size_t i = 0; i < out.size(); ++i)
                for (std::size_t j = 0; j < block; ++j) values[i * block + j] = static_cast<float>(values[i * block + j] - mean[j]);
        };
        subtract_mean(stack.a, mean_of.a, stack.a_block());
        subtract_mean(stack.b, mean_of.b, stack.b_block());
    }
    return out;
}

/// The routed layers of Arrow over the pool's modules (the experts, in pool order): per target
/// layer one lora_layer holding every A stacked and every B side by side, with its routing.
/// Bind them like any LoRA (model.bind); they cannot be merged or saved as an adapter. (A template
/// over a Pool that can only be lora_pool, so that Eigen's QR and SVD are compiled only where it is called.)
template <std::same_as<lora_pool> Pool>
std::vector<lora_layer> arrow_layers(const Pool& experts, const arrow_options& options) {
    if (options.top_k == 0) throw argument_error("Arrow top-k", "must be at least 1");
    if (options.top_k > experts.size())
        throw argument_error("Arrow top-k", std::to_string(options.top_k) + " exceeds the " + std::to_string(experts.size()) + " modules it routes among");
    if (!(options.temperature > 0.0) || !std::isfinite(options.temperature))
        throw argument_error("Arrow temperature", "must be a finite number above 0");
    const std::size_t n = experts.size();
    std::vector<lora_layer> layers;
    for (const auto& stack : experts.stacks()) {
        for (const auto* values : {&stack.a, &stack.b})
            if (const auto note = non_finite_note(*values); !note.empty())
                throw argument_error("Arrow", "layer \"" + stack.module + "\" lora_" + (values == &stack.a ? "A" : "B") + " holds " + note);
        auto routing = std::make_shared<expert_routing>();
        routing->experts = n;
        routing->expert_rank = stack.rank;
        routing->top_k = options.top_k;
        routing->temperature = static_cast<float>(options.temperature);
        routing->scaling = stack.scaling;
        if (options.usage) {
            if (options.usage->size() != n) throw argument_error("Arrow usage", "needs one total per module");
            routing->usage = options.usage;
        }
        routing->prototypes.reserve(n * stack.in_features);
        for (std::size_t e = 0; e < n; ++e) {
            const auto prototype = top_right_singular_vector(stack.a_of(e), stack.b_of(e), stack.rank, stack.in_features, stack.out_features);
            routing->prototypes.insert(routing->prototypes.end(), prototype.begin(), prototype.end());
        }
        const std::size_t width = n * stack.rank;
        lora_layer layer{stack.module, width, stack.in_features, stack.out_features, 1.0f, stack.a, std::vector<float>(stack.out_features * width), {}};
        for (std::size_t e = 0; e < n; ++e) {
            const auto b = stack.b_of(e);
            for (std::size_t o = 0; o < stack.out_features; ++o)
                std::copy_n(b.data() + o * stack.rank, stack.rank, layer.b.data() + o * width + e * stack.rank);
        }
        layer.routing = std::move(routing);
        layers.push_back(std::move(layer));
    }
    return layers;
}

}  // namespace lorahub
