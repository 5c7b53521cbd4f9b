#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <concepts>
#include <filesystem>
#include <ranges>
#include <span>
#include <string>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/peft_adapter.hpp"
#include "lorahub/lora/module.hpp"

namespace lorahub {

/// N LoRA modules of identical structure. Each target layer keeps its matrices as
/// contiguous stacks, a = [N, rank, in] and b = [N, out, rank], so composing is one pass.
class lora_pool {
public:
    struct target {
        std::string module;
        std::size_t rank = 0, in_features = 0, out_features = 0;
        std::vector<float> a, b;
        std::vector<float> scaling;  // [N]
    };

    /// Loads one PEFT adapter directory per element of any range of path-like values
    /// (std::filesystem::path, std::string, const char*, ...), in order.
    template <std::ranges::input_range Directories>
        requires std::constructible_from<std::filesystem::path, std::ranges::range_reference_t<Directories>>
    static lora_pool load(Directories&& directories) {
        std::vector<io::peft_adapter> adapters;
        for (auto&& directory : directories) adapters.push_back(io::load_peft_adapter(std::filesystem::path(directory)));
        return lora_pool(std::move(adapters));
    }

    explicit lora_pool(std::vector<io::peft_adapter> adapters) {
        if (adapters.empty()) throw argument_error("LoRA pool", "needs at least one module");
        const auto& first = adapters.front();
        config_ = first.config;
        for (const auto& adapter : adapters) {
            directories_.push_back(adapter.directory);
            names_.push_back(short_name(adapter.directory));
            check_same_structure(first, adapter);
        }
        const std::size_t n = adapters.size();
        for (std::size_t t = 0; t < first.layers.size(); ++t) {
            const auto& layer = first.layers[t];
            target stacked{layer.module, layer.rank, layer.in_features, layer.out_features, {}, {}, {}};
            stacked.a.resize(n * layer.a.size());
            stacked.b.resize(n * layer.b.size());
            for (std::size_t i = 0; i < n; ++i) {
                const auto& source = adapters[i].layers[t];
                std::copy(source.a.begin(), source.a.end(), stacked.a.begin() + static_cast<std::ptrdiff_t>(i * layer.a.size()));
                std::copy(source.b.begin(), source.b.end(), stacked.b.begin() + static_cast<std::ptrdiff_t>(i * layer.b.size()));
                stacked.scaling.push_back(source.scaling);
            }
            targets_.push_back(std::move(stacked));
        }
    }

    std::size_t size() const noexcept { return names_.size(); }

    /// Throws unless `w` holds one finite weight per module.
    void check_weights(std::span<const double> w) const {
        if (w.size() != size())
            throw argument_error("weights", std::to_string(w.size()) + " weights for a pool of " + std::to_string(size()) + " modules");
        for (double value : w)
            if (!std::isfinite(value)) throw argument_error("weights", "contain a value that is not finite");
    }
    /// Module names as a user reads them: each directory's last component ("modules/add/" -> "add").
    const std::vector<std::string>& names() const noexcept { return names_; }
    /// The directories the modules were loaded from, as given.
    const std::vector<std::filesystem::path>& directories() const noexcept { return directories_; }

    /// The last non-empty component of a module directory: "hub/modules/add/" -> "add".
    static std::string short_name(const std::filesystem::path& directory) {
        const auto name = directory.filename().string();
        if (!name.empty() && name != "." && name != "..") return name;
        const auto parent = directory.parent_path().filename().string();
        return parent.empty() ? directory.string() : parent;
    }
    const std::vector<target>& targets() const noexcept { return targets_; }
    /// The first module's adapter config: what a composed adapter is saved with.
    const io::peft_config& config() const noexcept { return config_; }

private:
    static void check_same_structure(const io::peft_adapter& first, const io::peft_adapter& other) {
        const std::string pair = display(first.directory) + " and " + display(other.directory);
        const std::size_t common = std::min(first.layers.size(), other.layers.size());
        for (std::size_t t = 0; t < common; ++t) {
            const auto& a = first.layers[t];
            const auto& b = other.layers[t];
            if (a.module != b.module)
                throw shape_error(pair, "target different layers: \"" + std::min(a.module, b.module) + "\" is in one module only");
            if (a.rank != b.rank || a.in_features != b.in_features || a.out_features != b.out_features)
                throw shape_error(pair, "differ at tensor \"" + io::peft_key(a.module, 'A') + "\": [" + std::to_string(a.rank) + ", " +
                                            std::to_string(a.in_features) + "] x [" + std::to_string(a.out_features) + ", " +
                                            std::to_string(a.rank) + "] vs [" + std::to_string(b.rank) + ", " +
                                            std::to_string(b.in_features) + "] x [" + std::to_string(b.out_features) + ", " +
                                            std::to_string(b.rank) + "]");
        }
        if (first.layers.size() != other.layers.size()) {
            const auto& longer = first.layers.size() > other.layers.size() ? first : other;
            throw shape_error(pair, "target different layers: \"" + longer.layers[common].module + "\" is in " +
                                        display(longer.directory) + " only");
        }
    }

    std::vector<std::string> names_;
    std::vector<std::filesystem::path> directories_;
    std::vector<target> targets_;
    io::peft_config config_;
};

}  // namespace lorahub
