#include <catch2/catch.hpp>

#include <lorahub/io/json.hpp>
#include <lorahub/model/t5/relative_position.hpp>

#include "../../support/files.hpp"

using namespace lorahub;

TEST_CASE("relative position buckets equal HF's at every distance -300..300", "[t5][buckets]") {
    const auto expected = io::parse_json_strict(test::read_file(test::fixtures() / "t5/expected.json"), "expected.json");
    const auto positions = expected["buckets"]["relative_positions"].get<std::vector<long>>();
    std::size_t checked = 0;
    for (const auto& [key, table] : expected["buckets"]["tables"].items()) {
        const auto first = key.find('/'), second = key.find('/', first + 1);
        const long buckets = std::stol(key.substr(0, first)), distance = std::stol(key.substr(first + 1, second - first - 1));
        const bool bidirectional = key.substr(second + 1) == "bidirectional";
        for (std::size_t i = 0; i < positions.size(); ++i) {
            INFO(key << " at relative position " << positions[i]);
            CHECK(t5::relative_position_bucket(positions[i], bidirectional, buckets, distance) == table[i].get<long>());
            ++checked;
        }
    }
    CHECK(checked == 4 * 601);
}
