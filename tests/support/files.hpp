#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lorahub::test {

inline std::filesystem::path fixtures() { return LORAHUB_FIXTURES; }

/// A fresh directory under the system temp dir, removed with everything in it.
class temp_dir {
public:
    temp_dir() {
        std::random_device seed;
        path_ = std::filesystem::temp_directory_path() /
                ("lorahub-test-" + std::to_string(::getpid()) + "-" + std::to_string(seed()));
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path.string() + ": cannot open the file");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A safetensors file from a header text and a data buffer, as a malformed-file author would.
inline std::string safetensors_bytes(std::string_view header, std::string_view data, std::uint64_t declared_length) {
    std::string bytes(8, '\0');
    std::memcpy(bytes.data(), &declared_length, 8);
    bytes.append(header);
    bytes.append(data);
    return bytes;
}

inline std::string safetensors_bytes(std::string_view header, std::string_view data) {
    return safetensors_bytes(header, data, header.size());
}

inline std::span<const std::byte> as_bytes(const std::string& text) {
    return std::as_bytes(std::span(text.data(), text.size()));
}

}  // namespace lorahub::test
