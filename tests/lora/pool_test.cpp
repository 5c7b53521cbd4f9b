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
    REQUIRE(pool.targets().size() == first.layers.size());
    const auto& target = pool.targets()[3];
    const auto& a1 = second.layers[3].a;
    CHECK(std::equal(a1.begin(), a1.end(), target.a.begin() + static_cast<std::ptrdiff_t>(a1.size())));

    auto composed = weighted_ab::allocate(pool);
    const std::vector<double> w{0.25, -2.0};
    weighted_ab::compose(pool, w, composed);
    for (std::size_t j = 0; j < composed[3].b.size(); ++j)
        CHECK(composed[3].b[j] == Approx(0.25f * first.layers[3].b[j] - 2.0f * second.layers[3].b[j]).margin(1e-7));
    CHECK_THROWS_WITH(weighted_ab::compose(pool, std::vector<double>{1.0}, composed), Contains("1 weights for a pool of 2"));
    CHECK_THROWS_WITH(weighted_ab::compose(pool, std::vector<double>{1.0, NAN}, composed), Contains("not finite"));
}

TEST_CASE("modules of different structure are an error naming both", "[lora][pool]") {
    const std::vector<std::filesystem::path> targets{test::fixtures() / "t5/pool-0", test::fixtures() / "t5/flan-odd.all"};
    CHECK_THROWS_WITH(lora_pool::load(targets), Contains("pool-0 and ") && Contains("flan-odd.all: target different layers"));
    const std::vector<std::filesystem::path> none;
    CHECK_THROWS_WITH(lora_pool::load(none), Contains("needs at least one module"));
}
