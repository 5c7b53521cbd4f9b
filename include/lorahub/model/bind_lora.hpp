#pragma once

#include <span>
#include <string>

#include "lorahub/core/error.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/model/tensors.hpp"

namespace lorahub {

/// Binds LoRA layers to the model's linear layers by module name, checking that each named
/// module exists and that A is [r, in] and B is [out, r] for it (and a routed layer's routing
/// fits its experts). `subject` names the source.
inline lora_binding bind_lora(const model_tensors& model, std::span<const lora_layer> layers, const std::string& subject) {
    lora_binding binding(model.linears.size());
    for (const auto& layer : layers) {
        const auto index = model.linear_index(layer.module);
        if (index == model.linears.size())
            throw shape_error(subject, "LoRA module \"" + layer.module + "\" is not a linear layer of this model");
        const auto& linear = model.linears[index];
        if (layer.in_features != linear.in_features || layer.out_features != linear.out_features)
            throw shape_error(subject, "LoRA module \"" + layer.module + "\" maps " + std::to_string(layer.in_features) + " -> " +
                                           std::to_string(layer.out_features) + " features but the model's layer maps " +
                                           std::to_string(linear.in_features) + " -> " + std::to_string(linear.out_features));
        if (layer.a.size() != layer.rank * layer.in_features || layer.b.size() != layer.out_features * layer.rank)
            throw shape_error(subject, "LoRA module \"" + layer.module + "\" has matrices that do not match its rank");
        if (binding[index].rank != 0) throw shape_error(subject, "LoRA module \"" + layer.module + "\" is given twice");
        if (layer.routing && (layer.routing->experts * layer.routing->expert_rank != layer.rank ||
                              layer.routing->prototypes.size() != layer.routing->experts * layer.in_features ||
                              layer.routing->scaling.size() != layer.routing->experts || layer.routing->top_k == 0 ||
                              layer.routing->top_k > layer.routing->experts))
            throw shape_error(subject, "LoRA module \"" + layer.module + "\" has a routing that does not match its experts");
        binding[index] = {layer.a.data(), layer.b.data(), layer.rank, layer.scaling, layer.in_features, layer.out_features, layer.routing.get()};
    }
    return binding;
}

}  // namespace lorahub
