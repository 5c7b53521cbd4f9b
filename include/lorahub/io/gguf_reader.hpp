#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/dtype.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/io/gguf_format.hpp"
#include "lorahub/io/mapped_file.hpp"

namespace lorahub::io {

/// A tensor's entry in a GGUF file: `shape` outermost first (ne reversed), `offset` from the
/// start of the file.
struct gguf_tensor_info {
    std::string name;
    std::vector<std::size_t> shape;
    std::uint32_t type = 0;
    std::uint64_t offset = 0;
};

/// What lorahub reads of a GGUF file: its scalar and string metadata (arrays are skipped and
/// listed by key in `array_keys`) and its tensor table. Enough to check a file lorahub wrote
/// and to tell a LoRA adapter from a model; not a general GGUF reader.
struct gguf_contents {
    std::uint32_t version = 0;
    std::vector<gguf_entry> metadata;
    std::vector<std::string> array_keys;
    std::vector<gguf_tensor_info> tensors;
    std::uint64_t data_offset = 0;

    const gguf_value* find(std::string_view key) const {
        for (const auto& entry : metadata)
            if (entry.key == key) return &entry.value;
        return nullptr;
    }
    std::string text(std::string_view key) const {
        const auto* value = find(key);
        const auto* text = value ? std::get_if<std::string>(value) : nullptr;
        return text ? *text : std::string();
    }
};

namespace detail {

class gguf_cursor {
public:
    gguf_cursor(std::span<const std::byte> bytes, std::string subject) : bytes_(bytes), subject_(std::move(subject)) {}

    template <class T>
    T scalar(const char* what) {
        need(sizeof(T), what);
        T value;
        std::memcpy(&value, bytes_.data() + at_, sizeof(T));
        at_ += sizeof(T);
        return value;
    }
    std::string text(const char* what) {
        const auto size = scalar<std::uint64_t>(what);
        need(size, what);
        std::string value(reinterpret_cast<const char*>(bytes_.data() + at_), size);
        at_ += size;
        return value;
    }
    void skip(std::uint64_t size, const char* what) {
        need(size, what);
        at_ += size;
    }
    std::uint64_t position() const { return at_; }
    [[noreturn]] void fail(const std::string& problem) const { throw format_error(subject_, problem); }

private:
    void need(std::uint64_t size, const char* what) const {
        if (size > bytes_.size() - at_) fail(std::string("ends inside ") + what + " (at byte " + std::to_string(at_) + ")");
    }

    std::span<const std::byte> bytes_;
    std::string subject_;
    std::uint64_t at_ = 0;
};

inline std::size_t gguf_scalar_size(gguf_value_type type) {
    switch (type) {
        case gguf_value_type::uint8: case gguf_value_type::int8: case gguf_value_type::boolean: return 1;
        case gguf_value_type::uint16: case gguf_value_type::int16: return 2;
        case gguf_value_type::uint32: case gguf_value_type::int32: case gguf_value_type::float32: return 4;
        case gguf_value_type::uint64: case gguf_value_type::int64: case gguf_value_type::float64: return 8;
        default: return 0;
    }
}

inline std::optional<gguf_value> read_gguf_scalar(gguf_cursor& in, gguf_value_type type, bool keep) {
    switch (type) {
        case gguf_value_type::uint32: return in.scalar<std::uint32_t>("a value");
        case gguf_value_type::int32: return in.scalar<std::int32_t>("a value");
        case gguf_value_type::uint64: return in.scalar<std::uint64_t>("a value");
        case gguf_value_type::int64: return in.scalar<std::int64_t>("a value");
        case gguf_value_type::float32: return in.scalar<float>("a value");
        case gguf_value_type::float64: return in.scalar<double>("a value");
        case gguf_value_type::boolean: return in.scalar<std::uint8_t>("a value") != 0;
        case gguf_value_type::string: {
            auto text = in.text("a string");
            if (!keep) return std::nullopt;
            return text;
        }
        default: {
            const auto size = gguf_scalar_size(type);
            if (size == 0) in.fail("has a value of unknown type " + std::to_string(static_cast<std::uint32_t>(type)));
            in.skip(size, "a value");
            return std::nullopt;  // 8- and 16-bit integers: not kept
        }
    }
}

}  // namespace detail

/// Parses the header, metadata and tensor table of the GGUF file `file` (version 2 or 3,
/// little-endian), checking that every tensor's data lies inside it; errors name `subject`.
inline gguf_contents parse_gguf(std::span<const std::byte> file, const std::string& subject) {
    detail::gguf_cursor in(file, subject);
    gguf_contents contents;
    if (in.scalar<std::uint32_t>("the header") != gguf_magic) in.fail("is not a GGUF file (no \"GGUF\" magic)");
    contents.version = in.scalar<std::uint32_t>("the header");
    if (contents.version != 2 && contents.version != 3)
        in.fail("has GGUF version " + std::to_string(contents.version) + " (2 and 3 are read)");
    const auto tensor_count = in.scalar<std::uint64_t>("the header");
    const auto entry_count = in.scalar<std::uint64_t>("the header");
    // every entry and tensor info takes at least 12 bytes: counts beyond the file are lies
    if (tensor_count > file.size() / 12 || entry_count > file.size() / 12) in.fail("declares more entries than the file can hold");
    for (std::uint64_t i = 0; i < entry_count; ++i) {
        auto key = in.text("a metadata key");
        const auto type = static_cast<gguf_value_type>(in.scalar<std::uint32_t>("a metadata type"));
        if (type == gguf_value_type::array) {
            const auto item_type = static_cast<gguf_value_type>(in.scalar<std::uint32_t>("an array type"));
            const auto count = in.scalar<std::uint64_t>("an array length");
            if (item_type == gguf_value_type::array) in.fail("metadata \"" + key + "\" is an array of arrays");
            if (item_type == gguf_value_type::string) {
                for (std::uint64_t j = 0; j < count; ++j) in.text("an array's string");
            } else {
                const auto size = detail::gguf_scalar_size(item_type);
                if (size == 0) in.fail("metadata \"" + key + "\" is an array of unknown type");
                if (count > file.size() / size) in.fail("metadata \"" + key + "\" is an array longer than the file");
                in.skip(count * size, "an array");
            }
            contents.array_keys.push_back(std::move(key));
            continue;
        }
        if (auto value = detail::read_gguf_scalar(in, type, true)) contents.metadata.push_back({std::move(key), std::move(*value)});
    }
    std::uint64_t alignment = gguf_default_alignment;
    if (const auto* declared = contents.find("general.alignment")) {
        const auto* value = std::get_if<std::uint32_t>(declared);
        if (value == nullptr || *value == 0 || (*value & (*value - 1)) != 0) in.fail("\"general.alignment\" is not a uint32 power of two");
        alignment = *value;
    }
    std::vector<std::uint64_t> sizes;
    for (std::uint64_t i = 0; i < tensor_count; ++i) {
        gguf_tensor_info info;
        info.name = in.text("a tensor name");
        const auto dims = in.scalar<std::uint32_t>("a tensor's dimension count");
        if (dims == 0 || dims > gguf_max_dims) in.fail("tensor \"" + info.name + "\" has " + std::to_string(dims) + " dimensions");
        std::uint64_t count = 1;
        info.shape.resize(dims);
        for (std::uint32_t d = 0; d < dims; ++d) {
            const auto extent = in.scalar<std::uint64_t>("a tensor's shape");
            if (extent == 0 || extent > file.size() || count > file.size() / extent) in.fail("tensor \"" + info.name + "\" is larger than the file");
            count *= extent;
            info.shape[dims - 1 - d] = extent;
        }
        info.type = in.scalar<std::uint32_t>("a tensor's type");
        info.offset = in.scalar<std::uint64_t>("a tensor's offset");
        // sizes of the float types only (the others are quantized blocks lorahub does not read)
        const std::uint64_t element = info.type == 0 ? 4 : (info.type == 1 || info.type == 30) ? 2 : 0;
        sizes.push_back(count * element);
        contents.tensors.push_back(std::move(info));
    }
    contents.data_offset = (in.position() + alignment - 1) / alignment * alignment;
    for (std::size_t i = 0; i < contents.tensors.size(); ++i) {
        auto& info = contents.tensors[i];
        if (info.offset % alignment != 0) in.fail("tensor \"" + info.name + "\" is not aligned");
        if (info.offset > file.size() || contents.data_offset > file.size() - info.offset ||
            sizes[i] > file.size() - contents.data_offset - info.offset)
            in.fail("tensor \"" + info.name + "\" lies outside the file");
        info.offset += contents.data_offset;
    }
    return contents;
}

/// read_gguf on the file at `path`.
inline gguf_contents read_gguf(const std::filesystem::path& path) {
    const mapped_file file(path);
    return parse_gguf(file.bytes(), display(path));
}

/// A tensor of a GGUF file (F32, F16 or BF16) as float32 values, row-major.
inline std::vector<float> read_gguf_tensor(const std::filesystem::path& path, const gguf_tensor_info& info) {
    const mapped_file file(path);
    std::size_t count = 1;
    for (const auto extent : info.shape) count *= extent;
    const dtype type = info.type == 0 ? dtype::f32 : info.type == 1 ? dtype::f16 : info.type == 30 ? dtype::bf16 : dtype::u8;
    if (type == dtype::u8) throw unsupported_error(display(path), "tensor \"" + info.name + "\" is quantized (type " + std::to_string(info.type) + ")");
    if (info.offset > file.size() || count * size_of(type) > file.size() - info.offset)
        throw format_error(display(path), "tensor \"" + info.name + "\" lies outside the file");
    std::vector<float> values(count);
    convert_to_f32(type, file.bytes().subspan(info.offset, count * size_of(type)), values, "tensor \"" + info.name + "\"");
    return values;
}

/// True when `path` is a GGUF LoRA adapter (general.type "adapter", adapter.type "lora"):
/// the only kind of existing file an export asked to --force replaces.
inline bool is_gguf_lora_adapter(const std::filesystem::path& path) {
    try {
        const auto contents = read_gguf(path);
        return contents.text("general.type") == "adapter" && contents.text("adapter.type") == "lora";
    } catch (const error&) {
        return false;
    }
}

}  // namespace lorahub::io
