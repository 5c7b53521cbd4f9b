// One LoraHub step on a causal LM of TinyLlama-1.1B's shape (hidden 2048, 22 layers, 32 query
// heads on 4 key/value heads, intermediate 5632, vocab 32000) with random weights: compose 20
// modules of rank 16 on q_proj and v_proj (LoraHub's rule) and score five few-shot examples
// (prompts of 117 to 534 tokens, completions of 2 to 7, as uneven as BBH's), as learn() does
// per evaluation. Reports the step's useful GFLOP/s (linear layers and LoRA over every token,
// the head over the completion positions; attention not counted) and, in the same run, the
// oneDNN matmul ceiling of the step's linear-layer shapes; peak RSS per precision when one
// precision runs per process (--benchmark_filter). BM_llama_step_breakdown adds the time per
// backend primitive. Peer: bench/peers/torch_llama_step.py.
#include <array>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/hub/objective.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/lora/weighted_ab.hpp>
#include <lorahub/model/llama/layout.hpp>
#include <lorahub/model/llama/model.hpp>

#include "support/matmul_ceiling.hpp"
#include "support/random_model.hpp"
#include "support/step_counters.hpp"
#include "support/timed_backend.hpp"

namespace {

using namespace lorahub;

constexpr std::size_t modules = 20, rank = 16;
const std::vector<std::size_t> prompt_lengths{117, 534, 301, 412, 272}, completion_lengths{5, 2, 7, 3, 4};

const char* const tinyllama_config = R"({"model_type": "llama", "vocab_size": 32000, "hidden_size": 2048, "intermediate_size": 5632,
  "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4, "max_position_embeddings": 2048,
  "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2})";

/// The random model directory (normal, sd 0.02; norms 1) under the system temp dir, written
/// once (4.4 GB) and reused by later runs.
std::filesystem::path random_tinyllama(const llama::config& c) {
    return bench::cached_random_model("lorahub-bench-tinyllama", llama::required_weights(c), tinyllama_config, 0.02f);
}

struct step_fixture {
    llama::config config = llama::parse_config(io::json::parse(tinyllama_config), "config.json");
    std::filesystem::path directory = random_tinyllama(config);
    tokenized_examples<llama::batch> examples;
    lora_pool pool = lora_pool::with_shapes(1, std::vector<lora_target>{{"x", 1, 1}}, 1);
    double useful_flops = 0;
    std::vector<std::array<std::int64_t, 3>> linear_shapes;  ///< (M, N, K) of each base product, with repeats
};

const step_fixture& fixture() {
    static const step_fixture instance = [] {
        step_fixture f;
        std::mt19937 random(7);
        std::uniform_int_distribution<int> token(3, 31999);
        llama::batch batch;
        for (std::size_t e = 0; e < prompt_lengths.size(); ++e) {
            std::vector<int> prompt(prompt_lengths[e]), completion(completion_lengths[e]);
            for (auto& id : prompt) id = token(random);
            for (auto& id : completion) id = token(random);
            prompt.front() = 1;
            completion.back() = 2;
            batch.inputs.push_back(prompt);
            batch.labels.push_back(completion);
        }
        f.examples = {{batch}, prompt_lengths.size()};
        std::vector<lora_target> targets;
        for (const auto& layer : llama::linear_layers(f.config))
            if (layer.module.ends_with("q_proj") || layer.module.ends_with("v_proj")) targets.push_back(layer);
        f.pool = lora_pool::with_shapes(modules, targets, rank, 2.0f);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        for (auto& stack : f.pool.stacks()) {
            for (auto& v : stack.a) v = normal(random);
            for (auto& v : stack.b) v = normal(random);
        }
        const double tokens = std::accumulate(prompt_lengths.begin(), prompt_lengths.end(), 0.0) +
                              std::accumulate(completion_lengths.begin(), completion_lengths.end(), 0.0);
        const double labels = std::accumulate(completion_lengths.begin(), completion_lengths.end(), 0.0);
        for (const auto& layer : llama::linear_layers(f.config)) {
            f.useful_flops += 2.0 * tokens * static_cast<double>(layer.in_features * layer.out_features);
            f.linear_shapes.push_back({static_cast<std::int64_t>(tokens), static_cast<std::int64_t>(layer.out_features),
                                       static_cast<std::int64_t>(layer.in_features)});
        }
        for (const auto& layer : targets) f.useful_flops += 2.0 * tokens * static_cast<double>(rank * (layer.in_features + layer.out_features));
        f.useful_flops += 2.0 * labels * static_cast<double>(f.config.hidden_size * f.config.vocab_size);
        return f;
    }();
    return instance;
}

template <class Backend>
void BM_llama_step(benchmark::State& state) {
    const auto& f = fixture();
    bench::reset_peak_rss();
    const auto model = llama::model<Backend>::load(f.directory);
    const double loss = bench::time_lorahub_step(state, model, f.pool, f.examples);
    const double peak_rss = bench::peak_rss_bytes();
    const bool bf16 = Backend::name.ends_with("bf16");
    const auto type = bf16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
    bench::step_counters(state, f.useful_flops, bench::combined_ceiling(f.linear_shapes, type),
                         bench::combined_ceiling(f.linear_shapes, type, bench::operands::cold), loss,
                         f.directory / "model.safetensors", f.pool, peak_rss);
}

/// The step with the wall time of each backend primitive, and each base product shape's GFLOP/s against its ceiling.
template <class Backend>
void BM_llama_step_breakdown(benchmark::State& state) {
    using timed = bench::timed_backend<Backend, rank>;
    BM_llama_step<timed>(state);
    timed::report(state);
}

BENCHMARK_TEMPLATE(BM_llama_step, cpu::backend)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_TEMPLATE(BM_llama_step, cpu::bf16_backend)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_TEMPLATE(BM_llama_step_breakdown, cpu::backend)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_TEMPLATE(BM_llama_step_breakdown, cpu::bf16_backend)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
