#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "lorahub/core/error.hpp"

namespace lorahub::io {

/// What a write does when its target directory exists and is not empty.
enum class existing_output {
    refuse,        ///< an error naming the directory (the default)
    replace_ours,  ///< replace it, but only a directory lorahub wrote (output_marker, PEFT or HF layout)
};

/// The file lorahub leaves in every directory it writes, so that a later write asked to
/// replace an existing output replaces only one of its own.
inline constexpr const char* output_marker = ".lorahub-output";

namespace detail {

/// The process's umask, read without changing it (/proc/self/status, Linux 4.7+), else by
/// setting it and back.
inline mode_t process_umask() {
    if (std::FILE* status = std::fopen("/proc/self/status", "r")) {
        char line[256];
        unsigned mask = 0;
        bool found = false;
        while (!found && std::fgets(line, sizeof line, status)) found = std::sscanf(line, "Umask: %o", &mask) == 1;
        std::fclose(status);
        if (found) return static_cast<mode_t>(mask);
    }
    const mode_t mask = ::umask(022);
    ::umask(mask);
    return mask;
}

/// The filesystem's view of `path` without following a final symlink; a loop or an
/// unreadable parent is an io_error naming the path.
inline std::filesystem::file_status status_of(const std::filesystem::path& path) {
    std::error_code failure;
    const auto status = std::filesystem::symlink_status(path, failure);
    // under a file: it cannot exist (check_parent names the file)
    if (failure == std::errc::not_a_directory) return std::filesystem::file_status(std::filesystem::file_type::not_found);
    if (failure && failure != std::errc::no_such_file_or_directory)
        throw io_error(display(path), "cannot be examined: " + failure.message());
    return status;
}

/// `path` with every symlink resolved as far as it exists; errors (a loop) named.
inline std::filesystem::path resolved(const std::filesystem::path& path) {
    std::error_code failure;
    auto result = std::filesystem::weakly_canonical(std::filesystem::absolute(path), failure);
    if (failure) throw io_error(display(path), "cannot be resolved: " + failure.message());
    return result;
}

/// True when `inner` is `outer` or lies inside it (both resolved).
inline bool is_within(const std::filesystem::path& inner, const std::filesystem::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty() && std::next(o) == outer.end()) break;  // a trailing separator
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

/// A directory lorahub may replace when asked: its marker, a PEFT adapter, a Hugging Face
/// model (config.json beside safetensors weights) or a lorahub hub.
inline bool is_lorahub_output(const std::filesystem::path& directory) {
    std::error_code ignored;
    auto has = [&](const char* name) { return std::filesystem::is_regular_file(directory / name, ignored); };
    return has(output_marker) || has("adapter_config.json") || has("hub.json") ||
           (has("config.json") && (has("model.safetensors") || has("model.safetensors.index.json")));
}

inline bool is_empty_directory(const std::filesystem::path& directory) {
    std::error_code failure;
    const bool empty = std::filesystem::is_empty(directory, failure);
    if (failure) throw io_error(display(directory), "cannot be read: " + failure.message());
    return empty;
}

/// The sibling a write of `target` uses: ".NAME.<kind>" in its parent directory.
inline std::filesystem::path sibling(const std::filesystem::path& target, std::string_view kind) {
    return target.parent_path() / ("." + target.filename().string() + "." + std::string(kind));
}

/// Exclusive ownership of writing `target` among lorahub processes: an flock on the sibling
/// ".NAME.lock", removed on release. A second writer fails at once with an error naming the
/// target; a writer killed mid-way releases it with its process, so what it left beside the
/// target (".NAME.partial-*", ".NAME.old-*") is stale for whoever holds the lock next and is
/// removed then.
class output_lock {
public:
    explicit output_lock(const std::filesystem::path& target) : path_(sibling(target, "lock")) {
        for (;;) {
            fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
            if (fd_ < 0) throw io_error(display(target), std::string("cannot create its lock file: ") + std::strerror(errno));
            if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
                const int reason = errno;
                ::close(fd_);
                fd_ = -1;
                if (reason == EWOULDBLOCK) throw io_error(display(target), "another process is writing it now");
                throw io_error(display(target), std::string("cannot lock it: ") + std::strerror(reason));
            }
            // the lock file may have been removed by its previous holder between open and flock
            struct stat held {}, named {};
            if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_ino == named.st_ino && held.st_dev == named.st_dev)
                break;
            ::close(fd_);
        }
        remove_stale(target);
    }
    output_lock(const output_lock&) = delete;
    output_lock& operator=(const output_lock&) = delete;
    ~output_lock() {
        ::unlink(path_.c_str());
        ::close(fd_);
    }

private:
    static void remove_stale(const std::filesystem::path& target) {
        const std::string partial = "." + target.filename().string() + ".partial-", old = "." + target.filename().string() + ".old-";
        std::error_code ignored;
        const auto parent = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
        for (std::filesystem::directory_iterator entry(parent, ignored), end; !ignored && entry != end; entry.increment(ignored)) {
            const auto name = entry->path().filename().string();
            if (name.starts_with(partial) || name.starts_with(old)) std::filesystem::remove_all(entry->path(), ignored);
        }
    }

    std::filesystem::path path_;
    int fd_ = -1;
};

inline std::filesystem::path normalized_target(std::filesystem::path target) {
    if (target.filename().empty()) target = target.parent_path();
    if (target.empty()) throw io_error("output", "is an empty path");
    if (!target.has_parent_path()) target = std::filesystem::path(".") / target;
    return target;
}

/// The nearest existing folder above `target` must be a directory: an output under a file
/// fails here, before any work, naming that file.
inline void check_parent(const std::filesystem::path& target) {
    for (auto parent = target.parent_path(); !parent.empty(); parent = parent.parent_path()) {
        const auto status = status_of(parent);
        if (status.type() == std::filesystem::file_type::not_found) {
            if (parent == parent.parent_path()) return;
            continue;
        }
        std::error_code ignored;
        if (!std::filesystem::is_directory(parent, ignored))
            throw io_error(display(target), "cannot be created: " + display(parent) + " is not a directory");
        return;
    }
}

inline void create_parent(const std::filesystem::path& target) {
    std::error_code made;
    std::filesystem::create_directories(target.parent_path(), made);
    if (made) throw io_error(display(target.parent_path()), "cannot create directory: " + made.message());
}

}  // namespace detail

/// Checks, before any work, that `target` can be written as an output directory: not a file,
/// not an existing non-empty directory (unless `policy` replaces it and lorahub wrote it),
/// not one of `inputs` nor a folder holding one, and under a parent that exists or can be made.
inline void check_output_directory(const std::filesystem::path& target, existing_output policy,
                                   std::span<const std::filesystem::path> inputs = {}) {
    const auto path = detail::normalized_target(target);
    const auto status = detail::status_of(path);
    detail::check_parent(path);
    const auto where = detail::resolved(path);
    for (const auto& input : inputs)
        if (!input.empty() && detail::is_within(detail::resolved(input), where))
            throw io_error(display(target), "is an input of this command (" + display(input) + "): refusing to write over it");
    if (status.type() == std::filesystem::file_type::not_found) return;
    if (status.type() == std::filesystem::file_type::symlink) throw io_error(display(target), "is a symbolic link: refusing to write through it");
    if (status.type() != std::filesystem::file_type::directory) throw io_error(display(target), "exists and is not a directory");
    if (detail::is_empty_directory(path)) return;
    if (policy == existing_output::refuse)
        throw io_error(display(target), "exists and is not empty: refusing to replace it (--force replaces a directory lorahub wrote)");
    if (!detail::is_lorahub_output(path))
        throw io_error(display(target), std::string("is not a directory lorahub wrote (no ") + output_marker +
                                            ", PEFT adapter or Hugging Face model in it): refusing to replace it");
}

/// Checks, before any work, that `target` can be written as an output file: not a directory,
/// not read-only, not one of `inputs`.
inline void check_output_file(const std::filesystem::path& target, std::span<const std::filesystem::path> inputs = {}) {
    const auto path = detail::normalized_target(target);
    const auto status = detail::status_of(path);
    detail::check_parent(path);
    const auto where = detail::resolved(path);
    for (const auto& input : inputs)
        if (!input.empty() && detail::resolved(input) == where)
            throw io_error(display(target), "is an input of this command: refusing to write over it");
    if (status.type() == std::filesystem::file_type::not_found) return;
    if (status.type() == std::filesystem::file_type::directory) throw io_error(display(target), "is a directory, not a file");
    // by its mode bits, as a user reads them (root may write anything)
    std::error_code ignored;
    const auto permissions = std::filesystem::status(path, ignored).permissions();
    using std::filesystem::perms;
    if ((permissions & (perms::owner_write | perms::group_write | perms::others_write)) == perms::none)
        throw io_error(display(target), "is read-only: not replaced");
}

/// A file written under a temporary name beside its target (".NAME.partial-*") and renamed
/// into place on commit(), with the umask's mode; destroyed uncommitted, it removes the
/// temporary, so no partial file is left. A read-only target is not replaced.
class atomic_file {
public:
    explicit atomic_file(std::filesystem::path target) : target_(detail::normalized_target(std::move(target))) {
        check_output_file(target_);
        detail::create_parent(target_);
        lock_.emplace(target_);
        std::string name = detail::sibling(target_, "partial-XXXXXX").string();
        fd_ = ::mkostemp(name.data(), O_CLOEXEC);
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
        if (::fchmod(fd_, 0666 & ~detail::process_umask()) != 0 || ::fsync(fd_) != 0)
            throw io_error(display(target_), std::string("cannot flush: ") + std::strerror(errno));
        const int closed = ::close(fd_);
        fd_ = -1;
        if (closed != 0) throw io_error(display(target_), std::string("cannot close: ") + std::strerror(errno));
        if (::rename(temporary_.c_str(), target_.c_str()) != 0)
            throw io_error(display(target_), std::string("cannot rename into place: ") + std::strerror(errno));
        committed_ = true;
        lock_.reset();
    }

private:
    std::filesystem::path target_;
    std::optional<detail::output_lock> lock_;
    std::filesystem::path temporary_;
    int fd_ = -1;
    bool committed_ = false;
};

/// Writes `text` as the new file `target`, whole or not at all, unless it exists: the text goes
/// to a temporary beside it, which is then hard-linked into place (link() fails on an existing
/// name, so of writers racing for one target exactly one wins, and nothing is ever replaced).
/// Returns false, writing nothing, when `target` exists.
inline bool create_file_once(const std::filesystem::path& target, std::string_view text) {
    const auto path = detail::normalized_target(target);
    detail::create_parent(path);
    std::string name = detail::sibling(path, "partial-XXXXXX").string();
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) throw io_error(display(path), std::string("cannot create a temporary file: ") + std::strerror(errno));
    struct remove_temporary {
        const std::string& name;
        ~remove_temporary() { ::unlink(name.c_str()); }
    } cleanup{name};
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t written = ::write(fd, text.data() + done, text.size() - done);
        if (written < 0 && errno == EINTR) continue;
        if (written < 0) {
            ::close(fd);
            throw io_error(display(path), std::string("write failed: ") + std::strerror(errno));
        }
        done += static_cast<std::size_t>(written);
    }
    const bool flushed = ::fchmod(fd, 0666 & ~detail::process_umask()) == 0 && ::fsync(fd) == 0;
    if (::close(fd) != 0 || !flushed) throw io_error(display(path), std::string("cannot flush: ") + std::strerror(errno));
    if (::link(name.c_str(), path.c_str()) == 0) return true;
    if (errno == EEXIST) return false;
    throw io_error(display(path), std::string("cannot link into place: ") + std::strerror(errno));
}

/// A directory filled under a temporary name beside its target (".NAME.partial-*") and
/// swapped into place on commit(), with the umask's modes and output_marker in it. An
/// existing non-empty target is refused, or replaced when `policy` says so and lorahub wrote
/// it (checked again at commit, so a target that appeared meanwhile is not lost). Destroyed
/// uncommitted, it removes everything it holds; one writer per target at a time.
class staged_directory {
public:
    explicit staged_directory(std::filesystem::path target, existing_output policy = existing_output::refuse)
        : target_(detail::normalized_target(std::move(target))), policy_(policy) {
        check_output_directory(target_, policy_);
        detail::create_parent(target_);
        lock_.emplace(target_);
        std::string pattern = detail::sibling(target_, "partial-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw io_error(display(target_), std::string("cannot create a staging directory: ") + std::strerror(errno));
        staging_ = pattern;
        ::chmod(staging_.c_str(), 0777 & ~detail::process_umask());
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
        {
            atomic_file marker(staging_ / output_marker);
            marker.write("{\"written_by\": \"lorahub\"}\n");
            marker.commit();
        }
        check_output_directory(target_, policy_);
        std::error_code failure;
        std::filesystem::path previous;
        if (detail::status_of(target_).type() == std::filesystem::file_type::directory) {
            std::string pattern = detail::sibling(target_, "old-XXXXXX").string();
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
        lock_.reset();
    }

private:
    std::filesystem::path target_;
    existing_output policy_;
    std::optional<detail::output_lock> lock_;
    std::filesystem::path staging_;
    bool committed_ = false;
};

}  // namespace lorahub::io
