#pragma once

/// PEFT's add_weighted_adapter combination types as composers, with PEFT 0.17.1's exact
/// semantics (peft/tuners/lora/model.py, peft/utils/merge_utils.py):
///
/// - cat: A' = [w_1 s_1 A_1; ...; w_N s_N A_N], B' = [B_1 ... B_N] (rank N r).
/// - LoRA-space types (linear, ties, dare_linear, dare_ties, magnitude_prune): the reduction
///   runs on the A stacks and on the B stacks separately with weights sqrt(w_i s_i), rank r.
/// - SVD types (svd, ties_svd, dare_linear_svd, dare_ties_svd, magnitude_prune_svd): the
///   reduction runs on the delta weights s_i B_i A_i with weights w_i s_i (so the scaling
///   counts twice, as in PEFT), then B' A' is its rank-r' truncated SVD (B' = U S, A' = V^T),
///   optionally clamped to the `svd_clamp` quantile of their entries.
/// - reductions: sum (task arithmetic); magnitude_prune keeps the int(density n) largest |x|
///   of each tensor; ties prunes by magnitude, elects a sign per entry (sum of the pruned
///   tensors, or of their signs) and averages the weighted entries that agree with it;
///   dare_* keep each entry with probability `density` and, as PEFT 0.17.1 does, do not
///   rescale the kept ones (its torch.div result is discarded).
///
/// The combined adapter has r = lora_alpha = its rank (scaling 1; sqrt(rank) with rsLoRA,
/// which then scales the combination by sqrt(rank): PEFT's new config says so). DARE masks come from `options.masks` when set (tests inject
/// PEFT's; asked for per target, A before B (or the delta), adapter by adapter), else from
/// dare_stream: a counter-based hash of (options.seed, target, tensor, adapter, entry), so
/// that targets reduce in parallel and any thread draws the same mask.
///
/// The reductions run as vector kernels (pruning.hpp) that give the bits of the scalar
/// definition combination::reduce below.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/eigen.hpp"

#include "lorahub/core/error.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/core/simd.hpp"
#include "lorahub/core/truncated_svd.hpp"
#include "lorahub/lora/kernels.hpp"
#include "lorahub/lora/pool.hpp"
#include "lorahub/lora/pruning.hpp"

namespace lorahub {

/// The sign election named "total" or "frequency" (the CLI's --majority-sign, Python's majority_sign=).
inline majority_sign majority_sign_named(std::string_view name) {
    if (name == "total") return majority_sign::total;
    if (name == "frequency") return majority_sign::frequency;
    throw argument_error("majority_sign", "\"" + std::string(name) + "\" is not total or frequency");
}

/// Fills `mask` with 0 / 1 (keep with probability `density`) for the tensor `part` ("A",
/// "B" or "delta") of adapter `adapter` at target `module`.
using dare_mask_source =
    std::function<void(std::string_view module, std::string_view part, std::size_t adapter, double density, std::span<float> mask)>;

struct combination_options {
    double density = 1.0;  ///< fraction of entries kept by the pruning types, in [0, 1]
    majority_sign sign = majority_sign::total;
    std::size_t svd_rank = 0;            ///< 0: the modules' rank
    bool exact_svd = false;              ///< the full SVD of every delta, never the factored (svd) or Krylov (pruned types) one
    std::optional<double> svd_clamp{};   ///< quantile in (0, 1] of the SVD factors' entries
    std::uint64_t seed = 42;             ///< DARE's masks when `masks` is empty
    dare_mask_source masks{};
};

namespace combination {

/// Keeps the int(density n) entries of largest magnitude (ties broken towards the lower index).
inline void magnitude_prune(std::span<float> tensor, double density) {
    if (density >= 1.0) return;
    const auto keep = static_cast<std::size_t>(density * static_cast<double>(tensor.size()));
    std::vector<std::size_t> order(tensor.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    auto larger = [&](std::size_t x, std::size_t y) {
        const float ax = std::abs(tensor[x]), ay = std::abs(tensor[y]);
        return ax > ay || (ax == ay && x < y);
    };
    if (keep < order.size()) std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(), larger);
    std::vector<char> kept(tensor.size(), 0);
    for (std::size_t i = 0; i < keep; ++i) kept[order[i]] = 1;
    for (std::size_t i = 0; i < tensor.size(); ++i)
        if (!kept[i]) tensor[i] = 0.0f;
}

/// out = the reduction R of `tensors` (each out.size() floats) with `weights`. `tensors` is
/// modified (pruned in place). `mask_for(i, mask)` fills adapter i's DARE mask. The scalar
/// definition: the composers run reduce_pruned (pruning.hpp), tested against this bit for bit.
template <reduction R>
void reduce(std::vector<std::vector<float>>& tensors, std::span<const double> weights, double density, majority_sign sign,
            const std::function<void(std::size_t, std::span<float>)>& mask_for, std::span<float> out) {
    const std::size_t n = tensors.size(), length = out.size();
    if constexpr (R == reduction::magnitude_prune || R == reduction::ties)
        for (auto& tensor : tensors) magnitude_prune(tensor, density);
    if constexpr (R == reduction::dare_linear || R == reduction::dare_ties) {
        if (density < 1.0) {
            std::vector<float> mask(length);
            for (std::size_t i = 0; i < n; ++i) {
                mask_for(i, mask);
                for (std::size_t j = 0; j < length; ++j) tensors[i][j] *= mask[j];
            }
        }
    }
    if constexpr (R == reduction::ties || R == reduction::dare_ties) {
        for (std::size_t j = 0; j < length; ++j) {
            float elected = 0.0f;
            for (std::size_t i = 0; i < n; ++i) {
                const float x = tensors[i][j];
                elected += sign == majority_sign::total ? x : static_cast<float>((x > 0.0f) - (x < 0.0f));
            }
            const float majority = elected >= 0.0f ? 1.0f : -1.0f;
            float total = 0.0f, agreeing = 0.0f;
            for (std::size_t i = 0; i < n; ++i) {
                const float x = tensors[i][j];
                if (static_cast<float>((x > 0.0f) - (x < 0.0f)) != majority) continue;
                total = simd::mul_add(static_cast<float>(weights[i]), x, total);
                agreeing += 1.0f;
            }
            out[j] = total / std::max(agreeing, 1.0f);
        }
    } else {
        for (std::size_t j = 0; j < length; ++j) {
            float total = 0.0f;
            for (std::size_t i = 0; i < n; ++i) total = simd::mul_add(static_cast<float>(weights[i]), tensors[i][j], total);
            out[j] = total;
        }
    }
}

constexpr std::string_view reduction_name(reduction r) {
    switch (r) {
        case reduction::sum: return "linear";
        case reduction::magnitude_prune: return "magnitude_prune";
        case reduction::ties: return "ties";
        case reduction::dare_linear: return "dare_linear";
        case reduction::dare_ties: return "dare_ties";
    }
    return "";
}
constexpr std::string_view svd_name(reduction r) {
    switch (r) {
        case reduction::sum: return "svd";
        case reduction::magnitude_prune: return "magnitude_prune_svd";
        case reduction::ties: return "ties_svd";
        case reduction::dare_linear: return "dare_linear_svd";
        case reduction::dare_ties: return "dare_ties_svd";
    }
    return "";
}
constexpr std::string_view reduction_description(reduction r) {
    switch (r) {
        case reduction::sum: return "PEFT's linear: A and B summed with sqrt(w_i s_i)";
        case reduction::magnitude_prune: return "PEFT's magnitude_prune on A and B";
        case reduction::ties: return "PEFT's ties (TIES-merging) on A and B";
        case reduction::dare_linear: return "PEFT's dare_linear on A and B";
        case reduction::dare_ties: return "PEFT's dare_ties on A and B";
    }
    return "";
}
constexpr std::string_view svd_description(reduction r) {
    switch (r) {
        case reduction::sum: return "PEFT's svd: the weighted delta sum, truncated SVD";
        case reduction::magnitude_prune: return "PEFT's magnitude_prune_svd on the deltas, truncated SVD";
        case reduction::ties: return "PEFT's ties_svd on the deltas, truncated SVD";
        case reduction::dare_linear: return "PEFT's dare_linear_svd on the deltas, truncated SVD";
        case reduction::dare_ties: return "PEFT's dare_ties_svd on the deltas, truncated SVD";
    }
    return "";
}
constexpr bool uses_density(reduction r) { return r != reduction::sum; }

inline void check_options(std::string_view name, const combination_options& options, bool density_used) {
    if (density_used && !(options.density >= 0.0 && options.density <= 1.0))
        throw argument_error(std::string(name), "density must be in [0, 1]");
    if (options.svd_clamp && !(*options.svd_clamp > 0.0 && *options.svd_clamp <= 1.0))
        throw argument_error(std::string(name), "svd_clamp must be a quantile in (0, 1]");
}

/// Scaling of the combined adapter: PEFT writes r = lora_alpha = rank, keeping use_rslora.
inline float combined_scaling(const lora_pool& pool, std::size_t rank) {
    return pool.config().use_rslora ? static_cast<float>(std::sqrt(static_cast<double>(rank))) : 1.0f;
}

/// DARE masks for one tensor (`part`: "A", "B" or "delta", numbered 0, 1, 2) of target
/// number `target`: `options.masks`, or the counter-based draws of dare_stream.
inline std::function<void(std::size_t, std::span<float>)> mask_source(const combination_options& options, std::size_t target,
                                                                      const std::string& module, std::string_view part) {
    const std::size_t part_index = part == "A" ? 0 : part == "B" ? 1 : 2;
    return [&options, target, &module, part, part_index](std::size_t adapter, std::span<float> mask) {
        if (options.masks) return options.masks(module, part, adapter, options.density, mask);
        const auto stream = dare_stream::of(options.seed, target, part_index, adapter, options.density);
        for (std::size_t j = 0; j < mask.size(); ++j) mask[j] = stream.keeps(j) ? 1.0f : 0.0f;
    };
}

/// What reduce_fast() reuses from call to call (one per thread).
struct reduce_scratch {
    std::vector<const float*> values;
    std::vector<double> weights;
    std::vector<std::uint32_t> keys;
    std::vector<detail::pruned_tensor> tensors;
    std::vector<float> float_weights, masks;
    std::vector<float> dense_deltas;  ///< combine_svd: a target's N dense deltas, end to end
    row_matrix delta;                 ///< combine_svd: their reduction
};

/// Magnitude pruning's kept set of every module's A and B at `density`, tensor (2 t + part) N
/// + i for module i's A (part 0) or B (part 1) at target t. They depend on the stacks alone,
/// not on the weights: found once per pool and density (lora_pool::derived), all tensors in
/// parallel, and reused by every later composition.
inline std::shared_ptr<const std::vector<kept_set>> magnitude_kept_sets(const lora_pool& pool, double density) {
    char key[64];
    std::snprintf(key, sizeof key, "magnitude kept sets at density %a", density);
    return pool.derived<std::vector<kept_set>>(key, [&] {
        const std::size_t n = pool.size(), tensors = 2 * n * pool.stacks().size();
        std::size_t floats = 0;
        for (const auto& stack : pool.stacks()) floats += stack.a.size() + stack.b.size();
        std::vector<kept_set> kept(tensors);
#pragma omp parallel if (floats > lora::detail::parallel_floats)
        {
            std::vector<std::uint32_t> scratch;
#pragma omp for schedule(dynamic, 8)
            for (std::size_t k = 0; k < tensors; ++k) {
                const auto& stack = pool.stacks()[k / (2 * n)];
                const std::size_t i = k % n;
                kept[k] = largest_magnitudes((k / n) % 2 == 0 ? stack.a_of(i) : stack.b_of(i), density, scratch);
            }
        }
        return kept;
    });
}

/// What is known of a pruning before the weights (both depend on the stacks alone): each
/// module's magnitude kept set, and TIES's elected signs (one byte per entry, elect_signs).
/// Empty / null: found by the reduction itself.
struct known_pruning {
    std::span<const kept_set> kept;
    const std::uint8_t* positive = nullptr;
};

/// scratch.tensors = the N tensors at `values` (`length` floats each) pruned as R and
/// `options` say: magnitude thresholds (`kept`, else found here), DARE masks from
/// `options.masks` (asked for here, in order) or dare_stream.
template <reduction R>
void prune_tensors(std::span<const float* const> values, std::size_t length, const combination_options& options, std::size_t target,
                   const std::string& module, std::string_view part, reduce_scratch& scratch, std::span<const kept_set> kept = {}) {
    const std::size_t n = values.size();
    check_module_count(reduction_name(R), n);
    const bool dare = uses_dare(R) && options.density < 1.0;
    const bool given = dare && static_cast<bool>(options.masks);
    scratch.tensors.resize(n);
    if (given) {
        scratch.masks.resize(n * length);
        const auto mask_for = mask_source(options, target, module, part);
        for (std::size_t i = 0; i < n; ++i) mask_for(i, std::span<float>(scratch.masks.data() + i * length, length));
    }
    const std::size_t part_index = part == "A" ? 0 : part == "B" ? 1 : 2;
    for (std::size_t i = 0; i < n; ++i) {
        auto& tensor = scratch.tensors[i];
        tensor.values = values[i];
        if constexpr (prunes_by_magnitude(R)) {
            const std::span<const float> next = i + 1 < n ? std::span<const float>(values[i + 1], length) : std::span<const float>();
            tensor.kept = kept.empty() ? largest_magnitudes(std::span<const float>(values[i], length), options.density, scratch.keys, next) : kept[i];
        } else {
            tensor.kept = kept_set{0, length, false};
        }
        tensor.dare = dare_stream::of(options.seed, target, part_index, i, dare ? options.density : 1.0);
        tensor.mask = given ? scratch.masks.data() + i * length : nullptr;
        tensor.whole = prunes_by_magnitude(R) ? !tensor.kept.none && tensor.kept.key == 0 && tensor.kept.ties_before >= length : !dare;
    }
}

/// out = the reduction R of the N tensors at `values` (out.size() floats each) with
/// `weights` (rounded to float), as reduce() defines it, by the vector kernel.
template <reduction R>
void reduce_fast(std::span<const float* const> values, std::span<const double> weights, const combination_options& options, std::size_t target,
                 const std::string& module, std::string_view part, std::span<float> out, reduce_scratch& scratch, known_pruning known = {}) {
    prune_tensors<R>(values, out.size(), options, target, module, part, scratch, known.kept);
    scratch.float_weights.resize(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) scratch.float_weights[i] = static_cast<float>(weights[i]);
    reduce_pruned<R>(scratch.tensors, scratch.float_weights, options.sign, out, known.positive);
}

/// The signs TIES or DARE-TIES elects for every entry of every target's A and B (elect_signs,
/// job 2 t + part at offsets[2 t + part]).
struct elected_signs {
    std::vector<std::size_t> offsets;
    std::vector<std::uint8_t> positive;
};

/// elected_signs of the pool's A and B stacks pruned as R and `options` say (magnitude
/// pruning from `kept`, magnitude_kept_sets' layout): found once per pool and settings
/// (lora_pool::derived). Not for DARE masks given by a callback, which may change.
template <reduction R>
std::shared_ptr<const elected_signs> elected_signs_of(const lora_pool& pool, const combination_options& options, std::span<const kept_set> kept) {
    static_assert(elects_sign(R));
    char key[128];
    std::snprintf(key, sizeof key, "%s elected signs at density %a, seed %llu, %s", reduction_name(R).data(), options.density,
                  static_cast<unsigned long long>(options.seed), options.sign == majority_sign::total ? "total" : "frequency");
    return pool.derived<elected_signs>(key, [&] {
        const std::size_t n = pool.size(), jobs = 2 * pool.stacks().size();
        elected_signs signs;
        signs.offsets.resize(jobs + 1);
        for (std::size_t k = 0; k < jobs; ++k) {
            const auto& stack = pool.stacks()[k / 2];
            signs.offsets[k + 1] = signs.offsets[k] + (k % 2 == 0 ? stack.a_block() : stack.b_block());
        }
        signs.positive.resize(signs.offsets.back());
#pragma omp parallel if (n * signs.offsets.back() > lora::detail::parallel_floats)
        {
            reduce_scratch scratch;
#pragma omp for schedule(dynamic)
            for (std::size_t k = 0; k < jobs; ++k) {
                const auto& stack = pool.stacks()[k / 2];
                const bool is_a = k % 2 == 0;
                const std::size_t block = is_a ? stack.a_block() : stack.b_block();
                scratch.values.resize(n);
                for (std::size_t i = 0; i < n; ++i) scratch.values[i] = (is_a ? stack.a : stack.b).data() + i * block;
                prune_tensors<R>(scratch.values, block, options, k / 2, stack.module, is_a ? "A" : "B", scratch,
                                 kept.empty() ? kept : kept.subspan(k * n, n));
                elect_signs<R>(scratch.tensors, options.sign, std::span<std::uint8_t>(signs.positive).subspan(signs.offsets[k], block));
            }
        }
        return signs;
    });
}

}  // namespace combination

/// PEFT's "cat": every module's rank kept side by side (rank N r), weights and scalings in A.
struct combine_cat {
    static constexpr std::string_view name = "cat";
    static constexpr std::string_view description = "PEFT's cat: the modules' ranks side by side";
    combination_options options;

    std::vector<lora_layer> allocate(const lora_pool& pool) const {
        std::vector<lora_layer> out;
        for (const auto& stack : pool.stacks()) {
            const std::size_t rank = pool.size() * stack.rank;
            out.push_back({stack.module, rank, stack.in_features, stack.out_features, combination::combined_scaling(pool, rank),
                           std::vector<float>(rank * stack.in_features), std::vector<float>(stack.out_features * rank)});
        }
        return out;
    }
    void compose(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) const {
        pool.check_weights(w);
        // one pass over both: job 2 t is target t's A' (one row of N blocks w_i s_i A_i), job
        // 2 t + 1 its B' (out_features rows of N blocks B_i)
        lora::scaled_column_concats(2 * pool.stacks().size(), w.size(), [&](std::size_t k, std::span<float> factors) {
            const auto& stack = pool.stacks()[k / 2];
            auto& layer = out[k / 2];
            for (std::size_t i = 0; i < w.size(); ++i)
                factors[i] = k % 2 == 0 ? static_cast<float>(w[i] * static_cast<double>(stack.scaling[i])) : 1.0f;
            return k % 2 == 0 ? lora::concat_job{stack.a.data(), layer.a.data(), 1, stack.a_block()}
                              : lora::concat_job{stack.b.data(), layer.b.data(), stack.out_features, stack.rank};
        });
    }
};

/// PEFT's LoRA-space combinations: the reduction on the A and B stacks with sqrt(w_i s_i).
template <combination::reduction R>
struct combine_lora_space {
    static constexpr std::string_view name = combination::reduction_name(R);
    static constexpr std::string_view description = combination::reduction_description(R);
    /// sqrt(w_i s_i) is taken: a search over weights must stay at w >= 0.
    static constexpr bool nonnegative_weights = true;
    combination_options options;

    std::vector<lora_layer> allocate(const lora_pool& pool) const {
        combination::check_options(name, options, combination::uses_density(R));
        std::vector<lora_layer> out;
        for (const auto& stack : pool.stacks())
            out.push_back({stack.module, stack.rank, stack.in_features, stack.out_features, combination::combined_scaling(pool, stack.rank),
                           std::vector<float>(stack.a_block()), std::vector<float>(stack.b_block())});
        return out;
    }
    void compose(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) const {
        pool.check_weights(w);
        const std::size_t n = pool.size();
        combination::check_module_count(name, n);  // here, not inside the parallel reduction
        for (const auto& stack : pool.stacks())
            for (std::size_t i = 0; i < n; ++i)
                if (w[i] * static_cast<double>(stack.scaling[i]) < 0.0)
                    throw argument_error(std::string(name), "takes sqrt(weight x scaling) as PEFT does; module " + std::to_string(i + 1) +
                                                                "'s is negative (PEFT would give NaN): use cat, svd or weighted-ab for negative weights");
        if constexpr (R == combination::reduction::sum) {  // plain weighted sums: the streaming kernel, A and B of every target in one pass
            lora::weighted_sums(2 * pool.stacks().size(), n, [&](std::size_t k, std::span<float> roots) {
                const auto& stack = pool.stacks()[k / 2];
                for (std::size_t i = 0; i < n; ++i) roots[i] = static_cast<float>(std::sqrt(w[i] * static_cast<double>(stack.scaling[i])));
                auto& into = k % 2 == 0 ? out[k / 2].a : out[k / 2].b;
                return lora::sum_job{(k % 2 == 0 ? stack.a : stack.b).data(), into.data(), into.size()};
            });
            return;
        }
        // job 2 t is target t's A, job 2 t + 1 its B: independent, shared among the threads
        // unless the masks come from a callback (asked for in order, on this thread)
        const std::size_t jobs = 2 * pool.stacks().size();
        // what does not depend on the weights, found on the first composition: the magnitude
        // kept sets, and the elected signs (unless DARE's masks come from a callback)
        std::shared_ptr<const std::vector<combination::kept_set>> kept;
        if constexpr (combination::prunes_by_magnitude(R)) kept = combination::magnitude_kept_sets(pool, options.density);
        const auto all_kept = kept ? std::span<const combination::kept_set>(*kept) : std::span<const combination::kept_set>();
        std::shared_ptr<const combination::elected_signs> signs;
        if constexpr (combination::elects_sign(R))
            if (!(combination::uses_dare(R) && options.masks)) signs = combination::elected_signs_of<R>(pool, options, all_kept);
        auto run = [&](std::size_t k, combination::reduce_scratch& scratch) {
            const auto& stack = pool.stacks()[k / 2];
            const bool is_a = k % 2 == 0;
            const std::size_t block = is_a ? stack.a_block() : stack.b_block();
            scratch.values.resize(n);
            scratch.weights.resize(n);
            for (std::size_t i = 0; i < n; ++i) {
                scratch.values[i] = (is_a ? stack.a : stack.b).data() + i * block;
                scratch.weights[i] = std::sqrt(w[i] * static_cast<double>(stack.scaling[i]));
            }
            const combination::known_pruning known{all_kept.empty() ? all_kept : all_kept.subspan(k * n, n),
                                                   signs ? signs->positive.data() + signs->offsets[k] : nullptr};
            combination::reduce_fast<R>(scratch.values, scratch.weights, options, k / 2, stack.module, is_a ? "A" : "B",
                                        is_a ? out[k / 2].a : out[k / 2].b, scratch, known);
        };
        if (options.masks && combination::uses_dare(R)) {
            combination::reduce_scratch scratch;
            for (std::size_t k = 0; k < jobs; ++k) run(k, scratch);
            return;
        }
        std::size_t floats = 0;
        for (const auto& stack : pool.stacks()) floats += stack.a.size() + stack.b.size();
#pragma omp parallel if (floats > lora::detail::parallel_floats)
        {
            combination::reduce_scratch scratch;
#pragma omp for schedule(dynamic)
            for (std::size_t k = 0; k < jobs; ++k) run(k, scratch);
        }
    }
};

/// PEFT's SVD combinations: the reduction on the delta weights s_i B_i A_i with w_i s_i,
/// then a rank-r' truncated SVD. One SVD per target per composition (targets in parallel):
/// for combining a pool once, not for the inner loop of a search. svd (the plain sum) has
/// rank N r at most; below the matrix's smaller side it is factored through two thin QRs and
/// an N r x N r SVD instead. The pruned types' deltas have full rank: their r' leading
/// triplets come from a block Krylov iteration checked by its residuals, the full SVD where it
/// does not converge (core/truncated_svd.hpp). options.exact_svd keeps the full SVD everywhere.
template <combination::reduction R>
struct combine_svd {
    static constexpr std::string_view name = combination::svd_name(R);
    static constexpr std::string_view description = combination::svd_description(R);
    combination_options options;

    std::vector<lora_layer> allocate(const lora_pool& pool) const {
        combination::check_options(name, options, combination::uses_density(R));
        std::vector<lora_layer> out;
        for (const auto& stack : pool.stacks()) {
            const std::size_t rank = options.svd_rank == 0 ? stack.rank : options.svd_rank;
            if (rank > std::min(stack.in_features, stack.out_features))
                throw argument_error(std::string(name), "svd rank " + std::to_string(rank) + " exceeds the smaller side of " + stack.module);
            out.push_back({stack.module, rank, stack.in_features, stack.out_features, combination::combined_scaling(pool, rank),
                           std::vector<float>(rank * stack.in_features), std::vector<float>(stack.out_features * rank)});
        }
        return out;
    }
    void compose(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) const {
        pool.check_weights(w);
        using matrix = row_matrix;
        const std::size_t n = pool.size();
        combination::check_module_count(name, n);  // here, not inside the parallel reduction
        auto run = [&](std::size_t t, combination::reduce_scratch& scratch) {
            const auto& stack = pool.stacks()[t];
            const auto rows = static_cast<Eigen::Index>(stack.out_features), cols = static_cast<Eigen::Index>(stack.in_features),
                       r = static_cast<Eigen::Index>(stack.rank);
            auto& layer = out[t];
            const auto k = static_cast<Eigen::Index>(layer.rank), stacked = static_cast<Eigen::Index>(n) * r;
            matrix u, vt;
            if (R == combination::reduction::sum && options.exact_svd == false && stacked < std::min(rows, cols) && k <= stacked) {
                // the weighted sum is B_c A_c with B_c = [c_1 B_1 ... c_N B_N], c_i = w_i s_i s_i,
                // and A_c = [A_1; ...; A_N], of rank N r at most: with B_c = Q_b R_b and A_c^T =
                // Q_a R_a, its SVD is Q_b U S V^T Q_a^T for the N r x N r product R_b R_a^T = U S V^T
                matrix bc(rows, stacked), ac(stacked, cols);
                for (std::size_t i = 0; i < n; ++i) {
                    const auto c = static_cast<float>(w[i] * static_cast<double>(stack.scaling[i])) * stack.scaling[i];
                    const auto at = static_cast<Eigen::Index>(i) * r;
                    bc.middleCols(at, r) = c * Eigen::Map<const matrix>(stack.b.data() + i * stack.b_block(), rows, r);
                    ac.middleRows(at, r) = Eigen::Map<const matrix>(stack.a.data() + i * stack.a_block(), r, cols);
                }
                const Eigen::HouseholderQR<matrix> qr_b(bc), qr_a(ac.transpose());
                const matrix q_b = qr_b.householderQ() * matrix::Identity(rows, stacked), q_a = qr_a.householderQ() * matrix::Identity(cols, stacked);
                const matrix r_b = qr_b.matrixQR().topRows(stacked).triangularView<Eigen::Upper>();
                const matrix r_a = qr_a.matrixQR().topRows(stacked).triangularView<Eigen::Upper>();
                const Eigen::BDCSVD<matrix> small(r_b * r_a.transpose(), Eigen::ComputeThinU | Eigen::ComputeThinV);
                u = q_b * small.matrixU().leftCols(k) * small.singularValues().head(k).asDiagonal();
                vt = (q_a * small.matrixV().leftCols(k)).transpose();
            } else {
                const std::size_t size = stack.out_features * stack.in_features;
                scratch.dense_deltas.resize(n * size);
                scratch.values.resize(n);
                auto& weights = scratch.weights;
                weights.resize(n);
                for (std::size_t i = 0; i < n; ++i) {
                    const Eigen::Map<const matrix> a(stack.a.data() + i * stack.a_block(), r, cols), b(stack.b.data() + i * stack.b_block(), rows, r);
                    float* delta_i = scratch.dense_deltas.data() + i * size;
                    Eigen::Map<matrix>(delta_i, rows, cols).noalias() = stack.scaling[i] * (b * a);
                    scratch.values[i] = delta_i;
                    weights[i] = w[i] * static_cast<double>(stack.scaling[i]);
                }
                auto& delta = scratch.delta;
                delta.resize(rows, cols);
                combination::reduce_fast<R>(scratch.values, weights, options, t, stack.module, "delta",
                                            std::span<float>(delta.data(), static_cast<std::size_t>(delta.size())), scratch);
                auto leading = leading_triplets_or_full(delta, layer.rank, options.exact_svd);
                u = std::move(leading.us);
                vt = std::move(leading.vt);
            }
            if (options.svd_clamp) {
                std::vector<float> entries(u.data(), u.data() + u.size());
                entries.insert(entries.end(), vt.data(), vt.data() + vt.size());
                std::sort(entries.begin(), entries.end());
                const double position = *options.svd_clamp * static_cast<double>(entries.size() - 1);  // torch.quantile, linear
                const auto low = static_cast<std::size_t>(std::floor(position));
                const auto high = std::min(low + 1, entries.size() - 1);
                const float bound = static_cast<float>(entries[low] + (position - static_cast<double>(low)) * (entries[high] - entries[low]));
                u = u.cwiseMax(-bound).cwiseMin(bound);
                vt = vt.cwiseMax(-bound).cwiseMin(bound);
            }
            Eigen::Map<matrix>(layer.b.data(), rows, k) = u;
            Eigen::Map<matrix>(layer.a.data(), k, cols) = vt;
        };
        // targets in parallel, unless the masks come from a callback (asked for in order)
        if (options.masks && combination::uses_dare(R)) {
            combination::reduce_scratch scratch;
            for (std::size_t t = 0; t < pool.stacks().size(); ++t) run(t, scratch);
            return;
        }
        std::size_t floats = 0;  // of the deltas
        for (const auto& stack : pool.stacks()) floats += n * stack.out_features * stack.in_features;
#pragma omp parallel if (floats > lora::detail::parallel_floats)
        {
            combination::reduce_scratch scratch;
#pragma omp for schedule(dynamic)
            for (std::size_t t = 0; t < pool.stacks().size(); ++t) run(t, scratch);
        }
    }
};

using combine_linear = combine_lora_space<combination::reduction::sum>;
using combine_ties = combine_lora_space<combination::reduction::ties>;
using combine_dare_linear = combine_lora_space<combination::reduction::dare_linear>;
using combine_dare_ties = combine_lora_space<combination::reduction::dare_ties>;
using combine_magnitude_prune = combine_lora_space<combination::reduction::magnitude_prune>;
using combine_svd_sum = combine_svd<combination::reduction::sum>;
using combine_ties_svd = combine_svd<combination::reduction::ties>;
using combine_dare_linear_svd = combine_svd<combination::reduction::dare_linear>;
using combine_dare_ties_svd = combine_svd<combination::reduction::dare_ties>;
using combine_magnitude_prune_svd = combine_svd<combination::reduction::magnitude_prune>;

}  // namespace lorahub
