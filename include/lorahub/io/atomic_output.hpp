#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>

#include "lorahub/core/error.hpp"

namespace lorahub::io {

/// A file written under a temporary name beside its target and renamed into place on
/// commit(); destroyed uncommitted, it removes the temporary, so no partial file is left.
class atomic_file {
public:
    explicit atomic_file(std::filesystem::path target) : target_(std::move(target)) {
        std::filesystem::path pattern = target_;
        pattern += ".partial-XXXXXX";
        std::string name = pattern.string();
        fd_ = ::mkstemp(name.data());
        if (fd_ < 0) throw io_error(display(target_), std::string("cannot create a temporary file: ") + std::strerror(errno));
        temporary_ = name;
    }
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;
    ~atomic_file() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(temporary_.c_str());
    }

    void write(std::span<const std::byte> bytes) {
        const std::byte* at = bytes.data();
        std::size_t left = bytes.size();
        while (left > 0) {
            const ssize_t written = ::write(fd_, at, left);
            if (written < 0) {
                if (errno == EINTR) continue;
                throw io_error(display(target_), std::string("write failed: ") + std::strerror(errno));
            }
            at += written;
            left -= static_cast<std::size_t>(written);
        }
    }
    void write(std::string_view text) { write(std::as_bytes(std::span(text.data(), text.size()))); }

    void commit() {
        if (::fchmod(fd_, 0644) != 0 || ::fsync(fd_) != 0)
            throw io_error(display(target_), std::string("cannot flush: ") + std::strerror(errno));
        const int closed = ::close(fd_);
        fd_ = -1;
        if (closed != 0) throw io_error(display(target_), std::string("cannot close: ") + std::strerror(errno));
        if (::rename(temporary_.c_str(), target_.c_str()) != 0)
            throw io_error(display(target_), std::string("cannot rename into place: ") + std::strerror(errno));
        committed_ = true;
    }

private:
    std::filesystem::path target_;
    std::filesystem::path temporary_;
    int fd_ = -1;
    bool committed_ = false;
};

/// A directory filled under a temporary name beside its target and swapped into place on
/// commit(), replacing an existing directory of that name; destroyed uncommitted, it removes
/// everything it holds.
class staged_directory {
public:
    explicit staged_directory(std::filesystem::path target) : target_(std::move(target)) {
        if (target_.filename().empty()) target_ = target_.parent_path();
        std::error_code ignored;
        if (std::filesystem::exists(target_, ignored) && !std::filesystem::is_directory(target_, ignored))
            throw io_error(display(target_), "exists and is not a directory");
        const auto parent = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
        std::error_code made;
        std::filesystem::create_directories(parent, made);
        if (made) throw io_error(display(parent), "cannot create directory: " + made.message());
        std::string pattern = (parent / ("." + target_.filename().string() + ".partial-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw io_error(display(target_), std::string("cannot create a staging directory: ") + std::strerror(errno));
        staging_ = pattern;
    }
    staged_directory(const staged_directory&) = delete;
    staged_directory& operator=(const staged_directory&) = delete;
    ~staged_directory() {
        std::error_code ignored;
        if (!committed_) std::filesystem::remove_all(staging_, ignored);
    }

    const std::filesystem::path& path() const noexcept { return staging_; }
    const std::filesystem::path& target() const noexcept { return target_; }

    void commit() {
        std::error_code failure;
        std::filesystem::path previous;
        if (std::filesystem::exists(target_, failure)) {
            std::string pattern = (target_.parent_path() / ("." + target_.filename().string() + ".old-XXXXXX")).string();
            if (::mkdtemp(pattern.data()) == nullptr)
                throw io_error(display(target_), std::string("cannot set the old directory aside: ") + std::strerror(errno));
            previous = pattern;
            std::filesystem::rename(target_, previous / "content", failure);
            if (failure) throw io_error(display(target_), "cannot set the old directory aside: " + failure.message());
        }
        std::filesystem::rename(staging_, target_, failure);
        if (failure) {
            std::error_code ignored;
            if (!previous.empty()) std::filesystem::rename(previous / "content", target_, ignored);
            throw io_error(display(target_), "cannot move the new directory into place: " + failure.message());
        }
        committed_ = true;
        if (!previous.empty()) std::filesystem::remove_all(previous, failure);
    }

private:
    std::filesystem::path target_;
    std::filesystem::path staging_;
    bool committed_ = false;
};

}  // namespace lorahub::io
