#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/hub/evaluation_plan.hpp"
#include "lorahub/hub/evaluation_runs.hpp"
#include "lorahub/io/atomic_output.hpp"
#include "lorahub/io/json.hpp"

namespace lorahub {

/// The results of an evaluation's runs as files in one directory, so that a sweep can be
/// stopped and resumed, spread over processes and machines that share the directory, and
/// reported from the files alone:
///
///     DIR/sweep.json          the runs (runs_json) and the sources they read (model, modules, precision)
///     DIR/runs/NNNNNN.json    the result of run NNNNNN, written whole or not at all and never replaced
///
/// A process killed mid-run loses that run only; whoever resumes runs it again.
class run_store {
public:
    /// DIR for the runs of `runs` on `sources`: created when absent or empty; resumed when its
    /// sweep.json records the same runs and sources, and an error naming the first difference
    /// when it records others; refused when it holds other files, is one of `inputs` or holds
    /// one. Processes that open one directory at once agree on a single sweep.json.
    static run_store open_for(const std::filesystem::path& directory, const evaluation_runs& runs, const io::json& sources,
                              std::span<const std::filesystem::path> inputs = {}) {
        const auto where = io::detail::normalized_target(directory);
        const auto status = io::detail::status_of(where);
        io::detail::check_parent(where);
        for (const auto& input : inputs)
            if (!input.empty() && io::detail::is_within(io::detail::resolved(input), io::detail::resolved(where)))
                throw io_error(display(directory), "is an input of this command (" + display(input) + "): refusing to write runs into it");
        if (status.type() == std::filesystem::file_type::symlink) throw io_error(display(directory), "is a symbolic link: refusing to write through it");
        if (status.type() != std::filesystem::file_type::not_found && status.type() != std::filesystem::file_type::directory)
            throw io_error(display(directory), "exists and is not a directory");
        if (status.type() == std::filesystem::file_type::directory && !holds_only_sweep_files(where))
            throw io_error(display(directory), std::string("is not empty and holds no ") + record_name + ": not a directory of lorahub runs");
        std::error_code made;
        std::filesystem::create_directories(where / "runs", made);
        if (made) throw io_error(display(directory), "cannot create directory: " + made.message());
        const io::json record = record_of(runs, sources);
        io::create_file_once(where / io::output_marker, "{\"written_by\": \"lorahub\"}\n");
        if (!io::create_file_once(where / record_name, record.dump(2) + "\n")) {
            const io::json recorded = read_record(where);
            const auto differences = io::json::diff(recorded, record);
            if (!differences.empty())
                throw argument_error(display(directory / record_name), "records another sweep (" + differences[0]["path"].get<std::string>() +
                                                                       " differs): resume with the same command, or give another directory");
        }
        return run_store(where, runs, sources);
    }

    /// DIR as a sweep left it (its sweep.json must be whole), to read its results.
    static run_store open(const std::filesystem::path& directory) {
        const auto where = io::detail::normalized_target(directory);
        const io::json record = read_record(where);
        const std::string subject = display(where / record_name);
        if (!record.is_object() || !record.contains("runs") || !record.contains("sources"))
            throw format_error(subject, "is not a lorahub sweep record (no \"runs\" or \"sources\")");
        return run_store(where, runs_from_json(record["runs"], subject), record["sources"]);
    }

    const std::filesystem::path& directory() const noexcept { return directory_; }
    const evaluation_runs& runs() const noexcept { return runs_; }
    const io::json& sources() const noexcept { return sources_; }

    /// Run `item`'s stored result; none when it has not finished (or not started).
    std::optional<run_result> load(std::size_t item) const {
        const auto path = result_path(item);
        std::ifstream file(path, std::ios::binary);
        if (!file) {
            if (io::detail::status_of(path).type() == std::filesystem::file_type::not_found) return std::nullopt;
            throw io_error(display(path), "cannot be read");
        }
        std::ostringstream text;
        text << file.rdbuf();
        const std::string subject = display(path);
        const auto stored = io::parse_json_strict(text.str(), subject);
        if (!stored.is_object() || !stored.contains("run") || stored["run"] != runs_.item_name(item))
            throw format_error(subject, "is not the result of run " + runs_.item_name(item) + " of this sweep");
        auto number = [&](const char* key, bool nullable) {
            if (!stored.contains(key)) throw format_error(subject, std::string("has no \"") + key + "\"");
            const auto& value = stored[key];
            if (nullable && value.is_null()) return std::numeric_limits<double>::quiet_NaN();
            if (!value.is_number() || !std::isfinite(value.get<double>())) throw format_error(subject, std::string("\"") + key + "\" must be a finite number");
            return value.get<double>();
        };
        run_result result{item, number("accuracy", false), number("objective", true), number("learn_seconds", false), number("wall_seconds", false)};
        if (result.accuracy < 0 || result.accuracy > 100) throw format_error(subject, "\"accuracy\" must be a percentage");
        return result;
    }

    /// Stores `result`, whole or not at all; false, storing nothing, when its run already has a
    /// result (runs are deterministic: the stored one is the same).
    bool save(const run_result& result) const {
        const io::json stored{{"run", runs_.item_name(result.item)},
                              {"accuracy", result.accuracy},
                              {"objective", std::isfinite(result.objective) ? io::json(result.objective) : io::json(nullptr)},
                              {"learn_seconds", result.seconds},
                              {"wall_seconds", result.wall_seconds}};
        return io::create_file_once(result_path(result.item), stored.dump() + "\n");
    }

    /// Every stored result, in the order of the runs.
    std::vector<run_result> load_all() const {
        std::vector<run_result> results;
        for (std::size_t item = 0; item < runs_.items().size(); ++item)
            if (auto result = load(item)) results.push_back(*result);
        return results;
    }

    /// The runs without a stored result, in order.
    std::vector<std::size_t> missing() const {
        std::vector<std::size_t> items;
        for (std::size_t item = 0; item < runs_.items().size(); ++item)
            if (io::detail::status_of(result_path(item)).type() == std::filesystem::file_type::not_found) items.push_back(item);
        return items;
    }

    static constexpr const char* record_name = "sweep.json";

private:
    run_store(std::filesystem::path directory, evaluation_runs runs, io::json sources)
        : directory_(std::move(directory)), runs_(std::move(runs)), sources_(std::move(sources)) {}

    /// True when `directory` holds nothing but what open_for() makes (another process may be
    /// making it now): the record, the marker, runs/, and their temporaries.
    static bool holds_only_sweep_files(const std::filesystem::path& directory) {
        if (io::detail::status_of(directory / record_name).type() != std::filesystem::file_type::not_found) return true;
        for (const auto& entry : std::filesystem::directory_iterator(directory)) {
            const auto name = entry.path().filename().string();
            const bool ours = name == "runs" || name == io::output_marker || name.starts_with("." + std::string(record_name) + ".partial-") ||
                              name.starts_with(std::string(".") + io::output_marker + ".partial-");
            if (!ours) return false;
        }
        return true;
    }

    static io::json record_of(const evaluation_runs& runs, const io::json& sources) {
        return {{"written_by", "lorahub eval"}, {"runs", runs_json(runs)}, {"sources", sources}};
    }

    static io::json read_record(const std::filesystem::path& directory) {
        const auto path = directory / record_name;
        std::ifstream file(path, std::ios::binary);
        if (!file) throw io_error(display(path), "cannot be read: not a directory of lorahub runs");
        std::ostringstream text;
        text << file.rdbuf();
        return io::parse_json_strict(text.str(), display(path));
    }

    std::filesystem::path result_path(std::size_t item) const {
        char name[32];
        std::snprintf(name, sizeof name, "%06zu.json", item);
        return directory_ / "runs" / name;
    }

    std::filesystem::path directory_;
    evaluation_runs runs_;
    io::json sources_;
};

}  // namespace lorahub
