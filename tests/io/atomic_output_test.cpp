#include <sys/stat.h>

#include <filesystem>
#include <string_view>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/io/atomic_output.hpp>

#include "../support/files.hpp"

using namespace lorahub;

TEST_CASE("an uncommitted file leaves nothing, a committed one appears whole", "[atomic]") {
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

TEST_CASE("a staged directory replaces the old one only on commit, and only one lorahub wrote", "[atomic]") {
    test::temp_dir dir;
    {
        io::staged_directory staging(dir / "out");
        test::write_file(staging.path() / "old.txt", "old");
        staging.commit();
    }
    CHECK(std::filesystem::exists(dir / "out" / io::output_marker));
    CHECK_THROWS_WITH(io::staged_directory(dir / "out"), Catch::Contains("exists and is not empty"));
    {
        io::staged_directory staging(dir / "out", io::existing_output::replace_ours);
        test::write_file(staging.path() / "new.txt", "new");
    }
    CHECK(std::filesystem::exists(dir / "out" / "old.txt"));
    {
        io::staged_directory staging(dir / "out", io::existing_output::replace_ours);
        test::write_file(staging.path() / "new.txt", "new");
        staging.commit();
    }
    CHECK_FALSE(std::filesystem::exists(dir / "out" / "old.txt"));
    CHECK(test::read_file(dir / "out" / "new.txt") == "new");
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++entries;
    CHECK(entries == 1);  // no lock, staging or set-aside folder left
    test::write_file(dir / "file", "x");
    CHECK_THROWS_AS(io::staged_directory(dir / "file"), io_error);

    std::filesystem::create_directories(dir / "theirs");
    test::write_file(dir / "theirs" / "notes.txt", "keep");
    CHECK_THROWS_WITH(io::staged_directory(dir / "theirs", io::existing_output::replace_ours), Catch::Contains("is not a directory lorahub wrote"));
    CHECK(test::read_file(dir / "theirs" / "notes.txt") == "keep");
}

TEST_CASE("an output that is an input, or holds one, is refused before any work", "[atomic]") {
    test::temp_dir dir;
    std::filesystem::create_directories(dir / "model");
    const std::vector<std::filesystem::path> inputs{dir / "model"};
    CHECK_THROWS_WITH(io::check_output_directory(dir / "model", io::existing_output::replace_ours, inputs), Catch::Contains("is an input"));
    CHECK_THROWS_WITH(io::check_output_directory(dir.path(), io::existing_output::replace_ours, inputs), Catch::Contains("is an input"));
    CHECK_NOTHROW(io::check_output_directory(dir / "model" / "merged", io::existing_output::refuse, inputs));
    test::write_file(dir / "in.bin", "x");
    const std::vector<std::filesystem::path> file_inputs{dir / "in.bin"};
    CHECK_THROWS_WITH(io::check_output_file(dir / "in.bin", file_inputs), Catch::Contains("is an input"));
    CHECK_THROWS_WITH(io::check_output_file(dir / "in.bin" / "x.json"), Catch::Contains("is not a directory"));
}

TEST_CASE("two writers of one target: the second fails at once and the first is unharmed", "[atomic]") {
    test::temp_dir dir;
    io::staged_directory first(dir / "out");
    test::write_file(first.path() / "a.txt", "first");
    CHECK_THROWS_WITH(io::staged_directory(dir / "out"), Catch::Contains("another process is writing it now"));
    CHECK_THROWS_WITH(io::atomic_file(dir / "out"), Catch::Contains("another process is writing it now"));
    first.commit();
    CHECK(test::read_file(dir / "out" / "a.txt") == "first");
}

TEST_CASE("what a killed writer left beside its target goes with the next write", "[atomic]") {
    test::temp_dir dir;
    std::filesystem::create_directories(dir / ".out.partial-AbC123" / "sub");
    std::filesystem::create_directories(dir / ".out.old-XyZ789" / "content");
    test::write_file(dir / ".report.json.partial-Qq1234", "half");
    test::write_file(dir / ".other.partial-Keep00", "not ours to clean");
    {
        io::staged_directory staging(dir / "out");
        staging.commit();
    }
    {
        io::atomic_file report(dir / "report.json");
        report.write(std::string_view("{}"));
        report.commit();
    }
    CHECK_FALSE(std::filesystem::exists(dir / ".out.partial-AbC123"));
    CHECK_FALSE(std::filesystem::exists(dir / ".out.old-XyZ789"));
    CHECK_FALSE(std::filesystem::exists(dir / ".report.json.partial-Qq1234"));
    CHECK(std::filesystem::exists(dir / ".other.partial-Keep00"));
}

TEST_CASE("outputs get the umask's modes, and a read-only file is not replaced", "[atomic]") {
    test::temp_dir dir;
    const mode_t previous = ::umask(027);
    {
        io::staged_directory staging(dir / "out");
        io::atomic_file file(staging.path() / "a.txt");
        file.write(std::string_view("x"));
        file.commit();
        staging.commit();
    }
    ::umask(previous);
    using std::filesystem::perms;
    const auto directory_mode = std::filesystem::status(dir / "out").permissions() & perms::all;
    const auto file_mode = std::filesystem::status(dir / "out" / "a.txt").permissions() & perms::all;
    CHECK(directory_mode == (perms::owner_all | perms::group_read | perms::group_exec));
    CHECK(file_mode == (perms::owner_read | perms::owner_write | perms::group_read));

    test::write_file(dir / "read-only.txt", "keep");
    std::filesystem::permissions(dir / "read-only.txt", perms::owner_read | perms::group_read);
    CHECK_THROWS_WITH(io::atomic_file(dir / "read-only.txt"), Catch::Contains("is read-only"));
    CHECK(test::read_file(dir / "read-only.txt") == "keep");
}

TEST_CASE("a file created once: whole, never replaced, and one winner among racing writers", "[atomic]") {
    test::temp_dir dir;
    CHECK(io::create_file_once(dir / "sub" / "result.json", "first\n"));
    CHECK_FALSE(io::create_file_once(dir / "sub" / "result.json", "second\n"));
    CHECK(test::read_file(dir / "sub" / "result.json") == "first\n");
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir / "sub")) ++entries;
    CHECK(entries == 1);  // no temporary left beside it

    std::vector<std::thread> writers;
    std::vector<int> won(8, 0);
    for (int w = 0; w < 8; ++w)
        writers.emplace_back([&, w] { won[static_cast<std::size_t>(w)] = io::create_file_once(dir / "raced.json", std::string(1000, static_cast<char>('a' + w))) ? 1 : 0; });
    for (auto& writer : writers) writer.join();
    int winners = 0, winner = -1;
    for (int w = 0; w < 8; ++w)
        if (won[static_cast<std::size_t>(w)]) ++winners, winner = w;
    REQUIRE(winners == 1);
    CHECK(test::read_file(dir / "raced.json") == std::string(1000, static_cast<char>('a' + winner)));
    test::write_file(dir / "file", "x");
    CHECK_THROWS_AS(io::create_file_once(dir / "file" / "under.json", "x"), io_error);
}
