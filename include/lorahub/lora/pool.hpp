#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <ranges>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/io/peft_adapter.hpp"
#include "lorahub/io/peft_config.hpp"

namespace lorahub {

/// One target layer's LoRA matrices of all N modules of a pool, stacked contiguously:
/// a = [N, rank, in] and b = [N, out, rank], row-major, so composing is one pass.
struct lora_stack {
    std::string module;
    std::size_t rank = 0, in_features = 0, out_features = 0;
    std::vector<float> a, b;
    std::vector<float> scaling;  ///< [N], each module's own alpha / r

    std::size_t a_block() const { return rank * in_features; }   ///< floats of one module's A
    std::size_t b_block() const { return out_features * rank; }  ///< floats of one module's B
    std::span<const float> a_of(std::size_t i) const { return std::span(a).subspan(i * a_block(), a_block()); }
    std::span<const float> b_of(std::size_t i) const { return std::span(b).subspan(i * b_block(), b_block()); }
};

namespace detail {

/// Results computed from a pool's stacks, by key (lora_pool::derived). Copies and moves start
/// empty: a pool's copy recomputes what it needs.
class stack_memo {
public:
    stack_memo() = default;
    stack_memo(const stack_memo&) {}
    stack_memo& operator=(const stack_memo&) {
        clear();
        return *this;
    }

    template <class T, class Make>
    std::shared_ptr<const T> find_or_make(const std::string& key, Make& make) {
        const std::lock_guard lock(mutex_);
        for (const auto& [name, value] : entries_)
            if (name == key) return std::static_pointer_cast<const T>(value);
        std::shared_ptr<const T> made = std::make_shared<const T>(make());
        if (entries_.size() == capacity) entries_.erase(entries_.begin());
        entries_.emplace_back(key, made);
        return made;
    }
    void clear() {
        const std::lock_guard lock(mutex_);
        entries_.clear();
    }

private:
    static constexpr std::size_t capacity = 16;
    std::mutex mutex_;
    std::vector<std::pair<std::string, std::shared_ptr<const void>>> entries_;
};

}  // namespace detail

/// Whose scaling (lora_alpha / r) a composition applies to each module's B.
enum class module_scaling {
    /// weighted_ab gives the composition the first module's scaling (upstream's rule: it
    /// loads the first module's config); the default, for parity. With differing lora_alpha
    /// the result then depends on the order of the pool.
    first_module,
    /// each module's own scaling is folded into its B at load (B_i <- s_i B_i, s_i <- 1), so
    /// that every composer weighs each module by its own scaling, in any order.
    per_module,
};

/// N LoRA modules of identical structure (the same target layers with the same shapes),
/// held as one lora_stack per target layer.
class lora_pool {
public:
    /// Loads one PEFT adapter directory per element of any range of path-like values
    /// (std::filesystem::path, std::string, const char*, ...), in order. Only one module is
    /// held outside the stacks at a time, so loading peaks near the stacks' own size.
    template <std::ranges::input_range Directories>
        requires std::constructible_from<std::filesystem::path, std::ranges::range_reference_t<Directories>>
    static lora_pool load(Directories&& directories, module_scaling scaling = module_scaling::first_module) {
        std::vector<std::filesystem::path> paths;
        for (auto&& directory : directories) paths.emplace_back(directory);
        if (paths.empty()) throw argument_error("LoRA pool", "needs at least one module");
        const std::size_t n = paths.size();
        auto first = io::load_peft_adapter(paths.front());
        std::vector<lora_stack> stacks;
        for (const auto& layer : first.layers) {
            lora_stack stack{layer.module, layer.rank, layer.in_features, layer.out_features, {}, {}, {}};
            stack.a.resize(n * layer.a.size());
            stack.b.resize(n * layer.b.size());
            stack.scaling.resize(n);
            stacks.push_back(std::move(stack));
        }
        auto copy_in = [&](const io::peft_adapter& adapter, std::size_t i) {
            for (std::size_t t = 0; t < stacks.size(); ++t) {
                const auto& layer = adapter.layers[t];
                std::copy(layer.a.begin(), layer.a.end(), stacks[t].a.begin() + static_cast<std::ptrdiff_t>(i * stacks[t].a_block()));
                std::copy(layer.b.begin(), layer.b.end(), stacks[t].b.begin() + static_cast<std::ptrdiff_t>(i * stacks[t].b_block()));
                stacks[t].scaling[i] = layer.scaling;
            }
        };
        copy_in(first, 0);
        for (auto& layer : first.layers) std::vector<float>().swap(layer.a), std::vector<float>().swap(layer.b);
        for (std::size_t i = 1; i < n; ++i) {
            const auto adapter = io::load_peft_adapter(paths[i]);
            check_same_structure(first, adapter);
            copy_in(adapter, i);
        }
        std::vector<std::string> names;
        for (const auto& path : paths) names.push_back(short_name(path));
        lora_pool pool(first.config, std::move(names), std::move(stacks), std::move(paths));
        if (scaling == module_scaling::per_module) pool.fold_scalings();
        return pool;
    }

    /// A pool from stacks built elsewhere (tests, benchmarks, other formats): `names` gives N.
    lora_pool(io::peft_config config, std::vector<std::string> names, std::vector<lora_stack> stacks,
              std::vector<std::filesystem::path> directories = {})
        : names_(std::move(names)), directories_(std::move(directories)), stacks_(std::move(stacks)), config_(std::move(config)) {
        if (names_.empty()) throw argument_error("LoRA pool", "needs at least one module");
        if (stacks_.empty()) throw argument_error("LoRA pool", "needs at least one target layer");
        if (directories_.empty()) directories_.assign(names_.size(), {});
        if (directories_.size() != names_.size())
            throw argument_error("LoRA pool", std::to_string(directories_.size()) + " directories for " + std::to_string(names_.size()) + " modules");
        const std::size_t n = names_.size();
        for (const auto& stack : stacks_)
            if (stack.a.size() != n * stack.a_block() || stack.b.size() != n * stack.b_block() || stack.scaling.size() != n)
                throw shape_error("LoRA pool", "stack \"" + stack.module + "\" does not hold " + std::to_string(n) + " modules of rank " +
                                                   std::to_string(stack.rank) + " mapping " + std::to_string(stack.in_features) + " -> " +
                                                   std::to_string(stack.out_features));
    }

    /// N zero-filled modules of rank `rank` on `targets`, scaling `scaling`: storage to fill
    /// in place (benchmarks, tests) without ever holding a module twice.
    static lora_pool with_shapes(std::size_t n, std::span<const lora_target> targets, std::size_t rank, float scaling = 1.0f) {
        std::vector<lora_stack> stacks;
        for (const auto& target : targets)
            stacks.push_back({target.module, rank, target.in_features, target.out_features, std::vector<float>(n * rank * target.in_features),
                              std::vector<float>(n * target.out_features * rank), std::vector<float>(n, scaling)});
        std::vector<std::string> names;
        for (std::size_t i = 0; i < n; ++i) names.push_back("module-" + std::to_string(i));
        io::peft_config config;
        config.r = rank;
        config.lora_alpha = static_cast<double>(scaling) * static_cast<double>(rank);
        return lora_pool(std::move(config), std::move(names), std::move(stacks));
    }

    std::size_t size() const noexcept { return names_.size(); }

    /// The modules whose scaling differs from the first module's at some target layer: those
    /// that module_scaling::first_module composes with a scaling not their own.
    std::vector<std::size_t> scaled_unlike_first() const {
        std::vector<std::size_t> differing;
        for (std::size_t i = 1; i < size(); ++i)
            if (std::ranges::any_of(stacks_, [&](const lora_stack& stack) { return stack.scaling[i] != stack.scaling[0]; }))
                differing.push_back(i);
        return differing;
    }

    /// module_scaling::per_module: B_i <- s_i B_i and s_i <- 1 at every target layer.
    void fold_scalings() {
        memo_.clear();
        for (auto& stack : stacks_)
            for (std::size_t i = 0; i < size(); ++i) {
                const float s = stack.scaling[i];
                for (float& value : std::span(stack.b).subspan(i * stack.b_block(), stack.b_block())) value *= s;
                stack.scaling[i] = 1.0f;
            }
        config_.use_rslora = false;  // every scaling is now 1 = lora_alpha / r with lora_alpha = r
        config_.lora_alpha = static_cast<double>(config_.r);
        config_.alpha_pattern.clear();
        for (const auto& [key, rank] : config_.rank_pattern) config_.alpha_pattern.emplace_back(key, static_cast<double>(rank));
    }

    /// Throws unless `w` holds one finite weight per module.
    void check_weights(std::span<const double> w) const {
        if (w.size() != size())
            throw argument_error("weights", std::to_string(w.size()) + " weights for a pool of " + std::to_string(size()) + " modules");
        for (double value : w)
            if (!std::isfinite(value)) throw argument_error("weights", "contain a value that is not finite");
    }
    /// Module names as a user reads them: each directory's last component ("modules/add/" -> "add").
    const std::vector<std::string>& names() const noexcept { return names_; }
    /// The directories the modules were loaded from, as given (empty paths for built pools).
    const std::vector<std::filesystem::path>& directories() const noexcept { return directories_; }
    const std::vector<lora_stack>& stacks() const noexcept { return stacks_; }
    /// The stacks to write: drops every derived() result, so write through the reference
    /// before composing, not after.
    std::vector<lora_stack>& stacks() {
        memo_.clear();
        return stacks_;
    }

    /// A value of type T computed by make() from the stacks alone, independent of composition
    /// weights (a pruning's per-tensor thresholds): made on first use under `key` (which must
    /// name everything else the value depends on) and kept until the stacks change, shared by
    /// every later caller. Thread-safe; at most 16 are kept, the oldest dropped (its holders
    /// keep theirs).
    template <class T, std::invocable Make>
    std::shared_ptr<const T> derived(const std::string& key, Make make) const {
        return memo_.find_or_make<T>(key, make);
    }
    /// The pool of the modules at `indices` (in that order): module selection's sub-pool.
    lora_pool subset(std::span<const std::size_t> indices) const {
        for (std::size_t index : indices)
            if (index >= size()) throw argument_error("LoRA pool", "module index " + std::to_string(index) + " is outside a pool of " + std::to_string(size()));
        std::vector<std::string> names;
        std::vector<std::filesystem::path> directories;
        for (std::size_t index : indices) names.push_back(names_[index]), directories.push_back(directories_[index]);
        std::vector<lora_stack> stacks;
        for (const auto& stack : stacks_) {
            lora_stack picked{stack.module, stack.rank, stack.in_features, stack.out_features, {}, {}, {}};
            for (std::size_t index : indices) {
                picked.a.insert(picked.a.end(), stack.a.begin() + static_cast<std::ptrdiff_t>(index * stack.a_block()),
                                stack.a.begin() + static_cast<std::ptrdiff_t>((index + 1) * stack.a_block()));
                picked.b.insert(picked.b.end(), stack.b.begin() + static_cast<std::ptrdiff_t>(index * stack.b_block()),
                                stack.b.begin() + static_cast<std::ptrdiff_t>((index + 1) * stack.b_block()));
                picked.scaling.push_back(stack.scaling[index]);
            }
            stacks.push_back(std::move(picked));
        }
        return lora_pool(config_, std::move(names), std::move(stacks), std::move(directories));
    }

    /// The first module's adapter config: what a composed adapter is saved with.
    const io::peft_config& config() const noexcept { return config_; }

    /// The last non-empty component of a module directory: "hub/modules/add/" -> "add".
    static std::string short_name(const std::filesystem::path& directory) {
        const auto name = directory.filename().string();
        if (!name.empty() && name != "." && name != "..") return name;
        const auto parent = directory.parent_path().filename().string();
        return parent.empty() ? directory.string() : parent;
    }

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
    std::vector<lora_stack> stacks_;
    io::peft_config config_;
    mutable detail::stack_memo memo_;
};

}  // namespace lorahub
