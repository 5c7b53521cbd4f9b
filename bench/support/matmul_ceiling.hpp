#pragma once

#include <algorithm>
#include <array>
#include <map>
#include <chrono>
#include <cstdint>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace lorahub::bench {

/// Where a ceiling's operands are when each timed run starts: in the caches, from the run before
/// (the best case), or evicted, as a model's weights are when a step reaches each of them once.
enum class operands { warm, cold };

/// Evicts the caches: reads a 1 GiB buffer (past any last-level cache) on every thread.
inline void evict_caches() {
    static const std::vector<std::uint64_t> buffer(std::size_t{1} << 27, 1);  // written, so not the shared zero page
    std::uint64_t sum = 0;
#pragma omp parallel for schedule(static) reduction(^ : sum)
    for (std::size_t i = 0; i < buffer.size(); i += 8) sum ^= buffer[i];
    volatile std::uint64_t keep = sum;
    (void)keep;
}

/// GFLOP/s of oneDNN's own matmul primitive for y[m, n] = x[m, k] W^T (W [n, k]), with the
/// weights pre-packed in the layout oneDNN prefers and every object made once: the best
/// this machine does for that shape. `type` is the source and weight type (f32 or bf16);
/// the output is f32. The best of repeated runs over at least `seconds` (warm), or of five
/// runs each after evict_caches() (cold).
inline double matmul_ceiling(std::int64_t m, std::int64_t n, std::int64_t k, dnnl::memory::data_type type, operands state = operands::warm,
                             double seconds = 0.3) {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    const dnnl::memory::desc src_md({m, k}, type, tag::ab), dst_md({m, n}, dt::f32, tag::ab);
    const dnnl::memory::desc any_weights({k, n}, type, tag::any), plain_weights({k, n}, type, tag::ba);
    const dnnl::matmul::primitive_desc descriptor(dnnl::matmul::desc(src_md, any_weights, dst_md), engine);
    dnnl::memory src(src_md, engine), dst(dst_md, engine), plain(plain_weights, engine), packed(descriptor.weights_desc(), engine);
    // fill with small values so that no denormals or infinities slow anything down
    auto fill = [](dnnl::memory& memory) {
        auto* bytes = static_cast<std::uint8_t*>(memory.get_data_handle());
        const auto size = memory.get_desc().get_size();
        for (std::size_t i = 0; i < size; ++i) bytes[i] = (i % 2 == 1) ? 0x3c : static_cast<std::uint8_t>(i * 7);
    };
    fill(src);
    fill(plain);
    dnnl::reorder(plain, packed).execute(stream, plain, packed);
    const dnnl::matmul primitive(descriptor);
    double best = 1e30, total = 0;
    const int runs = state == operands::cold ? 6 : 1000;
    for (int run = 0; run < runs && (run < 3 || total < seconds || state == operands::cold); ++run) {
        if (state == operands::cold) evict_caches();
        const auto begun = std::chrono::steady_clock::now();
        primitive.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_DST, dst}});
        stream.wait();
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
        if (run > 0) best = std::min(best, elapsed);  // the first run warms caches and the JIT
        total += elapsed;
    }
    return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / best / 1e9;
}

/// The ceiling of a list of products (M, N, K; repeats allowed): their total FLOPs over the
/// time each takes at its own shape's matmul_ceiling.
inline double combined_ceiling(const std::vector<std::array<std::int64_t, 3>>& shapes, dnnl::memory::data_type type,
                               operands state = operands::warm) {
    std::map<std::array<std::int64_t, 3>, double> rate;
    double seconds = 0, flops = 0;
    for (const auto& shape : shapes) {
        if (!rate.contains(shape)) rate[shape] = matmul_ceiling(shape[0], shape[1], shape[2], type, state);
        const double f = 2.0 * static_cast<double>(shape[0] * shape[1] * shape[2]);
        flops += f;
        seconds += f / (rate[shape] * 1e9);
    }
    return flops / seconds / 1e9;
}

}  // namespace lorahub::bench
