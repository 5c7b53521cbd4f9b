// GEMM policies on the products of a 5-example LoraHub batch (M = 750 token rows):
// Flan-T5-large projections and the LoRA shrink/expand products. Reports GFLOP/s.
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/backend/cpu/gemm.hpp>
#include <lorahub/backend/cpu/onednn_gemm.hpp>

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

void shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"M", "N", "K"});
    for (const auto& [n, k] : {std::pair{1024, 1024}, {2816, 1024}, {1024, 2816}, {16, 1024}, {1024, 16}}) b->Args({750, n, k});
    b->Args({5, 1024, 1024});  // one decoding step of a 5-example batch
}

BENCHMARK_TEMPLATE(BM_linear, lorahub::cpu::eigen_gemm)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_linear, lorahub::cpu::onednn_gemm)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
