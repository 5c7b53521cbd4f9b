#pragma once

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/model/llama/config.hpp>
#include <lorahub/model/llama/layout.hpp>
#include <lorahub/model/t5/layout.hpp>

#include "files.hpp"

namespace lorahub::test {

/// A small random model (no tokenizer) and random PEFT LoRA modules: root/model and
/// root/module-<i>.
struct random_hub {
    std::filesystem::path model;
    std::vector<std::filesystem::path> modules;
};

/// `modules` random PEFT LoRA modules (rank `rank`, entries of standard deviation
/// `lora_scale`) on the linear layers among `linears` that `targets` names (by leaf or full
/// module name), written as root/module-<i> and listed in hub.modules.
inline void write_random_modules(const std::filesystem::path& root, const std::vector<lora_target>& linears, std::size_t modules,
                                 std::size_t rank, float lora_scale, const std::vector<std::string>& targets, std::mt19937& random,
                                 std::normal_distribution<float>& normal, random_hub& hub) {
    io::peft_config config;
    config.r = rank;
    config.lora_alpha = 2.0 * static_cast<double>(rank);
    config.target_modules = targets;
    for (std::size_t m = 0; m < modules; ++m) {
        std::vector<lora_layer> layers;
        for (const auto& linear : linears) {
            const auto leaf = linear.module.substr(linear.module.rfind('.') + 1);
            if (std::find(targets.begin(), targets.end(), leaf) == targets.end() &&
                std::find(targets.begin(), targets.end(), linear.module) == targets.end())
                continue;
            lora_layer layer{linear.module, rank, linear.in_features, linear.out_features, 2.0f,
                             std::vector<float>(rank * linear.in_features), std::vector<float>(linear.out_features * rank)};
            for (auto& value : layer.a) value = lora_scale * normal(random);
            for (auto& value : layer.b) value = lora_scale * normal(random);
            layers.push_back(std::move(layer));
        }
        hub.modules.push_back(root / ("module-" + std::to_string(m)));
        io::save_peft_adapter(hub.modules.back(), config, layers);
    }
}

/// A random tensor for a model of `specs`: norms 1, embeddings N(0, 1), the head sharpened by
/// `head_scale`, other matrices N(0, 1/fan_in).
template <class Specs>
void write_random_weights(const std::filesystem::path& file, const Specs& specs, const std::string& embedding, float head_scale,
                          std::mt19937& random, std::normal_distribution<float>& normal) {
    std::vector<io::f32_tensor> tensors;
    for (const auto& spec : specs) {
        std::size_t count = 1;
        for (auto extent : spec.shape) count *= extent;
        const bool norm = spec.name.find("norm") != std::string::npos;
        const float fan_in = 1.0f / std::sqrt(static_cast<float>(spec.shape.back()));
        const float scale = spec.name == embedding ? 1.0f : spec.name == "lm_head.weight" ? head_scale * fan_in : fan_in;
        std::vector<float> values(count);
        for (auto& value : values) value = norm ? 1.0f : scale * normal(random);
        tensors.push_back({spec.name, spec.shape, std::move(values)});
    }
    io::write_safetensors(file, tensors, dtype::f32);
}

/// `head_scale` sharpens the output distribution (a trained model is confident); `lora_scale`
/// is the standard deviation of the LoRA matrices.
inline random_hub make_random_hub(const std::filesystem::path& root, std::size_t modules, unsigned seed, std::size_t rank = 4,
                                  float head_scale = 4.0f, float lora_scale = 0.3f,
                                  const std::vector<std::string>& targets = {"q", "v", "o"}) {
    std::mt19937 random(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    t5::config c;
    c.vocab_size = 48;
    c.d_model = 32;
    c.d_kv = 8;
    c.num_heads = 4;
    c.d_ff = 64;
    c.num_layers = c.num_decoder_layers = 2;
    c.relative_attention_num_buckets = 8;
    c.relative_attention_max_distance = 20;
    c.gated_activation = true;
    c.dense_activation = t5::activation::gelu_tanh;
    c.tie_word_embeddings = false;
    random_hub hub{root / "model", {}};
    std::filesystem::create_directories(hub.model);
    write_random_weights(hub.model / "model.safetensors", t5::required_weights(c), "shared.weight", head_scale, random, normal);
    write_file(hub.model / "config.json",
               R"({"model_type":"t5","vocab_size":48,"d_model":32,"d_kv":8,"num_heads":4,"d_ff":64,"num_layers":2,)"
               R"("relative_attention_num_buckets":8,"relative_attention_max_distance":20,"feed_forward_proj":"gated-gelu",)"
               R"("tie_word_embeddings":false})");
    write_random_modules(root, t5::linear_layers(c), modules, rank, lora_scale, targets, random, normal, hub);
    return hub;
}

/// `count` random token sequences of 5 to 10 ids in [3, vocab), each ending with eos.
inline std::vector<std::vector<int>> random_inputs(std::size_t count, unsigned seed, int vocab = 48) {
    std::mt19937 random(seed);
    std::uniform_int_distribution<int> length(5, 10), token(3, vocab - 1);
    std::vector<std::vector<int>> inputs(count);
    for (auto& ids : inputs) {
        ids.resize(static_cast<std::size_t>(length(random)));
        for (auto& id : ids) id = token(random);
        ids.back() = 1;
    }
    return inputs;
}

/// A small random Llama (GQA 4 -> 2 heads, untied head, no tokenizer; bos 1, eos 2) and
/// `modules` random LoRA modules on `targets`, written under `root` as make_random_hub does.
inline random_hub make_random_llama_hub(const std::filesystem::path& root, std::size_t modules, unsigned seed, std::size_t rank = 4,
                                        float head_scale = 4.0f, float lora_scale = 0.3f,
                                        const std::vector<std::string>& targets = {"q_proj", "v_proj", "o_proj"}) {
    std::mt19937 random(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const std::string config_text = R"({"model_type":"llama","vocab_size":48,"hidden_size":32,"intermediate_size":64,)"
                                    R"("num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":128,)"
                                    R"("rms_norm_eps":1e-6,"rope_theta":10000.0,"tie_word_embeddings":false,"bos_token_id":1,"eos_token_id":2})";
    const auto c = llama::parse_config(io::json::parse(config_text), "config.json");
    random_hub hub{root / "model", {}};
    std::filesystem::create_directories(hub.model);
    write_random_weights(hub.model / "model.safetensors", llama::required_weights(c), "model.embed_tokens.weight", head_scale, random, normal);
    write_file(hub.model / "config.json", config_text);
    write_random_modules(root, llama::linear_layers(c), modules, rank, lora_scale, targets, random, normal, hub);
    return hub;
}

/// `count` random prompts of 5 to 10 ids for a causal LM: bos (1), then ids in [3, vocab).
inline std::vector<std::vector<int>> random_prompts(std::size_t count, unsigned seed, int vocab = 48) {
    auto prompts = random_inputs(count, seed, vocab);
    for (auto& ids : prompts) {
        ids.back() = ids.front();
        ids.front() = 1;
    }
    return prompts;
}

}  // namespace lorahub::test
