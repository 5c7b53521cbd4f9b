// Throughput of the loading path: safetensors validation and dtype conversion to float32.
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/io/safetensors.hpp>

namespace {

std::vector<std::uint16_t> random_halves(std::size_t count) {
    std::mt19937 random(7);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<std::uint16_t> values(count);
    for (auto& value : values) value = lorahub::f32_to_f16(normal(random));
    return values;
}

void convert(benchmark::State& state, lorahub::dtype type) {
    const auto count = static_cast<std::size_t>(state.range(0));
    const auto halves = random_halves(count);
    std::vector<float> out(count);
    const auto bytes = std::as_bytes(std::span(halves));
    for (auto _ : state) {
        lorahub::convert_to_f32(type, bytes, out, "bench");
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * count * 2));
}

void BM_f16_to_f32(benchmark::State& state) { convert(state, lorahub::dtype::f16); }
void BM_bf16_to_f32(benchmark::State& state) { convert(state, lorahub::dtype::bf16); }
BENCHMARK(BM_f16_to_f32)->Arg(1 << 20);
BENCHMARK(BM_bf16_to_f32)->Arg(1 << 20);

/// Header validation of a file shaped like Flan-T5-large's: ~560 tensors.
void BM_parse_header(benchmark::State& state) {
    std::vector<std::vector<float>> storage;
    std::vector<lorahub::io::tensor_record> records;
    for (int i = 0; i < 560; ++i) {
        storage.emplace_back(4);
        records.push_back({"encoder.block." + std::to_string(i) + ".layer.0.SelfAttention.q.weight", lorahub::dtype::f32, {2, 2},
                           std::as_bytes(std::span(storage.back()))});
    }
    std::vector<std::size_t> order;
    const auto header = lorahub::io::safetensors_header(records, {}, order);
    std::string file(8, '\0');
    const std::uint64_t length = header.size();
    std::memcpy(file.data(), &length, 8);
    file += header;
    for (const auto index : order) file.append(reinterpret_cast<const char*>(records[index].bytes.data()), 16);
    for (auto _ : state) benchmark::DoNotOptimize(lorahub::io::parse_safetensors(std::as_bytes(std::span(file)), "bench"));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 560));
}
BENCHMARK(BM_parse_header);

}  // namespace

BENCHMARK_MAIN();
