#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "lorahub/core/error.hpp"
#include "lorahub/core/simd.hpp"

namespace lorahub::lora {

/// One weighted sum of a composition: out[0, length) = sum_i w_i stack[i], the stack holding
/// the N blocks of `length` floats back to back ([N, ...]).
struct sum_job {
    const float* stack;
    float* out;
    std::size_t length;
};

/// One scaled concatenation: `out` [rows, N * rank] gets column block i = factor_i * source_i,
/// source being [N, rows, rank] (the B' = [f_1 B_1, ..., f_N B_N] of a rank concatenation).
struct concat_job {
    const float* source;
    float* out;
    std::size_t rows, rank;
};

namespace detail {

/// Below this many floats moved (16 MiB), a kernel runs on the calling thread: waking the
/// other threads costs tens of microseconds, and up to a time slice when another program
/// holds their cores.
inline constexpr std::size_t parallel_floats = std::size_t{1} << 22;
/// Contiguous shares the work is cut into; a static schedule gives each thread a run of them.
inline constexpr std::size_t shares = 64;
/// Floats of the output accumulated in cache while every module streams past (64 KiB: the L2
/// keeps it; each module is then read in runs this long, which the prefetchers follow).
inline constexpr std::size_t tile = 16384;

/// out[begin, end) of one weighted sum, tile by tile: each tile is set from the first module
/// and updated by the next ones in order, four at a time, so every sum runs i = 0, 1, ... as the
/// scalar definition does (one simd::mul_add per module).
inline void weighted_sum_range(const float* stack, std::size_t length, std::span<const float> w, float* out, std::size_t begin,
                               std::size_t end) {
    namespace hn = simd::hn;
    const hn::ScalableTag<float> d;
    const std::size_t lanes = hn::Lanes(d), n = w.size();
    for (std::size_t first = begin; first < end; first += tile) {
        const std::size_t last = std::min(end, first + tile);
        std::size_t j = first;
        const auto w0 = hn::Set(d, w[0]);
        for (; j + lanes <= last; j += lanes) hn::StoreU(hn::Mul(w0, hn::LoadU(d, stack + j)), d, out + j);
        for (; j < last; ++j) out[j] = w[0] * stack[j];
        std::size_t i = 1;
        for (; i + 4 <= n; i += 4) {
            const float *s0 = stack + i * length, *s1 = s0 + length, *s2 = s1 + length, *s3 = s2 + length;
            const auto v0 = hn::Set(d, w[i]), v1 = hn::Set(d, w[i + 1]), v2 = hn::Set(d, w[i + 2]), v3 = hn::Set(d, w[i + 3]);
            for (j = first; j + lanes <= last; j += lanes) {
                auto sum = hn::MulAdd(v0, hn::LoadU(d, s0 + j), hn::LoadU(d, out + j));
                sum = hn::MulAdd(v1, hn::LoadU(d, s1 + j), sum);
                sum = hn::MulAdd(v2, hn::LoadU(d, s2 + j), sum);
                hn::StoreU(hn::MulAdd(v3, hn::LoadU(d, s3 + j), sum), d, out + j);
            }
            for (; j < last; ++j)
                out[j] = simd::mul_add(w[i + 3], s3[j], simd::mul_add(w[i + 2], s2[j], simd::mul_add(w[i + 1], s1[j], simd::mul_add(w[i], s0[j], out[j]))));
        }
        for (; i < n; ++i) {
            const float* source = stack + i * length;
            const auto weight = hn::Set(d, w[i]);
            for (j = first; j + lanes <= last; j += lanes) hn::StoreU(hn::MulAdd(weight, hn::LoadU(d, source + j), hn::LoadU(d, out + j)), d, out + j);
            for (; j < last; ++j) out[j] = simd::mul_add(w[i], source[j], out[j]);
        }
    }
}

/// Rows [begin, end) of one scaled concatenation, written in order, each output row once.
/// 4-float vectors (at most): every rank that is a multiple of 4 then stores whole 16-byte pieces, which
/// go around the caches when the output is 16-byte aligned (no read for ownership), in
/// sequence so that the write-combining buffers fill whole lines.
inline void concat_rows(const concat_job& job, std::span<const float> factors, std::size_t begin, std::size_t end) {
    namespace hn = simd::hn;
    const hn::CappedTag<float, 4> d;
    const std::size_t n = factors.size(), rank = job.rank, block = job.rows * rank, lanes = hn::Lanes(d);
    const bool stream = rank % lanes == 0 && reinterpret_cast<std::uintptr_t>(job.out) % (lanes * sizeof(float)) == 0;
    for (std::size_t o = begin; o < end; ++o)
        for (std::size_t i = 0; i < n; ++i) {
            const float* from = job.source + i * block + o * rank;
            float* to = job.out + o * n * rank + i * rank;
            const auto factor = hn::Set(d, factors[i]);
            std::size_t k = 0;
            if (stream)
                for (; k < rank; k += lanes) hn::Stream(hn::Mul(factor, hn::LoadU(d, from + k)), d, to + k);
            else
                for (; k + lanes <= rank; k += lanes) hn::StoreU(hn::Mul(factor, hn::LoadU(d, from + k)), d, to + k);
            for (; k < rank; ++k) to[k] = factors[i] * from[k];
        }
    hwy::FlushStream();
}

/// Calls visit(k, begin, end) for the pieces of the `count` parts (part k is size(k) units
/// long, the parts laid end to end) in equal contiguous shares, `align` units at a time;
/// shares run on the OpenMP threads when `parallel`.
template <class Size, class Visit>
void for_each_share(std::size_t count, Size size, std::size_t align, bool parallel, Visit visit) {
    std::size_t total = 0;
    for (std::size_t k = 0; k < count; ++k) total += size(k);
    const std::size_t share = (total / shares + align) / align * align;
#pragma omp parallel for schedule(static) if (parallel)
    for (std::size_t s = 0; s < shares; ++s) {
        const std::size_t begin = std::min(total, s * share), end = std::min(total, begin + share);
        std::size_t offset = 0;
        for (std::size_t k = 0; k < count && offset < end; ++k) {
            const std::size_t length = size(k), from = std::max(begin, offset), to = std::min(end, offset + length);
            if (from < to) visit(k, from - offset, to - offset);
            offset += length;
        }
    }
}

}  // namespace detail

/// Every weighted sum that job(k, w) gives for k < count, having written its N weights into
/// `w` (a buffer of N floats of the calling thread), in one pass: each stack is read once, in
/// long runs, and each result written once; the jobs' elements are shared among the OpenMP
/// threads, every thread a contiguous run of them.
template <class Job>
void weighted_sums(std::size_t count, std::size_t n, Job job) {
    constexpr std::size_t max_modules = 4096;
    if (n > max_modules) throw argument_error("weighted sum", "composes at most 4096 modules");
    auto length = [&](std::size_t k) {
        float unused[max_modules];
        return job(k, std::span<float>(unused, n)).length;
    };
    std::size_t floats = 0;
    for (std::size_t k = 0; k < count; ++k) floats += length(k);
    detail::for_each_share(count, length, 16, floats * n > detail::parallel_floats, [&](std::size_t k, std::size_t begin, std::size_t end) {
        float w[max_modules];
        const sum_job part = job(k, std::span<float>(w, n));
        detail::weighted_sum_range(part.stack, part.length, std::span<const float>(w, n), part.out, begin, end);
    });
}

/// Every scaled concatenation that job(k, factors) gives for k < count, having written its N
/// factors into `factors` (a buffer of N floats of the calling thread), in one pass shared
/// among the OpenMP threads as weighted_sums() shares its jobs.
template <class Job>
void scaled_column_concats(std::size_t count, std::size_t n, Job job) {
    constexpr std::size_t max_modules = 4096;
    if (n > max_modules) throw argument_error("scaled concatenation", "composes at most 4096 modules");
    auto rows = [&](std::size_t k) {
        float unused[max_modules];
        return job(k, std::span<float>(unused, n)).rows;
    };
    std::size_t floats = 0;
    for (std::size_t k = 0; k < count; ++k) {
        float unused[max_modules];
        const concat_job part = job(k, std::span<float>(unused, n));
        floats += part.rows * n * part.rank;
    }
    detail::for_each_share(count, rows, 1, 2 * floats > detail::parallel_floats, [&](std::size_t k, std::size_t begin, std::size_t end) {
        float factors[max_modules];
        const concat_job part = job(k, std::span<float>(factors, n));
        detail::concat_rows(part, std::span<const float>(factors, n), begin, end);
    });
}

/// out = sum_i w_i stack[i], where stack holds w.size() blocks of out.size() floats back to
/// back ([N, ...]); weights are rounded to float as upstream's fp32 sum does.
inline void weighted_sum(std::span<const float> stack, std::span<const double> w, std::span<float> out) {
    weighted_sums(1, w.size(), [&](std::size_t, std::span<float> weights) {
        std::copy(w.begin(), w.end(), weights.begin());
        return sum_job{stack.data(), out.data(), out.size()};
    });
}

/// Column blocks of `out` [rows, N * rank]: block i = factor_i * source_i, where source is
/// [N, rows, rank] — the B' = [f_1 B_1, ..., f_N B_N] of a rank concatenation.
inline void scaled_column_concat(std::span<const float> source, std::span<const float> factors, std::size_t rows, std::size_t rank,
                                 std::span<float> out) {
    scaled_column_concats(1, factors.size(), [&](std::size_t, std::span<float> into) {
        std::copy(factors.begin(), factors.end(), into.begin());
        return concat_job{source.data(), out.data(), rows, rank};
    });
}

}  // namespace lorahub::lora
