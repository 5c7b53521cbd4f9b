// Throughput of the loading path: dtype conversion to and from float32 against the same run's
// read bandwidth, the load of a Flan-T5-large-size F16 / BF16 checkpoint, and safetensors
// header validation. One thread throughout (loading converts tensor after tensor), except the
// bf16 model loads at the end (oneDNN packs the weights on its threads).
//
// Conversions of 64 Mi values (128 MB of 16-bit input: past the caches) report GB/s of the
// 16-bit side and `moved_GB/s` (16-bit and 32-bit sides together); BM_read sums the bytes of a
// buffer of the same size, the read-bandwidth reference. The 1 Mi case fits in the L2/L3.
#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/core/simd.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/model/t5/model.hpp>

#include "support/random_t5.hpp"
#include "support/step_counters.hpp"

namespace {

using namespace lorahub;

std::vector<std::uint16_t> random_halves(std::size_t count, dtype type) {
    std::mt19937 random(7);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<std::uint16_t> values(count);
    for (auto& value : values) value = type == dtype::f16 ? f32_to_f16(normal(random)) : f32_to_bf16(normal(random));
    return values;
}

/// Times each iteration's `body` and reports GB/s of the 16-bit side and of both sides
/// (`moved`), mean and best iteration (`best_`: on a shared machine the mean mixes in others'
/// bursts).
template <class Body>
void measure(benchmark::State& state, std::size_t narrow_bytes, std::size_t wide_bytes, Body body) {
    double best = 1e30;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        body();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    const auto rate = [](double bytes) {
        return benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
    };
    state.counters["GB/s"] = rate(static_cast<double>(narrow_bytes));
    state.counters["moved_GB/s"] = rate(static_cast<double>(narrow_bytes + wide_bytes));
    state.counters["best_GB/s"] = static_cast<double>(narrow_bytes) / best / 1e9;
    state.counters["best_moved_GB/s"] = static_cast<double>(narrow_bytes + wide_bytes) / best / 1e9;
}

/// Reads every byte of a buffer of 2 x range(0) bytes once (a vector sum of its 32-bit words).
void BM_read(benchmark::State& state) {
    namespace hn = simd::hn;
    const auto count = static_cast<std::size_t>(state.range(0)) / 2;
    const std::vector<std::uint32_t> words(count, 1u);
    const hn::ScalableTag<std::uint32_t> d;
    const std::size_t lanes = hn::Lanes(d);
    measure(state, 4 * count, 0, [&] {
        auto s0 = hn::Zero(d), s1 = s0, s2 = s0, s3 = s0;
        for (std::size_t i = 0; i + 4 * lanes <= count; i += 4 * lanes) {
            s0 = hn::Add(s0, hn::LoadU(d, words.data() + i));
            s1 = hn::Add(s1, hn::LoadU(d, words.data() + i + lanes));
            s2 = hn::Add(s2, hn::LoadU(d, words.data() + i + 2 * lanes));
            s3 = hn::Add(s3, hn::LoadU(d, words.data() + i + 3 * lanes));
        }
        benchmark::DoNotOptimize(hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3)))));
    });
}

void decode(benchmark::State& state, dtype type) {
    const auto count = static_cast<std::size_t>(state.range(0));
    const auto halves = random_halves(count, type);
    std::vector<float> out(count);
    const auto bytes = std::as_bytes(std::span(halves));
    measure(state, 2 * count, 4 * count, [&] {
        convert_to_f32(type, bytes, out, "bench");
        benchmark::DoNotOptimize(out.data());
    });
}

void encode(benchmark::State& state, dtype type) {
    const auto count = static_cast<std::size_t>(state.range(0));
    const auto halves = random_halves(count, type);
    std::vector<float> values(count);
    convert_to_f32(type, std::as_bytes(std::span(halves)), values, "bench");
    std::vector<std::byte> out(2 * count);
    measure(state, 2 * count, 4 * count, [&] {
        convert_from_f32(values, type, out, "bench");
        benchmark::DoNotOptimize(out.data());
    });
}

/// The scalar functions one value at a time: what convert_to_f32 did before it was vectorised.
void BM_f16_to_f32_scalar(benchmark::State& state) {
    const auto count = static_cast<std::size_t>(state.range(0));
    const auto halves = random_halves(count, dtype::f16);
    std::vector<float> out(count);
    measure(state, 2 * count, 4 * count, [&] {
        for (std::size_t i = 0; i < count; ++i) out[i] = f16_to_f32(halves[i]);
        benchmark::DoNotOptimize(out.data());
    });
}

void BM_f16_to_f32(benchmark::State& state) { decode(state, dtype::f16); }
void BM_bf16_to_f32(benchmark::State& state) { decode(state, dtype::bf16); }
void BM_f32_to_f16(benchmark::State& state) { encode(state, dtype::f16); }
void BM_f32_to_bf16(benchmark::State& state) { encode(state, dtype::bf16); }

constexpr std::int64_t in_cache = 1 << 20, in_memory = 1 << 26;
BENCHMARK(BM_read)->Arg(in_cache)->Arg(in_memory);
BENCHMARK(BM_f16_to_f32)->Arg(in_cache)->Arg(in_memory);
BENCHMARK(BM_bf16_to_f32)->Arg(in_cache)->Arg(in_memory);
BENCHMARK(BM_f32_to_f16)->Arg(in_cache)->Arg(in_memory);
BENCHMARK(BM_f32_to_bf16)->Arg(in_cache)->Arg(in_memory);
BENCHMARK(BM_f16_to_f32_scalar)->Arg(in_cache)->Arg(in_memory);

/// Opens a Flan-T5-large-size checkpoint (783 M parameters, written once under the temp dir)
/// and reads every tensor as float32, as a model load does for 16-bit files; the page cache
/// is warm (the first iteration is a warm-up). `read_GB/s` is a plain read of the same file's
/// bytes in the same run, the ceiling of a load from the page cache.
void load(benchmark::State& state, dtype type) {
    const auto path = bench::random_flan_t5(true, type) / "model.safetensors";
    std::vector<std::vector<float>> tensors;
    auto read_all = [&] {
        const io::safetensors_file file(path);
        tensors.clear();
        for (const auto& view : file.tensors()) tensors.push_back(file.read_f32(view));
        return file.tensors().size();
    };
    read_all();
    std::size_t bytes = 0;
    for (auto _ : state) {
        tensors = {};
        benchmark::DoNotOptimize(read_all());
    }
    for (const auto& tensor : tensors) bytes += 2 * tensor.size();
    state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
    const io::safetensors_file file(path);
    double best = 1e30;
    for (int repeat = 0; repeat < 3; ++repeat) {
        const auto start = std::chrono::steady_clock::now();
        std::uint64_t sum = 0;
        for (const auto& view : file.tensors())
            for (std::size_t i = 0; i + 8 <= view.bytes.size(); i += 64) sum += detail::load_unaligned<std::uint64_t>(view.bytes.data() + i);
        benchmark::DoNotOptimize(sum);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    state.counters["read_GB/s"] = static_cast<double>(bytes) / best / 1e9;
}
void BM_load_flan_t5_large_f16(benchmark::State& state) { load(state, dtype::f16); }
void BM_load_flan_t5_large_bf16(benchmark::State& state) { load(state, dtype::bf16); }
BENCHMARK(BM_load_flan_t5_large_f16)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_load_flan_t5_large_bf16)->Unit(benchmark::kMillisecond)->Iterations(3);

/// A Flan-T5-large-size model loaded from a BF16 checkpoint for the bf16 backend, from opening
/// the file to packed weights: its linear weights kept as the file's bytes and packed from them
/// (argument 1: what t5::model::load does for this backend), or converted to float32 at load
/// and rounded back when packed (argument 0: the path before the weights were used in place;
/// the same packed bits). Page cache warm. `peak_GB` is the peak resident set during the
/// process's first load above the resident set before it, `held_GB` what stays resident while
/// that model lives: run one argument per process.
void BM_load_model_bf16(benchmark::State& state) {
    const auto directory = bench::random_flan_t5(true, dtype::bf16);
    const auto form = state.range(0) == 1 ? linear_weight_form::stored_bf16 : linear_weight_form::float32;
    const auto config = t5::load_config(directory / "config.json");
    double peak = 0, held = 0;
    auto load_once = [&] {
        const double before = bench::rss_bytes();
        bench::reset_peak_rss();
        const t5::model<cpu::bf16_backend> model(std::make_shared<const t5::weights>(config, std::make_shared<const io::weight_store>(directory), form));
        if (peak == 0) {  // the first load: later ones reuse the pages the allocator kept from it
            peak = bench::peak_rss_bytes() - before;
            held = bench::rss_bytes() - before;
        }
        return model.lora_targets().size();
    };
    load_once();
    for (auto _ : state) benchmark::DoNotOptimize(load_once());
    state.counters["peak_GB"] = peak / 1e9;
    state.counters["held_GB"] = held / 1e9;
    state.counters["file_GB"] = static_cast<double>(std::filesystem::file_size(directory / "model.safetensors")) / 1e9;
}
BENCHMARK(BM_load_model_bf16)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(3);

/// Header validation of a file shaped like Flan-T5-large's: ~560 tensors.
void BM_parse_header(benchmark::State& state) {
    std::vector<std::vector<float>> storage;
    std::vector<io::tensor_record> records;
    for (int i = 0; i < 560; ++i) {
        storage.emplace_back(4);
        records.push_back({"encoder.block." + std::to_string(i) + ".layer.0.SelfAttention.q.weight", dtype::f32, {2, 2},
                           std::as_bytes(std::span(storage.back()))});
    }
    std::vector<std::size_t> order;
    const auto header = io::safetensors_header(records, {}, order);
    std::string file(8, '\0');
    const std::uint64_t length = header.size();
    std::memcpy(file.data(), &length, 8);
    file += header;
    for (const auto index : order) file.append(reinterpret_cast<const char*>(records[index].bytes.data()), 16);
    for (auto _ : state) benchmark::DoNotOptimize(io::parse_safetensors(std::as_bytes(std::span(file)), "bench"));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 560));
}
BENCHMARK(BM_parse_header);

}  // namespace

BENCHMARK_MAIN();
