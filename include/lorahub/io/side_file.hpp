#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "lorahub/core/error.hpp"
#include "lorahub/io/atomic_output.hpp"

namespace lorahub::io {

/// A model directory's side file (tokenizer, generation config, ...) that an output copies:
/// nullopt when absent; the path when it is a regular file inside `directory`, or a symlink
/// resolving to one inside it. A symlink leaving the directory, or anything but a regular
/// file, is an io_error naming it: its contents are not ours to copy.
inline std::optional<std::filesystem::path> side_file(const std::filesystem::path& directory, std::string_view name) {
    const auto path = directory / name;
    const auto status = detail::status_of(path);
    if (status.type() == std::filesystem::file_type::not_found) return std::nullopt;
    if (status.type() == std::filesystem::file_type::symlink) {
        const auto target = detail::resolved(path);
        if (!detail::is_within(target, detail::resolved(directory)))
            throw io_error(display(path), "is a symbolic link to " + display(target) + ", outside the model directory: not copied "
                                          "(copy the file itself into the directory)");
    }
    std::error_code failure;
    if (!std::filesystem::is_regular_file(path, failure)) throw io_error(display(path), "is not a regular file: not copied");
    return path;
}

/// Copies a regular file's contents to `destination` (a new file, the umask's mode).
inline void copy_regular_file(const std::filesystem::path& source, const std::filesystem::path& destination) {
    std::error_code failure;
    std::filesystem::copy_file(source, destination, failure);
    if (failure) throw io_error(display(source), "cannot copy to " + display(destination) + ": " + failure.message());
    std::filesystem::permissions(destination, static_cast<std::filesystem::perms>(0666 & ~detail::process_umask()), failure);
    if (failure) throw io_error(display(destination), "cannot set its mode: " + failure.message());
}

}  // namespace lorahub::io
