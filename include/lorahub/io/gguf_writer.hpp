#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/atomic_output.hpp"
#include "lorahub/io/gguf_format.hpp"

namespace lorahub::io {

/// A tensor to write: its bytes, little-endian, in row-major order of `shape`.
struct gguf_tensor {
    std::string name;
    /// Outermost dimension first, as PyTorch and numpy give it; the file stores it reversed
    /// (ggml's ne, innermost first).
    std::vector<std::size_t> shape;
    ggml_type type = ggml_type::f32;
    std::vector<std::byte> data;
};

namespace detail {

class gguf_bytes {
public:
    template <class T>
    void scalar(T value) {
        const auto* bytes = reinterpret_cast<const std::byte*>(&value);
        out_.insert(out_.end(), bytes, bytes + sizeof(T));
    }
    void text(std::string_view value) {
        scalar<std::uint64_t>(value.size());
        const auto* bytes = reinterpret_cast<const std::byte*>(value.data());
        out_.insert(out_.end(), bytes, bytes + value.size());
    }
    void value(const gguf_value& value) {
        scalar(static_cast<std::uint32_t>(type_of(value)));
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::string>) text(v);
                else if constexpr (std::is_same_v<T, bool>) scalar<std::uint8_t>(v ? 1 : 0);
                else scalar(v);
            },
            value);
    }
    std::vector<std::byte>& bytes() { return out_; }

private:
    std::vector<std::byte> out_;
};

inline std::uint64_t padded(std::uint64_t size, std::uint64_t alignment) { return (size + alignment - 1) / alignment * alignment; }

/// The alignment the file declares (general.alignment, a power of two), else the default.
inline std::uint64_t declared_alignment(std::span<const gguf_entry> metadata) {
    for (const auto& entry : metadata) {
        if (entry.key != "general.alignment") continue;
        const auto* value = std::get_if<std::uint32_t>(&entry.value);
        if (value == nullptr || *value == 0 || (*value & (*value - 1)) != 0)
            throw argument_error("GGUF metadata \"general.alignment\"", "must be a uint32 power of two");
        return *value;
    }
    return gguf_default_alignment;
}

inline void check_gguf_contents(std::span<const gguf_entry> metadata, std::span<const gguf_tensor> tensors) {
    std::set<std::string_view> keys, names;
    for (const auto& entry : metadata) {
        if (entry.key.empty()) throw argument_error("GGUF metadata", "has an empty key");
        if (!keys.insert(entry.key).second) throw argument_error("GGUF metadata \"" + entry.key + "\"", "is given twice");
    }
    for (const auto& tensor : tensors) {
        const std::string subject = "GGUF tensor \"" + tensor.name + "\"";
        if (tensor.name.empty() || tensor.name.size() > gguf_max_name_bytes)
            throw argument_error(subject, "needs a name of 1 to " + std::to_string(gguf_max_name_bytes) + " bytes (ggml's GGML_MAX_NAME)");
        if (!names.insert(tensor.name).second) throw argument_error(subject, "is given twice");
        if (tensor.shape.empty() || tensor.shape.size() > gguf_max_dims)
            throw argument_error(subject, "has " + std::to_string(tensor.shape.size()) + " dimensions; ggml takes 1 to 4");
        std::size_t count = 1;
        for (const auto extent : tensor.shape) {
            if (extent == 0) throw argument_error(subject, "has an empty dimension");
            count *= extent;
        }
        if (tensor.data.size() != count * element_size(tensor.type))
            throw argument_error(subject, "has " + std::to_string(tensor.data.size()) + " bytes, but its shape and type " +
                                              std::string(name_of(tensor.type)) + " need " + std::to_string(count * element_size(tensor.type)));
    }
}

}  // namespace detail

/// The bytes of a GGUF v3 file, laid out as gguf-py's GGUFWriter lays them out: header
/// (magic, version, tensor count, metadata count), the metadata in order, the tensor infos
/// (name, dimension count, ne innermost first, type, offset into the data), zeros up to the
/// alignment, then each tensor's data padded with zeros to the alignment. Handed to `sink`
/// in pieces.
template <class Sink>
void encode_gguf(std::span<const gguf_entry> metadata, std::span<const gguf_tensor> tensors, Sink&& sink) {
    detail::check_gguf_contents(metadata, tensors);
    const std::uint64_t alignment = detail::declared_alignment(metadata);
    detail::gguf_bytes head;
    head.scalar(gguf_magic);
    head.scalar(gguf_version);
    head.scalar<std::uint64_t>(tensors.size());
    head.scalar<std::uint64_t>(metadata.size());
    for (const auto& entry : metadata) {
        head.text(entry.key);
        head.value(entry.value);
    }
    std::uint64_t offset = 0;
    for (const auto& tensor : tensors) {
        head.text(tensor.name);
        head.scalar<std::uint32_t>(static_cast<std::uint32_t>(tensor.shape.size()));
        for (auto extent = tensor.shape.rbegin(); extent != tensor.shape.rend(); ++extent) head.scalar<std::uint64_t>(*extent);
        head.scalar(static_cast<std::uint32_t>(tensor.type));
        head.scalar(offset);
        offset += detail::padded(tensor.data.size(), alignment);
    }
    auto& bytes = head.bytes();
    bytes.resize(detail::padded(bytes.size(), alignment), std::byte{0});
    sink(std::span<const std::byte>(bytes));
    const std::vector<std::byte> zeros(alignment, std::byte{0});
    for (const auto& tensor : tensors) {
        sink(std::span<const std::byte>(tensor.data));
        const std::uint64_t pad = detail::padded(tensor.data.size(), alignment) - tensor.data.size();
        if (pad != 0) sink(std::span<const std::byte>(zeros.data(), pad));
    }
}

/// Writes a GGUF file atomically (a temporary beside `path`, renamed on success): a failure
/// leaves no partial file. Whether an existing `path` may be replaced is the caller's check.
inline void write_gguf(const std::filesystem::path& path, std::span<const gguf_entry> metadata, std::span<const gguf_tensor> tensors) {
    detail::check_gguf_contents(metadata, tensors);
    atomic_file out(path);
    encode_gguf(metadata, tensors, [&](std::span<const std::byte> bytes) { out.write(bytes); });
    out.commit();
}

}  // namespace lorahub::io
