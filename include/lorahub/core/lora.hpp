#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "lorahub/core/expert_routing.hpp"

namespace lorahub {

/// One linear layer's LoRA update, owned: y = x W^T + scaling * (x A^T) B^T, with `a`
/// row-major [rank, in_features] and `b` row-major [out_features, rank] as PEFT stores them.
/// `module` is the PEFT module name ("encoder.block.0.layer.0.SelfAttention.q").
/// With `routing` (Arrow), a and b hold the experts side by side (see expert_routing), the
/// update differs per token, and the layer can be neither merged nor saved as an adapter.
struct lora_layer {
    std::string module;
    std::size_t rank = 0;
    std::size_t in_features = 0;
    std::size_t out_features = 0;
    float scaling = 1.0f;
    std::vector<float> a;
    std::vector<float> b;
    std::shared_ptr<const expert_routing> routing{};
};

/// A non-owning view of one layer's LoRA matrices (layout as lora_layer); rank 0 = none.
struct lora_view {
    const float* a = nullptr;
    const float* b = nullptr;
    std::size_t rank = 0;
    float scaling = 0.0f;
    std::size_t in_features = 0;   ///< columns of A
    std::size_t out_features = 0;  ///< rows of B
    const expert_routing* routing = nullptr;  ///< per-token routing among experts; null: one LoRA
};

/// LoRA views bound to a model: one per linear layer of the model, in the model's order
/// (rank 0 where a layer has no LoRA). Made by a model's bind(), which checks names and shapes.
using lora_binding = std::vector<lora_view>;

/// A linear layer of a model that LoRA can target: its PEFT module name and shape.
struct lora_target {
    std::string module;
    std::size_t in_features = 0;
    std::size_t out_features = 0;
};

}  // namespace lorahub
