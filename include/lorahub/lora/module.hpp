#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace lorahub {

/// The LoRA update of one linear layer: y = x W^T + scaling * (x A^T) B^T.
/// `a` is row-major [rank, in_features], `b` is row-major [out_features, rank], as PEFT stores them.
struct lora_layer {
    std::string module;
    std::size_t rank = 0;
    std::size_t in_features = 0;
    std::size_t out_features = 0;
    float scaling = 1.0f;
    std::vector<float> a;
    std::vector<float> b;
};

}  // namespace lorahub

namespace lorahub {

/// A non-owning view of one layer's LoRA matrices (layout as lora_layer); rank 0 = none.
struct lora_ref {
    const float* a = nullptr;
    const float* b = nullptr;
    std::size_t rank = 0;
    float scaling = 0.0f;
};

}  // namespace lorahub
