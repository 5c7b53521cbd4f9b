#pragma once

/// The LoraHub step every step benchmark times, and the counters it reports: useful GFLOP/s,
/// the oneDNN ceiling of the step's products, the loss, peak RSS against the weights file and
/// the pool's stacks.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/hub/objective.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/lora/weighted_ab.hpp>

namespace lorahub::bench {

/// Times the LoraHub step as learn() runs it per evaluation: compose the pool at weights 0.05
/// (LoraHub's rule) into the bound LoRA and score the examples. One untimed step first sizes
/// the context. Returns the step's loss.
template <class Model, class Examples>
double time_lorahub_step(benchmark::State& state, const Model& model, const lora_pool& pool, const Examples& examples) {
    const weighted_ab composer;
    auto composed = composer.allocate(pool);
    const auto lora = model.bind(composed, "bench");
    auto context = model.make_context();
    const std::vector<double> w(pool.size(), 0.05);
    const auto step = [&] {
        composer.compose(pool, w, composed);
        return reference_loss(model, examples, &lora, context);
    };
    step();
    for (auto _ : state) benchmark::DoNotOptimize(step());
    return step();
}

/// Sets this process's peak resident set (VmHWM) back to its current size (Linux:
/// /proc/self/clear_refs, "5"), so that the peak read later is the step's: not the setup's
/// (writing the random model) nor the ceiling measurement's (oneDNN's packed copy of the head).
inline void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

/// A size this process's /proc/self/status gives ("VmHWM:   123456 kB"), in bytes.
inline double status_bytes(const std::string& field) {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with(field)) return std::stod(line.substr(field.size())) * 1024.0;
    return 0.0;
}

/// This process's peak resident set since the last reset_peak_rss() (VmHWM), in bytes.
inline double peak_rss_bytes() { return status_bytes("VmHWM:"); }

/// This process's resident set now (VmRSS), in bytes.
inline double rss_bytes() { return status_bytes("VmRSS:"); }

/// The step's counters; `peak_rss` is peak_rss_bytes() read right after the step, before the
/// ceilings (warm and cold operands, matmul_ceiling.hpp) are measured, with reset_peak_rss()
/// called before the model was loaded.
inline void step_counters(benchmark::State& state, double useful_flops, double ceiling_gflops, double cold_ceiling_gflops, double loss,
                          const std::filesystem::path& weights_file, const lora_pool& pool, double peak_rss) {
    state.counters["GFLOP/s"] = benchmark::Counter(useful_flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["ceiling_GFLOP/s"] = ceiling_gflops;
    state.counters["cold_ceiling_GFLOP/s"] = cold_ceiling_gflops;
    state.counters["loss"] = loss;
    double pool_bytes = 0;
    for (const auto& stack : pool.stacks()) pool_bytes += 4.0 * static_cast<double>(stack.a.size() + stack.b.size());
    const double weights_bytes = static_cast<double>(std::filesystem::file_size(weights_file));
    state.counters["peak_RSS_GB"] = peak_rss / 1e9;
    state.counters["RSS/(weights+pool)"] = peak_rss / (weights_bytes + pool_bytes);
    state.counters["TFLOP/step"] = useful_flops / 1e12;
}

}  // namespace lorahub::bench
