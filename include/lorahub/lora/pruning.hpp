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
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"
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

/// The most modules a pruned reduction combines (its list of the modules that keep anything
/// lives on the stack); more is an argument_error naming `subject`.
inline constexpr std::size_t max_modules = 4096;
inline void check_module_count(std::string_view subject, std::size_t modules) {
    if (modules > max_modules) throw argument_error(std::string(subject), "combines at most " + std::to_string(max_modules) + " modules");
}

namespace detail {

/// One module's pruning of one tensor, as the combine loop applies it.
struct pruned_tensor {
    const float* values;
    kept_set kept;     ///< magnitude pruning
    dare_stream dare;  ///< DARE masks from the hash
    const float* mask; ///< DARE masks given (0 / 1), or null
    bool whole;        ///< nothing pruned
};

/// The kept values of N pruned tensors (zero where pruned), a vector or one entry at a time,
/// and the modules that keep anything, visited in groups of up to four over a range of entries.
template <reduction R>
class pruned_reader {
public:
    using float_tag = simd::hn::ScalableTag<float>;

    explicit pruned_reader(std::span<const pruned_tensor> tensors) : tensors_(tensors) {
        check_module_count("pruned reduction", tensors.size());
        for (std::size_t i = 0; i < tensors.size(); ++i)
            if (!(prunes_by_magnitude(R) && tensors[i].kept.none)) active_[count_++] = static_cast<std::uint16_t>(i);
    }
    static std::size_t lanes() { return simd::hn::Lanes(float_tag()); }

    /// Module i's kept values at entries [j, j + lanes()).
    auto vector(std::size_t i, std::size_t j) const {
        namespace hn = simd::hn;
        const float_tag df;
        const hn::RebindToSigned<float_tag> di;
        const hn::RebindToUnsigned<float_tag> du;
        const auto& t = tensors_[i];
        const auto x = hn::LoadU(df, t.values + j);
        if (t.whole) return x;
        if constexpr (prunes_by_magnitude(R)) {
            const auto key = hn::And(hn::BitCast(di, x), hn::Set(di, 0x7fffffff));
            const auto threshold = hn::Set(di, static_cast<std::int32_t>(t.kept.key));
            if (t.kept.ties_before >= j + lanes()) return hn::IfThenElseZero(hn::RebindMask(df, hn::Not(hn::Lt(key, threshold))), x);
            if (t.kept.ties_before <= j) return hn::IfThenElseZero(hn::RebindMask(df, hn::Gt(key, threshold)), x);
            const auto before = hn::Lt(hn::Add(hn::Iota(di, 0), hn::Set(di, static_cast<std::int32_t>(j))), hn::Set(di, static_cast<std::int32_t>(t.kept.ties_before)));
            return hn::IfThenElseZero(hn::RebindMask(df, hn::Or(hn::Gt(key, threshold), hn::And(hn::Eq(key, threshold), before))), x);
        } else {
            if (t.mask) return hn::IfThenElseZero(hn::Ne(hn::LoadU(df, t.mask + j), hn::Zero(df)), x);
            // Iota(d, j) builds its vector in memory (a stalled load per call); Iota(d, 0) is a constant
            auto h = hn::Xor(hn::Add(hn::Iota(du, 0), hn::Set(du, static_cast<std::uint32_t>(j) + t.dare.key2)), hn::Set(du, t.dare.key1));
            h = hn::Xor(h, hn::ShiftRight<16>(h));
            h = hn::Mul(h, hn::Set(du, 0x85ebca6bu));
            h = hn::Xor(h, hn::ShiftRight<13>(h));
            h = hn::Mul(h, hn::Set(du, 0xc2b2ae35u));
            h = hn::Xor(h, hn::ShiftRight<16>(h));
            const auto keep = hn::Lt(hn::BitCast(di, hn::ShiftRight<8>(h)), hn::Set(di, static_cast<std::int32_t>(t.dare.threshold)));
            return hn::IfThenElseZero(hn::RebindMask(df, keep), x);
        }
    }
    /// Module i's kept value at entry j.
    float scalar(std::size_t i, std::size_t j) const {
        const auto& t = tensors_[i];
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
    }
    /// The modules that keep anything, in order.
    std::span<const std::uint16_t> active() const { return {active_, count_}; }
    /// visit(group, j) for the groups of up to four active modules, in order, each over the
    /// vectors j of [first, last): few streams at a time, in long runs, which the prefetchers
    /// follow (a bare loop moved 57 GB/s reading four side by side, 41 reading 20: docs/benchmarks.md).
    template <class Visit>
    void in_groups(std::size_t first, std::size_t last, Visit visit) const {
        for (std::size_t g = 0; g < count_; g += 4) {
            const std::span<const std::uint16_t> group(active_ + g, std::min<std::size_t>(4, count_ - g));
            for (std::size_t j = first; j < last; j += lanes()) visit(group, j);
        }
    }

private:
    std::span<const pruned_tensor> tensors_;
    std::uint16_t active_[max_modules];
    std::size_t count_ = 0;
};

/// Entries a sign-electing reduction handles per tile (its three sums stay in L1).
inline constexpr std::size_t election_tile = 2048;

/// TIES's sign election over entries [first, last) (a multiple of the vector width long):
/// elected[j - first] = the sum of the kept values (total) or of their signs (frequency).
template <reduction R>
void elect_tile(const pruned_reader<R>& reader, majority_sign sign, std::size_t first, std::size_t last, float* elected) {
    namespace hn = simd::hn;
    const typename pruned_reader<R>::float_tag df;
    const auto zero = hn::Zero(df), one = hn::Set(df, 1.0f);
    const bool by_frequency = sign == majority_sign::frequency;
    for (std::size_t j = first; j < last; j += reader.lanes()) hn::Store(zero, df, elected + (j - first));
    reader.in_groups(first, last, [&](std::span<const std::uint16_t> group, std::size_t j) {
        auto sum = hn::Load(df, elected + (j - first));
        for (const std::size_t i : group) {
            const auto x = reader.vector(i, j);
            sum = by_frequency ? hn::Add(sum, hn::Sub(hn::IfThenElseZero(hn::Gt(x, zero), one), hn::IfThenElseZero(hn::Lt(x, zero), one)))
                               : hn::Add(sum, x);
        }
        hn::Store(sum, df, elected + (j - first));
    });
}

/// The elected sign of entry j, one entry at a time: true when positive (the sum is >= 0).
template <reduction R>
bool elect_scalar(const pruned_reader<R>& reader, majority_sign sign, std::size_t j) {
    float elected = 0.0f;
    for (const std::size_t i : reader.active()) {
        const float x = reader.scalar(i, j);
        elected += sign == majority_sign::frequency ? static_cast<float>((x > 0.0f) - (x < 0.0f)) : x;
    }
    return elected >= 0.0f;
}

}  // namespace detail

/// The sign TIES (or DARE-TIES) elects for each entry of the N pruned tensors, as
/// reduce_pruned elects it: positive[j] = 1 where it is positive, else 0. It depends on the
/// pruned tensors alone, not on the weights, so a search elects it once (combinations.hpp).
template <reduction R>
void elect_signs(std::span<const detail::pruned_tensor> tensors, majority_sign sign, std::span<std::uint8_t> positive) {
    static_assert(elects_sign(R));
    const detail::pruned_reader<R> reader(tensors);
    const std::size_t lanes = reader.lanes(), length = positive.size(), vector_end = length / lanes * lanes;
    alignas(64) float elected[detail::election_tile];
    for (std::size_t first = 0; first < vector_end; first += detail::election_tile) {
        const std::size_t last = std::min(vector_end, first + detail::election_tile);
        detail::elect_tile(reader, sign, first, last, elected);
        for (std::size_t j = first; j < last; ++j) positive[j] = elected[j - first] >= 0.0f ? 1 : 0;
    }
    for (std::size_t j = vector_end; j < length; ++j) positive[j] = detail::elect_scalar(reader, sign, j) ? 1 : 0;
}

/// out = the reduction R of the N tensors (tensors[i].values, out.size() floats each) with
/// float `weights`, tensors pruned as tensors[i] says; the float operations of
/// combination::reduce, in the same order (sums in module order by simd::mul_add; the
/// sign election by plain additions; one division). `positive`: the signs elect_signs()
/// elected for these tensors, or null to elect them here. The output is cut into tiles,
/// summed in L1 while the modules stream past four at a time.
template <reduction R>
void reduce_pruned(std::span<const detail::pruned_tensor> tensors, std::span<const float> weights, majority_sign sign, std::span<float> out,
                   const std::uint8_t* positive = nullptr) {
    namespace hn = simd::hn;
    const detail::pruned_reader<R> reader(tensors);
    const typename detail::pruned_reader<R>::float_tag df;
    const std::size_t lanes = reader.lanes(), length = out.size(), vector_end = length / lanes * lanes;
    const auto zero = hn::Zero(df), one = hn::Set(df, 1.0f);

    if constexpr (elects_sign(R)) {
        constexpr std::size_t tile = detail::election_tile;
        alignas(64) float elected[tile], total[tile], agreeing[tile];
        const hn::Rebind<std::uint8_t, decltype(df)> d8;
        const hn::RebindToSigned<decltype(df)> di;
        for (std::size_t first = 0; first < vector_end; first += tile) {
            const std::size_t last = std::min(vector_end, first + tile);
            if (!positive) detail::elect_tile(reader, sign, first, last, elected);
            for (std::size_t j = first; j < last; j += lanes) {
                hn::Store(zero, df, total + (j - first));
                hn::Store(zero, df, agreeing + (j - first));
            }
            reader.in_groups(first, last, [&](std::span<const std::uint16_t> group, std::size_t j) {
                const auto up = positive ? hn::RebindMask(df, hn::Ne(hn::PromoteTo(di, hn::LoadU(d8, positive + j)), hn::Zero(di)))
                                         : hn::Ge(hn::Load(df, elected + (j - first)), zero);
                auto sum = hn::Load(df, total + (j - first)), agree = hn::Load(df, agreeing + (j - first));
                for (const std::size_t i : group) {
                    const auto x = reader.vector(i, j);
                    const auto agrees = hn::Or(hn::And(up, hn::Gt(x, zero)), hn::AndNot(up, hn::Lt(x, zero)));
                    sum = hn::IfThenElse(agrees, hn::MulAdd(hn::Set(df, weights[i]), x, sum), sum);
                    agree = hn::IfThenElse(agrees, hn::Add(agree, one), agree);
                }
                hn::Store(sum, df, total + (j - first));
                hn::Store(agree, df, agreeing + (j - first));
            });
            for (std::size_t j = first; j < last; j += lanes)
                hn::StoreU(hn::Div(hn::Load(df, total + (j - first)), hn::Max(hn::Load(df, agreeing + (j - first)), one)), df, out.data() + j);
        }
        for (std::size_t j = vector_end; j < length; ++j) {
            const bool up = positive ? positive[j] != 0 : detail::elect_scalar(reader, sign, j);
            float sum = 0.0f, agree = 0.0f;
            for (const std::size_t i : reader.active()) {
                const float x = reader.scalar(i, j);
                if (up ? !(x > 0.0f) : !(x < 0.0f)) continue;
                sum = simd::mul_add(weights[i], x, sum);
                agree += 1.0f;
            }
            out[j] = sum / std::max(agree, 1.0f);
        }
    } else {
        constexpr std::size_t tile = 4096;
        for (std::size_t first = 0; first < vector_end; first += tile) {
            const std::size_t last = std::min(vector_end, first + tile);
            for (std::size_t j = first; j < last; j += lanes) hn::StoreU(zero, df, out.data() + j);
            reader.in_groups(first, last, [&](std::span<const std::uint16_t> group, std::size_t j) {
                auto sum = hn::LoadU(df, out.data() + j);
                for (const std::size_t i : group) sum = hn::MulAdd(hn::Set(df, weights[i]), reader.vector(i, j), sum);
                hn::StoreU(sum, df, out.data() + j);
            });
        }
        for (std::size_t j = vector_end; j < length; ++j) {
            float sum = 0.0f;
            for (const std::size_t i : reader.active()) sum = simd::mul_add(weights[i], reader.scalar(i, j), sum);
            out[j] = sum;
        }
    }
}

}  // namespace combination
}  // namespace lorahub
