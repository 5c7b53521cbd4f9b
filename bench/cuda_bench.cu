// CUDA kernels against the device's own ceilings, measured in the same run: compose (20
// modules of Flan-T5-large's q/v LoRA, rank 16: A and B stacks summed with weights) and
// merge (W += s B A for a 1024 x 1024 layer) in GB/s against a device-to-device copy of the
// same bytes (kernels timed with CUDA events on the session's stream); and the LoraHub step
// of bench/support/step_fixture.hpp on the CUDA backends (fp32, TF32, bf16), one candidate at
// a time and a population of 16 in one pass. Without a GPU the program says so and exits 0.
#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/backend/cuda/backend.cuh>
#include <lorahub/hub/objective.hpp>
#include <lorahub/lora/weighted_ab.hpp>
#include <lorahub/model/t5/model.hpp>

#include "support/population_pass.hpp"
#include "support/step_fixture.hpp"

namespace {

using namespace lorahub;

constexpr std::size_t modules = bench::modules, rank = bench::rank, d_model = 1024, layers = 48;  // q and v of 24 + 24 blocks
constexpr std::size_t per_module = layers * 2 * rank * d_model;               // A [r, in] + B [out, r] per layer

/// Seconds of `f` on the session's stream, by CUDA events.
template <class F>
double timed(F&& f) {
    auto& s = cuda::session::current();
    cudaEvent_t start = nullptr, stop = nullptr;
    cuda::check(cudaEventCreate(&start), "cudaEventCreate");
    cuda::check(cudaEventCreate(&stop), "cudaEventCreate");
    cuda::check(cudaEventRecord(start, s.stream()), "cudaEventRecord");
    f();
    cuda::check(cudaEventRecord(stop, s.stream()), "cudaEventRecord");
    cuda::check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    cuda::check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    (void)cudaEventDestroy(start);
    (void)cudaEventDestroy(stop);
    return ms / 1e3;
}

void BM_device_copy(benchmark::State& state) {
    const std::size_t bytes = (modules + 1) * per_module * sizeof(float);
    cuda::device_buffer<unsigned char> from(bytes), to(bytes);
    for (auto _ : state)
        state.SetIterationTime(timed([&] {
            cuda::check(cudaMemcpyAsync(to.data(), from.data(), bytes, cudaMemcpyDeviceToDevice, cuda::session::current().stream()), "copy");
        }));
    state.counters["GB/s"] = benchmark::Counter(2.0 * static_cast<double>(bytes), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}

void BM_compose(benchmark::State& state) {
    cuda::device_buffer<float> stack(modules * per_module), out(per_module), w(modules);
    const std::vector<float> weights(modules, 0.05f);
    cuda::upload(std::span<const float>(weights), w.data());
    for (auto _ : state) state.SetIterationTime(timed([&] { cuda::weighted_sum(stack.data(), modules, per_module, w.data(), out.data()); }));
    const double bytes = static_cast<double>((modules + 1) * per_module * sizeof(float));  // each stack element read once, out written once
    state.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void BM_merge(benchmark::State& state) {
    cuda::device_buffer<float> weight(d_model * d_model), b(d_model * rank), a(rank * d_model);
    for (auto _ : state)
        state.SetIterationTime(timed([&] {
            cuda::backend::gemm_nn({b.data(), d_model, rank, rank}, {a.data(), rank, d_model, d_model}, {weight.data(), d_model, d_model, d_model},
                                   2.0f, 1.0f);
        }));
    const double bytes = 2.0 * static_cast<double>(d_model * d_model * sizeof(float));  // W read and written
    state.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

}  // namespace

int main(int argc, char** argv) {
    if (cuda::device_count() == 0) {
        std::puts("no CUDA device is visible: nothing to measure");
        return 0;
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RegisterBenchmark("BM_device_copy", BM_device_copy)->UseManualTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_compose", BM_compose)->UseManualTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_merge", BM_merge)->UseManualTime()->Unit(benchmark::kMicrosecond);
    for (const auto& [name, run] : {std::pair{"BM_cuda_population<fp32>", &bench::population_pass<cuda::backend>},
                                    std::pair{"BM_cuda_population<tf32>", &bench::population_pass<cuda::tf32_backend>},
                                    std::pair{"BM_cuda_population<bf16>", &bench::population_pass<cuda::bf16_backend>}})
        benchmark::RegisterBenchmark(name, run)
            ->ArgNames({"P", "together"})
            ->Args({1, 0})
            ->Args({16, 0})
            ->Args({16, 1})
            ->Unit(benchmark::kMillisecond);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
