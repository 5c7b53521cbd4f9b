#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <optional>
#include <string_view>
#include <filesystem>
#include <string>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"

namespace lorahub::llama {

/// The values of config.json's model_type this family reads.
inline constexpr std::string_view model_types[] = {"llama", "mistral", "qwen2"};

/// config.json's rope_scaling as HF's rope initialisers read it: "default"; "linear" (every
/// rotary frequency divided by `factor`); "llama3" (Llama 3.1's: wavelengths longer than
/// original_max_position_embeddings / low_freq_factor divided by `factor`, those shorter than
/// original_max_position_embeddings / high_freq_factor kept, a smooth blend between).
struct rope_scaling {
    std::string type = "default";
    double factor = 1.0;
    double low_freq_factor = 1.0;
    double high_freq_factor = 4.0;
    double original_max_position_embeddings = 8192.0;
};

/// Everything the Llama-family forward pass needs from config.json (LlamaConfig, MistralConfig
/// and Qwen2Config fields), validated. Configs whose numerics we do not implement are refused
/// with an error naming the field.
struct config {
    std::string model_type = "llama";
    std::size_t vocab_size = 32000;
    std::size_t hidden_size = 4096;
    std::size_t intermediate_size = 11008;
    std::size_t num_hidden_layers = 32;
    std::size_t num_attention_heads = 32;
    std::size_t num_key_value_heads = 32;
    std::size_t head_dim = 128;
    std::size_t max_position_embeddings = 2048;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    llama::rope_scaling rope_scaling;
    bool tie_word_embeddings = false;
    /// Absent (-1) when config.json has "bos_token_id": null.
    int bos_token_id = 1;
    /// Generation stops at any of these; the first one ends LoraHub's training sequences.
    std::vector<int> eos_token_ids{2};
    /// Each layer's causal sliding window (0: full attention), as HF's models give it: Mistral's
    /// `sliding_window` on every layer; Qwen2's on the layers its layer_types (or
    /// `use_sliding_window` with `max_window_layers`) mark "sliding_attention".
    std::vector<std::size_t> layer_windows;
    /// Qwen2: q_proj, k_proj and v_proj have biases.
    bool qkv_bias = false;

    std::size_t query_dim() const { return num_attention_heads * head_dim; }
    std::size_t key_value_dim() const { return num_key_value_heads * head_dim; }
    bool has_bos() const { return bos_token_id >= 0; }
    std::size_t window_of(std::size_t layer) const { return layer < layer_windows.size() ? layer_windows[layer] : 0; }
};

namespace detail {

inline void refuse_true(const io::json& document, const char* key, const std::string& subject) {
    if (io::bool_field(document, key, false, subject))
        throw unsupported_error(subject, std::string("\"") + key + "\": true is not supported (Llama-family projections without bias only)");
}

/// eos_token_id, one or a list; `fallback` when absent (none: an error, as LoraHub needs eos).
inline std::vector<int> eos_ids(const io::json& document, const std::string& subject, std::optional<int> fallback = 2) {
    if (!document.contains("eos_token_id") || document["eos_token_id"].is_null()) {
        if (!fallback) throw config_error(subject, "has no \"eos_token_id\": LoraHub ends each output with eos");
        return {*fallback};
    }
    const auto& value = document["eos_token_id"];
    std::vector<int> ids;
    if (value.is_array()) {
        if (value.empty()) throw config_error(subject, "\"eos_token_id\" is an empty list");
        for (const auto& item : value) ids.push_back(io::token_id_field(io::json{{"eos_token_id", item}}, "eos_token_id", 0, subject));
    } else {
        ids.push_back(io::token_id_field(document, "eos_token_id", 2, subject));
    }
    return ids;
}

/// rope_scaling: null, {"rope_type"|"type": "default"}, {"rope_type": "linear", "factor": f} or
/// {"rope_type": "llama3", "factor", "low_freq_factor", "high_freq_factor",
/// "original_max_position_embeddings"} (all four required, as HF's validation requires them).
inline rope_scaling rope_scaling_of(const io::json& document, const std::string& subject) {
    rope_scaling result;
    if (!document.contains("rope_scaling") || document["rope_scaling"].is_null()) return result;
    const auto& scaling = document["rope_scaling"];
    if (!scaling.is_object()) throw config_error(subject, "\"rope_scaling\" must be an object or null");
    result.type = scaling.contains("rope_type") ? io::string_field(scaling, "rope_type", "default", subject)
                                                : io::string_field(scaling, "type", "default", subject);
    if (result.type == "default") return result;
    if (result.type != "linear" && result.type != "llama3")
        throw unsupported_error(subject, "\"rope_scaling\" type \"" + result.type + "\" is not supported (default, linear and llama3 are)");
    auto required = [&](const char* key) {
        if (!scaling.contains(key))
            throw config_error(subject, "\"rope_scaling\" of type " + result.type + " needs \"" + std::string(key) + "\"");
        return io::positive_number_field(scaling, key, 1.0, subject);
    };
    result.factor = required("factor");
    if (result.type == "linear") return result;
    result.low_freq_factor = required("low_freq_factor");
    result.high_freq_factor = required("high_freq_factor");
    result.original_max_position_embeddings = required("original_max_position_embeddings");
    if (!(result.low_freq_factor < result.high_freq_factor))
        throw config_error(subject, "\"rope_scaling\": \"low_freq_factor\" must be less than \"high_freq_factor\"");
    return result;
}

/// Qwen2's layer windows as Qwen2Config derives them: layer_types when given, else
/// "sliding_attention" from max_window_layers on when use_sliding_window; the window is
/// sliding_window only when use_sliding_window (HF sets it to None otherwise).
inline std::vector<std::size_t> qwen2_layer_windows(const io::json& document, std::size_t layers, const std::string& subject) {
    const bool sliding = io::bool_field(document, "use_sliding_window", false, subject);
    const std::size_t window = sliding && !(document.contains("sliding_window") && document["sliding_window"].is_null())
                                   ? io::positive_size_field(document, "sliding_window", 4096, subject)
                                   : 0;
    std::vector<std::size_t> windows(layers, 0);
    if (document.contains("layer_types") && !document["layer_types"].is_null()) {
        const auto& types = document["layer_types"];
        if (!types.is_array() || types.size() != layers)
            throw config_error(subject, "\"layer_types\" must list one type per layer (" + std::to_string(layers) + ")");
        for (std::size_t i = 0; i < layers; ++i) {
            if (types[i] != "full_attention" && types[i] != "sliding_attention")
                throw unsupported_error(subject, "\"layer_types\" entry " + types[i].dump() + " is not supported (full_attention, sliding_attention)");
            if (types[i] == "sliding_attention") windows[i] = window;
        }
        return windows;
    }
    const std::size_t first_sliding = io::positive_size_field(document, "max_window_layers", 28, subject);
    for (std::size_t i = first_sliding; i < layers; ++i) windows[i] = window;
    return windows;
}

}  // namespace detail

/// Reads the fields HF's LlamaConfig / MistralConfig / Qwen2Config read, with their defaults.
inline config parse_config(const io::json& document, const std::string& subject) {
    if (!document.is_object()) throw config_error(subject, "config must be a JSON object");
    config result;
    result.model_type = io::string_field(document, "model_type", "llama", subject);
    if (std::find(std::begin(model_types), std::end(model_types), result.model_type) == std::end(model_types))
        throw unsupported_error(subject, "model_type \"" + result.model_type + "\" is not a Llama-family model (llama, mistral, qwen2)");
    const bool mistral = result.model_type == "mistral", qwen2 = result.model_type == "qwen2";
    auto size = [&](const char* key, std::size_t fallback) { return io::positive_size_field(document, key, fallback, subject); };
    result.vocab_size = size("vocab_size", qwen2 ? 151936 : result.vocab_size);
    result.hidden_size = size("hidden_size", result.hidden_size);
    result.intermediate_size = size("intermediate_size", mistral ? 14336 : qwen2 ? 22016 : result.intermediate_size);
    result.num_hidden_layers = size("num_hidden_layers", result.num_hidden_layers);
    result.num_attention_heads = size("num_attention_heads", result.num_attention_heads);
    result.num_key_value_heads = size("num_key_value_heads", mistral ? 8 : result.num_attention_heads);
    result.head_dim = size("head_dim", result.hidden_size / result.num_attention_heads);
    result.max_position_embeddings = size("max_position_embeddings", mistral ? 4096 * 32 : qwen2 ? 32768 : result.max_position_embeddings);
    result.rms_norm_eps = io::positive_number_field(document, "rms_norm_eps", result.rms_norm_eps, subject);
    result.rope_theta = io::positive_number_field(document, "rope_theta", result.rope_theta, subject);
    result.rope_scaling = detail::rope_scaling_of(document, subject);
    result.tie_word_embeddings = io::bool_field(document, "tie_word_embeddings", result.tie_word_embeddings, subject);
    // Qwen2Config, as PretrainedConfig, has no bos or eos of its own
    result.bos_token_id = document.contains("bos_token_id") && document["bos_token_id"].is_null()
                              ? -1
                              : io::token_id_field(document, "bos_token_id", qwen2 ? -1 : result.bos_token_id, subject);
    result.eos_token_ids = detail::eos_ids(document, subject, qwen2 ? std::nullopt : std::optional<int>(2));
    if (mistral) {
        const std::size_t window = document.contains("sliding_window") && document["sliding_window"].is_null() ? 0 : size("sliding_window", 4096);
        result.layer_windows.assign(result.num_hidden_layers, window);
    }
    if (qwen2) {
        result.layer_windows = detail::qwen2_layer_windows(document, result.num_hidden_layers, subject);
        result.qkv_bias = true;
    }

    const auto act = io::string_field(document, "hidden_act", "silu", subject);
    if (act != "silu") throw unsupported_error(subject, "\"hidden_act\" \"" + act + "\" is not supported (silu, the SwiGLU of Llama)");
    detail::refuse_true(document, "attention_bias", subject);
    detail::refuse_true(document, "mlp_bias", subject);
    if (result.num_attention_heads % result.num_key_value_heads != 0)
        throw config_error(subject, "\"num_attention_heads\" (" + std::to_string(result.num_attention_heads) +
                                        ") must be a multiple of \"num_key_value_heads\" (" + std::to_string(result.num_key_value_heads) + ")");
    if (result.head_dim == 0 || result.head_dim % 2 != 0)
        throw config_error(subject, "\"head_dim\" must be even and positive for rotary embeddings, got " + std::to_string(result.head_dim));
    auto check_id = [&](const char* name, int id) {
        if (id >= 0 && static_cast<std::size_t>(id) >= result.vocab_size)
            throw config_error(subject, std::string("\"") + name + "\" " + std::to_string(id) + " is not below vocab_size " +
                                            std::to_string(result.vocab_size));
    };
    check_id("bos_token_id", result.bos_token_id);
    for (int id : result.eos_token_ids) check_id("eos_token_id", id);
    return result;
}

inline config load_config(const std::filesystem::path& path) {
    const std::string subject = display(path);
    return parse_config(io::parse_json_strict(io::read_text_file(path, 1 << 20), subject), subject);
}

}  // namespace lorahub::llama
