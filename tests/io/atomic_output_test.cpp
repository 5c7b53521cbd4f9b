#include <catch2/catch.hpp>

#include <lorahub/io/atomic_output.hpp>

#include "../support/files.hpp"

using namespace lorahub;

TEST_CASE("an uncommitted file leaves nothing; a committed one appears whole", "[atomic]") {
    test::temp_dir dir;
    {
        io::atomic_file out(dir / "a.txt");
        out.write(std::string_view("partial"));
    }
    CHECK(std::filesystem::is_empty(dir.path()));
    {
        io::atomic_file out(dir / "a.txt");
        out.write(std::string_view("whole"));
        out.commit();
    }
    CHECK(test::read_file(dir / "a.txt") == "whole");
}

TEST_CASE("a staged directory replaces the old one only on commit", "[atomic]") {
    test::temp_dir dir;
    std::filesystem::create_directories(dir / "out");
    test::write_file(dir / "out" / "old.txt", "old");
    {
        io::staged_directory staging(dir / "out");
        test::write_file(staging.path() / "new.txt", "new");
    }
    CHECK(std::filesystem::exists(dir / "out" / "old.txt"));
    {
        io::staged_directory staging(dir / "out");
        test::write_file(staging.path() / "new.txt", "new");
        staging.commit();
    }
    CHECK_FALSE(std::filesystem::exists(dir / "out" / "old.txt"));
    CHECK(test::read_file(dir / "out" / "new.txt") == "new");
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++entries;
    CHECK(entries == 1);
    test::write_file(dir / "file", "x");
    CHECK_THROWS_AS(io::staged_directory(dir / "file"), io_error);
}
