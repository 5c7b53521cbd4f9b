#pragma once

/// Highway, for every lorahub header with SIMD kernels (merge kernels, dtype conversion),
/// statically dispatched: the compiler's flags pick the vector width (AVX-512 with
/// -march=native, which lorahub's own programs use; SSE2 or a scalar emulation without).
/// Highway 1.0.3 (Debian 12) refuses to configure when AVX3_DL is in the baseline unless
/// AVX3_DL is also wanted for dynamic dispatch (fixed upstream in 1.0.4), so it is asked for.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <cmath>

namespace lorahub::simd {
namespace hn = hwy::HWY_NAMESPACE;

/// a b + c as hn::MulAdd computes it on this target: fused (one rounding) where the target
/// has FMA, else a product and a sum. Scalar loops beside vector ones use it, so that both
/// give the same bits.
inline float mul_add(float a, float b, float c) {
#if HWY_NATIVE_FMA
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
}
}  // namespace lorahub::simd
