#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <limits>

namespace lorahub {

/// Bytes of memory this machine can give a process now without swapping: /proc/meminfo's
/// MemAvailable (Linux 3.14+), else the free physical pages; the largest value when neither
/// is known, so that the check a caller makes with it never refuses on a guess.
inline std::uint64_t available_memory_bytes() {
    if (std::FILE* info = std::fopen("/proc/meminfo", "r")) {
        char line[256];
        unsigned long long kilobytes = 0;
        bool found = false;
        while (!found && std::fgets(line, sizeof line, info)) found = std::sscanf(line, "MemAvailable: %llu kB", &kilobytes) == 1;
        std::fclose(info);
        if (found) return static_cast<std::uint64_t>(kilobytes) * 1024;
    }
    const long pages = ::sysconf(_SC_AVPHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
    return std::numeric_limits<std::uint64_t>::max();
}

}  // namespace lorahub
