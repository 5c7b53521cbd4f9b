#include <map>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include <lorahub/hub/shard.hpp>

using namespace lorahub;

namespace {

/// The environment of a Slurm array task as sbatch sets it (Slurm's job_array.html: SLURM_ARRAY_TASK_ID, _COUNT, _MIN, _MAX, _STEP).
auto slurm_environment(const std::map<std::string, std::string>& variables) {
    return [variables](const char* name) -> const char* {
        const auto found = variables.find(name);
        return found == variables.end() ? nullptr : found->second.c_str();
    };
}

}  // namespace

TEST_CASE("shares split the runs: every run in exactly one, alike in size", "[shard]") {
    for (std::size_t count : {1, 2, 3, 7}) {
        std::multiset<std::size_t> seen;
        std::size_t smallest = 1000, largest = 0;
        for (std::size_t index = 0; index < count; ++index) {
            const auto mine = shard{index, count}.runs_of(100);
            smallest = std::min(smallest, mine.size()), largest = std::max(largest, mine.size());
            for (const auto run : mine) {
                CHECK(shard{index, count}.contains(run));
                seen.insert(run);
            }
        }
        CHECK(seen.size() == 100);
        CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == 100);
        CHECK(largest - smallest <= 1);
    }
    CHECK(shard{}.whole());
    CHECK(shard{}.runs_of(3) == std::vector<std::size_t>{0, 1, 2});
}

TEST_CASE("an MPI rank's part of a Slurm task's share is a share of the share", "[shard]") {
    const shard task{1, 3};
    std::set<std::size_t> union_of_ranks;
    for (std::size_t rank = 0; rank < 2; ++rank) {
        const auto part = task.within({rank, 2});
        for (const auto run : part.runs_of(50)) {
            CHECK(task.contains(run));
            CHECK(union_of_ranks.insert(run).second);
        }
    }
    const auto whole_share = task.runs_of(50);
    CHECK(union_of_ranks == std::set<std::size_t>(whole_share.begin(), whole_share.end()));
    CHECK(shard{}.within({2, 5}) == shard{2, 5});
}

TEST_CASE("i/n is parsed strictly", "[shard]") {
    CHECK(parse_shard("0/1", "--shard") == shard{0, 1});
    CHECK(parse_shard("3/4", "--shard") == shard{3, 4});
    for (const char* bad : {"4/4", "1/0", "-1/2", "1", "a/b", "1/2/3", " 1/2", "1/2 ", "/2", "1/", ""})
        CHECK_THROWS_WITH(parse_shard(bad, "--shard"), Catch::StartsWith("--shard: \"" + std::string(bad) + "\""));
}

TEST_CASE("a Slurm array task's share, from the variables sbatch sets", "[shard]") {
    // sbatch --array=0-9: ids 0..9
    CHECK(slurm_shard(slurm_environment({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "10"}, {"SLURM_ARRAY_TASK_MIN", "0"},
                                         {"SLURM_ARRAY_TASK_MAX", "9"}, {"SLURM_ARRAY_TASK_STEP", "1"}})) == shard{4, 10});
    // --array=1-10: ids 1..10
    CHECK(slurm_shard(slurm_environment({{"SLURM_ARRAY_TASK_ID", "10"}, {"SLURM_ARRAY_TASK_COUNT", "10"}, {"SLURM_ARRAY_TASK_MIN", "1"}})) ==
          shard{9, 10});
    // --array=0-18:2: ids 0, 2, ..., 18
    CHECK(slurm_shard(slurm_environment({{"SLURM_ARRAY_TASK_ID", "6"}, {"SLURM_ARRAY_TASK_COUNT", "10"}, {"SLURM_ARRAY_TASK_MIN", "0"},
                                         {"SLURM_ARRAY_TASK_STEP", "2"}})) == shard{3, 10});
    // a list (--array=1,4,9) is not a range of shares
    CHECK_THROWS_WITH(slurm_shard(slurm_environment({{"SLURM_ARRAY_TASK_ID", "9"}, {"SLURM_ARRAY_TASK_COUNT", "3"}, {"SLURM_ARRAY_TASK_MIN", "1"}})),
                      Catch::Contains("give the array as a range (--array=0-2)"));
    CHECK_THROWS_WITH(slurm_shard(slurm_environment({})), Catch::Contains("SLURM_ARRAY_TASK_ID is not set"));
    CHECK_THROWS_WITH(slurm_shard(slurm_environment({{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_COUNT", "2"}})),
                      Catch::Contains("SLURM_ARRAY_TASK_ID=\"x\" is not a count"));
    CHECK_THROWS_WITH(slurm_shard(slurm_environment({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "0"}})), Catch::Contains("is not one of 0 tasks"));
}
