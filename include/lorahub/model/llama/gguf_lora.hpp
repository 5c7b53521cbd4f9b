#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/dtype.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/core/finite.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/io/atomic_output.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/gguf_reader.hpp"
#include "lorahub/io/gguf_writer.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"
#include "lorahub/model/llama/config.hpp"
#include "lorahub/model/llama/layout.hpp"

namespace lorahub::llama {

/// A Llama-family LoRA adapter as llama.cpp loads it (`llama-cli --lora FILE.gguf`), written as
/// llama.cpp's convert_lora_to_gguf.py writes one: tensors blk.N.<name>.weight.lora_a
/// (A, [r, in]) and .lora_b (B, [out, r]); llama.cpp scales each pair by
/// adapter.lora.alpha / r (src/llama-adapter.h, get_scale; 1 when alpha is 0).

/// The projections llama.cpp takes a LoRA on, with its names for them (gguf-py MODEL_TENSOR).
struct gguf_projection {
    const char* module;  ///< under layer_prefix(i), as layout.hpp names it
    const char* name;    ///< blk.{i}.<name>.weight
};
inline constexpr gguf_projection gguf_projections[] = {
    {layer_names::q, "attn_q"},      {layer_names::k, "attn_k"},  {layer_names::v, "attn_v"},
    {layer_names::o, "attn_output"}, {layer_names::gate, "ffn_gate"}, {layer_names::up, "ffn_up"},
    {layer_names::down, "ffn_down"},
};

/// general.architecture as llama.cpp's converter picks it: LlamaForCausalLM and
/// MistralForCausalLM convert as its LlamaModel ("llama"), Qwen2ForCausalLM as Qwen2Model ("qwen2").
inline std::string gguf_architecture(const config& c) { return c.model_type == "qwen2" ? "qwen2" : "llama"; }

/// The config of the base model in `model_directory` for a GGUF export (its config.json: the
/// architecture, head counts and shapes); a model_type outside the Llama family (T5, or none,
/// which the registry reads as T5) is refused naming the file.
inline config gguf_base_config(const std::filesystem::path& model_directory) {
    const auto path = model_directory / "config.json";
    const auto subject = display(path);
    const auto document = io::parse_json_strict(io::read_text_file(path, 1 << 20), subject);
    if (!document.is_object()) throw config_error(subject, "config must be a JSON object");
    const auto type = io::string_field(document, "model_type", "t5", subject);
    if (std::find(std::begin(model_types), std::end(model_types), type) == std::end(model_types))
        throw unsupported_error(subject, "model_type \"" + type +
                                             "\": GGUF export writes llama.cpp LoRA adapters of Llama-family models (llama, mistral, qwen2) only");
    return parse_config(document, subject);
}

/// Whether llama.cpp's converter reorders the rows of q and k for its rotary layout
/// (LlamaModel.permute, undo_permute): for "llama", not for "qwen2".
inline bool gguf_permutes_rope_rows(const config& c) { return gguf_architecture(c) == "llama"; }

/// LlamaModel.permute on a LoRA B ([heads * head_dim, r], row-major): within each head, row
/// (half j, index i) moves to 2 i + j, turning HF's rotate-half pairs (i, i + head_dim / 2)
/// into the adjacent pairs llama.cpp rotates. A is unchanged.
inline std::vector<float> rope_permuted_rows(std::span<const float> b, std::size_t heads, std::size_t rank) {
    const std::size_t rows = b.size() / rank, head_dim = rows / heads, half = head_dim / 2;
    std::vector<float> out(b.size());
    for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t j = 0; j < 2; ++j)
            for (std::size_t i = 0; i < half; ++i) {
                const std::size_t from = h * head_dim + j * half + i, to = h * head_dim + 2 * i + j;
                std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(from * rank), rank, out.begin() + static_cast<std::ptrdiff_t>(to * rank));
            }
    return out;
}

/// The scale llama.cpp applies to a pair of rank `rank` under adapter.lora.alpha `alpha`.
inline double llama_cpp_lora_scale(float alpha, std::size_t rank) {
    return alpha != 0.0f ? static_cast<double>(alpha) / static_cast<double>(rank) : 1.0;
}

struct gguf_lora_options {
    io::ggml_type type = io::ggml_type::f32;  ///< F32 as the converter's default; F16 or BF16
    std::string name;                         ///< general.name (the converter's: from the adapter's folder name)
};

/// What the export writes, and how many pairs had their scaling folded into B.
struct gguf_lora_file {
    std::vector<io::gguf_entry> metadata;
    std::vector<io::gguf_tensor> tensors;
    std::size_t folded = 0;
};

namespace detail {

/// The layer index and llama.cpp name of a PEFT module "model.layers.N.<projection>", or an
/// error naming `subject` and the module when llama.cpp's loader would not take it.
inline std::pair<std::size_t, const gguf_projection*> gguf_target_of(const std::string& module, const config& c, const std::string& subject) {
    constexpr std::string_view prefix = "model.layers.";
    const auto refuse = [&] {
        throw unsupported_error(subject, "module \"" + module +
                                             "\" is not one llama.cpp's LoRA loader takes (model.layers.N.self_attn.{q,k,v,o}_proj or "
                                             "model.layers.N.mlp.{gate,up,down}_proj)");
    };
    if (!std::string_view(module).starts_with(prefix)) refuse();
    std::size_t at = prefix.size(), layer = 0, digits = 0;
    while (at < module.size() && module[at] >= '0' && module[at] <= '9' && digits < 9) layer = layer * 10 + static_cast<std::size_t>(module[at++] - '0'), ++digits;
    if (digits == 0 || at >= module.size() || module[at] != '.') refuse();
    const std::string_view rest = std::string_view(module).substr(at + 1);
    for (const auto& projection : gguf_projections)
        if (rest == projection.module) {
            if (layer >= c.num_hidden_layers)
                throw shape_error(subject, "module \"" + module + "\" is in layer " + std::to_string(layer) + ", but the model has " +
                                               std::to_string(c.num_hidden_layers) + " layers (wrong --model?)");
            return {layer, &projection};
        }
    refuse();
    return {};
}

inline std::vector<std::byte> gguf_encoded(std::span<const float> values, io::ggml_type type, const std::string& subject, const std::string& tensor) {
    const dtype as = type == io::ggml_type::f32 ? dtype::f32 : type == io::ggml_type::f16 ? dtype::f16 : dtype::bf16;
    std::vector<std::byte> bytes(values.size() * size_of(as));
    convert_from_f32(values, as, bytes, tensor);
    if (as != dtype::f32) {
        std::vector<float> back(values.size());
        convert_to_f32(as, bytes, back, tensor);
        if (const auto note = non_finite_note(back); !note.empty())
            throw argument_error(subject, "tensor \"" + tensor + "\" does not fit " + std::string(io::name_of(type)) + ": " + note + " after conversion");
    }
    return bytes;
}

}  // namespace detail

/// The GGUF contents of the LoRA `layers` (PEFT module names, each with its PEFT scaling) of a
/// model with config `c`, for adapter.lora.alpha = `lora_alpha` (the adapter's lora_alpha, as
/// the converter writes it). llama.cpp applies alpha / r to every pair; where a layer's own
/// scaling differs (rsLoRA, alpha_pattern, a composition's per-module scalings), B is
/// multiplied by scaling / (alpha / r), so that llama.cpp's product equals PEFT's. Errors
/// name `subject` (the adapter) and the module.
inline gguf_lora_file gguf_lora_contents(const config& c, std::vector<lora_layer> layers, double lora_alpha, const gguf_lora_options& options,
                                         const std::string& subject) {
    if (layers.empty()) throw argument_error(subject, "has no LoRA layers to export");
    if (!std::isfinite(lora_alpha)) throw argument_error(subject, "lora_alpha is not finite");
    std::sort(layers.begin(), layers.end(), [](const lora_layer& x, const lora_layer& y) { return x.module < y.module; });
    std::vector<lora_target> shapes = linear_layers(c);
    const float alpha = static_cast<float>(lora_alpha);
    gguf_lora_file file;
    file.metadata = {
        {"general.architecture", gguf_architecture(c)},
        {"general.type", std::string("adapter")},
        {"adapter.type", std::string("lora")},
        {"general.name", options.name.empty() ? std::string("lorahub-adapter") : options.name},
        {"adapter.lora.alpha", alpha},
        {"general.quantization_version", std::uint32_t{2}},
    };
    for (const auto& layer : layers) {
        if (layer.routing)
            throw argument_error(subject, "module \"" + layer.module + "\" is routed among LoRA experts per token (Arrow): llama.cpp has no such adapter");
        const auto [index, projection] = detail::gguf_target_of(layer.module, c, subject);
        const auto shape = std::find_if(shapes.begin(), shapes.end(), [&](const lora_target& t) { return t.module == layer.module; });
        if (layer.in_features != shape->in_features || layer.out_features != shape->out_features)
            throw shape_error(subject, "module \"" + layer.module + "\" maps " + std::to_string(layer.in_features) + " -> " +
                                           std::to_string(layer.out_features) + " features, but the model's takes " +
                                           std::to_string(shape->in_features) + " -> " + std::to_string(shape->out_features) + " (wrong --model?)");
        if (layer.rank == 0 || layer.a.size() != layer.rank * layer.in_features || layer.b.size() != layer.out_features * layer.rank)
            throw shape_error(subject, "module \"" + layer.module + "\": LoRA matrices do not match rank " + std::to_string(layer.rank));
        for (const auto* values : {&layer.a, &layer.b})
            if (const auto note = non_finite_note(*values); !note.empty())
                throw argument_error(subject, "module \"" + layer.module + "\" lora_" + (values == &layer.a ? "A" : "B") + " holds " + note);
        std::vector<float> b = layer.b;
        const double factor = static_cast<double>(layer.scaling) / llama_cpp_lora_scale(alpha, layer.rank);
        if (std::abs(factor - 1.0) > 1e-6) {
            for (auto& value : b) value = static_cast<float>(static_cast<double>(value) * factor);
            if (const auto note = non_finite_note(b); !note.empty())
                throw argument_error(subject, "module \"" + layer.module + "\" lora_B scaled by " + std::to_string(factor) + " holds " + note);
            ++file.folded;
        }
        const std::string_view projection_module = projection->module;
        if (gguf_permutes_rope_rows(c) && (projection_module == layer_names::q || projection_module == layer_names::k))
            b = rope_permuted_rows(b, projection_module == layer_names::q ? c.num_attention_heads : c.num_key_value_heads, layer.rank);
        const std::string base = "blk." + std::to_string(index) + "." + projection->name + ".weight";
        file.tensors.push_back({base + ".lora_a", {layer.rank, layer.in_features}, options.type, detail::gguf_encoded(layer.a, options.type, subject, base + ".lora_a")});
        file.tensors.push_back({base + ".lora_b", {layer.out_features, layer.rank}, options.type, detail::gguf_encoded(b, options.type, subject, base + ".lora_b")});
    }
    return file;
}

/// Checks, before any work, that `target` can take a GGUF export: a file path that is no input
/// and not read-only; an existing file is refused, or with replace_ours replaced only when it
/// is a GGUF LoRA adapter (never a model or any other file).
inline void check_gguf_output(const std::filesystem::path& target, io::existing_output policy, std::span<const std::filesystem::path> inputs = {}) {
    io::check_output_file(target, inputs);
    std::error_code ignored;
    if (!std::filesystem::exists(std::filesystem::symlink_status(target, ignored))) return;
    if (policy == io::existing_output::refuse)
        throw io_error(display(target), "exists: refusing to replace it (--force replaces a GGUF LoRA adapter)");
    if (!io::is_gguf_lora_adapter(target)) throw io_error(display(target), "is not a GGUF LoRA adapter: refusing to replace it");
}

/// Writes `layers` as a llama.cpp LoRA GGUF at `target`, whole or not at all.
inline gguf_lora_file write_gguf_lora(const std::filesystem::path& target, const config& c, std::vector<lora_layer> layers, double lora_alpha,
                                      const gguf_lora_options& options, const std::string& subject,
                                      io::existing_output policy = io::existing_output::refuse) {
    check_gguf_output(target, policy);
    auto file = gguf_lora_contents(c, std::move(layers), lora_alpha, options, subject);
    io::write_gguf(target, file.metadata, file.tensors);
    return file;
}

}  // namespace lorahub::llama
