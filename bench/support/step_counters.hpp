#pragma once

/// The counters every LoraHub step benchmark reports: useful GFLOP/s, the oneDNN ceiling of the
/// step's products, the loss, peak RSS against the weights file and the pool's stacks.

#include <sys/resource.h>

#include <filesystem>

#include <benchmark/benchmark.h>

#include <lorahub/lora/pool.hpp>

namespace lorahub::bench {

inline void step_counters(benchmark::State& state, double useful_flops, double ceiling_gflops, double loss,
                          const std::filesystem::path& weights_file, const lora_pool& pool) {
    state.counters["GFLOP/s"] = benchmark::Counter(useful_flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["ceiling_GFLOP/s"] = ceiling_gflops;
    state.counters["loss"] = loss;
    // peak resident memory of this process so far (meaningful when one precision runs per
    // process: --benchmark_filter)
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    double pool_bytes = 0;
    for (const auto& stack : pool.stacks()) pool_bytes += 4.0 * static_cast<double>(stack.a.size() + stack.b.size());
    const double weights_bytes = static_cast<double>(std::filesystem::file_size(weights_file));
    state.counters["peak_RSS_GB"] = static_cast<double>(usage.ru_maxrss) * 1024.0 / 1e9;
    state.counters["RSS/(weights+pool)"] = static_cast<double>(usage.ru_maxrss) * 1024.0 / (weights_bytes + pool_bytes);
    state.counters["TFLOP/step"] = useful_flops / 1e12;
}

}  // namespace lorahub::bench
