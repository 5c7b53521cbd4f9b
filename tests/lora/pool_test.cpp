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

TEST_CASE("per-module scaling makes a composition independent of the pool's order", "[lora][pool]") {
    // pool-1-alpha-x4: pool-1's weights with lora_alpha 32 for r 4 (scaling 8; pool-0's is 2)
    const std::string t5 = (test::fixtures() / "t5").string(), other = (test::fixtures() / "hostile" / "pool-1-alpha-x4").string();
    auto composed = [&](std::vector<std::string> dirs, std::vector<double> w, module_scaling rule) {
        const auto pool = lora_pool::load(dirs, rule);
        const weighted_ab composer;
        auto out = composer.allocate(pool);
        composer.compose(pool, w, out);
        return out;
    };
    const auto forward = composed({t5 + "/pool-0", other}, {0.5, 0.7}, module_scaling::per_module);
    const auto backward = composed({other, t5 + "/pool-0"}, {0.7, 0.5}, module_scaling::per_module);
    REQUIRE(forward.size() == backward.size());
    for (std::size_t t = 0; t < forward.size(); ++t) {
        INFO(forward[t].module);
        CHECK(forward[t].scaling == 1.0f);
        CHECK(backward[t].scaling == 1.0f);
        for (std::size_t i = 0; i < forward[t].a.size(); ++i) CHECK(forward[t].a[i] == Approx(backward[t].a[i]).margin(1e-7));
        for (std::size_t i = 0; i < forward[t].b.size(); ++i) CHECK(forward[t].b[i] == Approx(backward[t].b[i]).margin(1e-7));
    }
    // upstream's rule: the first module's scaling for all, so the order changes the result
    const auto first = composed({t5 + "/pool-0", other}, {0.5, 0.7}, module_scaling::first_module);
    const auto swapped = composed({other, t5 + "/pool-0"}, {0.7, 0.5}, module_scaling::first_module);
    CHECK(first.front().scaling == Approx(2.0f));
    CHECK(swapped.front().scaling == Approx(8.0f));
    CHECK(lora_pool::load(std::vector<std::string>{t5 + "/pool-0", other}).scaled_unlike_first() == std::vector<std::size_t>{1});
    CHECK(lora_pool::load(std::vector<std::string>{t5 + "/pool-0", t5 + "/pool-1"}).scaled_unlike_first().empty());
}
