#include <string>

#include <catch2/catch.hpp>

#include <lorahub/core/error.hpp>
#include <lorahub/core/printable.hpp>

using namespace lorahub;
using namespace std::string_literals;

TEST_CASE("printable() keeps valid UTF-8 text and escapes the rest", "[core][printable]") {
    CHECK(printable("plain ascii") == "plain ascii");
    CHECK(printable("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x99\x82") == "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x99\x82");
    CHECK(printable("\x1b[31mred\x07") == "\\x1b[31mred\\x07");
    CHECK(printable("a\0b"s) == "a\\x00b");
    CHECK(printable("del\x7f") == "del\\x7f");
    CHECK(printable("csi\xc2\x9b" "2J") == "csi\\u009b2J");          // U+009B: the 8-bit CSI
    CHECK(printable("cut \xff\xfe") == "cut \\xff\\xfe");
    CHECK(printable("overlong \xc0\xaf") == "overlong \\xc0\\xaf");   // "/" in two bytes
    CHECK(printable("surrogate \xed\xa0\x80") == "surrogate \\xed\\xa0\\x80");
    CHECK(printable("past max \xf4\x90\x80\x80") == "past max \\xf4\\x90\\x80\\x80");
    CHECK(printable("truncated \xe2\x82") == "truncated \\xe2\\x82");
}

TEST_CASE("newline and tab stay only where whole lines are printed", "[core][printable]") {
    CHECK(printable("one\ntwo\tthree\r") == "one\\x0atwo\\x09three\\x0d");
    CHECK(printable("one\ntwo\tthree\r", line_breaks::keep) == "one\ntwo\tthree\\x0d");
    CHECK(is_printable("fine"));
    CHECK_FALSE(is_printable("\x1b"));
}

TEST_CASE("error messages quoting file contents are printable", "[core][error]") {
    const format_error failure("model\x1b]0;title\x07.safetensors", "tensor \"\xff\x1b[2J\" is bad");
    CHECK(std::string(failure.what()) == "model\\x1b]0;title\\x07.safetensors: tensor \"\\xff\\x1b[2J\" is bad");
    CHECK(failure.subject() == "model\\x1b]0;title\\x07.safetensors");
}
