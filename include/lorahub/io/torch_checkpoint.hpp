#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "lorahub/core/dtype.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/io/pickle.hpp"
#include "lorahub/io/safetensors.hpp"
#include "lorahub/io/zip_archive.hpp"

namespace lorahub::io {

namespace detail {

/// The dtype of a torch storage class, or nothing for one we do not read.
inline std::optional<dtype> storage_dtype(const std::string& type) {
    static const std::map<std::string, dtype> types{{"FloatStorage", dtype::f32},  {"HalfStorage", dtype::f16},  {"BFloat16Storage", dtype::bf16},
                                                    {"DoubleStorage", dtype::f64}, {"LongStorage", dtype::i64},  {"IntStorage", dtype::i32},
                                                    {"ShortStorage", dtype::i16},  {"CharStorage", dtype::i8},   {"ByteStorage", dtype::u8},
                                                    {"BoolStorage", dtype::boolean}};
    const auto found = types.find(type);
    return found == types.end() ? std::nullopt : std::optional<dtype>(found->second);
}

}  // namespace detail

/// A torch.save state dict (the zip format: `<root>/data.pkl`, `<root>/byteorder`,
/// `<root>/data/<key>`), read without executing anything: the archive through zip_archive,
/// the pickle through restricted_unpickler, every storage's size checked against its entry
/// and every view's extent against its storage before anything is copied. The tensors come
/// out contiguous, in their stored dtype, as the bytes of the safetensors file that
/// safetensors.torch.save_file writes for the same state dict (no metadata).
inline std::vector<std::byte> torch_checkpoint_as_safetensors(const zip_archive& archive) {
    const auto& subject = archive.subject();
    if (archive.entries().empty()) throw format_error(subject, "is an empty ZIP archive, not a torch checkpoint");
    const auto& first = archive.entries().front().name;
    const auto slash = first.find('/');
    if (slash == std::string::npos) throw format_error(subject, "ZIP entries have no root folder, as torch.save writes them");
    const std::string root = first.substr(0, slash + 1);
    for (const auto& e : archive.entries())
        if (!e.name.starts_with(root)) throw format_error(subject, "ZIP entry \"" + e.name + "\" is outside the root folder \"" + root + "\"");
    const auto* pickle_entry = archive.find(root + "data.pkl");
    if (pickle_entry == nullptr) throw format_error(subject, "has no " + root + "data.pkl: not a torch.save checkpoint");
    bool big_endian = false;
    if (const auto* order = archive.find(root + "byteorder")) {
        const auto bytes = archive.read(*order);
        const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        if (text != "little" && text != "big") throw format_error(subject, "byteorder is neither \"little\" nor \"big\"");
        big_endian = text == "big";
    }
    const auto pickle = archive.read(*pickle_entry);
    const auto top = restricted_unpickler(pickle, subject + ": " + root + "data.pkl").load();
    const auto* dict = std::get_if<pickle_value::dict>(&top.value);
    if (dict == nullptr) throw format_error(subject, "data.pkl holds no dict: not a state dict");

    std::map<std::string, std::vector<std::byte>> storages;  // key -> bytes, read once, shared by views
    std::vector<std::vector<std::byte>> contiguous;
    std::vector<tensor_record> records;
    contiguous.reserve(dict->node->items.size());
    for (const auto& [key_value, tensor_value] : dict->node->items) {
        const auto* name = std::get_if<std::string>(&key_value.value);
        if (name == nullptr) throw format_error(subject, "state dict has a key that is not a string");
        const auto* tensor = std::get_if<pickled_tensor>(&tensor_value.value);
        if (tensor == nullptr) throw format_error(subject, "state dict entry \"" + *name + "\" is not a tensor");
        const auto type = detail::storage_dtype(tensor->storage.type);
        if (!type) throw unsupported_error(subject, "tensor \"" + *name + "\" has storage type " + tensor->storage.type);
        const std::size_t element = size_of(*type);
        const auto entry_name = root + "data/" + tensor->storage.key;
        const auto* entry = archive.find(entry_name);
        if (entry == nullptr) throw format_error(subject, "tensor \"" + *name + "\" names storage \"" + tensor->storage.key + "\", which is not in the archive");
        std::uint64_t storage_bytes = 0;
        if (!detail::checked_multiply(static_cast<std::uint64_t>(tensor->storage.numel), element, storage_bytes) || storage_bytes != entry->size)
            throw format_error(subject, "storage \"" + tensor->storage.key + "\" claims " + std::to_string(tensor->storage.numel) +
                                            " elements, but its entry holds " + std::to_string(entry->size) + " bytes");
        // the view must stay inside its storage: offset + sum (size_i - 1) stride_i < numel
        std::uint64_t numel = 1, last = static_cast<std::uint64_t>(tensor->offset);
        bool empty = false;
        for (std::size_t d = 0; d < tensor->shape.size(); ++d) {
            const auto size = static_cast<std::uint64_t>(tensor->shape[d]);
            if (size == 0) empty = true;
            std::uint64_t reach = 0;
            if (!detail::checked_multiply(numel, size, numel) || (size > 0 && !detail::checked_multiply(size - 1, static_cast<std::uint64_t>(tensor->stride[d]), reach)) ||
                last + reach < last)
                throw format_error(subject, "tensor \"" + *name + "\" has a shape or stride that overflows");
            last += reach;
        }
        if (!empty && last >= static_cast<std::uint64_t>(tensor->storage.numel))
            throw format_error(subject, "tensor \"" + *name + "\" reaches element " + std::to_string(last) + " of storage \"" +
                                            tensor->storage.key + "\", which has " + std::to_string(tensor->storage.numel));
        auto& storage = storages[tensor->storage.key];
        if (storage.empty() && entry->size > 0) storage = archive.read(*entry);
        std::vector<std::size_t> shape(tensor->shape.begin(), tensor->shape.end());
        bool row_major = true;
        std::uint64_t expected_stride = 1;
        for (std::size_t d = tensor->shape.size(); d > 0; --d) {
            if (tensor->shape[d - 1] != 1 && static_cast<std::uint64_t>(tensor->stride[d - 1]) != expected_stride) row_major = false;
            expected_stride *= static_cast<std::uint64_t>(tensor->shape[d - 1]);
        }
        if (empty || (row_major && !big_endian)) {  // a contiguous slice of its storage: no copy
            const std::size_t begin = empty ? 0 : static_cast<std::size_t>(tensor->offset) * element;
            records.push_back({*name, *type, std::move(shape), std::span<const std::byte>(storage).subspan(begin, empty ? 0 : numel * element)});
            continue;
        }
        // gather the view in row-major order, swapping bytes from a big-endian file
        std::vector<std::byte> out(numel * element);
        std::vector<std::uint64_t> index(tensor->shape.size(), 0);
        for (std::uint64_t i = 0; i < numel; ++i) {
            std::uint64_t source = static_cast<std::uint64_t>(tensor->offset);
            for (std::size_t d = 0; d < index.size(); ++d) source += index[d] * static_cast<std::uint64_t>(tensor->stride[d]);
            std::memcpy(out.data() + i * element, storage.data() + source * element, element);
            if (big_endian) std::reverse(out.data() + i * element, out.data() + (i + 1) * element);
            for (std::size_t d = index.size(); d > 0; --d) {
                if (++index[d - 1] < static_cast<std::uint64_t>(tensor->shape[d - 1])) break;
                index[d - 1] = 0;
            }
        }
        contiguous.push_back(std::move(out));
        records.push_back({*name, *type, std::move(shape), contiguous.back()});
    }
    std::vector<std::byte> bytes;
    encode_safetensors(records, {}, [&](std::span<const std::byte> piece) { bytes.insert(bytes.end(), piece.begin(), piece.end()); });
    return bytes;
}

inline std::vector<std::byte> torch_checkpoint_as_safetensors(const std::filesystem::path& path) {
    return torch_checkpoint_as_safetensors(zip_archive(path));
}

/// A weights file by its name: a torch.save checkpoint (".bin", ".pt", ".pth") converted in
/// memory, anything else mapped as safetensors.
inline safetensors_file open_weights_file(const std::filesystem::path& path) {
    const auto extension = path.extension();
    if (extension == ".bin" || extension == ".pt" || extension == ".pth") return safetensors_file(path, torch_checkpoint_as_safetensors(path));
    return safetensors_file(path);
}

}  // namespace lorahub::io
