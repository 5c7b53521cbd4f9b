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

namespace lorahub::simd {
namespace hn = hwy::HWY_NAMESPACE;
}  // namespace lorahub::simd
