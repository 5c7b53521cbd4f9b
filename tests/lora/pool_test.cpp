#include <catch2/catch.hpp>

#include <lorahub/lora/pool.hpp>
#include <lorahub/lora/weighted_ab.hpp>

#include "../support/files.hpp"

using namespace lorahub;
using Catch::Matchers::Contains;

TEST_CASE("a pool stacks each target's matrices module after module", "[lora][pool]") {
    const std::vector<std::filesystem::path> dirs{test::fixtures() / "t5/pool-0", test::fixtures() / "t5/pool-1"};
    const auto pool = lora_pool::load(dirs);
    const auto first = io::load_peft_adapter(dirs[0]), second = io::load_peft_adapter(dirs[1]);
    REQUIRE(pool.size() == 2);
    REQUIRE(pool.stacks().size() == first.layers.size());
    const auto& target = pool.stacks()[3];
    const auto& a1 = second.layers[3].a;
    CHECK(std::equal(a1.begin(), a1.end(), target.a.begin() + static_cast<std::ptrdiff_t>(a1.size())));

    auto composed = weighted_ab{}.allocate(pool);
    const std::vector<double> w{0.25, -2.0};
    weighted_ab{}.compose(pool, w, composed);
    for (std::size_t j = 0; j < composed[3].b.size(); ++j)
        CHECK(composed[3].b[j] == Approx(0.25f * first.layers[3].b[j] - 2.0f * second.layers[3].b[j]).margin(1e-7));
    CHECK_THROWS_WITH(weighted_ab{}.compose(pool, std::vector<double>{1.0}, composed), Contains("1 weights for a pool of 2"));
    CHECK_THROWS_WITH(weighted_ab{}.compose(pool, std::vector<double>{1.0, NAN}, composed), Contains("not finite"));
}

TEST_CASE("modules of different structure are an error naming both", "[lora][pool]") {
    const std::vector<std::filesystem::path> targets{test::fixtures() / "t5/pool-0", test::fixtures() / "t5/flan-odd.all"};
    CHECK_THROWS_WITH(lora_pool::load(targets), Contains("pool-0 and ") && Contains("flan-odd.all: target different layers"));
    const std::vector<std::filesystem::path> none;
    CHECK_THROWS_WITH(lora_pool::load(none), Contains("needs at least one module"));
}

TEST_CASE("a pool loads from any range of path-like values and names modules as users read them", "[lora][pool]") {
    const std::string root = (test::fixtures() / "t5").string();
    const std::vector<std::string> as_strings{root + "/pool-0", root + "/pool-1/"};
    const auto from_strings = lora_pool::load(as_strings);
    const char* as_literals[] = {"does-not-matter"};
    CHECK_THROWS_WITH(lora_pool::load(as_literals), Contains("does-not-matter"));
    CHECK(from_strings.names() == std::vector<std::string>{"pool-0", "pool-1"});
    REQUIRE(from_strings.directories().size() == 2);
    CHECK(from_strings.directories()[1] == std::filesystem::path(root + "/pool-1/"));
    const auto from_paths = lora_pool::load(std::vector<std::filesystem::path>{root + "/pool-0", root + "/pool-1"});
    CHECK(from_paths.stacks()[0].a == from_strings.stacks()[0].a);
    CHECK(lora_pool::short_name("hub/modules/add/") == "add");
    CHECK(lora_pool::short_name("add") == "add");
}
