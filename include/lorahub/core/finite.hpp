#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace lorahub {

namespace detail {

/// The index of the first value whose exponent bits are all set (NaN or infinity), or
/// values.size(). Reads them in blocks the compiler vectorises, so a model's weights are
/// checked at load at close to memory speed.
template <class Bits, class Value>
std::size_t first_full_exponent(std::span<const Value> values, Bits exponent) {
    static_assert(sizeof(Bits) == sizeof(Value));
    constexpr std::size_t block = 1024;
    auto full = [&](std::size_t i) {
        Bits bits;
        std::memcpy(&bits, &values[i], sizeof bits);
        return (bits & exponent) == exponent;
    };
    for (std::size_t start = 0; start < values.size(); start += block) {
        const std::size_t end = start + block < values.size() ? start + block : values.size();
        bool any = false;
        for (std::size_t i = start; i < end; ++i) any |= full(i);
        if (!any) continue;
        for (std::size_t i = start; i < end; ++i)
            if (full(i)) return i;
    }
    return values.size();
}

inline std::string non_finite_at(bool nan, std::size_t at) { return std::string(nan ? "NaN" : "an infinity") + " at element " + std::to_string(at); }

}  // namespace detail

/// The index of the first NaN or infinity in `values`, or values.size() when all are finite.
inline std::size_t first_non_finite(std::span<const float> values) { return detail::first_full_exponent(values, std::uint32_t{0x7f800000u}); }

/// "NaN at element 12" or "an infinity at element 3" for the first value that is not finite;
/// empty when all are.
inline std::string non_finite_note(std::span<const float> values) {
    const std::size_t at = first_non_finite(values);
    if (at == values.size()) return {};
    return detail::non_finite_at(values[at] != values[at], at);
}

/// non_finite_note() of bfloat16 values (their bits).
inline std::string non_finite_note_bf16(std::span<const std::uint16_t> values) {
    const std::size_t at = detail::first_full_exponent(values, std::uint16_t{0x7f80u});
    if (at == values.size()) return {};
    return detail::non_finite_at((values[at] & 0x7fu) != 0, at);
}

}  // namespace lorahub
