// GEMM policies on the products of a 5-example LoraHub batch (M = 750 token rows):
// Flan-T5-large projections and the LoRA shrink/expand products. Reports GFLOP/s.
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/backend/cpu/gemm.hpp>
#include <lorahub/backend/cpu/onednn_bf16.hpp>
#include <lorahub/backend/cpu/onednn_gemm.hpp>

#include "support/matmul_ceiling.hpp"

namespace {

std::vector<float> random_values(std::size_t count) {
    std::mt19937 random(3);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> values(count);
    for (auto& value : values) value = uniform(random);
    return values;
}

/// y[M, N] = x[M, K] W^T with W stored [N, K], as every linear layer computes.
template <class Gemm>
void BM_linear(benchmark::State& state) {
    const auto m = static_cast<std::size_t>(state.range(0)), n = static_cast<std::size_t>(state.range(1)),
               k = static_cast<std::size_t>(state.range(2));
    const auto x = random_values(m * k), w = random_values(n * k);
    std::vector<float> y(m * n);
    for (auto _ : state) {
        Gemm::multiply_transposed({x.data(), m, k, k}, {w.data(), n, k, k}, {y.data(), m, n, n});
        benchmark::DoNotOptimize(y.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k), benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
}

/// The bf16 compute mode's linear layer: x rounded to bf16 per call, W converted once.
void BM_linear_bf16(benchmark::State& state) {
    const auto m = static_cast<std::size_t>(state.range(0)), n = static_cast<std::size_t>(state.range(1)),
               k = static_cast<std::size_t>(state.range(2));
    const auto x = random_values(m * k), w = random_values(n * k);
    const auto weight = lorahub::cpu::onednn_bf16::convert(w.data(), n, k);
    std::vector<float> y(m * n);
    for (auto _ : state) {
        lorahub::cpu::onednn_bf16::linear({x.data(), m, k, k}, weight, {y.data(), m, n, n}, 1.0f, 0.0f);
        benchmark::DoNotOptimize(y.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k), benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
}

/// oneDNN's own matmul with pre-packed weights on the same shape: the ceiling (fp32, bf16).
void BM_ceiling(benchmark::State& state) {
    const auto type = state.range(3) == 32 ? dnnl::memory::data_type::f32 : dnnl::memory::data_type::bf16;
    double gflops = 0;
    for (auto _ : state) gflops = lorahub::bench::matmul_ceiling(state.range(0), state.range(1), state.range(2), type);
    state.counters["GFLOP/s"] = gflops;
}

void shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"M", "N", "K"});
    for (const int m : {750, 1636})
        for (const auto& [n, k] : {std::pair{1024, 1024}, {2816, 1024}, {1024, 2816}, {16, 1024}, {1024, 16}}) b->Args({m, n, k});
    b->Args({5, 1024, 1024});  // one decoding step of a 5-example batch
}

void ceiling_shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"M", "N", "K", "bits"});
    for (const int bits : {32, 16})
        for (const auto& [n, k] : {std::pair{1024, 1024}, {2816, 1024}, {1024, 2816}}) b->Args({1636, n, k, bits});
}

BENCHMARK_TEMPLATE(BM_linear, lorahub::cpu::eigen_gemm)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_linear, lorahub::cpu::onednn_gemm)->Apply(shapes);
BENCHMARK(BM_linear_bf16)->Apply(shapes);
BENCHMARK(BM_ceiling)->Apply(ceiling_shapes)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
