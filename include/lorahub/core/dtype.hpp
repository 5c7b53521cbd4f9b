#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "lorahub/core/error.hpp"
#include "lorahub/core/simd.hpp"

namespace lorahub {

/// Element types of safetensors files, named as the format names them, in the order of the
/// reference implementation's Dtype enum (its writer orders data by it).
enum class dtype : std::uint8_t {
    boolean, u8, i8, f8_e5m2, f8_e4m3, i16, u16, f16, bf16, i32, u32, f32, f64, i64, u64,
};

struct dtype_traits {
    dtype type;
    std::string_view name;
    std::size_t size;
};

inline constexpr dtype_traits dtype_table[] = {
    {dtype::boolean, "BOOL", 1},    {dtype::u8, "U8", 1},     {dtype::i8, "I8", 1},
    {dtype::f8_e5m2, "F8_E5M2", 1}, {dtype::f8_e4m3, "F8_E4M3", 1}, {dtype::i16, "I16", 2},
    {dtype::u16, "U16", 2},         {dtype::f16, "F16", 2},   {dtype::bf16, "BF16", 2},
    {dtype::i32, "I32", 4},         {dtype::u32, "U32", 4},   {dtype::f32, "F32", 4},
    {dtype::f64, "F64", 8},         {dtype::i64, "I64", 8},   {dtype::u64, "U64", 8},
};

static_assert([] {
    for (std::size_t i = 0; i < std::size(dtype_table); ++i)
        if (static_cast<std::size_t>(dtype_table[i].type) != i) return false;
    return true;
}(), "dtype_table must list the dtypes in enum order");

constexpr const dtype_traits& traits(dtype type) {
    return dtype_table[static_cast<std::size_t>(type)];
}
constexpr std::size_t size_of(dtype type) { return traits(type).size; }
constexpr std::string_view name_of(dtype type) { return traits(type).name; }

constexpr std::optional<dtype> parse_dtype(std::string_view name) {
    for (const auto& entry : dtype_table)
        if (entry.name == name) return entry.type;
    return std::nullopt;
}

constexpr bool is_floating(dtype type) {
    return type == dtype::f16 || type == dtype::bf16 || type == dtype::f32 || type == dtype::f64;
}

/// IEEE binary16 -> binary32, exact (every half value is a float value).
constexpr float f16_to_f32(std::uint16_t half) {
    const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
    std::uint32_t exponent = (half >> 10) & 0x1fu;
    std::uint32_t mantissa = half & 0x3ffu;
    std::uint32_t bits = 0;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa != 0) {
        exponent = 113;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --exponent;
        }
        bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    } else {
        bits = sign;
    }
    return std::bit_cast<float>(bits);
}

/// binary32 -> binary16 with round-to-nearest-even, overflow to inf, NaN kept quiet.
constexpr std::uint16_t f32_to_f16(float value) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    const std::uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude >= 0x7f800000u) {
        const bool nan = magnitude > 0x7f800000u;
        return static_cast<std::uint16_t>(sign | 0x7c00u | (nan ? 0x200u | ((magnitude >> 13) & 0x3ffu) : 0u));
    }
    if (magnitude >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds past 65504
    if (magnitude < 0x38800000u) {  // below the smallest normal half: subnormal or zero
        if (magnitude < 0x33000000u) return sign;  // below half the smallest subnormal
        const std::uint32_t exponent = magnitude >> 23;
        const std::uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
        const std::uint32_t shift = 126 - exponent;  // 14..24
        std::uint32_t result = mantissa >> shift;
        const std::uint32_t remainder = mantissa & ((1u << shift) - 1);
        const std::uint32_t halfway = 1u << (shift - 1);
        if (remainder > halfway || (remainder == halfway && (result & 1u))) ++result;
        return static_cast<std::uint16_t>(sign | result);
    }
    std::uint32_t result = ((magnitude >> 13) - (112u << 10));
    const std::uint32_t remainder = magnitude & 0x1fffu;
    if (remainder > 0x1000u || (remainder == 0x1000u && (result & 1u))) ++result;
    return static_cast<std::uint16_t>(sign | result);
}

constexpr float bf16_to_f32(std::uint16_t value) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(value) << 16);
}

/// binary32 -> bfloat16 with round-to-nearest-even (as torch does), NaN kept quiet.
constexpr std::uint16_t f32_to_bf16(float value) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
    const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

namespace detail {
template <class T>
T load_unaligned(const std::byte* at) {
    T value;
    std::memcpy(&value, at, sizeof(T));
    return value;
}

/// The four 16-bit conversions a vector at a time, bit for bit the scalar functions above
/// (NaN payloads included), which convert the tail. F16 -> F32 uses the hardware's vcvtph2ps
/// (F16C / AVX-512) where Highway's x86 targets have it, and the scalar function for the rare
/// vector holding a NaN (the instruction quiets signalling ones); elsewhere, and for the
/// encodings, integer arithmetic (AVX512-BF16's vcvtneps2bf16 flushes subnormals).
enum class half_kind { f16, bf16 };
inline constexpr std::size_t streaming_bytes = std::size_t{8} << 20;

template <half_kind K>
void halves_to_f32(const std::byte* in, float* out, std::size_t n) {
    namespace hn = simd::hn;
    const hn::ScalableTag<std::uint32_t> du;
    const hn::Rebind<std::uint16_t, decltype(du)> dh;
    const std::size_t lanes = hn::Lanes(du);
    // past the caches, whole vectors go around them (no read for ownership of the output)
    std::size_t i = 0;
    const bool stream = n * sizeof(float) >= streaming_bytes;
    if (stream)
        for (; i < n && reinterpret_cast<std::uintptr_t>(out + i) % (lanes * sizeof(float)) != 0; ++i)
            out[i] = K == half_kind::f16 ? f16_to_f32(load_unaligned<std::uint16_t>(in + 2 * i)) : bf16_to_f32(load_unaligned<std::uint16_t>(in + 2 * i));
    auto store = [&](auto bits) {
        if (stream) hn::Stream(bits, du, reinterpret_cast<std::uint32_t*>(out + i));
        else hn::StoreU(bits, du, reinterpret_cast<std::uint32_t*>(out + i));
    };
    for (; i + lanes <= n; i += lanes) {
        const auto raw = hn::LoadU(dh, reinterpret_cast<const std::uint16_t*>(in + 2 * i));
        if constexpr (K == half_kind::bf16) {
            store(hn::ShiftLeft<16>(hn::PromoteTo(du, raw)));
        } else {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
            if (hn::AllFalse(dh, hn::Gt(hn::And(raw, hn::Set(dh, std::uint16_t{0x7fff})), hn::Set(dh, std::uint16_t{0x7c00})))) {
                const hn::RebindToFloat<decltype(du)> df;
                store(hn::BitCast(du, hn::PromoteTo(df, hn::BitCast(hn::Rebind<hwy::float16_t, decltype(du)>(), raw))));
            } else {
                // a NaN among them, which vcvtph2ps would quiet: this vector the scalar way
                for (std::size_t lane = 0; lane < lanes; ++lane) out[i + lane] = f16_to_f32(load_unaligned<std::uint16_t>(in + 2 * (i + lane)));
            }
#else
            // exponent and mantissa moved into place and rebiased (15 -> 127); inf / NaN get
            // the top exponent; subnormals, as 2^-14 (1 + m / 1024) - 2^-14, exactly m 2^-24
            const auto h = hn::PromoteTo(du, raw);
            const auto sign = hn::ShiftLeft<16>(hn::And(h, hn::Set(du, 0x8000u)));
            auto bits = hn::ShiftLeft<13>(hn::And(h, hn::Set(du, 0x7fffu)));
            const auto exponent = hn::And(bits, hn::Set(du, 0x0f800000u));
            bits = hn::Add(bits, hn::Set(du, 0x38000000u));
            bits = hn::IfThenElse(hn::Eq(exponent, hn::Set(du, 0x0f800000u)), hn::Add(bits, hn::Set(du, 0x38000000u)), bits);
            const hn::RebindToFloat<decltype(du)> df;
            const auto subnormal =
                hn::BitCast(du, hn::Sub(hn::BitCast(df, hn::Add(bits, hn::Set(du, 0x00800000u))), hn::BitCast(df, hn::Set(du, 0x38800000u))));
            bits = hn::IfThenElse(hn::Eq(exponent, hn::Zero(du)), subnormal, bits);
            store(hn::Or(bits, sign));
#endif
        }
    }
    if (stream) hwy::FlushStream();
    for (; i < n; ++i) {
        const auto h = load_unaligned<std::uint16_t>(in + 2 * i);
        out[i] = K == half_kind::f16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
}

/// The bf16 bits (in the low half of each lane) of float lanes `bits` rounded to nearest even,
/// as f32_to_bf16 rounds a number; NaNs are the caller's.
template <class D>
hwy::HWY_NAMESPACE::Vec<D> bf16_rounded(D du, hwy::HWY_NAMESPACE::Vec<D> bits) {
    namespace hn = simd::hn;
    return hn::ShiftRight<16>(hn::Add(bits, hn::Add(hn::Set(du, 0x7fffu), hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 1u)))));
}

template <half_kind K>
void f32_to_halves(const float* in, std::byte* out, std::size_t n) {
    namespace hn = simd::hn;
    const hn::ScalableTag<std::uint32_t> du;
    const hn::RebindToSigned<decltype(du)> di;
    const hn::RebindToFloat<decltype(du)> df;
    const hn::Rebind<std::uint16_t, decltype(du)> dh;
    const std::size_t lanes = hn::Lanes(du);
    auto set = [&](std::uint32_t value) { return hn::Set(du, value); };
    // magnitudes and bounds are below 2^31: compared as signed integers
    auto below = [&](auto a, std::uint32_t bound) { return hn::RebindMask(du, hn::Lt(hn::BitCast(di, a), hn::BitCast(di, set(bound)))); };
    std::size_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        const auto bits = hn::BitCast(du, hn::LoadU(df, in + i));
        const auto magnitude = hn::And(bits, set(0x7fffffffu));
        const auto number = below(magnitude, 0x7f800001u);
        const auto high = hn::ShiftRight<16>(bits);
        hn::Vec<decltype(du)> half;
        if constexpr (K == half_kind::bf16) {
            half = hn::IfThenElse(number, bf16_rounded(du, bits), hn::Or(high, set(0x40u)));
        } else {
            // normal: rebias (127 -> 15) and round to nearest even on the 13 dropped bits;
            // subnormal: adding 0.5f rounds the value to a multiple of 2^-24 in the FPU's
            // nearest-even mode, leaving the half's mantissa in the low bits
            const auto odd = hn::And(hn::ShiftRight<13>(magnitude), set(1u));
            const auto normal = hn::ShiftRight<13>(hn::Sub(hn::Add(magnitude, hn::Add(set(0xfffu), odd)), set(0x38000000u)));
            const auto subnormal = hn::Sub(hn::BitCast(du, hn::Add(hn::BitCast(df, magnitude), hn::Set(df, 0.5f))), set(0x3f000000u));
            const auto quiet = hn::Or(set(0x7e00u), hn::And(hn::ShiftRight<13>(magnitude), set(0x3ffu)));
            half = hn::IfThenElse(below(magnitude, 0x38800000u), subnormal, normal);
            half = hn::IfThenElse(below(magnitude, 0x477ff000u), half, set(0x7c00u));
            half = hn::IfThenElse(number, half, quiet);
            half = hn::Or(half, hn::And(high, set(0x8000u)));
        }
        hn::StoreU(hn::TruncateTo(dh, half), dh, reinterpret_cast<std::uint16_t*>(out + 2 * i));
    }
    for (; i < n; ++i) {
        const std::uint16_t h = K == half_kind::f16 ? f32_to_f16(in[i]) : f32_to_bf16(in[i]);
        std::memcpy(out + 2 * i, &h, 2);
    }
}
}  // namespace detail

/// Converts `count` little-endian elements of `type` at `source` (any alignment) to float.
/// Integers convert by value; the subject names the tensor in errors.
inline void convert_to_f32(dtype type, std::span<const std::byte> source, std::span<float> target,
                           std::string_view subject) {
    const std::size_t width = size_of(type);
    if (source.size() != target.size() * width)
        throw argument_error(subject, "byte count does not match the element count");
    const std::byte* in = source.data();
    float* out = target.data();
    const std::size_t n = target.size();
    if (n == 0) return;
    using detail::load_unaligned;
    switch (type) {
        case dtype::f32: std::memcpy(out, in, n * 4); return;
        case dtype::f16: detail::halves_to_f32<detail::half_kind::f16>(in, out, n); return;
        case dtype::bf16: detail::halves_to_f32<detail::half_kind::bf16>(in, out, n); return;
        case dtype::f64:
            for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_unaligned<double>(in + 8 * i));
            return;
        case dtype::i64:
            for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_unaligned<std::int64_t>(in + 8 * i));
            return;
        case dtype::i32:
            for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_unaligned<std::int32_t>(in + 4 * i));
            return;
        case dtype::i16:
            for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_unaligned<std::int16_t>(in + 2 * i));
            return;
        case dtype::i8:
            for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<std::int8_t>(in[i]));
            return;
        case dtype::u8:
        case dtype::boolean:
            for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<std::uint8_t>(in[i]));
            return;
        default:
            throw unsupported_error(subject, "conversion from " + std::string(name_of(type)) + " to F32 is not supported");
    }
}

/// Encodes floats as `type` (F32, F16, BF16), little-endian, into `target`.
inline void convert_from_f32(std::span<const float> source, dtype type, std::span<std::byte> target,
                             std::string_view subject) {
    if (target.size() != source.size() * size_of(type))
        throw argument_error(subject, "byte count does not match the element count");
    std::byte* out = target.data();
    if (source.empty()) return;
    switch (type) {
        case dtype::f32: std::memcpy(out, source.data(), source.size() * 4); return;
        case dtype::f16: detail::f32_to_halves<detail::half_kind::f16>(source.data(), out, source.size()); return;
        case dtype::bf16: detail::f32_to_halves<detail::half_kind::bf16>(source.data(), out, source.size()); return;
        default:
            throw unsupported_error(subject, "conversion from F32 to " + std::string(name_of(type)) + " is not supported");
    }
}

static_assert(std::endian::native == std::endian::little, "lorahub reads little-endian files in place");

}  // namespace lorahub
