#pragma once

#include <bit>
#include <cstdint>
#include <cstdlib>

namespace lorahub::test {

/// Distance in units in the last place between two positive finite floats.
inline std::int64_t ulp_distance(float a, float b) {
    return std::llabs(static_cast<std::int64_t>(std::bit_cast<std::int32_t>(a)) - std::bit_cast<std::int32_t>(b));
}

}  // namespace lorahub::test
