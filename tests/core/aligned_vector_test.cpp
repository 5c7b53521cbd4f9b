#include <cstdint>
#include <numeric>

#include <catch2/catch.hpp>

#include <lorahub/core/aligned_vector.hpp>

using namespace lorahub;

namespace {
bool on_cache_line(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % buffer_alignment == 0; }
}  // namespace

TEST_CASE("aligned_vector starts every buffer on a cache line, small or large, after growth and in copies", "[core]") {
    // 40000 floats and more: glibc serves these with mmap, 16 bytes past a page boundary
    for (std::size_t n : {1, 3, 100, 40000, 1636 * 1024}) {
        INFO(n << " floats");
        aligned_vector<float> values(n);
        CHECK(on_cache_line(values.data()));
        std::iota(values.begin(), values.end(), 0.0f);
        values.resize(2 * n + 5);
        CHECK(on_cache_line(values.data()));
        CHECK(values[n - 1] == static_cast<float>(n - 1));
        const aligned_vector<float> copy = values;
        CHECK(on_cache_line(copy.data()));
        CHECK(copy == values);
        aligned_vector<std::uint16_t> halves(n);
        CHECK(on_cache_line(halves.data()));
    }
}
