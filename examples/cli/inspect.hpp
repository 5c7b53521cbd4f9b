#pragma once

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <lorahub/core/printable.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/io/torch_checkpoint.hpp>
#include <lorahub/io/weight_store.hpp>
#include <lorahub/model/llama/config.hpp>
#include <lorahub/model/llama/layout.hpp>
#include <lorahub/model/llama/tokenizer.hpp>
#include <lorahub/model/t5/config.hpp>
#include <lorahub/model/t5/layout.hpp>
#include <lorahub/model/t5/tokenizer.hpp>

#include "model_family.hpp"

namespace lorahub::cli {

using io::json;

/// Parameter counts and dtypes of a set of tensors.
inline json tensor_totals(const std::vector<const io::tensor_view*>& views) {
    std::uint64_t parameters = 0;
    std::map<std::string, std::uint64_t> by_dtype;
    for (const auto* view : views) {
        parameters += view->numel();
        by_dtype[std::string(name_of(view->type))] += view->numel();
    }
    return {{"tensors", views.size()}, {"parameters", parameters}, {"dtypes", by_dtype}};
}

inline std::string dtype_list(const json& totals) {
    std::string text;
    for (const auto& [name, count] : totals["dtypes"].items()) text += (text.empty() ? "" : ", ") + name;
    return text.empty() ? "none" : text;
}

/// A .safetensors file, or a torch.save checkpoint (.bin, .pt, .pth) read safely.
inline json inspect_safetensors(const std::filesystem::path& path) {
    const auto file = io::open_weights_file(path);
    std::vector<const io::tensor_view*> views;
    json tensors = json::array();
    for (const auto& view : file.tensors()) {
        views.push_back(&view);
        tensors.push_back({{"name", view.name}, {"dtype", name_of(view.type)}, {"shape", view.shape}});
    }
    const bool torch = path.extension() != ".safetensors";
    json summary = {{"path", path.string()}, {"kind", torch ? "torch-checkpoint" : "safetensors"}, {"metadata", file.metadata()}};
    summary.update(tensor_totals(views));
    summary["tensor_list"] = tensors;
    return summary;
}

/// Weight totals and files of a model directory's store.
inline json store_summary(const io::weight_store& store) {
    std::vector<const io::tensor_view*> views;
    for (const auto& [name, located] : store.tensors()) views.push_back(located.view);
    json files = json::array();
    for (const auto& file : store.files()) files.push_back(file->path().filename().string());
    json summary = tensor_totals(views);
    summary["files"] = files;
    return summary;
}

inline json inspect_llama_model(const std::filesystem::path& directory) {
    const auto config = llama::load_config(directory / "config.json");
    const io::weight_store store(directory);
    llama::check_weights(config, store);
    json summary = {{"path", directory.string()}, {"kind", "llama-model"}};
    summary["config"] = {{"model_type", config.model_type},
                         {"hidden_size", config.hidden_size},
                         {"intermediate_size", config.intermediate_size},
                         {"num_hidden_layers", config.num_hidden_layers},
                         {"num_attention_heads", config.num_attention_heads},
                         {"num_key_value_heads", config.num_key_value_heads},
                         {"head_dim", config.head_dim},
                         {"vocab_size", config.vocab_size},
                         {"rope_theta", config.rope_theta},
                         {"rope_linear_factor", config.rope_linear_factor},
                         {"max_position_embeddings", config.max_position_embeddings},
                         {"tie_word_embeddings", config.tie_word_embeddings}};
    summary["weights"] = store_summary(store);
    summary["lora_targets"] = llama::linear_layers(config).size();
    if (std::filesystem::exists(directory / "tokenizer.model")) {
        const llama::tokenizer tokens(directory / "tokenizer.model");
        summary["tokenizer"] = {{"file", "tokenizer.model"}, {"pieces", tokens.piece_count()}};
    } else if (std::filesystem::exists(directory / "tokenizer.json")) {
        summary["tokenizer"] = {{"file", "tokenizer.json"}, {"pieces", nullptr}};
    } else {
        summary["tokenizer"] = nullptr;
    }
    return summary;
}

inline json inspect_model(const std::filesystem::path& directory) {
    if (family_of(directory) == model_family::llama) return inspect_llama_model(directory);
    const auto config = t5::load_config(directory / "config.json");
    const io::weight_store store(directory);
    t5::check_weights(config, store);
    json summary = {{"path", directory.string()}, {"kind", "t5-model"}};
    summary["config"] = {{"feed_forward_proj", config.feed_forward_proj},
                         {"d_model", config.d_model},
                         {"d_kv", config.d_kv},
                         {"d_ff", config.d_ff},
                         {"num_heads", config.num_heads},
                         {"num_layers", config.num_layers},
                         {"num_decoder_layers", config.num_decoder_layers},
                         {"vocab_size", config.vocab_size},
                         {"relative_attention_num_buckets", config.relative_attention_num_buckets},
                         {"relative_attention_max_distance", config.relative_attention_max_distance},
                         {"tie_word_embeddings", config.tie_word_embeddings}};
    summary["weights"] = store_summary(store);
    summary["lora_targets"] = t5::linear_layers(config).size();
    const auto spiece = directory / "spiece.model";
    if (std::filesystem::exists(spiece)) {
        const t5::tokenizer tokens(spiece);
        summary["tokenizer"] = {{"file", "spiece.model"}, {"pieces", tokens.piece_count()}, {"size", tokens.size()}};
    } else {
        summary["tokenizer"] = nullptr;
    }
    return summary;
}

inline json inspect_adapter(const std::filesystem::path& directory) {
    const auto adapter = io::load_peft_adapter(directory);
    const auto& config = adapter.config;
    std::uint64_t parameters = 0;
    std::map<std::string, std::uint64_t> targets;
    std::map<std::size_t, std::uint64_t> ranks;
    for (const auto& layer : adapter.layers) {
        parameters += layer.a.size() + layer.b.size();
        targets[layer.module.substr(layer.module.rfind('.') + 1)] += 1;
        ranks[layer.rank] += 1;
    }
    json summary = {{"path", directory.string()}, {"kind", "peft-lora-adapter"}};
    summary["r"] = config.r;
    summary["lora_alpha"] = io::alpha_json(config.lora_alpha);
    summary["use_rslora"] = config.use_rslora;
    summary["scaling"] = config.scaling_for(adapter.layers.front().module);
    summary["target_modules"] = to_json(config)["target_modules"];
    summary["base_model_name_or_path"] = config.base_model_name_or_path;
    summary["layers"] = adapter.layers.size();
    summary["layers_per_target"] = targets;
    json rank_counts = json::object();
    for (const auto& [rank, count] : ranks) rank_counts[std::to_string(rank)] = count;
    summary["layers_per_rank"] = rank_counts;
    summary["parameters"] = parameters;
    return summary;
}

/// Summarises a model dir, an adapter dir or a .safetensors file; throws lorahub::error.
inline json inspect_path(const std::filesystem::path& path) {
    if (std::filesystem::is_directory(path)) {
        if (std::filesystem::exists(path / "adapter_config.json")) return inspect_adapter(path);
        if (std::filesystem::exists(path / "config.json")) return inspect_model(path);
        throw io_error(display(path), "is neither a model directory (config.json) nor an adapter directory (adapter_config.json)");
    }
    if (!std::filesystem::exists(path)) throw io_error(display(path), "does not exist");
    const auto extension = path.extension();
    if (extension == ".safetensors" || extension == ".bin" || extension == ".pt" || extension == ".pth") return inspect_safetensors(path);
    throw unsupported_error(display(path), "is not a .safetensors or torch .bin file, a model directory or an adapter directory");
}

/// A string of a summary, escaped to stay on its line (names can hold any character).
inline std::string field(const json& value) {
    return printable(value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, json::error_handler_t::replace));
}

/// The weights and LoRA-target lines of a model summary.
inline void print_weights(std::ostream& out, const json& summary) {
    const auto& w = summary["weights"];
    out << "  weights: " << w["tensors"] << " tensors, " << w["parameters"] << " parameters (" << dtype_list(w) << ") in "
        << w["files"].size() << " file(s)\n";
    out << "  LoRA-targetable linear layers: " << summary["lora_targets"] << "\n";
}

inline void print_summary(std::ostream& out, const json& summary) {
    const auto kind = summary["kind"].get<std::string>();
    out << field(summary["path"]) << ": ";
    if (kind == "safetensors" || kind == "torch-checkpoint") {
        out << (kind == "safetensors" ? "safetensors, " : "torch checkpoint (read without unpickling code), ") << summary["tensors"] << " tensors, " << summary["parameters"] << " parameters ("
            << dtype_list(summary) << ")\n";
        for (const auto& tensor : summary["tensor_list"])
            out << "  " << field(tensor["name"]) << "  " << field(tensor["dtype"]) << " " << field(tensor["shape"]) << "\n";
    } else if (kind == "t5-model") {
        const auto& c = summary["config"];
        out << "T5 model (" << field(c["feed_forward_proj"])
            << (c["tie_word_embeddings"].get<bool>() ? ", tied head" : ", untied head") << ")\n";
        out << "  d_model " << c["d_model"] << ", d_kv " << c["d_kv"] << ", heads " << c["num_heads"] << ", d_ff "
            << c["d_ff"] << ", layers " << c["num_layers"] << "+" << c["num_decoder_layers"] << ", vocab "
            << c["vocab_size"] << "\n";
        print_weights(out, summary);
        if (summary["tokenizer"].is_null()) out << "  tokenizer: none (no spiece.model)\n";
        else out << "  tokenizer: spiece.model, " << summary["tokenizer"]["pieces"] << " pieces\n";
    } else if (kind == "llama-model") {
        const auto& c = summary["config"];
        out << "Llama-family causal LM (" << field(c["model_type"]) << (c["tie_word_embeddings"].get<bool>() ? ", tied head" : ", untied head")
            << ")\n";
        out << "  hidden " << c["hidden_size"] << ", heads " << c["num_attention_heads"] << " (key/value " << c["num_key_value_heads"]
            << ", head_dim " << c["head_dim"] << "), intermediate " << c["intermediate_size"] << ", layers " << c["num_hidden_layers"]
            << ", vocab " << c["vocab_size"] << "\n";
        out << "  rope_theta " << c["rope_theta"] << (c["rope_linear_factor"].get<double>() != 1.0 ? ", linear scaling " + c["rope_linear_factor"].dump() : std::string())
            << ", max positions " << c["max_position_embeddings"] << "\n";
        print_weights(out, summary);
        if (summary["tokenizer"].is_null()) out << "  tokenizer: none (no tokenizer.model)\n";
        else if (summary["tokenizer"]["pieces"].is_null()) out << "  tokenizer: tokenizer.json only (lorahub reads tokenizer.model; not usable)\n";
        else out << "  tokenizer: tokenizer.model, " << summary["tokenizer"]["pieces"] << " pieces\n";
    } else {
        out << "PEFT LoRA adapter\n";
        out << "  r " << summary["r"] << ", lora_alpha " << summary["lora_alpha"] << ", scaling " << summary["scaling"]
            << (summary["use_rslora"].get<bool>() ? " (rsLoRA)" : "") << "\n";
        out << "  target_modules " << field(summary["target_modules"]) << "\n";
        out << "  " << summary["layers"] << " LoRA layers " << field(summary["layers_per_target"]) << ", ranks "
            << field(summary["layers_per_rank"]) << ", " << summary["parameters"] << " parameters\n";
        if (!summary["base_model_name_or_path"].get<std::string>().empty())
            out << "  base model " << field(summary["base_model_name_or_path"]) << "\n";
    }
}

}  // namespace lorahub::cli
