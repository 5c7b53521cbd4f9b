// One LoraHub step at Flan-T5-large shape with random weights: compose 20 modules of rank 16
// on q and v (LoraHub's rule) and score the five few-shot examples (117 to 534 input tokens,
// as uneven as BBH's), as learn() does per evaluation. Reports the step's useful GFLOP/s and,
// measured in the same run, the ceiling: oneDNN's own matmul (pre-packed weights) on each
// linear layer shape of the step, in fp32 (and bf16), combined by FLOP share. Also the time
// per backend primitive. LORAHUB_BENCH_MODEL=base for Flan-T5-base's shape.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/hub/objective.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/lora/weighted_ab.hpp>
#include <lorahub/model/t5/model.hpp>

#include "support/matmul_ceiling.hpp"
#include "support/step_counters.hpp"
#include "support/timed_backend.hpp"
#include "support/random_t5.hpp"
#include "support/population_pass.hpp"
#include "support/step_fixture.hpp"

namespace {

using namespace lorahub;

using bench::fixture;
using bench::modules;
using bench::rank;

/// The step's linear layers at oneDNN's ceiling for their shapes: total FLOPs / total time.
double ceiling_gflops(dnnl::memory::data_type type, bench::operands state = bench::operands::warm) {
    static std::map<std::pair<dnnl::memory::data_type, bench::operands>, double> cache;
    if (const auto found = cache.find({type, state}); found != cache.end()) return found->second;
    return cache[{type, state}] = bench::combined_ceiling(fixture().linear_shapes, type, state);
}

template <class Backend>
void BM_step(benchmark::State& state) {
    const auto& f = fixture();
    bench::reset_peak_rss();
    const auto model = t5::model<Backend>::load(f.directory);
    const double loss = bench::time_lorahub_step(state, model, f.pool, f.examples);
    const double peak_rss = bench::peak_rss_bytes();
    const bool bf16 = Backend::name.ends_with("bf16");
    const auto type = bf16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
    bench::step_counters(state, f.useful_flops, ceiling_gflops(type), ceiling_gflops(type, bench::operands::cold), loss,
                         f.directory / "model.safetensors", f.pool, peak_rss);
}

template <class Backend>
void BM_step_breakdown(benchmark::State& state) {
    using timed = bench::timed_backend<Backend>;
    BM_step<timed>(state);
    timed::report(state);
}

BENCHMARK_TEMPLATE(BM_step, cpu::backend)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_TEMPLATE(BM_step, cpu::bf16_backend)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_TEMPLATE(BM_step_breakdown, cpu::backend)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_TEMPLATE(BM_step_breakdown, cpu::bf16_backend)->Unit(benchmark::kMillisecond)->Iterations(2);

template <class Backend>
void BM_population(benchmark::State& state) {
    bench::population_pass<Backend>(state);
}
BENCHMARK_TEMPLATE(BM_population, cpu::backend)
    ->ArgNames({"P", "together"})
    ->Args({16, 0})
    ->Args({16, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

/// The ceiling with warm operands (cold 0) and with the caches evicted before each product (cold 1).
void BM_ceiling(benchmark::State& state) {
    const auto type = state.range(0) == 32 ? dnnl::memory::data_type::f32 : dnnl::memory::data_type::bf16;
    const auto operands = state.range(1) == 1 ? bench::operands::cold : bench::operands::warm;
    for (auto _ : state) benchmark::DoNotOptimize(ceiling_gflops(type, operands));
    state.counters["GFLOP/s"] = ceiling_gflops(type, operands);
}
BENCHMARK(BM_ceiling)->ArgNames({"bits", "cold"})->ArgsProduct({{32, 16}, {0, 1}})->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
