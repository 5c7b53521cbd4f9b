#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/core/expert_routing.hpp>

using namespace lorahub;

TEST_CASE("a token mixes its top-k experts by softmax of |score| / temperature and their scalings", "[arrow][routing]") {
    expert_routing routing;
    routing.experts = 3;
    routing.expert_rank = 2;
    routing.top_k = 2;
    routing.temperature = 0.5f;
    routing.scaling = {1.0f, 2.0f, 0.5f};
    // token 0: |scores| 2, 1, 0.5 -> experts 0 and 1 with softmax(4, 2); token 1: expert 2 leads
    const std::vector<float> similarity{-2.0f, 1.0f, 0.5f, 0.1f, -0.2f, 3.0f};
    std::vector<float> projected(2 * 3 * 2, 1.0f);
    route_rows(routing, similarity.data(), projected.data(), 2);
    const double c0 = 1.0 / (1.0 + std::exp(-(2.0 - 1.0) / 0.5)), c1 = 1.0 - c0;
    const std::vector<double> token0{c0, c0, 2 * c1, 2 * c1, 0, 0};
    const double d2 = 1.0 / (1.0 + std::exp(-(3.0 - 0.2) / 0.5)), d1 = 1.0 - d2;
    const std::vector<double> token1{0, 0, 2 * d1, 2 * d1, 0.5 * d2, 0.5 * d2};
    for (std::size_t j = 0; j < 6; ++j) {
        CHECK(projected[j] == Approx(token0[j]).margin(1e-7));
        CHECK(projected[6 + j] == Approx(token1[j]).margin(1e-7));
    }
}

TEST_CASE("top-1 routing takes one expert whole, the lower index on a tie", "[arrow][routing]") {
    expert_routing routing;
    routing.experts = 3;
    routing.expert_rank = 1;
    routing.top_k = 1;
    routing.scaling = {1.0f, 1.0f, 1.0f};
    const std::vector<float> similarity{1.0f, -1.0f, 0.5f};
    std::vector<float> projected{5.0f, 6.0f, 7.0f};
    route_rows(routing, similarity.data(), projected.data(), 1);
    CHECK(projected == std::vector<float>{5.0f, 0.0f, 0.0f});
}
