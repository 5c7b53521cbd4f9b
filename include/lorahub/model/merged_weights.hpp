#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lorahub/backend/cpu/gemm.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/model/tensors.hpp"

namespace lorahub {

/// W' = W + s B A for every layer `lora` (host views) gives a LoRA: (tensor name, values) pairs.
inline std::vector<std::pair<std::string, std::vector<float>>> merged_linear_weights(const model_tensors& model, const lora_binding& lora) {
    std::vector<std::pair<std::string, std::vector<float>>> merged;
    for (std::size_t index = 0; index < lora.size(); ++index) {
        const auto& ref = lora[index];
        if (ref.rank == 0) continue;
        const auto& linear = model.linears[index];
        if (ref.routing)
            throw argument_error(linear.module, "is routed among LoRA experts per token (Arrow): there is no single weight to merge");
        std::vector<float> values = float32_values(linear);
        cpu::eigen_gemm::multiply({ref.b, linear.out_features, ref.rank, ref.rank}, {ref.a, ref.rank, linear.in_features, linear.in_features},
                                  {values.data(), linear.out_features, linear.in_features, linear.in_features}, ref.scaling, 1.0f);
        merged.emplace_back(linear.module + ".weight", std::move(values));
    }
    return merged;
}

/// Copies of `tensors` whose linear layers hold W' = W + s B A where `lora` gives a LoRA.
template <class Tensors>
std::shared_ptr<Tensors> merged_tensors(const Tensors& tensors, const lora_binding& lora) {
    auto merged = std::make_shared<Tensors>(tensors);
    for (auto& [name, values] : merged_linear_weights(tensors, lora)) {
        const auto module = name.substr(0, name.size() - std::string_view(".weight").size());
        merged->replace_linear(tensors.linear_index(module), std::move(values));
    }
    return merged;
}

}  // namespace lorahub
