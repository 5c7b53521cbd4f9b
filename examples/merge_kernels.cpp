// Times the composition kernels (the pool's N modules -> one LoRA) and the merge of a
// composed LoRA into the base weights (W' = W + s B A), and checks the merged model against
// runtime LoRA. Run it on the embedded demo hub:
//
//     build/release/examples/merge_kernels examples/demo-hub [REPEATS]
// For measured figures at real sizes, see bench/ and docs/benchmarks.md.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <type_traits>
#include <vector>

#include <lorahub/lorahub.hpp>

namespace {

/// Bytes a composition streams: every module's A and B read once, the result written once
/// (delta_sum's A' is the stacked A, copied at allocate(): it reads B and writes B' only).
template <class Composer>
std::size_t composed_bytes(const lorahub::lora_pool& pool) {
    std::size_t floats = 0;
    for (const auto& target : pool.stacks()) {
        const std::size_t read = std::is_same_v<Composer, lorahub::delta_sum> ? target.b.size() : target.a.size() + target.b.size();
        const std::size_t written = std::is_same_v<Composer, lorahub::delta_sum> ? target.b.size() : read / pool.size();
        floats += read + written;
    }
    return floats * sizeof(float);
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 2 || argc > 3) {
        std::cerr << "usage: merge_kernels HUB_DIR [REPEATS]\n";
        return 2;
    }
    using namespace lorahub;
    using clock = std::chrono::steady_clock;
    const int repeats = argc == 3 ? std::max(1, std::atoi(argv[2])) : 200;
    const auto hub = io::load_hub_manifest(argv[1]);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const std::vector<double> w(pool.size(), 0.5 / static_cast<double>(pool.size()));

    // [readme]
    // A composer writes into storage it allocated once; compose() then allocates nothing.
    auto time_composer = [&]<class Composer>() {
        auto composed = Composer{}.allocate(pool);
        const auto begun = clock::now();
        for (int i = 0; i < repeats; ++i) Composer{}.compose(pool, w, composed);
        const double seconds = std::chrono::duration<double>(clock::now() - begun).count() / repeats;
        std::printf("%-12s %8.1f us per compose, %6.2f GB/s streamed\n", Composer::name.data(), seconds * 1e6,
                    static_cast<double>(composed_bytes<Composer>(pool)) / seconds / 1e9);
        return composed;
    };
    const auto composed = time_composer.operator()<weighted_ab>();  // LoraHub: A = sum w_i A_i, B = sum w_i B_i
    time_composer.operator()<delta_sum>();                          // PEFT "cat": dW = sum w_i s_i B_i A_i

    // Merging: W' = W + s B A for every bound layer, the same outputs without runtime LoRA.
    const auto lora = model.bind(composed, "composed LoRA");
    const auto begun = clock::now();
    const auto merged = model.merged(lora);
    std::printf("merge        %8.1f ms for %zu layers\n", std::chrono::duration<double>(clock::now() - begun).count() * 1e3,
                composed.size());
    const auto examples = io::read_examples(hub.task_named().few_shot);
    const auto batches = tokenize_examples(model, examples, 0, "few-shot examples");
    const double runtime_loss = reference_loss(model, batches, &lora), merged_loss = reference_loss(merged, batches, nullptr);
    std::printf("loss: runtime LoRA %.6f, merged %.6f\n", runtime_loss, merged_loss);
    // [/readme]
    if (std::abs(runtime_loss - merged_loss) > 1e-4 * std::abs(runtime_loss)) {
        std::cerr << "error: the merged model's loss differs from runtime LoRA's\n";
        return 1;
    }
    return 0;
} catch (const lorahub::error& failure) {
    std::cerr << "error: " << failure.what() << "\n";
    return 1;
}
