#pragma once

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <lorahub/core/dtype.hpp>
#include <lorahub/io/safetensors.hpp>

namespace lorahub::test {

/// A copy of the model directory `from` (one model.safetensors) in `to` whose weights are
/// stored as BF16, rounded to nearest even as torch's .to(torch.bfloat16) and save_pretrained
/// write them; the tensor named `poison` gets a NaN at element 5.
inline void write_bf16_copy(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& poison = "") {
    for (const auto& entry : std::filesystem::directory_iterator(from))
        if (entry.path().filename() != "model.safetensors") std::filesystem::copy(entry.path(), to / entry.path().filename());
    const io::safetensors_file source(from / "model.safetensors");
    std::vector<std::vector<std::byte>> data;
    std::vector<io::tensor_record> records;
    data.reserve(source.tensors().size());
    for (const auto& view : source.tensors()) {
        auto values = source.read_f32(view);
        if (view.name == poison) values.at(5) = std::nanf("");
        data.emplace_back(values.size() * 2);
        convert_from_f32(values, dtype::bf16, data.back(), view.name);
        records.push_back({view.name, dtype::bf16, view.shape, data.back()});
    }
    io::write_safetensors(to / "model.safetensors", records, {{"format", "pt"}});
}

}  // namespace lorahub::test
