#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/lora/pool.hpp"

namespace lorahub {

/// How finely LoraHub weighs the modules (mergekit-evolve's layer_granularity): one weight per
/// module (LoraHub), per module and transformer block, or per module and target layer.
enum class weight_granularity { module, layer, target };

/// The granularity named "module", "layer" or "target" (the CLI's --granularity).
inline weight_granularity weight_granularity_named(std::string_view name) {
    if (name == "module") return weight_granularity::module;
    if (name == "layer") return weight_granularity::layer;
    if (name == "target") return weight_granularity::target;
    throw argument_error("granularity", "\"" + std::string(name) + "\" is not module, layer or target");
}

inline std::string_view weight_granularity_name(weight_granularity granularity) {
    switch (granularity) {
        case weight_granularity::module: return "module";
        case weight_granularity::layer: return "layer";
        case weight_granularity::target: return "target";
    }
    return "module";
}

/// The transformer block a target layer belongs to: its module name up to its first numeric
/// component ("encoder.block.3.layer.0.SelfAttention.q" -> "encoder.block.3", "model.layers.5.mlp.up_proj"
/// -> "model.layers.5"), or the whole name when it has none.
inline std::string layer_block_of(std::string_view module) {
    std::size_t start = 0;
    while (start <= module.size()) {
        const std::size_t dot = std::min(module.find('.', start), module.size());
        const auto part = module.substr(start, dot - start);
        if (!part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
            return std::string(module.substr(0, dot));
        start = dot + 1;
    }
    return std::string(module);
}

/// A pool seen with one weight per module and group of target layers (weight_granularity):
/// N G weights, group-major (the N module weights of group 0, then group 1, ...). Composers
/// that take it (weighted_ab) compose each target with its group's N weights; the search, the
/// L1 penalty and the trace run over all N G. Views `pool`, which must outlive it.
class granular_pool {
public:
    granular_pool(const lora_pool& pool, weight_granularity granularity) : pool_(&pool), granularity_(granularity) {
        for (const auto& stack : pool.stacks()) {
            const std::string key = granularity == weight_granularity::module ? std::string("all")
                                    : granularity == weight_granularity::layer ? layer_block_of(stack.module)
                                                                                : stack.module;
            const auto found = std::find(groups_.begin(), groups_.end(), key);
            group_of_.push_back(static_cast<std::size_t>(found - groups_.begin()));
            if (found == groups_.end()) groups_.push_back(key);
        }
        for (const auto& group : groups_)
            for (const auto& name : pool.names()) names_.push_back(granularity == weight_granularity::module ? name : name + "@" + group);
    }

    /// The search's dimension: N modules x G groups.
    std::size_t size() const noexcept { return names_.size(); }
    /// "add@encoder.block.0": each weight's module and group (the module names alone at module granularity).
    const std::vector<std::string>& names() const noexcept { return names_; }
    const std::vector<lora_stack>& stacks() const noexcept { return pool_->stacks(); }
    const lora_pool& modules() const noexcept { return *pool_; }
    weight_granularity granularity() const noexcept { return granularity_; }
    /// The groups' names ("encoder.block.0", ...; "all" at module granularity), in the order of the
    /// pool's targets, and each target's group.
    const std::vector<std::string>& groups() const noexcept { return groups_; }
    std::size_t group_of(std::size_t target) const { return group_of_.at(target); }
    /// The N module weights target `target` is composed with.
    std::span<const double> weights_of(std::span<const double> w, std::size_t target) const {
        return w.subspan(group_of_.at(target) * pool_->size(), pool_->size());
    }

    /// Throws unless `w` holds one finite weight per module and group.
    void check_weights(std::span<const double> w) const {
        if (w.size() != size())
            throw argument_error("weights", std::to_string(w.size()) + " weights for " + std::to_string(pool_->size()) + " modules x " +
                                                std::to_string(groups_.size()) + " " + std::string(weight_granularity_name(granularity_)) +
                                                " groups");
        for (double value : w)
            if (!std::isfinite(value)) throw argument_error("weights", "contain a value that is not finite");
    }

private:
    const lora_pool* pool_;
    weight_granularity granularity_;
    std::vector<std::string> groups_;
    std::vector<std::size_t> group_of_;
    std::vector<std::string> names_;
};

}  // namespace lorahub
