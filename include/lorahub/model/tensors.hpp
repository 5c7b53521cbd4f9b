#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/dtype.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/core/finite.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/io/safetensors.hpp"
#include "lorahub/io/weight_store.hpp"

namespace lorahub {

/// A tensor a model reads, with the shape its config implies.
struct weight_spec {
    std::string name;
    std::vector<std::size_t> shape;
};

/// Checks that `store` holds tensor `name` with `shape` (from config.json) and a floating
/// dtype; a tensor that is not `required` may be absent.
inline void check_tensor(const io::weight_store& store, const std::string& name, const std::vector<std::size_t>& shape, bool required) {
    const auto* found = store.find(name);
    if (found == nullptr) {
        if (!required) return;
        throw shape_error(display(store.directory()),
                          "model weights have no tensor \"" + name + "\" (expected " + io::shape_string(shape) + " from config.json)");
    }
    const auto& view = *found->view;
    if (!is_floating(view.type))
        throw shape_error(display(found->file->path()),
                          "tensor \"" + name + "\" has dtype " + std::string(name_of(view.type)) + "; expected a float type");
    if (view.shape != shape)
        throw shape_error(display(found->file->path()), "tensor \"" + name + "\" has shape " + io::shape_string(view.shape) +
                                                             " but config.json implies " + io::shape_string(shape));
}

/// Checks, before any list or buffer is sized from it, that a config's layer count fits the
/// weights present: `layers` layers of at least `tensors_per_layer` tensors each cannot come
/// from a store holding fewer (config.json's "num_layers": 1000000000 is refused here, by
/// name, instead of by the allocator).
inline void check_layer_count(const io::weight_store& store, std::string_view field, std::size_t layers, std::size_t tensors_per_layer) {
    const std::size_t tensors = store.tensors().size();
    if (layers <= tensors / tensors_per_layer) return;
    throw config_error(display(store.directory() / "config.json"),
                       "\"" + std::string(field) + "\" is " + std::to_string(layers) + ", but the weights hold " + std::to_string(tensors) +
                           " tensors: room for at most " + std::to_string(tensors / tensors_per_layer) + " such layers");
}

/// A linear layer's weight [out, in], row-major, under its PEFT module name, and its bias
/// [out] (empty: none). The weight is float32 (`weight`), or the file's BF16 values as stored
/// (`bf16`, `weight` then empty) when the model was loaded for a backend that takes them.
struct linear_weight {
    std::string module;
    std::span<const float> weight;
    std::size_t in_features = 0;
    std::size_t out_features = 0;
    std::span<const float> bias{};
    std::span<const std::uint16_t> bf16{};
};

/// The weight's values as float32 (a copy; BF16 ones converted exactly).
inline std::vector<float> float32_values(const linear_weight& linear) {
    if (linear.bf16.empty()) return {linear.weight.begin(), linear.weight.end()};
    std::vector<float> values(linear.bf16.size());
    convert_to_f32(dtype::bf16, std::as_bytes(linear.bf16), values, linear.module + ".weight");
    return values;
}

/// How a model holds the linear weights a file stores as BF16: converted to float32 at load, or
/// as the file's bytes (no float32 copy; the bf16 backend packs them directly).
enum class linear_weight_form { float32, stored_bf16 };

/// A model's tensors as float32 views over a weight store: zero-copy into the mapped files
/// when stored as aligned F32, converted once at load otherwise; the linear layers LoRA can
/// target, in the model's order. A model family's weights derive from it; copies share the
/// underlying memory.
class model_tensors {
public:
    explicit model_tensors(std::shared_ptr<const io::weight_store> store, linear_weight_form form = linear_weight_form::float32)
        : store_(std::move(store)), form_(form) {}

    const io::weight_store& store() const noexcept { return *store_; }

    /// Index of a linear layer by PEFT module name, or linears.size() when there is none.
    std::size_t linear_index(const std::string& module) const {
        for (std::size_t i = 0; i < linears.size(); ++i)
            if (linears[i].module == module) return i;
        return linears.size();
    }

    /// The linear layers LoRA can target, in binding order (the order of `linears`).
    std::vector<lora_target> lora_targets() const {
        std::vector<lora_target> targets;
        for (const auto& linear : linears) targets.push_back({linear.module, linear.in_features, linear.out_features});
        return targets;
    }

    /// Drops the mapped file pages of a linear layer's weight (float32 or stored BF16) from
    /// memory, for a backend that has converted it (they are read again from the file if touched).
    void evict_linear_source(std::size_t index) const noexcept {
        const auto& linear = linears[index];
        const auto bytes = linear.bf16.empty() ? std::as_bytes(linear.weight) : std::as_bytes(linear.bf16);
        for (const auto& file : store_->files()) file->evict(bytes);
    }

    /// Replaces a linear layer's weight with owned float32 values (used by merging).
    void replace_linear(std::size_t index, std::vector<float> values) {
        auto owned = std::make_shared<const std::vector<float>>(std::move(values));
        linears.at(index).weight = std::span<const float>(*owned);
        linears.at(index).bf16 = {};
        owned_.push_back(std::move(owned));
    }

    std::vector<linear_weight> linears;

protected:
    /// The float32 values of a tensor the layout check has found; a NaN or infinity in them is
    /// a format_error naming the tensor and its file.
    std::span<const float> load(const std::string& name) {
        const auto* found = store_->find(name);
        if (found == nullptr) throw shape_error(display(store_->directory()), "model weights have no tensor \"" + name + "\"");
        if (const auto direct = io::safetensors_file::f32_span(*found->view)) {
            check_finite(non_finite_note(*direct), name, *found->file);
            found->file->evict(std::as_bytes(*direct));  // the check leaves the memory profile of a load unchanged
            return *direct;
        }
        auto owned = std::make_shared<const std::vector<float>>(found->file->read_f32(*found->view));
        std::span<const float> view(*owned);
        check_finite(non_finite_note(view), name, *found->file);
        found->file->evict(found->view->bytes);  // converted: the file's pages are not read again
        owned_.push_back(std::move(owned));
        return view;
    }
    /// A format_error naming the tensor and its file unless `note` (non_finite_note's) is empty.
    static void check_finite(const std::string& note, const std::string& name, const io::safetensors_file& file) {
        if (!note.empty())
            throw format_error(display(file.path()), "tensor \"" + name + "\" holds " + note + ": the model cannot run on it");
    }
    /// Adds a linear layer, with its "<module>.bias" tensor when `biased`; its weight kept as
    /// the file's BF16 values when the form says so and the file stores them so.
    void add_linear(const lora_target& target, bool biased = false) {
        const std::string name = target.module + ".weight";
        linear_weight linear{target.module, {}, target.in_features, target.out_features, biased ? load(target.module + ".bias") : std::span<const float>{}};
        const auto* found = form_ == linear_weight_form::stored_bf16 ? store_->find(name) : nullptr;
        if (const auto stored = found ? io::safetensors_file::bf16_span(*found->view) : std::nullopt) {
            check_finite(non_finite_note_bf16(*stored), name, *found->file);
            found->file->evict(std::as_bytes(*stored));
            linear.bf16 = *stored;
        } else {
            linear.weight = load(name);
        }
        linears.push_back(std::move(linear));
    }

private:
    std::shared_ptr<const io::weight_store> store_;
    linear_weight_form form_;
    std::vector<std::shared_ptr<const std::vector<float>>> owned_;
};

}  // namespace lorahub
