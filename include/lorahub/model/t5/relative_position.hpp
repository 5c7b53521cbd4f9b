#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace lorahub::t5 {

/// HF's T5Attention._relative_position_bucket for one relative position (key - query),
/// computed in float32 exactly as torch does it, so that the values sitting one ulp from
/// the next bucket (n = 16, 32, 64 in the encoder) land where HF puts them.
inline std::int64_t relative_position_bucket(std::int64_t relative_position, bool bidirectional, std::int64_t num_buckets,
                                             std::int64_t max_distance) {
    std::int64_t bucket = 0;
    std::int64_t n = 0;
    if (bidirectional) {
        num_buckets /= 2;
        if (relative_position > 0) bucket += num_buckets;
        n = std::llabs(relative_position);
    } else {
        n = -std::min<std::int64_t>(relative_position, 0);
    }
    const std::int64_t max_exact = num_buckets / 2;
    if (n < max_exact) return bucket + n;
    const float ratio = static_cast<float>(n) / static_cast<float>(max_exact);
    const auto log_range = static_cast<float>(std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)));
    const float scaled = std::log(ratio) / log_range * static_cast<float>(num_buckets - max_exact);
    const std::int64_t large = std::min<std::int64_t>(max_exact + static_cast<std::int64_t>(scaled), num_buckets - 1);
    return bucket + large;
}

}  // namespace lorahub::t5
