#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/lora/granular_pool.hpp>
#include <lorahub/lora/weighted_ab.hpp>

#include "../support/files.hpp"

using namespace lorahub;

namespace {

lora_pool t5_pool() {
    const auto t5 = test::fixtures() / "t5";
    return lora_pool::load(std::vector{t5 / "pool-0", t5 / "pool-1", t5 / "pool-2"});
}

}  // namespace

TEST_CASE("a target's transformer block is its name up to the first number", "[lora][granularity]") {
    CHECK(layer_block_of("encoder.block.3.layer.0.SelfAttention.q") == "encoder.block.3");
    CHECK(layer_block_of("decoder.block.3.layer.1.EncDecAttention.v") == "decoder.block.3");
    CHECK(layer_block_of("model.layers.17.mlp.down_proj") == "model.layers.17");
    CHECK(layer_block_of("lm_head") == "lm_head");
    CHECK(weight_granularity_named("layer") == weight_granularity::layer);
    CHECK_THROWS_WITH(weight_granularity_named("block"), Catch::Contains("\"block\" is not module, layer or target"));
}

TEST_CASE("per layer and per target: N weights per group, group-major, named module@group", "[lora][granularity]") {
    const auto pool = t5_pool();  // q and v of 2 encoder and 3 decoder blocks (self and cross attention): 16 targets
    const granular_pool by_module(pool, weight_granularity::module), by_layer(pool, weight_granularity::layer),
        by_target(pool, weight_granularity::target);
    CHECK(by_module.size() == 3);
    CHECK(by_module.names() == pool.names());
    // groups in the pool's target order (PEFT's sorted module names)
    CHECK(by_layer.groups() == std::vector<std::string>{"decoder.block.0", "decoder.block.1", "decoder.block.2", "encoder.block.0", "encoder.block.1"});
    CHECK(by_layer.size() == 3 * 5);
    CHECK(by_layer.names()[4] == "pool-1@decoder.block.1");
    CHECK(by_target.size() == 3 * pool.stacks().size());
    CHECK_THROWS_WITH(by_layer.check_weights(std::vector<double>(3, 0.0)), Catch::Contains("3 weights for 3 modules x 5 layer groups"));
    std::vector<double> poisoned(15, 0.0);
    poisoned[7] = NAN;
    CHECK_THROWS_WITH(by_layer.check_weights(poisoned), Catch::Contains("not finite"));
}

TEST_CASE("each target is composed with its group's weights, as the module-level rule with those weights", "[lora][granularity]") {
    const auto pool = t5_pool();
    const granular_pool by_layer(pool, weight_granularity::layer);
    std::vector<double> w(by_layer.size());
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.1 * static_cast<double>(i) - 0.6;
    const weighted_ab composer;
    auto granular = composer.allocate(by_layer);
    composer.compose(by_layer, w, granular);
    for (std::size_t group = 0; group < by_layer.groups().size(); ++group) {
        const std::vector<double> group_weights(w.begin() + static_cast<std::ptrdiff_t>(3 * group), w.begin() + static_cast<std::ptrdiff_t>(3 * group + 3));
        auto plain = composer.allocate(pool);
        composer.compose(pool, group_weights, plain);
        for (std::size_t t = 0; t < pool.stacks().size(); ++t) {
            if (by_layer.group_of(t) != group) continue;
            INFO(pool.stacks()[t].module);
            CHECK(granular[t].a == plain[t].a);
            CHECK(granular[t].b == plain[t].b);
        }
    }
    // equal weights in every group: the module-level composition
    const std::vector<double> same{0.3, -0.7, 1.1};
    std::vector<double> repeated;
    for (std::size_t group = 0; group < by_layer.groups().size(); ++group) repeated.insert(repeated.end(), same.begin(), same.end());
    composer.compose(by_layer, repeated, granular);
    auto plain = composer.allocate(pool);
    composer.compose(pool, same, plain);
    for (std::size_t t = 0; t < pool.stacks().size(); ++t) CHECK(granular[t].a == plain[t].a);
}
