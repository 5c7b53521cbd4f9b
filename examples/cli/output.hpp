#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <lorahub/core/error.hpp>
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

/// --force: an existing output directory that lorahub wrote is replaced instead of refused.
inline void add_force_flag(CLI::App* command, bool& force) {
    command->add_flag("--force", force, "Replace an existing output directory (only one lorahub wrote: a PEFT adapter, a model, a hub)");
}

inline io::existing_output existing_output_policy(bool force) {
    return force ? io::existing_output::replace_ours : io::existing_output::refuse;
}

/// A command's outputs, checked before its work starts (a run never ends in "cannot write"):
/// none equal to an input, directories not replacing what they should not, files writable.
struct planned_outputs {
    std::vector<std::filesystem::path> inputs;
    std::vector<std::filesystem::path> directories, files;  ///< empty paths are outputs not asked for
    bool force = false;

    void check() const {
        for (const auto& directory : directories)
            if (!directory.empty()) io::check_output_directory(directory, existing_output_policy(force), inputs);
        for (const auto& file : files)
            if (!file.empty()) io::check_output_file(file, inputs);
        std::vector<std::filesystem::path> all;
        for (const auto* list : {&directories, &files})
            for (const auto& path : *list)
                if (!path.empty()) all.push_back(std::filesystem::weakly_canonical(std::filesystem::absolute(path)));
        for (std::size_t i = 0; i < all.size(); ++i)
            for (std::size_t j = i + 1; j < all.size(); ++j)
                if (all[i] == all[j]) throw argument_error(all[i].string(), "is given as two outputs of one command");
    }
};

}  // namespace lorahub::cli
