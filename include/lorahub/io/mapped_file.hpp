#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <memory>
#include <utility>
#include <vector>

#include "lorahub/core/error.hpp"

namespace lorahub::io {

/// A regular file mapped read-only. Refuses directories, FIFOs and devices, so that opening
/// never blocks. An empty file maps to an empty span.
class mapped_file {
public:
    mapped_file() = default;

    /// Bytes already in memory (a converted file), served as if mapped; `path` names them in errors.
    mapped_file(const std::filesystem::path& path, std::vector<std::byte> bytes)
        : path_(path), owned_(std::make_shared<std::vector<std::byte>>(std::move(bytes))) {
        data_ = owned_->data();
        size_ = owned_->size();
    }

    explicit mapped_file(const std::filesystem::path& path) : path_(path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) throw io_error(display(path), std::string("cannot open: ") + std::strerror(errno));
        struct stat info {};
        if (::fstat(fd, &info) != 0) {
            const int saved = errno;
            ::close(fd);
            throw io_error(display(path), std::string("cannot stat: ") + std::strerror(saved));
        }
        if (!S_ISREG(info.st_mode)) {
            ::close(fd);
            throw io_error(display(path), "not a regular file");
        }
        size_ = static_cast<std::size_t>(info.st_size);
        if (size_ > 0) {
            void* address = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (address == MAP_FAILED) {
                const int saved = errno;
                ::close(fd);
                throw io_error(display(path), std::string("cannot map: ") + std::strerror(saved));
            }
            data_ = static_cast<const std::byte*>(address);
        }
        ::close(fd);
    }

    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    mapped_file(mapped_file&& other) noexcept { swap(other); }
    mapped_file& operator=(mapped_file&& other) noexcept {
        if (this != &other) {
            release();
            swap(other);
        }
        return *this;
    }
    ~mapped_file() { release(); }

    std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
    std::size_t size() const noexcept { return size_; }

    /// Drops the pages lying wholly inside `range` (a part of this mapping) from the process's
    /// memory; they are read from the file again if touched. Ranges outside the mapping are
    /// ignored. Used once a tensor has been converted and its source bytes are not needed.
    void evict(std::span<const std::byte> range) const noexcept {
        if (owned_ || range.empty() || range.data() < data_ || range.data() + range.size() > data_ + size_) return;
        const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        const auto first = (reinterpret_cast<std::uintptr_t>(range.data()) + page - 1) / page * page;
        const auto last = (reinterpret_cast<std::uintptr_t>(range.data() + range.size())) / page * page;
        if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
    }
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    void release() noexcept {
        if (owned_) owned_.reset();
        else if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
        data_ = nullptr;
        size_ = 0;
    }
    void swap(mapped_file& other) noexcept {
        std::swap(path_, other.path_);
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(owned_, other.owned_);
    }

    std::filesystem::path path_;
    const std::byte* data_ = nullptr;
    std::size_t size_ = 0;
    std::shared_ptr<std::vector<std::byte>> owned_;
};

/// Reads a whole small regular file (configs, JSONL) with a size cap, so that a huge or
/// special file yields an error instead of an allocation the user did not expect.
inline std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes) {
    mapped_file file(path);
    if (file.size() > max_bytes)
        throw io_error(display(path), "file is " + std::to_string(file.size()) + " bytes; the limit for this kind of file is " +
                                          std::to_string(max_bytes));
    const auto bytes = file.bytes();
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace lorahub::io
