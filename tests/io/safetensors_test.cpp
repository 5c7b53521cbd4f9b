#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include <lorahub/io/safetensors.hpp>

#include "../support/files.hpp"

using namespace lorahub;
using Catch::Matchers::Contains;

namespace {

io::safetensors_layout parse(const std::string& bytes) { return io::parse_safetensors(test::as_bytes(bytes), "t.safetensors"); }

std::string f32_data(std::size_t count) { return std::string(count * 4, '\0'); }

}  // namespace

TEST_CASE("reads every dtype of a file written by the reference safetensors package", "[safetensors]") {
    const io::safetensors_file file(test::fixtures() / "io/dtypes.safetensors");
    const auto expected = io::parse_json_strict(test::read_file(test::fixtures() / "io/dtypes.json"), "dtypes.json");
    CHECK(file.metadata().at("format") == "pt");
    CHECK(file.metadata().at("made_by") == "make_io_fixtures.py");
    std::size_t checked = 0;
    for (const auto& [name, want] : expected.items()) {
        if (name == "conversion") continue;
        INFO("tensor " << name);
        const auto& view = file.at(name);
        CHECK(view.shape == want["shape"].get<std::vector<std::size_t>>());
        const auto values = file.read_f32(view);
        REQUIRE(values.size() == want["f32_bits"].size());
        for (std::size_t i = 0; i < values.size(); ++i)
            CHECK(std::bit_cast<std::uint32_t>(values[i]) == want["f32_bits"][i].get<std::uint32_t>());
        ++checked;
    }
    CHECK(checked == 12);
    CHECK(file.at("bf16").type == dtype::bf16);
    CHECK(file.at("scalar").shape.empty());
    CHECK(file.at("empty").numel() == 0);
    CHECK_THROWS_WITH(file.at("missing"), Contains("has no tensor \"missing\""));
}

TEST_CASE("the writer reproduces the reference writer byte for byte", "[safetensors]") {
    const auto path = test::fixtures() / "io/dtypes.safetensors";
    const io::safetensors_file original(path);
    std::vector<io::tensor_record> records;
    for (const auto& view : original.tensors()) records.push_back({view.name, view.type, view.shape, view.bytes});
    test::temp_dir dir;
    io::write_safetensors(dir / "copy.safetensors", records, original.metadata());
    CHECK(test::read_file(dir / "copy.safetensors") == test::read_file(path));
}

TEST_CASE("write then read round-trips every dtype", "[safetensors]") {
    test::temp_dir dir;
    std::vector<std::string> payloads;
    std::vector<io::tensor_record> records;
    for (const auto& entry : dtype_table) {
        std::string bytes(3 * 2 * entry.size, '\0');
        for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 37 + entry.size);
        payloads.push_back(bytes);
    }
    for (std::size_t i = 0; i < std::size(dtype_table); ++i)
        records.push_back({std::string(dtype_table[i].name), dtype_table[i].type, {3, 2}, test::as_bytes(payloads[i])});
    io::write_safetensors(dir / "all.safetensors", records, {{"k", "v"}});
    const auto text = test::read_file(dir / "all.safetensors");
    std::uint64_t header_length = 0;
    std::memcpy(&header_length, text.data(), 8);
    CHECK(header_length % 8 == 0);
    const io::safetensors_file file(dir / "all.safetensors");
    CHECK(file.metadata().at("k") == "v");
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& view = file.at(records[i].name);
        CHECK(view.type == records[i].type);
        CHECK(view.shape == std::vector<std::size_t>{3, 2});
        CHECK(std::string(reinterpret_cast<const char*>(view.bytes.data()), view.bytes.size()) == payloads[i]);
    }
}

TEST_CASE("float tensors round-trip through F32, F16 and BF16 encodings", "[safetensors]") {
    test::temp_dir dir;
    const std::vector<float> values{0.0f, 1.0f, -2.5f, 0.1f, 1e-3f, 3000.0f};
    for (auto type : {dtype::f32, dtype::f16, dtype::bf16}) {
        const std::vector<io::f32_tensor> tensors{{"w", {2, 3}, values}};
        io::write_safetensors(dir / "w.safetensors", tensors, type);
        const io::safetensors_file file(dir / "w.safetensors");
        const auto back = file.read_f32(file.at("w"));
        for (std::size_t i = 0; i < values.size(); ++i) {
            const float expected = type == dtype::f32   ? values[i]
                                   : type == dtype::f16 ? f16_to_f32(f32_to_f16(values[i]))
                                                        : bf16_to_f32(f32_to_bf16(values[i]));
            CHECK(back[i] == expected);
        }
    }
}

TEST_CASE("the writer leaves no file behind when it fails", "[safetensors]") {
    test::temp_dir dir;
    const std::string bytes(7, '\0');
    const std::vector<io::tensor_record> bad{{"w", dtype::f32, {2}, test::as_bytes(bytes)}};
    CHECK_THROWS_AS(io::write_safetensors(dir / "bad.safetensors", bad), argument_error);
    CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("accepts what the format allows", "[safetensors]") {
    SECTION("an empty header and no data") { CHECK(parse(test::safetensors_bytes("{}", "")).tensors.empty()); }
    SECTION("whitespace around the JSON") {
        const auto layout = parse(test::safetensors_bytes(R"(  {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   )", f32_data(1)));
        CHECK(layout.tensors.size() == 1);
    }
    SECTION("zero-size and rank-0 tensors") {
        const auto layout = parse(test::safetensors_bytes(
            R"({"z":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})",
            f32_data(1)));
        REQUIRE(layout.tensors.size() == 2);
        CHECK(layout.tensors[0].name == "s");
        CHECK(layout.tensors[0].numel() == 1);
        CHECK(layout.tensors[1].numel() == 0);
    }
    SECTION("data at an unaligned offset is read without a misaligned load") {
        const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";  // 55 bytes: data at 63
        std::string data(8, '\0');
        const float values[2] = {1.5f, -3.0f};
        std::memcpy(data.data(), values, 8);
        test::temp_dir dir;
        test::write_file(dir / "u.safetensors", test::safetensors_bytes(header, data));
        const io::safetensors_file file(dir / "u.safetensors");
        CHECK_FALSE(io::safetensors_file::f32_span(file.at("a")).has_value());
        CHECK(file.read_f32(file.at("a")) == std::vector<float>{1.5f, -3.0f});
    }
}

TEST_CASE("rejects every malformed layout the reference rejects", "[safetensors]") {
    const std::string one = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
    SECTION("fewer than 8 bytes") { CHECK_THROWS_WITH(parse("abc"), Contains("8-byte header length")); }
    SECTION("header length over the 100 MB cap") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes("{}", "", 100'000'001)), Contains("exceeds the limit"));
    }
    SECTION("header length whose addition to 8 overflows") {
        CHECK_THROWS_AS(parse(test::safetensors_bytes("{}", "", std::numeric_limits<std::uint64_t>::max())), format_error);
    }
    SECTION("header running past the end of the file") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes("{}", "", 64)), Contains("runs past the end"));
    }
    SECTION("invalid JSON") { CHECK_THROWS_WITH(parse(test::safetensors_bytes("{\"a\":", "")), Contains("invalid JSON")); }
    SECTION("header that is not UTF-8") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes("{\"__metadata__\":{\"k\":\"\xff\xfe\"}}", "")), Contains("invalid JSON"));
    }
    SECTION("header that is not an object") { CHECK_THROWS_WITH(parse(test::safetensors_bytes("[]", "")), Contains("JSON object")); }
    SECTION("duplicate tensor names") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(
                              R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              f32_data(2))),
                          Contains("duplicate JSON key \"a\""));
    }
    SECTION("duplicate fields inside a tensor entry") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})",
                                                        f32_data(1))),
                          Contains("duplicate JSON key \"dtype\""));
    }
    SECTION("metadata values that are not strings") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"__metadata__":{"n":1}})", "")), Contains("must be a string"));
    }
    SECTION("metadata that is not an object") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"__metadata__":"x"})", "")), Contains("__metadata__ must be an object"));
    }
    SECTION("unknown dtype") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"a":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}})", f32_data(1))),
                          Contains("unknown dtype \"F17\""));
    }
    SECTION("missing field") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1]}})", f32_data(1))),
                          Contains("has no \"data_offsets\""));
    }
    SECTION("negative or fractional numbers") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", f32_data(1))),
                          Contains("non-negative integer"));
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}})", f32_data(1))),
                          Contains("non-negative integer"));
    }
    SECTION("element count overflow") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(
                              R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,2],"data_offsets":[0,4]}})", f32_data(1))),
                          Contains("element count overflows"));
    }
    SECTION("byte count overflow") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}})",
                                                        f32_data(1))),
                          Contains("byte count overflows"));
    }
    SECTION("byte count that does not match the offsets") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", f32_data(1))),
                          Contains("spans 4 bytes but F32 [2] needs 8"));
    }
    SECTION("offsets that end before they begin") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", f32_data(1))),
                          Contains("end before they begin"));
    }
    SECTION("offsets past the data buffer") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32_data(1))),
                          Contains("run past the 4-byte data buffer"));
    }
    SECTION("a gap before the first tensor") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32_data(2))),
                          Contains("gap in the data buffer"));
    }
    SECTION("a gap between tensors") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(
                              R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                              f32_data(3))),
                          Contains("gap in the data buffer before tensor \"b\""));
    }
    SECTION("overlapping tensors") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(
                              R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              f32_data(2))),
                          Contains("overlaps"));
    }
    SECTION("trailing bytes after the last tensor") {
        CHECK_THROWS_WITH(parse(test::safetensors_bytes(one, f32_data(1) + "x")), Contains("1 trailing bytes"));
    }
    SECTION("error messages name the file") {
        CHECK_THROWS_WITH(parse("abc"), Catch::Matchers::StartsWith("t.safetensors: "));
    }
}

TEST_CASE("opening refuses what is not a regular file", "[safetensors]") {
    test::temp_dir dir;
    CHECK_THROWS_WITH(io::safetensors_file(dir.path()), Contains("not a regular file"));
    CHECK_THROWS_WITH(io::safetensors_file(dir / "absent.safetensors"), Contains("cannot open"));
    const auto fifo = dir / "pipe.safetensors";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH(io::safetensors_file(fifo), Contains("not a regular file"));
}

TEST_CASE("random corruption of a valid file never escapes as anything but lorahub::error", "[safetensors]") {
    const auto original = test::read_file(test::fixtures() / "io/dtypes.safetensors");
    std::mt19937 random(1234);
    std::size_t rejected = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        std::string bytes = original;
        const int edits = 1 + static_cast<int>(random() % 4);
        for (int e = 0; e < edits; ++e) {
            const auto at = random() % bytes.size();
            switch (random() % 3) {
                case 0: bytes[at] = static_cast<char>(random()); break;
                case 1: bytes.erase(at, 1 + random() % 8); break;
                default: bytes.insert(at, 1, static_cast<char>(random())); break;
            }
        }
        try {
            const auto layout = parse(bytes);
            for (const auto& view : layout.tensors) CHECK(view.bytes.size() == view.numel() * size_of(view.type));
        } catch (const lorahub::error&) {
            ++rejected;
        }
    }
    CHECK(rejected > 2000);
}
