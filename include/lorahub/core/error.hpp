#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "lorahub/core/printable.hpp"

namespace lorahub {

/// Root of the one exception family. what() is "<subject>: <problem>", where the subject is
/// a path or a named object, so that a message alone tells a user what to fix. Subject and
/// problem often quote file contents (names, JSON, parser messages): both are kept
/// printable() (valid UTF-8, no control characters), so a message is safe on a terminal.
class error : public std::runtime_error {
public:
    error(std::string_view subject, std::string_view problem)
        : std::runtime_error(compose(printable(subject), printable(problem))), subject_(printable(subject)),
          problem_(printable(problem)) {}

    const std::string& subject() const noexcept { return subject_; }
    const std::string& problem() const noexcept { return problem_; }

private:
    static std::string compose(std::string_view subject, std::string_view problem) {
        if (subject.empty()) return std::string(problem);
        std::string text;
        text.reserve(subject.size() + problem.size() + 2);
        text.append(subject).append(": ").append(problem);
        return text;
    }

    std::string subject_;
    std::string problem_;
};

/// Opening, mapping, reading or writing a file failed at the operating-system level.
class io_error : public error {
public:
    using error::error;
};

/// A file's bytes do not follow its format (safetensors, torch zip, JSON, JSONL).
class format_error : public error {
public:
    using error::error;
};

/// A configuration (config.json, adapter_config.json) is missing, out of range or inconsistent.
class config_error : public error {
public:
    using error::error;
};

/// Tensors whose names, shapes or dtypes do not fit what the model or the pool needs.
class shape_error : public error {
public:
    using error::error;
};

/// Valid input that asks for something this library does not do (yet).
class unsupported_error : public error {
public:
    using error::error;
};

/// A caller passed arguments that cannot work (bad weights, empty pools, NaN values).
class argument_error : public error {
public:
    using error::error;
};

inline std::string display(const std::filesystem::path& path) { return path.string(); }

}  // namespace lorahub
