#pragma once

#include <filesystem>
#include <string>

#include <lorahub/io/atomic_output.hpp>
#include <lorahub/io/json.hpp>

namespace lorahub::cli {

/// JSON as the CLI prints it: invalid UTF-8 from a file becomes U+FFFD instead of an exception.
inline std::string json_text(const io::json& value, int indent = -1) {
    return value.dump(indent, ' ', false, io::json::error_handler_t::replace);
}

/// A whole text file, written under a temporary name and renamed into place.
inline void write_text_file(const std::filesystem::path& path, const std::string& text) {
    io::atomic_file out(path);
    out.write(text);
    out.commit();
}

}  // namespace lorahub::cli
