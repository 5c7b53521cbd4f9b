#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace lorahub {

/// The index of the first NaN or infinity in `values`, or values.size() when all are finite.
/// Reads the exponent bits in blocks the compiler vectorises, so a model's weights are checked
/// at load at close to memory speed.
inline std::size_t first_non_finite(std::span<const float> values) {
    constexpr std::uint32_t exponent = 0x7f800000u;
    constexpr std::size_t block = 1024;
    for (std::size_t start = 0; start < values.size(); start += block) {
        const std::size_t end = start + block < values.size() ? start + block : values.size();
        bool any = false;
        for (std::size_t i = start; i < end; ++i) {
            std::uint32_t bits;
            std::memcpy(&bits, &values[i], sizeof bits);
            any |= (bits & exponent) == exponent;
        }
        if (!any) continue;
        for (std::size_t i = start; i < end; ++i) {
            std::uint32_t bits;
            std::memcpy(&bits, &values[i], sizeof bits);
            if ((bits & exponent) == exponent) return i;
        }
    }
    return values.size();
}

/// "NaN at element 12" or "an infinity at element 3" for the first value that is not finite;
/// empty when all are.
inline std::string non_finite_note(std::span<const float> values) {
    const std::size_t at = first_non_finite(values);
    if (at == values.size()) return {};
    return std::string(values[at] != values[at] ? "NaN" : "an infinity") + " at element " + std::to_string(at);
}

}  // namespace lorahub
