#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace lorahub::io {

/// GGUF, the file format of ggml and llama.cpp (gguf-py/gguf/constants.py): "GGUF", version 3,
/// little-endian; tensor data aligned to general.alignment bytes (32 unless the file says).
inline constexpr std::uint32_t gguf_magic = 0x46554747;  ///< the bytes "GGUF" read as a little-endian u32
inline constexpr std::uint32_t gguf_version = 3;
inline constexpr std::uint64_t gguf_default_alignment = 32;
/// ggml's GGML_MAX_NAME is 64 bytes with the terminating zero; GGML_MAX_DIMS is 4.
inline constexpr std::size_t gguf_max_name_bytes = 63;
inline constexpr std::size_t gguf_max_dims = 4;

/// The type codes of metadata values (GGUFValueType).
enum class gguf_value_type : std::uint32_t {
    uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, boolean = 7,
    string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12,
};

/// The tensor element types lorahub writes (GGMLQuantizationType): unquantized floats only.
enum class ggml_type : std::uint32_t { f32 = 0, f16 = 1, bf16 = 30 };

constexpr std::size_t element_size(ggml_type type) { return type == ggml_type::f32 ? 4 : 2; }
constexpr std::string_view name_of(ggml_type type) {
    return type == ggml_type::f32 ? "F32" : type == ggml_type::f16 ? "F16" : "BF16";
}

/// A scalar metadata value; its C++ type picks its GGUF type.
using gguf_value = std::variant<std::uint32_t, std::int32_t, std::uint64_t, std::int64_t, float, double, bool, std::string>;

constexpr gguf_value_type type_of(const gguf_value& value) {
    constexpr gguf_value_type types[] = {gguf_value_type::uint32, gguf_value_type::int32,   gguf_value_type::uint64,
                                         gguf_value_type::int64,  gguf_value_type::float32, gguf_value_type::float64,
                                         gguf_value_type::boolean, gguf_value_type::string};
    return types[value.index()];
}

/// One key-value pair of a file's metadata, in file order.
struct gguf_entry {
    std::string key;
    gguf_value value;
};

}  // namespace lorahub::io
