#pragma once

/// The LoraHub step every step benchmark measures: Flan-T5-large's shape (or base's, with
/// LORAHUB_BENCH_MODEL=base) with random weights, 20 random modules of rank 16 on q and v,
/// and five few-shot examples of 117 to 534 input tokens (as uneven as BBH's). Also the
/// step's useful FLOPs and the shapes of its base products.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <lorahub/hub/objective.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/model/t5/config.hpp>
#include <lorahub/model/t5/layout.hpp>
#include <lorahub/model/t5/model.hpp>

#include "random_t5.hpp"

namespace lorahub::bench {

constexpr std::size_t modules = 20, rank = 16;
inline const std::vector<std::size_t> input_lengths{117, 534, 301, 412, 272}, label_lengths{5, 2, 7, 3, 4};

inline bool large_model() {
    const char* choice = std::getenv("LORAHUB_BENCH_MODEL");
    return choice == nullptr || std::string(choice) != "base";
}

struct step_fixture {
    t5::config config;
    std::filesystem::path directory;
    tokenized_examples<t5::batch> examples;
    lora_pool pool = lora_pool::with_shapes(1, std::vector<lora_target>{{"x", 1, 1}}, 1);
    double useful_flops = 0;      ///< every product of the step: linear layers, LoRA, attention, head
    double linear_flops = 0;      ///< the base linear layers and the head
    std::vector<std::array<std::int64_t, 3>> linear_shapes;  ///< (M, N, K) of each base product, with repeats
};

inline const step_fixture& fixture() {
    static const step_fixture instance = [] {
        step_fixture f;
        f.config = flan_t5_config(large_model());
        f.directory = random_flan_t5(large_model());
        std::mt19937 random(7);
        std::uniform_int_distribution<int> token(3, 31999);
        t5::batch batch;
        for (std::size_t e = 0; e < input_lengths.size(); ++e) {
            std::vector<int> input(input_lengths[e]), labels(label_lengths[e]);
            for (auto& id : input) id = token(random);
            for (auto& id : labels) id = token(random);
            input.back() = labels.back() = 1;
            batch.inputs.push_back(input);
            batch.labels.push_back(labels);
        }
        f.examples = {{batch}, input_lengths.size()};
        std::vector<lora_target> targets;
        for (const auto& layer : t5::linear_layers(f.config)) {
            const auto name = layer.module.substr(layer.module.rfind('.') + 1);
            if (name == "q" || name == "v") targets.push_back(layer);
        }
        f.pool = lora_pool::with_shapes(modules, targets, rank, 2.0f);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        for (auto& stack : f.pool.stacks()) {
            for (auto& v : stack.a) v = normal(random);
            for (auto& v : stack.b) v = normal(random);
        }
        // FLOPs: 2 m n k per product
        const double encoder_rows = std::accumulate(input_lengths.begin(), input_lengths.end(), 0.0);
        const double decoder_rows = std::accumulate(label_lengths.begin(), label_lengths.end(), 0.0);
        for (const auto& layer : t5::linear_layers(f.config)) {
            const bool encoder_side = layer.module.starts_with("encoder.") || layer.module.ends_with("EncDecAttention.k") ||
                                      layer.module.ends_with("EncDecAttention.v");
            const double rows = encoder_side ? encoder_rows : decoder_rows;
            const double flops = 2.0 * rows * static_cast<double>(layer.in_features * layer.out_features);
            f.linear_flops += flops;
            f.useful_flops += flops;
            f.linear_shapes.push_back({static_cast<std::int64_t>(rows), static_cast<std::int64_t>(layer.out_features),
                                       static_cast<std::int64_t>(layer.in_features)});
            const auto name = layer.module.substr(layer.module.rfind('.') + 1);
            if (name == "q" || name == "v") f.useful_flops += 2.0 * rows * static_cast<double>(rank * (layer.in_features + layer.out_features));
        }
        const double head = 2.0 * decoder_rows * static_cast<double>(f.config.d_model * f.config.vocab_size);
        f.linear_flops += head;
        f.useful_flops += head;
        f.linear_shapes.push_back({static_cast<std::int64_t>(decoder_rows), static_cast<std::int64_t>(f.config.vocab_size),
                                   static_cast<std::int64_t>(f.config.d_model)});
        const double inner = static_cast<double>(f.config.inner_dim());
        for (std::size_t e = 0; e < input_lengths.size(); ++e) {
            const double in = static_cast<double>(input_lengths[e]), out = static_cast<double>(label_lengths[e]);
            // Q K^T and P V: 4 q k inner each; encoder self, decoder self, decoder cross
            f.useful_flops += static_cast<double>(f.config.num_layers) * 4.0 * in * in * inner;
            f.useful_flops += static_cast<double>(f.config.num_decoder_layers) * 4.0 * (out * out + out * in) * inner;
        }
        return f;
    }();
    return instance;
}

}  // namespace lorahub::bench
