#pragma once

#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"

namespace lorahub {

/// The `index`-th of `count` static shares of a sweep's runs: run k belongs to share k mod
/// count, so that every share takes its turn at each method and the shares' work is alike.
struct shard {
    std::size_t index = 0, count = 1;

    bool whole() const noexcept { return count == 1; }
    bool contains(std::size_t run) const noexcept { return run % count == index; }
    /// The runs of `runs` runs that are this share's, in order.
    std::vector<std::size_t> runs_of(std::size_t runs) const {
        std::vector<std::size_t> mine;
        for (std::size_t run = index; run < runs; run += count) mine.push_back(run);
        return mine;
    }
    /// The `inner` share of this share's runs (an MPI rank's part of a Slurm task's share):
    /// run k is in it when k mod count is index and (k / count) mod inner.count is inner.index.
    shard within(shard inner) const noexcept { return {index + count * inner.index, count * inner.count}; }

    bool operator==(const shard&) const = default;
};

namespace detail {

inline bool parse_count(std::string_view text, std::size_t& value) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc{} && end == text.data() + text.size() && !text.empty();
}

}  // namespace detail

/// "i/n" (0 <= i < n): share i of n; an error names `subject`.
inline shard parse_shard(std::string_view text, const std::string& subject) {
    const auto slash = text.find('/');
    shard share;
    if (slash == std::string_view::npos || !detail::parse_count(text.substr(0, slash), share.index) ||
        !detail::parse_count(text.substr(slash + 1), share.count))
        throw argument_error(subject, "\"" + std::string(text) + "\" is not i/n (share i of n, counted from 0)");
    if (share.count == 0 || share.index >= share.count)
        throw argument_error(subject, "\"" + std::string(text) + "\": the share i must be below the count n");
    return share;
}

/// The share of this Slurm job array task: SLURM_ARRAY_TASK_ID among SLURM_ARRAY_TASK_COUNT
/// tasks, counted from SLURM_ARRAY_TASK_MIN in steps of SLURM_ARRAY_TASK_STEP (so --array=1-10
/// and --array=0-18:2 work as --array=0-9 does); an id off that range (a list such as
/// --array=1,4,9) is an error. `environment` reads a variable (std::getenv by default).
inline shard slurm_shard(const std::function<const char*(const char*)>& environment = [](const char* name) { return std::getenv(name); }) {
    auto read = [&](const char* name, bool required, std::size_t fallback) {
        const char* value = environment(name);
        if (value == nullptr) {
            if (required) throw argument_error("--shard slurm", std::string(name) + " is not set: not inside a Slurm job array (sbatch --array)");
            return fallback;
        }
        std::size_t number = 0;
        if (!detail::parse_count(value, number)) throw argument_error("--shard slurm", std::string(name) + "=\"" + value + "\" is not a count");
        return number;
    };
    const std::size_t id = read("SLURM_ARRAY_TASK_ID", true, 0), count = read("SLURM_ARRAY_TASK_COUNT", true, 0);
    const std::size_t first = read("SLURM_ARRAY_TASK_MIN", false, 0), step = read("SLURM_ARRAY_TASK_STEP", false, 1);
    if (count == 0 || step == 0 || id < first || (id - first) % step != 0 || (id - first) / step >= count)
        throw argument_error("--shard slurm", "task " + std::to_string(id) + " is not one of " + std::to_string(count) + " tasks from " +
                                                  std::to_string(first) + " in steps of " + std::to_string(step) +
                                                  ": give the array as a range (--array=0-" + std::to_string(count == 0 ? 0 : count - 1) + ")");
    return {(id - first) / step, count};
}

}  // namespace lorahub
