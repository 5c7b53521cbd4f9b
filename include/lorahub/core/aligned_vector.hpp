#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace lorahub {

/// Bytes every CPU activation buffer starts on: one cache line. glibc's malloc returns large
/// blocks 16 bytes past a page boundary, so a std::vector of activations started mid-line and
/// every row oneDNN's AMX kernels loaded or stored straddled two lines: a bf16 product of
/// 1636 x 2816 x 1024 ran at 1600 GFLOP/s against 2070 from aligned buffers (2 cores with AMX).
inline constexpr std::size_t buffer_alignment = 64;

/// std::allocator on buffer_alignment boundaries (C++17's aligned operator new).
template <class T>
struct aligned_allocator {
    using value_type = T;
    aligned_allocator() = default;
    template <class U>
    constexpr aligned_allocator(const aligned_allocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        if (n > std::size_t(-1) / sizeof(T)) throw std::bad_array_new_length();
        return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{buffer_alignment}));
    }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{buffer_alignment}); }
    template <class U>
    bool operator==(const aligned_allocator<U>&) const noexcept {
        return true;
    }
};

/// A std::vector whose data starts on a cache line.
template <class T>
using aligned_vector = std::vector<T, aligned_allocator<T>>;

}  // namespace lorahub
