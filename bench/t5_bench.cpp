// One LoraHub objective evaluation (teacher-forced loss of 5 examples with a q/v LoRA of
// rank 16 on every layer) on a T5 of Flan-T5-base shape with random weights, per GEMM policy.
// The model is written once to a temporary directory; set LORAHUB_BENCH_MODEL=large for
// Flan-T5-large's shape (3 GB of weights).
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/backend/cpu/onednn_gemm.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/model/t5/model.hpp>

#include "support/random_t5.hpp"

namespace {

namespace fs = std::filesystem;
using namespace lorahub;

struct fixture {
    fs::path directory;
    t5::batch examples;
    std::vector<lora_layer> lora;
};

const fixture& shared_fixture() {
    static const fixture instance = [] {
        const bool large = std::getenv("LORAHUB_BENCH_MODEL") && std::string(std::getenv("LORAHUB_BENCH_MODEL")) == "large";
        fixture f;
        const auto c = bench::flan_t5_config(large);
        f.directory = bench::random_flan_t5(large);
        std::mt19937 random(1);
        std::normal_distribution<float> normal(0.0f, 0.05f);
        // five examples of 150 input and 8 label tokens, as a BBH few-shot set looks
        std::uniform_int_distribution<int> token(3, 31999);
        for (int e = 0; e < 5; ++e) {
            std::vector<int> input(150), labels(8);
            for (auto& id : input) id = token(random);
            for (auto& id : labels) id = token(random);
            input.back() = labels.back() = 1;
            f.examples.inputs.push_back(input);
            f.examples.labels.push_back(labels);
        }
        for (const auto& layer : t5::linear_layers(c)) {
            const auto name = layer.module.substr(layer.module.rfind('.') + 1);
            if (name != "q" && name != "v") continue;
            lora_layer l{layer.module, 16, layer.in_features, layer.out_features, 2.0f, std::vector<float>(16 * layer.in_features),
                         std::vector<float>(layer.out_features * 16)};
            for (auto& value : l.a) value = normal(random);
            for (auto& value : l.b) value = normal(random);
            f.lora.push_back(std::move(l));
        }
        return f;
    }();
    return instance;
}

template <class Gemm>
void BM_loss(benchmark::State& state) {
    const auto& f = shared_fixture();
    const auto model = t5::model<cpu::basic_backend<Gemm>>::load(f.directory);
    const auto lora = model.bind(f.lora, "bench");
    for (auto _ : state) benchmark::DoNotOptimize(model.loss(f.examples, &lora));
    state.counters["evals/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

template <class Gemm>
void BM_generate(benchmark::State& state) {
    const auto& f = shared_fixture();
    const auto model = t5::model<cpu::basic_backend<Gemm>>::load(f.directory);
    const auto lora = model.bind(f.lora, "bench");
    for (auto _ : state) benchmark::DoNotOptimize(model.generate(f.examples.inputs, &lora, 16));
}

BENCHMARK_TEMPLATE(BM_loss, cpu::eigen_gemm)->Unit(benchmark::kMillisecond)->MinTime(5.0);
BENCHMARK_TEMPLATE(BM_loss, cpu::onednn_gemm)->Unit(benchmark::kMillisecond)->MinTime(5.0);
BENCHMARK_TEMPLATE(BM_generate, cpu::eigen_gemm)->Unit(benchmark::kMillisecond)->MinTime(5.0);
BENCHMARK_TEMPLATE(BM_generate, cpu::onednn_gemm)->Unit(benchmark::kMillisecond)->MinTime(5.0);

}  // namespace

BENCHMARK_MAIN();
