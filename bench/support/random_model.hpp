#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <lorahub/io/atomic_output.hpp>
#include <lorahub/io/safetensors.hpp>

namespace lorahub::bench {

/// A model directory named `name` under the system temp dir: model.safetensors of random
/// weights for `specs` (normal with standard deviation `sd`; tensors whose name holds "norm"
/// are 1), stored as `type`, and `config_text` as config.json. Written once and reused by later runs.
template <class Specs>
std::filesystem::path cached_random_model(const std::string& name, const Specs& specs, const std::string& config_text, float sd,
                                          dtype type = dtype::f32) {
    namespace fs = std::filesystem;
    const auto directory = fs::temp_directory_path() / name;
    if (fs::exists(directory / "model.safetensors")) return directory;
    fs::create_directories(directory);
    std::mt19937 random(1);
    std::normal_distribution<float> normal(0.0f, sd);
    std::vector<io::f32_tensor> tensors;
    for (const auto& spec : specs) {
        std::size_t count = 1;
        for (auto extent : spec.shape) count *= extent;
        std::vector<float> values(count);
        const bool norm = spec.name.find("norm") != std::string::npos;
        for (auto& value : values) value = norm ? 1.0f : normal(random);
        tensors.push_back({spec.name, spec.shape, std::move(values)});
    }
    io::write_safetensors(directory / "model.safetensors", tensors, type);
    io::atomic_file config(directory / "config.json");
    config.write(config_text);
    config.commit();
    return directory;
}

}  // namespace lorahub::bench
