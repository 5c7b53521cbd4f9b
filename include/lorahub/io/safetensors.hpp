#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lorahub/core/dtype.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/io/atomic_output.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"

namespace lorahub::io {

/// The same limit the reference reader applies to the JSON header.
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;

/// One tensor of a safetensors buffer: a view, never a copy. `bytes` may be unaligned.
struct tensor_view {
    std::string name;
    dtype type = dtype::f32;
    std::vector<std::size_t> shape;
    std::span<const std::byte> bytes;

    std::size_t numel() const {
        std::size_t count = 1;
        for (auto extent : shape) count *= extent;
        return count;
    }
};

std::string shape_string(std::span<const std::size_t> shape);

namespace detail {

inline bool checked_multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
    return !__builtin_mul_overflow(a, b, &out);
}

inline std::uint64_t read_u64_le(std::span<const std::byte> bytes) {
    std::uint64_t value = 0;
    std::memcpy(&value, bytes.data(), sizeof value);
    return value;
}

inline std::uint64_t header_unsigned(const json& value, const std::string& subject, const std::string& what) {
    if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<std::int64_t>() >= 0))
        throw format_error(subject, what + " must be a non-negative integer, got " + value.dump());
    return value.get<std::uint64_t>();
}

}  // namespace detail

/// The parsed, validated layout of a safetensors buffer. Tensors are sorted by name.
struct safetensors_layout {
    std::vector<tensor_view> tensors;
    std::map<std::string, std::string> metadata;
    std::size_t header_bytes = 0;
};

/// Validates a whole safetensors file held in `bytes` with every rule of the reference
/// reader; `subject` (usually the path) prefixes each error.
inline safetensors_layout parse_safetensors(std::span<const std::byte> bytes, const std::string& subject) {
    if (bytes.size() < 8)
        throw format_error(subject, "file is " + std::to_string(bytes.size()) +
                                        " bytes; a safetensors file starts with an 8-byte header length");
    const std::uint64_t header_length = detail::read_u64_le(bytes.first(8));
    if (header_length > safetensors_max_header_bytes)
        throw format_error(subject, "header length " + std::to_string(header_length) + " exceeds the limit of " +
                                        std::to_string(safetensors_max_header_bytes) + " bytes");
    std::uint64_t header_end = 0;
    if (__builtin_add_overflow(std::uint64_t{8}, header_length, &header_end) || header_end > bytes.size())
        throw format_error(subject, "header length " + std::to_string(header_length) + " runs past the end of the " +
                                        std::to_string(bytes.size()) + "-byte file");
    const std::string_view header_text(reinterpret_cast<const char*>(bytes.data() + 8), header_length);
    const json header = parse_json_strict(header_text, subject);
    if (!header.is_object()) throw format_error(subject, "header must be a JSON object, got " + json_type_name(header));

    const auto buffer = bytes.subspan(header_end);
    safetensors_layout layout;
    layout.header_bytes = header_end;
    struct extent {
        std::uint64_t begin, end;
        std::size_t index;
    };
    std::vector<extent> extents;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object()) throw format_error(subject, "__metadata__ must be an object of strings");
            for (const auto& [key, value] : entry.items()) {
                if (!value.is_string())
                    throw format_error(subject, "__metadata__[\"" + key + "\"] must be a string, got " + value.dump());
                layout.metadata.emplace(key, value.get<std::string>());
            }
            continue;
        }
        const std::string where = "tensor \"" + name + "\"";
        if (!entry.is_object()) throw format_error(subject, where + " must be an object");
        for (const char* field : {"dtype", "shape", "data_offsets"})
            if (!entry.contains(field)) throw format_error(subject, where + " has no \"" + field + "\"");
        const auto& dtype_field = entry["dtype"];
        if (!dtype_field.is_string()) throw format_error(subject, where + " dtype must be a string");
        const auto type = parse_dtype(dtype_field.get<std::string>());
        if (!type) throw format_error(subject, where + " has unknown dtype \"" + dtype_field.get<std::string>() + "\"");
        const auto& shape_field = entry["shape"];
        if (!shape_field.is_array()) throw format_error(subject, where + " shape must be an array");
        const auto& offsets_field = entry["data_offsets"];
        if (!offsets_field.is_array() || offsets_field.size() != 2)
            throw format_error(subject, where + " data_offsets must be an array of two integers");

        tensor_view view;
        view.name = name;
        view.type = *type;
        std::uint64_t numel = 1;
        for (const auto& extent_field : shape_field) {
            const std::uint64_t dimension = detail::header_unsigned(extent_field, subject, where + " shape entry");
            if (!detail::checked_multiply(numel, dimension, numel))
                throw format_error(subject, where + " element count overflows");
            view.shape.push_back(static_cast<std::size_t>(dimension));
        }
        std::uint64_t byte_count = 0;
        if (!detail::checked_multiply(numel, size_of(*type), byte_count))
            throw format_error(subject, where + " byte count overflows");
        const std::uint64_t begin = detail::header_unsigned(offsets_field[0], subject, where + " data_offsets[0]");
        const std::uint64_t end = detail::header_unsigned(offsets_field[1], subject, where + " data_offsets[1]");
        if (end < begin) throw format_error(subject, where + " data_offsets end before they begin");
        if (end - begin != byte_count)
            throw format_error(subject, where + " spans " + std::to_string(end - begin) + " bytes but " +
                                            std::string(name_of(*type)) + " " + shape_string(view.shape) + " needs " +
                                            std::to_string(byte_count));
        if (end > buffer.size())
            throw format_error(subject, where + " data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                            ") run past the " + std::to_string(buffer.size()) + "-byte data buffer");
        view.bytes = buffer.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin));
        extents.push_back({begin, end, layout.tensors.size()});
        layout.tensors.push_back(std::move(view));
    }

    std::sort(extents.begin(), extents.end(),
              [](const extent& a, const extent& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
    std::uint64_t covered = 0;
    for (const auto& item : extents) {
        const auto& name = layout.tensors[item.index].name;
        if (item.begin > covered)
            throw format_error(subject, "gap in the data buffer before tensor \"" + name + "\" (bytes " +
                                            std::to_string(covered) + ".." + std::to_string(item.begin) + " are unused)");
        if (item.begin < covered)
            throw format_error(subject, "tensor \"" + name + "\" overlaps the tensor before it in the data buffer");
        covered = item.end;
    }
    if (covered != buffer.size())
        throw format_error(subject, "data buffer has " + std::to_string(buffer.size() - covered) +
                                        " trailing bytes that belong to no tensor");

    std::sort(layout.tensors.begin(), layout.tensors.end(),
              [](const tensor_view& a, const tensor_view& b) { return a.name < b.name; });
    return layout;
}

inline std::string shape_string(std::span<const std::size_t> shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) text += ", ";
        text += std::to_string(shape[i]);
    }
    return text + "]";
}

/// A memory-mapped, validated safetensors file. Views stay valid while the object lives.
class safetensors_file {
public:
    explicit safetensors_file(const std::filesystem::path& path) : file_(path) {
        layout_ = parse_safetensors(file_.bytes(), display(path));
    }
    /// A safetensors image in memory (a converted .bin); `path` names it in errors.
    safetensors_file(const std::filesystem::path& path, std::vector<std::byte> bytes) : file_(path, std::move(bytes)) {
        layout_ = parse_safetensors(file_.bytes(), display(path));
    }

    const std::filesystem::path& path() const noexcept { return file_.path(); }
    const std::vector<tensor_view>& tensors() const noexcept { return layout_.tensors; }
    /// Drops the memory pages of bytes inside this file (see mapped_file::evict).
    void evict(std::span<const std::byte> bytes) const noexcept { file_.evict(bytes); }
    const std::map<std::string, std::string>& metadata() const noexcept { return layout_.metadata; }

    const tensor_view* find(std::string_view name) const {
        auto it = std::lower_bound(layout_.tensors.begin(), layout_.tensors.end(), name,
                                   [](const tensor_view& view, std::string_view key) { return view.name < key; });
        return it != layout_.tensors.end() && it->name == name ? &*it : nullptr;
    }

    const tensor_view& at(std::string_view name) const {
        if (const auto* view = find(name)) return *view;
        throw shape_error(display(path()), "has no tensor \"" + std::string(name) + "\"");
    }

    /// The tensor as float32: a zero-copy span when it is F32 and 4-byte aligned, else empty.
    static std::optional<std::span<const float>> f32_span(const tensor_view& view) {
        if (view.type != dtype::f32 || reinterpret_cast<std::uintptr_t>(view.bytes.data()) % alignof(float) != 0)
            return std::nullopt;
        return std::span<const float>(reinterpret_cast<const float*>(view.bytes.data()), view.numel());
    }

    /// The tensor's BF16 values as stored: a zero-copy span when it is BF16 and 2-byte aligned, else empty.
    static std::optional<std::span<const std::uint16_t>> bf16_span(const tensor_view& view) {
        if (view.type != dtype::bf16 || reinterpret_cast<std::uintptr_t>(view.bytes.data()) % alignof(std::uint16_t) != 0)
            return std::nullopt;
        return std::span<const std::uint16_t>(reinterpret_cast<const std::uint16_t*>(view.bytes.data()), view.numel());
    }

    /// Copies the tensor into `target` as float32, converting from its stored dtype.
    void read_f32(const tensor_view& view, std::span<float> target) const {
        convert_to_f32(view.type, view.bytes, target, display(path()) + ": tensor \"" + view.name + "\"");
    }

    std::vector<float> read_f32(const tensor_view& view) const {
        std::vector<float> values(view.numel());
        read_f32(view, values);
        return values;
    }

private:
    mapped_file file_;
    safetensors_layout layout_;
};

/// A tensor to write: name, dtype, shape and its little-endian bytes.
struct tensor_record {
    std::string name;
    dtype type = dtype::f32;
    std::vector<std::size_t> shape;
    std::span<const std::byte> bytes;
};

/// Serialises tensors as the reference writer does: header padded with spaces to a
/// multiple of 8, data ordered by dtype (reference enum order, descending) then name.
inline std::string safetensors_header(std::span<const tensor_record> tensors,
                                      const std::map<std::string, std::string>& metadata,
                                      std::vector<std::size_t>& order) {
    order.resize(tensors.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto ta = tensors[a].type, tb = tensors[b].type;
        return ta != tb ? ta > tb : tensors[a].name < tensors[b].name;
    });
    json header = json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::uint64_t offset = 0;
    for (const auto index : order) {
        const auto& record = tensors[index];
        std::size_t numel = 1;
        for (auto extent : record.shape) numel *= extent;
        if (record.bytes.size() != numel * size_of(record.type))
            throw argument_error("tensor \"" + record.name + "\"", "has " + std::to_string(record.bytes.size()) +
                                                                   " bytes, but its dtype and shape need " +
                                                                   std::to_string(numel * size_of(record.type)));
        if (header.contains(record.name)) throw argument_error("tensor \"" + record.name + "\"", "is named twice");
        header[record.name] = {{"dtype", name_of(record.type)},
                               {"shape", record.shape},
                               {"data_offsets", {offset, offset + record.bytes.size()}}};
        offset += record.bytes.size();
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
}

/// The bytes of a safetensors file, in the order the reference writer puts them, handed to
/// `sink` piece by piece (length prefix, header, each tensor's data).
template <class Sink>
void encode_safetensors(std::span<const tensor_record> tensors, const std::map<std::string, std::string>& metadata, Sink&& sink) {
    std::vector<std::size_t> order;
    const std::string header = safetensors_header(tensors, metadata, order);
    const std::uint64_t length = header.size();
    std::byte prefix[8];
    std::memcpy(prefix, &length, 8);
    sink(std::span<const std::byte>(prefix, 8));
    sink(std::as_bytes(std::span(header.data(), header.size())));
    for (const auto index : order) sink(tensors[index].bytes);
}

/// Writes a safetensors file atomically: a temporary beside `path`, renamed on success.
inline void write_safetensors(const std::filesystem::path& path, std::span<const tensor_record> tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
    atomic_file out(path);
    encode_safetensors(tensors, metadata, [&](std::span<const std::byte> bytes) { out.write(bytes); });
    out.commit();
}

/// Owns float32 values and the shape they have; the usual way to hand results to the writer.
struct f32_tensor {
    std::string name;
    std::vector<std::size_t> shape;
    std::vector<float> values;
};

/// Encodes float tensors as `type` (F32, F16 or BF16) and writes them atomically.
inline void write_safetensors(const std::filesystem::path& path, std::span<const f32_tensor> tensors, dtype type,
                              const std::map<std::string, std::string>& metadata = {}) {
    std::vector<std::vector<std::byte>> encoded(tensors.size());
    std::vector<tensor_record> records(tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        encoded[i].resize(tensors[i].values.size() * size_of(type));
        convert_from_f32(tensors[i].values, type, encoded[i], "tensor \"" + tensors[i].name + "\"");
        records[i] = {tensors[i].name, type, tensors[i].shape, encoded[i]};
    }
    write_safetensors(path, records, metadata);
}

}  // namespace lorahub::io
