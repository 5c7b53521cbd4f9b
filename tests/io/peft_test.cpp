#include <cmath>
#include <string>

#include <catch2/catch.hpp>

#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/model/t5/config.hpp>
#include <lorahub/model/t5/layout.hpp>

#include "../support/files.hpp"

using namespace lorahub;
using Catch::Matchers::Contains;

namespace {

io::peft_config config_from(const std::string& text) {
    return io::parse_peft_config(io::parse_json_strict(text, "adapter_config.json"), "adapter_config.json");
}

/// Copies a fixture adapter so a test can damage it.
std::filesystem::path copy_adapter(const test::temp_dir& dir, const std::string& name) {
    const auto target = dir / name;
    std::filesystem::copy(test::fixtures() / "io/adapters" / name, target, std::filesystem::copy_options::recursive);
    return target;
}

}  // namespace

TEST_CASE("targets, ranks and scalings match what PEFT resolved for the same configs", "[peft]") {
    const auto expected = io::parse_json_strict(test::read_file(test::fixtures() / "io/adapters/expected.json"), "expected.json");
    const auto model = t5::load_config(test::fixtures() / "io/tiny-t5/config.json");
    for (const auto& [name, layers] : expected.items()) {
        INFO("adapter " << name);
        const auto adapter = io::load_peft_adapter(test::fixtures() / "io/adapters" / name);
        CHECK(adapter.layers.size() == layers.size());
        for (const auto& [module, want] : layers.items()) {
            INFO("module " << module);
            const auto* layer = adapter.find(module);
            REQUIRE(layer != nullptr);
            CHECK(layer->rank == want["r"].get<std::size_t>());
            CHECK(layer->scaling == Approx(want["scaling"].get<double>()).epsilon(1e-7));
            CHECK(layer->a.size() == layer->rank * layer->in_features);
            CHECK(layer->b.size() == layer->out_features * layer->rank);
        }
        // PEFT's target resolution over every linear layer of the model, not just the saved ones
        for (const auto& linear : t5::linear_layers(model))
            CHECK(adapter.config.targets(linear.module) == layers.contains(linear.module));
    }
}

TEST_CASE("adapter config fields parse as PEFT reads them", "[peft]") {
    SECTION("list targets match whole names or dotted suffixes") {
        const auto config = config_from(R"({"r":4,"lora_alpha":8,"target_modules":["q","v"]})");
        CHECK(config.targets("encoder.block.0.layer.0.SelfAttention.q"));
        CHECK(config.targets("q"));
        CHECK_FALSE(config.targets("encoder.block.0.layer.0.SelfAttention.k"));
        CHECK_FALSE(config.targets("encoder.block.0.layer.0.SelfAttention.xq"));
        CHECK(config.scaling_for("q") == 2.0);
    }
    SECTION("a regex target must match the whole name") {
        const auto config = config_from(R"({"r":4,"target_modules":"encoder.*\\.q"})");
        CHECK(config.targets("encoder.block.0.layer.0.SelfAttention.q"));
        CHECK_FALSE(config.targets("decoder.block.0.layer.0.SelfAttention.q"));
        CHECK(config.lora_alpha == 8.0);  // PEFT's default, whatever r is
    }
    SECTION("layers_to_transform restricts list targets by block index") {
        const auto config = config_from(R"({"r":4,"target_modules":["q"],"layers_to_transform":[1]})");
        CHECK(config.targets("encoder.block.1.layer.0.SelfAttention.q"));
        CHECK_FALSE(config.targets("encoder.block.0.layer.0.SelfAttention.q"));
    }
    SECTION("rsLoRA divides by the square root of the rank") {
        const auto config = config_from(R"({"r":16,"lora_alpha":8,"target_modules":["q"],"use_rslora":true})");
        CHECK(config.scaling_for("x.q") == Approx(2.0));
    }
    SECTION("round trip through to_json keeps the matching rules") {
        const auto config = config_from(
            R"j({"r":4,"lora_alpha":16,"target_modules":"(.*)\\.(k|o)","rank_pattern":{"o":2},"alpha_pattern":{"block\\.1\\..*k":3}})j");
        const auto again = io::parse_peft_config(to_json(config), "again");
        for (const char* module : {"a.block.1.x.k", "a.block.0.x.o", "a.block.0.x.k"}) {
            CHECK(again.rank_for(module) == config.rank_for(module));
            CHECK(again.scaling_for(module) == config.scaling_for(module));
        }
        CHECK(config.rank_for("a.block.0.x.o") == 2);
        CHECK(config.scaling_for("a.block.1.x.k") == Approx(0.75));
    }
}

TEST_CASE("adapter configs with wrong fields are errors naming the field", "[peft]") {
    CHECK_THROWS_WITH(config_from(R"({"lora_alpha":8,"target_modules":["q"]})"), Contains("has no \"r\""));
    CHECK_THROWS_WITH(config_from(R"({"r":0,"target_modules":["q"]})"), Contains("\"r\" must be an integer"));
    CHECK_THROWS_WITH(config_from(R"({"r":4,"target_modules":["q"],"lora_alpha":"x"})"), Contains("\"lora_alpha\" must be a finite number"));
    CHECK_THROWS_WITH(config_from(R"({"r":4})"), Contains("has no \"target_modules\""));
    CHECK_THROWS_WITH(config_from(R"({"r":4,"target_modules":"("})"), Contains("not a valid regular expression"));
    CHECK_THROWS_WITH(config_from(R"({"r":4,"target_modules":["q"],"rank_pattern":{"q":-1}})"), Contains("rank_pattern[\"q\"]"));
    CHECK_THROWS_WITH(config_from(R"({"r":4,"target_modules":["q"],"peft_type":"IA3"})"), Contains("is not LORA"));
    CHECK_THROWS_WITH(config_from(R"({"r":4,"target_modules":[1]})"), Contains("must hold strings"));
}

TEST_CASE("adapter folders that do not fit their config are errors naming the file", "[peft]") {
    test::temp_dir dir;
    SECTION("an adapter_model.bin that is not a torch checkpoint (here: safetensors bytes) names the file") {
        const auto path = copy_adapter(dir, "qv-r4");
        std::filesystem::rename(path / "adapter_model.safetensors", path / "adapter_model.bin");
        CHECK_THROWS_WITH(io::load_peft_adapter(path), Contains("adapter_model.bin: is not a valid ZIP archive"));
    }
    SECTION("a missing config") {
        const auto path = copy_adapter(dir, "qv-r4");
        std::filesystem::remove(path / "adapter_config.json");
        CHECK_THROWS_WITH(io::load_peft_adapter(path), Contains("has no adapter_config.json"));
    }
    SECTION("a rank that differs from the config") {
        const auto path = copy_adapter(dir, "qv-r4");
        auto text = test::read_file(path / "adapter_config.json");
        text.replace(text.find("\"r\": 4"), 6, "\"r\": 3");
        test::write_file(path / "adapter_config.json", text);
        CHECK_THROWS_WITH(io::load_peft_adapter(path), Contains("gives it rank 3"));
    }
    SECTION("weights for a module the config does not target") {
        const auto path = copy_adapter(dir, "qv-r4");
        auto text = test::read_file(path / "adapter_config.json");
        text.replace(text.find("\"v\""), 3, "\"k\"");
        test::write_file(path / "adapter_config.json", text);
        CHECK_THROWS_WITH(io::load_peft_adapter(path), Contains("which adapter_config.json does not target"));
    }
    SECTION("an A without its B") {
        const auto adapter = io::load_peft_adapter(test::fixtures() / "io/adapters/qv-r4");
        const auto& layer = adapter.layers.front();
        std::vector<io::f32_tensor> tensors{{io::peft_key(layer.module, 'A'), {layer.rank, layer.in_features}, layer.a}};
        io::write_safetensors(dir / "adapter_model.safetensors", tensors, dtype::f32);
        std::filesystem::copy_file(test::fixtures() / "io/adapters/qv-r4/adapter_config.json", dir / "adapter_config.json");
        CHECK_THROWS_WITH(io::load_peft_adapter(dir.path()), Contains("has lora_A but no lora_B"));
    }
    SECTION("DoRA and LoRA biases are refused") {
        const auto path = copy_adapter(dir, "qv-r4");
        auto text = test::read_file(path / "adapter_config.json");
        text.replace(text.find("\"use_dora\": false"), 17, "\"use_dora\": true");
        test::write_file(path / "adapter_config.json", text);
        CHECK_THROWS_WITH(io::load_peft_adapter(path), Contains("DoRA"));
    }
}

TEST_CASE("save_peft_adapter writes a folder that loads back identically", "[peft]") {
    test::temp_dir dir;
    for (const char* name : {"qv-r4", "regex-patterns", "rslora-ff"}) {
        INFO("adapter " << name);
        const auto adapter = io::load_peft_adapter(test::fixtures() / "io/adapters" / name);
        const auto out = dir / name;
        io::save_peft_adapter(out, adapter.config, adapter.layers);
        const auto again = io::load_peft_adapter(out);
        REQUIRE(again.layers.size() == adapter.layers.size());
        for (std::size_t i = 0; i < again.layers.size(); ++i) {
            CHECK(again.layers[i].module == adapter.layers[i].module);
            CHECK(again.layers[i].scaling == adapter.layers[i].scaling);
            CHECK(again.layers[i].a == adapter.layers[i].a);
            CHECK(again.layers[i].b == adapter.layers[i].b);
        }
    }
    // replacing an existing folder leaves only the new one and no staging folders
    const auto adapter = io::load_peft_adapter(test::fixtures() / "io/adapters/qv-r4");
    CHECK_THROWS_WITH(io::save_peft_adapter(dir / "rslora-ff", adapter.config, adapter.layers), Catch::Contains("exists and is not empty"));
    io::save_peft_adapter(dir / "rslora-ff", adapter.config, adapter.layers, dtype::f32, io::existing_output::replace_ours);
    CHECK(io::load_peft_adapter(dir / "rslora-ff").layers.size() == adapter.layers.size());
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++entries;
    CHECK(entries == 3);
}

TEST_CASE("a failed save leaves no partial folder", "[peft]") {
    test::temp_dir dir;
    auto adapter = io::load_peft_adapter(test::fixtures() / "io/adapters/qv-r4");
    adapter.layers.back().b.pop_back();
    CHECK_THROWS_AS(io::save_peft_adapter(dir / "out", adapter.config, adapter.layers), argument_error);
    CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("regex patterns that std::regex cannot be trusted with are refused before compiling", "[peft]") {
    using Catch::Matchers::Contains;
    // found by fuzzing: libstdc++ overflows a signed integer on huge repetition counts
    CHECK_THROWS_WITH(config_from(R"({"r":4,"target_modules":"q{99999999999999999999}"})"), Contains("repetition count past 1000"));
    CHECK_THROWS_WITH(config_from(R"({"r":4,"target_modules":"q{2,1001}"})"), Contains("repetition count past 1000"));
    CHECK_THROWS_WITH(config_from(R"({"r":4,"target_modules":"(q)\\99999999999999999999"})"), Contains("back-reference number"));
    CHECK_NOTHROW(config_from(R"({"r":4,"target_modules":".*\\.(q|v){1,2}"})"));
    CHECK_THROWS_WITH(config_from("{\"r\":4,\"target_modules\":\"" + std::string(5000, 'q') + "\"}"), Contains("longer than 4096 characters"));
}
