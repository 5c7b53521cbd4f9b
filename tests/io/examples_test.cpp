#include <catch2/catch.hpp>

#include <lorahub/io/examples.hpp>

#include "../support/files.hpp"

using namespace lorahub;
using Catch::Matchers::Contains;

namespace {
std::vector<io::example> parse(const std::string& text) { return io::parse_examples(text, "ex.jsonl"); }
}  // namespace

TEST_CASE("reads both field conventions, skipping blank lines", "[examples]") {
    const auto examples = parse(
        "{\"input\": \"2+2?\", \"output\": \"4\"}\n\n"
        "{\"context\": \"Q: a\\nA:\", \"completion\": \"b\", \"id\": 7}\r\n"
        "   \n"
        "{\"input\": \"no answer\"}\n"
        "{\"input\": \"null answer\", \"output\": null}");
    REQUIRE(examples.size() == 4);
    CHECK(examples[0].input == "2+2?");
    CHECK(examples[0].output == "4");
    CHECK(examples[1].input == "Q: a\nA:");
    CHECK(examples[1].output == "b");
    CHECK_FALSE(examples[2].output.has_value());
    CHECK_FALSE(examples[3].output.has_value());
}

TEST_CASE("anything else is an error naming the line", "[examples]") {
    CHECK_THROWS_WITH(parse("{\"input\":\"a\"}\n[1,2]\n"), Contains("ex.jsonl:2: expected an object"));
    CHECK_THROWS_WITH(parse("\n\n{\"question\":\"a\"}"), Contains("ex.jsonl:3: has neither"));
    CHECK_THROWS_WITH(parse("{\"input\":\"a\",\"context\":\"b\"}"), Contains("ex.jsonl:1: has both"));
    CHECK_THROWS_WITH(parse("{\"input\":5}"), Contains("ex.jsonl:1: \"input\" must be a string"));
    CHECK_THROWS_WITH(parse("{\"input\":\"a\",\"output\":[\"x\"]}"), Contains("\"output\" must be a string or null"));
    CHECK_THROWS_WITH(parse("{\"input\":\"a\"} trailing"), Contains("ex.jsonl:1: invalid JSON"));
    CHECK_THROWS_WITH(parse("\n  \n"), Contains("ex.jsonl: holds no examples"));
}

TEST_CASE("reads from a file and refuses oversized or special files", "[examples]") {
    test::temp_dir dir;
    test::write_file(dir / "ok.jsonl", "{\"input\":\"x\",\"output\":\"y\"}\n");
    CHECK(io::read_examples(dir / "ok.jsonl").size() == 1);
    CHECK_THROWS_WITH(io::read_examples(dir.path()), Contains("not a regular file"));
    CHECK_THROWS_WITH(io::read_examples(dir / "absent.jsonl"), Contains("absent.jsonl: cannot open"));
}
