#pragma once

#include <filesystem>
#include <iostream>
#include <new>
#include <string>

#include <lorahub/core/error.hpp>
#include <lorahub/core/printable.hpp>

namespace lorahub::cli {

/// Prints the exception being handled as one `error: <subject>: <reason>` line on stderr and
/// returns the exit status, 1. Call it only inside a catch block.
inline int report_current_error() {
    try {
        throw;
    } catch (const lorahub::error& failure) {
        std::cerr << "error: " << failure.what() << "\n";
    } catch (const std::filesystem::filesystem_error& failure) {
        // as every other error: "<path>: <problem>" (a symlink loop, a permission denied)
        const auto subject = failure.path1().empty() ? std::string("filesystem") : failure.path1().string();
        std::cerr << "error: " << printable(subject) << ": " << printable(failure.code().message()) << "\n";
    } catch (const std::bad_alloc&) {
        std::cerr << "error: out of memory: the inputs or flags ask for more than this machine has\n";
    } catch (const std::exception& failure) {
        std::cerr << "error: " << printable(failure.what()) << "\n";
    }
    return 1;
}

}  // namespace lorahub::cli
