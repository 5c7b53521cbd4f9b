#include <bit>
#include <cmath>
#include <cstdint>

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
