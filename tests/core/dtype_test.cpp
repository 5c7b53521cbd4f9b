#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/core/dtype.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/mapped_file.hpp>

#include "../support/files.hpp"

using namespace lorahub;

TEST_CASE("float32 to F16 and BF16 rounds exactly as torch does", "[dtype]") {
    const auto reference = io::parse_json_strict(test::read_file(test::fixtures() / "io/dtypes.json"), "dtypes.json");
    const auto& conversion = reference["conversion"];
    const auto& inputs = conversion["input_f32_bits"];
    REQUIRE(inputs.size() > 20);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const float value = std::bit_cast<float>(inputs[i].get<std::uint32_t>());
        INFO("input " << value);
        CHECK(f32_to_f16(value) == conversion["f16_bits"][i].get<std::uint16_t>());
        CHECK(f32_to_bf16(value) == conversion["bf16_bits"][i].get<std::uint16_t>());
    }
}

TEST_CASE("every F16 value survives F16 -> F32 -> F16", "[dtype]") {
    for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
        const auto half = static_cast<std::uint16_t>(bits);
        const float wide = f16_to_f32(half);
        if (std::isnan(wide)) {
            CHECK(std::isnan(f16_to_f32(f32_to_f16(wide))));
            continue;
        }
        if (f32_to_f16(wide) != half) FAIL("F16 bits " << bits << " came back as " << f32_to_f16(wide));
    }
}

TEST_CASE("every BF16 value survives BF16 -> F32 -> BF16", "[dtype]") {
    for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
        const auto half = static_cast<std::uint16_t>(bits);
        const float wide = bf16_to_f32(half);
        if (std::isnan(wide)) continue;
        if (f32_to_bf16(wide) != half) FAIL("BF16 bits " << bits << " came back as " << f32_to_bf16(wide));
    }
}

TEST_CASE("F16 decoding matches IEEE binary16 landmarks", "[dtype]") {
    CHECK(f16_to_f32(0x3c00) == 1.0f);
    CHECK(f16_to_f32(0x7bff) == 65504.0f);
    CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
    CHECK(f16_to_f32(0x0400) == std::ldexp(1.0f, -14));
    CHECK(std::isinf(f16_to_f32(0xfc00)));
    CHECK(std::signbit(f16_to_f32(0x8000)));
}

TEST_CASE("dtype names follow the safetensors spelling", "[dtype]") {
    for (const auto& entry : dtype_table) CHECK(parse_dtype(entry.name) == entry.type);
    CHECK_FALSE(parse_dtype("f32").has_value());
    CHECK_FALSE(parse_dtype("F4").has_value());
    CHECK(size_of(dtype::bf16) == 2);
    CHECK(size_of(dtype::i64) == 8);
}

namespace {

/// The vector conversion of `values` (stored at byte offset `offset`, so unaligned too) to
/// float, against the scalar function, bit for bit.
template <class Scalar>
void check_halves_to_f32(dtype type, const std::vector<std::uint16_t>& values, std::size_t offset, Scalar scalar,
                         std::size_t out_offset = 0) {
    std::vector<std::byte> bytes(offset + 2 * values.size());
    if (!values.empty()) std::memcpy(bytes.data() + offset, values.data(), 2 * values.size());
    std::vector<float> storage(out_offset + values.size());
    const auto out = std::span(storage).subspan(out_offset);
    convert_to_f32(type, std::span(bytes).subspan(offset), out, "test");
    for (std::size_t i = 0; i < values.size(); ++i)
        if (std::bit_cast<std::uint32_t>(out[i]) != std::bit_cast<std::uint32_t>(scalar(values[i])))
            FAIL(name_of(type) << " bits " << values[i] << " gave F32 bits " << std::bit_cast<std::uint32_t>(out[i]) << ", the scalar function "
                               << std::bit_cast<std::uint32_t>(scalar(values[i])));
}

template <class Scalar>
void check_f32_to_halves(dtype type, const std::vector<float>& values, std::size_t offset, Scalar scalar) {
    std::vector<std::byte> bytes(offset + 2 * values.size());
    convert_from_f32(values, type, std::span(bytes).subspan(offset), "test");
    for (std::size_t i = 0; i < values.size(); ++i) {
        std::uint16_t half;
        std::memcpy(&half, bytes.data() + offset + 2 * i, 2);
        if (half != scalar(values[i]))
            FAIL(name_of(type) << " of F32 bits " << std::bit_cast<std::uint32_t>(values[i]) << " is " << half << ", the scalar function's "
                               << scalar(values[i]));
    }
}

}  // namespace

TEST_CASE("F16 and BF16 tensors decode bit for bit as the scalar functions do, for all 65,536 values", "[dtype]") {
    std::vector<std::uint16_t> every(0x10000);
    for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) every[bits] = static_cast<std::uint16_t>(bits);
    REQUIRE(std::isnan(f16_to_f32(0x7c01)));  // signalling NaN: its payload is kept, not quieted
    REQUIRE(std::bit_cast<std::uint32_t>(f16_to_f32(0x7c01)) == 0x7f802000u);
    for (const std::size_t offset : {0, 1, 2, 6}) {
        INFO("byte offset " << offset);
        check_halves_to_f32(dtype::f16, every, offset, f16_to_f32);
        check_halves_to_f32(dtype::bf16, every, offset, bf16_to_f32);
    }
    // tensors past the caches, written around them, at every output alignment
    std::vector<std::uint16_t> large;
    for (int copy = 0; copy < 33; ++copy) large.insert(large.end(), every.begin(), every.end());
    large.insert(large.end(), every.begin() + 0x7c00, every.begin() + 0x7c05);
    for (const std::size_t out_offset : {0, 1, 3, 4}) {
        INFO("output offset " << out_offset << " floats");
        check_halves_to_f32(dtype::f16, large, 1, f16_to_f32, out_offset);
        check_halves_to_f32(dtype::bf16, large, 0, bf16_to_f32, out_offset);
    }
    // lengths around the vector width: the scalar tail
    for (std::size_t length = 0; length < 70; ++length) {
        const std::vector<std::uint16_t> head(every.begin() + 0x7bf0, every.begin() + 0x7bf0 + static_cast<std::ptrdiff_t>(length));
        check_halves_to_f32(dtype::f16, head, 0, f16_to_f32);
        check_halves_to_f32(dtype::bf16, head, 0, bf16_to_f32);
    }
}

TEST_CASE("float32 tensors encode to F16 and BF16 bit for bit as the scalar functions round", "[dtype]") {
    // every sign, exponent and top mantissa bits (the upper 16 bits) with the low 16 bits at
    // each rounding boundary of F16 (13 dropped bits) and BF16 (16): exact halfway, one
    // either side, with bits 13 to 15 (F16's last kept bits) in every state
    std::vector<float> values;
    for (std::uint32_t upper = 0; upper <= 0xffff; ++upper)
        for (std::uint32_t kept = 0; kept < 8; ++kept)
            for (const std::uint32_t low : {0x0u, 0x1u, 0xfffu, 0x1000u, 0x1001u, 0x1fffu})
                values.push_back(std::bit_cast<float>(upper << 16 | kept << 13 | low));
    std::mt19937 random(11);
    for (int i = 0; i < (1 << 20); ++i) values.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(random())));
    std::normal_distribution<float> normal(0.0f, 1e-3f);
    for (int i = 0; i < (1 << 18); ++i) values.push_back(normal(random));
    for (const float edge : {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, 1e-8f, 2.98e-8f, 5.96e-8f, 6.1e-5f, 6.104e-5f})
        values.push_back(edge);
    for (const std::size_t offset : {0, 1, 2}) {
        INFO("byte offset " << offset);
        check_f32_to_halves(dtype::f16, values, offset, f32_to_f16);
        check_f32_to_halves(dtype::bf16, values, offset, f32_to_bf16);
    }
    for (std::size_t length = 0; length < 70; ++length) {
        const std::vector<float> head(values.begin() + 0x380000, values.begin() + 0x380000 + static_cast<std::ptrdiff_t>(length));
        check_f32_to_halves(dtype::f16, head, 0, f32_to_f16);
        check_f32_to_halves(dtype::bf16, head, 0, f32_to_bf16);
    }
}
