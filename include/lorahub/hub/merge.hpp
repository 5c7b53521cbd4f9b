#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "lorahub/core/dtype.hpp"
#include "lorahub/io/atomic_output.hpp"
#include "lorahub/io/safetensors.hpp"
#include "lorahub/model/t5/lora_binding.hpp"

namespace lorahub {

/// Files of a HF model directory that travel with merged weights when present.
inline constexpr const char* model_side_files[] = {"config.json",       "generation_config.json", "spiece.model",
                                                   "tokenizer.json",    "tokenizer_config.json",  "special_tokens_map.json"};

/// Writes a complete model directory whose weights have the LoRA merged in (W' = W + s B A):
/// model.safetensors (every tensor in its original dtype) plus config and tokenizer files
/// copied from the source. The directory appears whole or not at all.
template <class Model>
void save_merged_model(const Model& model, const t5::lora_binding& lora, const std::filesystem::path& out) {
    const auto merged = model.merged(lora);
    const auto& store = model.tensors().store();
    std::map<std::string, std::size_t> merged_linear;
    for (std::size_t index = 0; index < lora.size(); ++index)
        if (lora[index].rank != 0) merged_linear.emplace(model.tensors().linears[index].module + ".weight", index);

    std::vector<std::vector<std::byte>> encoded;
    encoded.reserve(merged_linear.size());
    std::vector<io::tensor_record> records;
    for (const auto& [name, located] : store.tensors()) {
        const auto& view = *located.view;
        const auto found = merged_linear.find(name);
        if (found == merged_linear.end()) {
            records.push_back({name, view.type, view.shape, view.bytes});
            continue;
        }
        const auto values = merged.tensors().linears[found->second].weight;
        encoded.emplace_back(values.size() * size_of(view.type));
        convert_from_f32(values, view.type, encoded.back(), name);
        records.push_back({name, view.type, view.shape, encoded.back()});
    }
    io::staged_directory staging(out);
    io::write_safetensors(staging.path() / "model.safetensors", records, {{"format", "pt"}});
    for (const char* file : model_side_files) {
        const auto source = store.directory() / file;
        if (std::filesystem::is_regular_file(source)) std::filesystem::copy_file(source, staging.path() / file);
    }
    staging.commit();
}

}  // namespace lorahub
