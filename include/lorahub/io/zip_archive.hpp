#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <zip.h>

#include "lorahub/core/error.hpp"
#include "lorahub/io/mapped_file.hpp"

namespace lorahub::io {

/// A ZIP archive read through libzip from a read-only mapping of the file (so FIFOs and
/// devices are refused and nothing blocks), with its central directory checked for
/// consistency with the local headers (ZIP_CHECKCONS). Entry sizes are the central
/// directory's; only stored (uncompressed) entries can be read, as torch.save writes them.
class zip_archive {
public:
    struct entry {
        std::string name;
        std::uint64_t size = 0;
        std::uint64_t index = 0;
        bool stored = true;
    };

    explicit zip_archive(const std::filesystem::path& path) : file_(path), subject_(display(path)) { open(); }
    /// An archive already in memory; `path` names it in errors.
    zip_archive(const std::filesystem::path& path, std::vector<std::byte> bytes) : file_(path, std::move(bytes)), subject_(display(path)) {
        open();
    }

    zip_archive(const zip_archive&) = delete;
    zip_archive& operator=(const zip_archive&) = delete;

private:
    void open() {
        zip_error_t error;
        zip_error_init(&error);
        const auto bytes = file_.bytes();
        zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
        if (source == nullptr) fail(error, "cannot read as a ZIP archive");
        archive_.reset(zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error));
        if (archive_ == nullptr) {
            zip_source_free(source);
            fail(error, "is not a valid ZIP archive");
        }
        const zip_int64_t count = zip_get_num_entries(archive_.get(), 0);
        for (zip_int64_t i = 0; i < count; ++i) {
            zip_stat_t stat;
            zip_stat_init(&stat);
            if (zip_stat_index(archive_.get(), static_cast<zip_uint64_t>(i), 0, &stat) != 0 || (stat.valid & ZIP_STAT_NAME) == 0 ||
                (stat.valid & ZIP_STAT_SIZE) == 0)
                throw format_error(subject_, "ZIP entry " + std::to_string(i) + " cannot be read: " + zip_strerror(archive_.get()));
            entries_.push_back({stat.name, stat.size, static_cast<std::uint64_t>(i),
                                (stat.valid & ZIP_STAT_COMP_METHOD) == 0 || stat.comp_method == ZIP_CM_STORE});
            if (entries_.back().size > bytes.size())
                throw format_error(subject_, "ZIP entry \"" + entries_.back().name + "\" claims " + std::to_string(stat.size) +
                                                 " bytes, more than the whole file");
        }
    }

public:
    const std::string& subject() const noexcept { return subject_; }
    const std::vector<entry>& entries() const noexcept { return entries_; }

    const entry* find(std::string_view name) const {
        for (const auto& e : entries_)
            if (e.name == name) return &e;
        return nullptr;
    }

    /// The bytes of a stored entry; a compressed one is an error naming it.
    std::vector<std::byte> read(const entry& e) const {
        if (!e.stored)
            throw unsupported_error(subject_, "ZIP entry \"" + e.name + "\" is compressed; torch.save writes stored entries only");
        std::vector<std::byte> bytes(e.size);
        zip_file_t* handle = zip_fopen_index(archive_.get(), e.index, 0);
        if (handle == nullptr) throw format_error(subject_, "ZIP entry \"" + e.name + "\" cannot be opened: " + zip_strerror(archive_.get()));
        std::uint64_t done = 0;
        while (done < e.size) {
            const zip_int64_t got = zip_fread(handle, bytes.data() + done, e.size - done);
            if (got <= 0) break;
            done += static_cast<std::uint64_t>(got);
        }
        const std::string problem = done == e.size ? "" : zip_file_strerror(handle);
        zip_fclose(handle);
        if (done != e.size)
            throw format_error(subject_, "ZIP entry \"" + e.name + "\" holds " + std::to_string(done) + " of its " + std::to_string(e.size) +
                                             " bytes: " + problem);
        return bytes;
    }

private:
    [[noreturn]] void fail(zip_error_t& error, const std::string& what) {
        const std::string reason = zip_error_strerror(&error);
        zip_error_fini(&error);
        throw format_error(subject_, what + ": " + reason);
    }

    mapped_file file_;
    std::string subject_;
    struct discard {
        void operator()(zip_t* archive) const noexcept { zip_discard(archive); }
    };
    std::unique_ptr<zip_t, discard> archive_;  ///< released even when the constructor throws
    std::vector<entry> entries_;
};

}  // namespace lorahub::io
