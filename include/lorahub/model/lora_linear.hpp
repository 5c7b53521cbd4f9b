#pragma once

#include <cstddef>
#include <span>

#include "lorahub/core/primitives.hpp"
#include "lorahub/model/linear_layers.hpp"

namespace lorahub {

/// out = x W^T (+ beta out) (+ s (x A^T) B^T): a linear layer with LoRA applied at run time,
/// never merged. x is [rows, in]; the rows are split into equal consecutive blocks, one per
/// candidate binding of `lora` (nullptr: none), and each block gets its candidate's LoRA.
/// `index` is the layer's position in the bindings; `scratch` holds the rank-r intermediate.
template <class Backend>
void lora_linear(const float* x, std::size_t rows, const linear_weight& layer, const typename Backend::weight& prepared, std::size_t index,
                 std::span<const typename Backend::lora_binding* const> lora, float* out,
                 typename Backend::template buffer<float>& scratch, float beta = 0.0f) {
    const std::size_t in = layer.in_features, out_features = layer.out_features;
    Backend::linear({x, rows, in, in}, prepared, {out, rows, out_features, out_features}, 1.0f, beta);
    const std::size_t block = rows / lora.size();
    for (std::size_t p = 0; p < lora.size(); ++p) {
        if (lora[p] == nullptr || (*lora[p])[index].rank == 0) continue;
        const auto& ref = (*lora[p])[index];
        const float* x_block = x + p * block * in;
        float* out_block = out + p * block * out_features;
        scratch.resize(block * ref.rank);
        Backend::gemm_nt({x_block, block, in, in}, {ref.a, ref.rank, in, in}, {scratch.data(), block, ref.rank, ref.rank});
        Backend::gemm_nt({scratch.data(), block, ref.rank, ref.rank}, {ref.b, out_features, ref.rank, ref.rank},
                         {out_block, block, out_features, out_features}, ref.scaling, 1.0f);
    }
}

}  // namespace lorahub
