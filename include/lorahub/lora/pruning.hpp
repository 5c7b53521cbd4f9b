#pragma once

/// The pruning reductions of PEFT's combination types (magnitude_prune, ties, dare_linear,
/// dare_ties) as vector kernels: each module's tensor is pruned on the fly (a magnitude
/// threshold, or a DARE mask) and the N tensors reduced entry by entry in module order, with
/// the float operations of the scalar definition in combinations.hpp (combination::reduce),
/// so that both give the same bits.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lorahub/core/simd.hpp"

namespace lorahub {

enum class majority_sign { total, frequency };

namespace combination {

enum class reduction { sum, magnitude_prune, ties, dare_linear, dare_ties };

constexpr bool prunes_by_magnitude(reduction r) { return r == reduction::magnitude_prune || r == reduction::ties; }
constexpr bool uses_dare(reduction r) { return r == reduction::dare_linear || r == reduction::dare_ties; }
constexpr bool elects_sign(reduction r) { return r == reduction::ties || r == reduction::dare_ties; }

/// The entries magnitude pruning keeps: |x| (as the bits of |x|, which order as the values
/// do) above `key`, or equal to it at an index below `ties_before`.
struct kept_set {
    std::uint32_t key = 0;
    std::size_t ties_before = 0;
    bool none = false;  ///< keeps nothing
};

inline std::uint32_t magnitude_key(float x) { return std::bit_cast<std::uint32_t>(x) & 0x7fffffffu; }

/// The int(density n) entries of largest magnitude of `tensor`, ties broken towards the lower
/// index. The threshold is bracketed from a sorted sample; one vector pass counts the entries
/// below and above the bracket and gathers those inside it (all entries when the bracket
/// misses); a radix selection on 12-bit digits of the gathered keys then finds it.
/// `scratch` grows to n + a vector. `next` (the tensor asked for next, if known) is
/// prefetched meanwhile.
inline kept_set largest_magnitudes(std::span<const float> tensor, double density, std::vector<std::uint32_t>& scratch,
                                   std::span<const float> next = {}) {
    namespace hn = simd::hn;
    const std::size_t n = tensor.size();
    if (density >= 1.0) return {0, n, false};
    const auto keep = static_cast<std::size_t>(density * static_cast<double>(n));
    if (keep == 0) return {0, 0, true};
    if (keep >= n) return {0, n, false};
    const std::size_t rank = n - keep;  // the threshold's position in ascending order

    constexpr std::size_t max_sample = 128;
    std::uint32_t sample[max_sample];
    const std::size_t samples = std::min(n, max_sample), stride = n / samples;
    for (std::size_t s = 0; s < samples; ++s) sample[s] = magnitude_key(tensor[s * stride]);
    std::sort(sample, sample + samples);
    const double p = static_cast<double>(rank) / static_cast<double>(n);
    const auto margin = static_cast<std::size_t>(3.0 * std::sqrt(static_cast<double>(samples) * p * (1.0 - p))) + 2;
    const auto at = static_cast<std::size_t>(p * static_cast<double>(samples));
    const std::uint32_t low = sample[at > margin ? at - margin : 0], high = sample[std::min(samples - 1, at + margin)];

    const hn::ScalableTag<std::int32_t> di;
    const hn::RebindToUnsigned<decltype(di)> du;
    const hn::RebindToFloat<decltype(di)> df;
    const std::size_t lanes = hn::Lanes(di);
    scratch.resize(n + lanes);
    // keys are below 2^31: compared as signed integers
    auto gather = [&](std::uint32_t from, std::uint32_t to, std::size_t& below, std::size_t& above) {
        const auto lo = hn::Set(di, static_cast<std::int32_t>(from)), hi = hn::Set(di, static_cast<std::int32_t>(to));
        const auto magnitude = hn::Set(di, 0x7fffffff);
        std::size_t count = 0, j = 0;
        below = above = 0;
        const std::size_t ahead = next.size() >= n ? n : 0;
        for (; j + lanes <= n; j += lanes) {
            if (j < ahead && j % 16 == 0) hwy::Prefetch(next.data() + j);
            const auto key = hn::And(hn::BitCast(di, hn::LoadU(df, tensor.data() + j)), magnitude);
            const auto under = hn::Lt(key, lo), over = hn::Gt(key, hi);
            below += hn::CountTrue(di, under);
            above += hn::CountTrue(di, over);
            // compress in a register, then store the whole vector (AMD's compress-to-memory is slow)
            const auto inside = hn::RebindMask(du, hn::Not(hn::Or(under, over)));
            hn::StoreU(hn::Compress(hn::BitCast(du, key), inside), du, scratch.data() + count);
            count += hn::CountTrue(du, inside);
        }
        for (; j < n; ++j) {
            const std::uint32_t key = magnitude_key(tensor[j]);
            if (key < from) ++below;
            else if (key > to) ++above;
            else scratch[count++] = key;
        }
        return count;
    };
    std::uint32_t base = low;
    std::size_t below = 0, greater = 0, count = gather(low, high, below, greater);
    std::uint32_t range = high - low;
    if (below > rank || rank >= n - greater) {  // the bracket missed
        base = 0;
        range = 0x7fffffffu;
        count = gather(0, range, below, greater);
    }
    std::size_t index = rank - below;  // the threshold's position among the gathered keys
    constexpr int digit = 12;
    int shift = std::max(0, static_cast<int>(std::bit_width(range)) - digit);
    std::uint32_t* keys = scratch.data();
    for (;;) {
        std::uint32_t histogram[std::size_t{1} << digit] = {};
        for (std::size_t c = 0; c < count; ++c) ++histogram[(keys[c] - base) >> shift];
        std::size_t before = 0, bin = 0;
        while (before + histogram[bin] <= index) before += histogram[bin++];
        greater += count - before - histogram[bin];
        index -= before;
        std::size_t kept = 0;
        for (std::size_t c = 0; c < count; ++c)
            if (((keys[c] - base) >> shift) == bin) keys[kept++] = keys[c];
        count = kept;
        base += static_cast<std::uint32_t>(bin) << shift;
        if (shift == 0) break;
        shift = std::max(0, shift - digit);
    }
    const std::uint32_t threshold = base;
    const std::size_t equal = count, wanted = keep - greater;  // of the entries at the threshold, 1 <= wanted <= equal
    if (wanted == equal) return {threshold, n, false};
    std::size_t seen = 0;
    for (std::size_t j = 0; j < n; ++j)
        if (magnitude_key(tensor[j]) == threshold && ++seen == wanted) return {threshold, j + 1, false};
    return {threshold, n, false};
}

/// DARE's keep decisions for entry j of one (target, tensor, adapter) stream: a counter-based
/// hash (MurmurHash3's finaliser over (j + key2) ^ key1, the keys drawn from the seed and the
/// stream by splitmix64), its top 24 bits below density 2^24. Independent of the order and the thread that asks.
struct dare_stream {
    std::uint32_t key1, key2, threshold;

    static constexpr std::uint32_t mix(std::uint32_t h) {
        h ^= h >> 16;
        h *= 0x85ebca6bu;
        h ^= h >> 13;
        h *= 0xc2b2ae35u;
        h ^= h >> 16;
        return h;
    }
    static dare_stream of(std::uint64_t seed, std::size_t target, std::size_t part, std::size_t adapter, double density) {
        std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (1 + target * 8 + part + (static_cast<std::uint64_t>(adapter) << 40));
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix64's finaliser
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        const double scaled = std::clamp(density, 0.0, 1.0) * 16777216.0;
        return {static_cast<std::uint32_t>(z), static_cast<std::uint32_t>(z >> 32), static_cast<std::uint32_t>(std::llround(scaled))};
    }
    bool keeps(std::size_t j) const { return (mix((static_cast<std::uint32_t>(j) + key2) ^ key1) >> 8) < threshold; }
};

namespace detail {

/// One module's pruning of one tensor, as the combine loop applies it.
struct pruned_tensor {
    const float* values;
    kept_set kept;     ///< magnitude pruning
    dare_stream dare;  ///< DARE masks from the hash
    const float* mask; ///< DARE masks given (0 / 1), or null
    bool whole;        ///< nothing pruned
};

}  // namespace detail

/// out = the reduction R of the N tensors (tensors[i].values, out.size() floats each) with
/// float `weights`, tensors pruned as tensors[i] says; the float operations of
/// combination::reduce, in the same order (sums in module order by simd::mul_add; the
/// sign election by plain additions; one division).
template <reduction R>
void reduce_pruned(std::span<const detail::pruned_tensor> tensors, std::span<const float> weights, majority_sign sign, std::span<float> out) {
    namespace hn = simd::hn;
    const hn::ScalableTag<float> df;
    const hn::RebindToSigned<decltype(df)> di;
    const hn::RebindToUnsigned<decltype(df)> du;
    const std::size_t lanes = hn::Lanes(df), n = tensors.size(), length = out.size();
    const bool by_frequency = sign == majority_sign::frequency;

    // the kept value of module i at entries [j, j + lanes): vector and scalar forms
    auto kept_vector = [&](std::size_t i, std::size_t j) {
        const auto& t = tensors[i];
        const auto x = hn::LoadU(df, t.values + j);
        if (t.whole) return x;
        if constexpr (prunes_by_magnitude(R)) {
            const auto key = hn::And(hn::BitCast(di, x), hn::Set(di, 0x7fffffff));
            const auto threshold = hn::Set(di, static_cast<std::int32_t>(t.kept.key));
            if (t.kept.ties_before >= j + lanes) return hn::IfThenElseZero(hn::RebindMask(df, hn::Not(hn::Lt(key, threshold))), x);
            if (t.kept.ties_before <= j) return hn::IfThenElseZero(hn::RebindMask(df, hn::Gt(key, threshold)), x);
            const auto before = hn::Lt(hn::Iota(di, static_cast<std::int32_t>(j)), hn::Set(di, static_cast<std::int32_t>(t.kept.ties_before)));
            return hn::IfThenElseZero(hn::RebindMask(df, hn::Or(hn::Gt(key, threshold), hn::And(hn::Eq(key, threshold), before))), x);
        } else {
            if (t.mask) return hn::IfThenElseZero(hn::Ne(hn::LoadU(df, t.mask + j), hn::Zero(df)), x);
            auto h = hn::Xor(hn::Add(hn::BitCast(du, hn::Iota(di, static_cast<std::int32_t>(j))), hn::Set(du, t.dare.key2)), hn::Set(du, t.dare.key1));
            auto mix = [&](auto v) {
                v = hn::Xor(v, hn::ShiftRight<16>(v));
                v = hn::Mul(v, hn::Set(du, 0x85ebca6bu));
                v = hn::Xor(v, hn::ShiftRight<13>(v));
                v = hn::Mul(v, hn::Set(du, 0xc2b2ae35u));
                return hn::Xor(v, hn::ShiftRight<16>(v));
            };
            h = mix(h);
            const auto keep = hn::Lt(hn::BitCast(di, hn::ShiftRight<8>(h)), hn::Set(di, static_cast<std::int32_t>(t.dare.threshold)));
            return hn::IfThenElseZero(hn::RebindMask(df, keep), x);
        }
    };
    auto kept_scalar = [&](std::size_t i, std::size_t j) {
        const auto& t = tensors[i];
        const float x = t.values[j];
        if (t.whole) return x;
        bool keep;
        if constexpr (prunes_by_magnitude(R)) {
            const std::uint32_t key = magnitude_key(x);
            keep = key > t.kept.key || (key == t.kept.key && j < t.kept.ties_before);
        } else {
            keep = t.mask ? t.mask[j] != 0.0f : t.dare.keeps(j);
        }
        return keep ? x : 0.0f;
    };
    auto skipped = [&](std::size_t i) {
        if constexpr (prunes_by_magnitude(R)) return tensors[i].kept.none;
        else return false;
    };

    std::size_t j = 0;
    if constexpr (elects_sign(R)) {
        const auto zero = hn::Zero(df), one = hn::Set(df, 1.0f);
        for (; j + lanes <= length; j += lanes) {
            auto elected = zero;
            for (std::size_t i = 0; i < n; ++i) {
                if (skipped(i)) continue;
                const auto x = kept_vector(i, j);
                if (by_frequency)
                    elected = hn::Add(elected, hn::Sub(hn::IfThenElseZero(hn::Gt(x, zero), one), hn::IfThenElseZero(hn::Lt(x, zero), one)));
                else
                    elected = hn::Add(elected, x);
            }
            const auto positive = hn::Ge(elected, zero);
            auto total = zero, agreeing = zero;
            for (std::size_t i = 0; i < n; ++i) {
                if (skipped(i)) continue;
                const auto x = kept_vector(i, j);
                const auto agrees = hn::Or(hn::And(positive, hn::Gt(x, zero)), hn::AndNot(positive, hn::Lt(x, zero)));
                total = hn::IfThenElse(agrees, hn::MulAdd(hn::Set(df, weights[i]), x, total), total);
                agreeing = hn::IfThenElse(agrees, hn::Add(agreeing, one), agreeing);
            }
            hn::StoreU(hn::Div(total, hn::Max(agreeing, one)), df, out.data() + j);
        }
        for (; j < length; ++j) {
            float elected = 0.0f;
            for (std::size_t i = 0; i < n; ++i) {
                if (skipped(i)) continue;
                const float x = kept_scalar(i, j);
                elected += by_frequency ? static_cast<float>((x > 0.0f) - (x < 0.0f)) : x;
            }
            const bool positive = elected >= 0.0f;
            float total = 0.0f, agreeing = 0.0f;
            for (std::size_t i = 0; i < n; ++i) {
                if (skipped(i)) continue;
                const float x = kept_scalar(i, j);
                if (positive ? !(x > 0.0f) : !(x < 0.0f)) continue;
                total = simd::mul_add(weights[i], x, total);
                agreeing += 1.0f;
            }
            out[j] = total / std::max(agreeing, 1.0f);
        }
    } else {
        for (; j + lanes <= length; j += lanes) {
            auto total = hn::Zero(df);
            for (std::size_t i = 0; i < n; ++i)
                if (!skipped(i)) total = hn::MulAdd(hn::Set(df, weights[i]), kept_vector(i, j), total);
            hn::StoreU(total, df, out.data() + j);
        }
        for (; j < length; ++j) {
            float total = 0.0f;
            for (std::size_t i = 0; i < n; ++i)
                if (!skipped(i)) total = simd::mul_add(weights[i], kept_scalar(i, j), total);
            out[j] = total;
        }
    }
}

}  // namespace combination
}  // namespace lorahub
