// Compose and merge kernels at Flan-T5-large shape: a pool of 20 random modules of rank 16 on
// q and v (48 targets of 1024 x 1024), composed by each composer, and the merge of a composed
// LoRA into the 48 base weights (W += s B A). Memory-bound kernels are reported in GB/s and
// as a fraction of this machine's STREAM triad bandwidth (a = b + s c on both cores, the best
// of 20 passes), measured again beside each kernel. `best_GB/s` is the best single
// composition (as the triad is a best pass: on a machine shared with other work the mean
// mixes in their bursts), `of_triad` its fraction of the triad and `mean_of_triad` the mean's.
// `first_ms` is a first composition of a pool: the pruning types then also find what does not
// depend on the weights (magnitude thresholds, TIES's elected signs), which later ones reuse.
// The SVD types are compute-bound (one SVD per target); their time is reported as is, and the
// pruned ones' Krylov truncation with `error_vs_exact`: the largest relative Frobenius distance,
// over the targets, of its s B' A' from the full SVD's (options.exact_svd) on the same pool.
#include <omp.h>

#include <algorithm>
#include <random>
#include <type_traits>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/backend/cpu/gemm.hpp>
#include <lorahub/core/truncated_svd.hpp>
#include <lorahub/lora/combinations.hpp>
#include <lorahub/lora/delta_sum.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/lora/weighted_ab.hpp>

namespace {

using namespace lorahub;

constexpr std::size_t modules = 20, rank = 16, width = 1024, targets = 48;

const lora_pool& pool() {
    static const lora_pool instance = [] {
        std::vector<lora_target> shapes;
        for (std::size_t t = 0; t < targets; ++t) shapes.push_back({"layer." + std::to_string(t), width, width});
        auto p = lora_pool::with_shapes(modules, shapes, rank, 2.0f);
        std::mt19937 random(3);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        for (auto& stack : p.stacks()) {
            for (auto& v : stack.a) v = normal(random);
            for (auto& v : stack.b) v = normal(random);
        }
        return p;
    }();
    return instance;
}

double stack_bytes() {
    double floats = 0;
    for (const auto& stack : pool().stacks()) floats += static_cast<double>(stack.a.size() + stack.b.size());
    return 4.0 * floats;
}

/// STREAM triad on arrays as large as the pool's stacks together, both cores: the best of 20
/// passes. Measured again beside each kernel, since other work on the machine moves it.
double triad_gbs() {
    static const std::size_t n = static_cast<std::size_t>(stack_bytes() / 4.0 / 3.0);
    static std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
    double best = 0;
    for (int repeat = 0; repeat < 20; ++repeat) {
        const double start = omp_get_wtime();
#pragma omp parallel for schedule(static)
        for (std::size_t i = 0; i < n; ++i) a[i] = b[i] + 0.5f * c[i];
        const double seconds = omp_get_wtime() - start;
        benchmark::DoNotOptimize(a.data());
        best = std::max(best, 12.0 * static_cast<double>(n) / seconds / 1e9);
    }
    return best;
}

void BM_triad(benchmark::State& state) {
    double rate = 0;
    for (auto _ : state) rate = triad_gbs();
    state.counters["GB/s"] = rate;
}

/// Bytes a composition must move: every module's A and B read once, the result written once;
/// delta_sum's A' is the stacked A, copied at allocate(), so it moves B and B' only.
template <class C>
double moved_bytes(const std::vector<lora_layer>& out) {
    double read = 0, written = 0;
    for (std::size_t t = 0; t < out.size(); ++t) {
        const auto& stack = pool().stacks()[t];
        const bool b_only = std::is_same_v<C, delta_sum>;
        read += 4.0 * static_cast<double>((b_only ? 0 : stack.a.size()) + stack.b.size());
        written += 4.0 * static_cast<double>((b_only ? 0 : out[t].a.size()) + out[t].b.size());
    }
    return read + written;
}

/// The modules' weights every composition of the bench uses.
std::vector<double> composition_weights() {
    std::vector<double> w(modules);
    for (std::size_t i = 0; i < modules; ++i) w[i] = 0.05 + 0.01 * static_cast<double>(i);
    return w;
}

template <class C>
void BM_compose(benchmark::State& state, const C& composer) {
    auto out = composer.allocate(pool());
    const auto w = composition_weights();
    composer.compose(pool(), w, out);
    {
        const lora_pool fresh = pool();  // a copy: what the pruning types find once per pool is not found yet
        const double start = omp_get_wtime();
        composer.compose(fresh, w, out);
        state.counters["first_ms"] = 1e3 * (omp_get_wtime() - start);
    }
    double best = 1e30;
    for (auto _ : state) {
        const double start = omp_get_wtime();
        composer.compose(pool(), w, out);
        benchmark::DoNotOptimize(out.front().a.data());
        best = std::min(best, omp_get_wtime() - start);
    }
    const double bytes = moved_bytes<C>(out);
    state.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
    const double triad = triad_gbs();
    state.counters["best_GB/s"] = bytes / best / 1e9;
    state.counters["triad_GB/s"] = triad;
    state.counters["of_triad"] = bytes / best / 1e9 / triad;
    state.counters["mean_of_triad"] = benchmark::Counter(bytes / triad / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

/// W += s B A for the 48 targets: each W read and written once (the rank-16 product is small).
void BM_merge(benchmark::State& state) {
    auto composed = weighted_ab{}.allocate(pool());
    weighted_ab{}.compose(pool(), std::vector<double>(modules, 0.05), composed);
    std::vector<std::vector<float>> weights(targets, std::vector<float>(width * width, 0.01f));
    for (auto _ : state)
        for (std::size_t t = 0; t < targets; ++t) {
            const auto& layer = composed[t];
            cpu::eigen_gemm::multiply({layer.b.data(), width, rank, rank}, {layer.a.data(), rank, width, width},
                                      {weights[t].data(), width, width, width}, layer.scaling, 1.0f);
        }
    const double bytes = 2.0 * 4.0 * static_cast<double>(targets * width * width);
    state.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
    state.counters["triad_GB/s"] = triad_gbs();
}

combination_options pruning(bool exact = false) {
    combination_options options;
    options.density = 0.5;
    options.exact_svd = exact;
    return options;
}

combination_options exact_svd() {
    combination_options options;
    options.exact_svd = true;
    return options;
}

/// The composed deltas s B' A', one per target.
std::vector<Eigen::MatrixXf> composed_deltas(const std::vector<lora_layer>& layers) {
    std::vector<Eigen::MatrixXf> deltas;
    for (const auto& layer : layers) {
        const Eigen::Map<const row_matrix> a(layer.a.data(), static_cast<Eigen::Index>(layer.rank), static_cast<Eigen::Index>(width));
        const Eigen::Map<const row_matrix> b(layer.b.data(), static_cast<Eigen::Index>(width), static_cast<Eigen::Index>(layer.rank));
        deltas.emplace_back(layer.scaling * (b * a));
    }
    return deltas;
}

/// A pruned SVD type's default (Krylov) composition, timed, and its distance from the full SVD's.
template <class C>
void BM_compose_truncated(benchmark::State& state, const C& composer) {
    const auto w = composition_weights();
    C exact = composer;
    exact.options.exact_svd = true;
    auto reference = exact.allocate(pool()), out = composer.allocate(pool());
    exact.compose(pool(), w, reference);
    for (auto _ : state) {
        composer.compose(pool(), w, out);
        benchmark::DoNotOptimize(out.front().a.data());
    }
    const auto expected = composed_deltas(reference), found = composed_deltas(out);
    double worst = 0.0;
    for (std::size_t t = 0; t < expected.size(); ++t)
        worst = std::max(worst, static_cast<double>((found[t] - expected[t]).norm() / expected[t].norm()));
    state.counters["error_vs_exact"] = worst;
}

}  // namespace

BENCHMARK(BM_triad)->Iterations(1);
BENCHMARK_CAPTURE(BM_compose, weighted_ab, weighted_ab{})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_compose, linear, combine_linear{})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_compose, cat, combine_cat{})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_compose, delta_sum, delta_sum{})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_compose, ties, combine_ties{pruning()})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(BM_compose, dare_linear, combine_dare_linear{pruning()})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(BM_compose, magnitude_prune, combine_magnitude_prune{pruning()})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(BM_compose, svd, combine_svd_sum{})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(BM_compose, svd_exact, combine_svd_sum{exact_svd()})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(BM_compose, ties_svd_exact, combine_ties_svd{pruning(true)})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(BM_compose_truncated, ties_svd, combine_ties_svd{pruning()})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(BM_compose_truncated, dare_linear_svd, combine_dare_linear_svd{pruning()})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(BM_compose_truncated, magnitude_prune_svd, combine_magnitude_prune_svd{pruning()})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);
BENCHMARK(BM_merge)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
