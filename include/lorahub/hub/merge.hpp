#pragma once

#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "lorahub/concepts.hpp"
#include "lorahub/core/dtype.hpp"
#include "lorahub/io/atomic_output.hpp"
#include "lorahub/io/safetensors.hpp"
#include "lorahub/io/side_file.hpp"
#include "lorahub/io/weight_store.hpp"

namespace lorahub {

/// Writes a complete model directory whose weights have the LoRA merged in (W' = W + s B A):
/// model.safetensors (every tensor in its original dtype) plus config and tokenizer files
/// copied from the source. `model` gives its weight_store(), merged_weights(lora) (the
/// (tensor name, float values) of every changed tensor) and M::side_files, the files of its
/// family that travel with the weights, each copied only as a regular file inside the model
/// directory (a symlink leaving it is an error, before anything is written). The directory
/// appears whole or not at all; an existing one is treated as `policy` says.
template <MergeableModel M>
void save_merged_model(const M& model, const typename M::lora_binding& lora, const std::filesystem::path& out,
                       io::existing_output policy = io::existing_output::refuse) {
    const io::weight_store& store = model.weight_store();
    io::check_output_directory(out, policy, std::span(&store.directory(), 1));
    std::vector<std::filesystem::path> side_files;
    for (const std::string_view file : M::side_files)
        if (auto source = io::side_file(store.directory(), file)) side_files.push_back(std::move(*source));
    std::map<std::string, std::vector<float>> merged;
    for (auto& [name, values] : model.merged_weights(lora)) merged.emplace(std::move(name), std::move(values));

    std::vector<std::vector<std::byte>> encoded;
    encoded.reserve(merged.size());
    std::vector<io::tensor_record> records;
    for (const auto& [name, located] : store.tensors()) {
        const auto& view = *located.view;
        const auto found = merged.find(name);
        if (found == merged.end()) {
            records.push_back({name, view.type, view.shape, view.bytes});
            continue;
        }
        encoded.emplace_back(found->second.size() * size_of(view.type));
        convert_from_f32(found->second, view.type, encoded.back(), name);
        records.push_back({name, view.type, view.shape, encoded.back()});
    }
    io::staged_directory staging(out, policy);
    io::write_safetensors(staging.path() / "model.safetensors", records, {{"format", "pt"}});
    for (const auto& source : side_files) io::copy_regular_file(source, staging.path() / source.filename());
    staging.commit();
}

}  // namespace lorahub
