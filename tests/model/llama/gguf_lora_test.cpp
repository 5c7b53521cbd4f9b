#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/io/gguf_reader.hpp>
#include <lorahub/io/gguf_writer.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/model/llama/gguf_lora.hpp>

#include "../../support/files.hpp"

using namespace lorahub;
using Catch::Matchers::Contains;

namespace {

io::ggml_type outtype(const std::string& name) {
    return name == "f16" ? io::ggml_type::f16 : name == "bf16" ? io::ggml_type::bf16 : io::ggml_type::f32;
}

std::string type_name(const io::gguf_value& value) {
    switch (io::type_of(value)) {
        case io::gguf_value_type::string: return "STRING";
        case io::gguf_value_type::float32: return "FLOAT32";
        case io::gguf_value_type::uint32: return "UINT32";
        default: return "OTHER";
    }
}

/// A one-pair adapter on q_proj of layer 0 of the gqa-untied fixture (48 -> 48, 6 heads).
lora_layer q_layer(float value = 0.5f) {
    lora_layer layer;
    layer.module = "model.layers.0.self_attn.q_proj";
    layer.rank = 2;
    layer.in_features = 48;
    layer.out_features = 48;
    layer.scaling = 2.0f;
    layer.a.assign(2 * 48, value);
    layer.b.assign(48 * 2, value);
    return layer;
}

}  // namespace

TEST_CASE("GGUF export equals the numpy reference of make_gguf_fixtures.py, read back", "[gguf]") {
    const auto cases = {"gqa-untied.all", "mistral-headdim.qkvo", "qwen2-window.qkv", "mha-tied-linear.mlp-rslora", "llama3-rope.qv"};
    test::temp_dir work;
    for (const std::string name : cases) {
        INFO(name);
        const auto json_path = test::fixtures() / "gguf" / (name + ".expected.json");
        const auto expected = io::parse_json_strict(test::read_file(json_path), json_path.string());
        const auto adapter = io::load_peft_adapter(test::fixtures() / expected["adapter"].get<std::string>());
        const auto config = llama::load_config(test::fixtures() / expected["model"].get<std::string>() / "config.json");
        const auto target = work / (name + ".gguf");
        const auto written = llama::write_gguf_lora(target, config, adapter.layers, adapter.config.lora_alpha,
                                                    {outtype(expected["outtype"]), adapter.directory.filename().string()}, name);
        CHECK(written.folded == expected["folded"].get<std::size_t>());

        const auto contents = io::read_gguf(target);
        CHECK(contents.version == 3);
        CHECK(contents.data_offset % 32 == 0);
        REQUIRE(contents.metadata.size() == expected["metadata"].size());
        for (std::size_t i = 0; i < contents.metadata.size(); ++i) {
            const auto& entry = contents.metadata[i];
            const auto& want = expected["metadata"][i];
            CHECK(entry.key == want["key"].get<std::string>());
            CHECK(type_name(entry.value) == want["type"].get<std::string>());
            if (const auto* text = std::get_if<std::string>(&entry.value)) CHECK(*text == want["value"].get<std::string>());
            if (const auto* number = std::get_if<float>(&entry.value)) CHECK(*number == want["value"].get<float>());
            if (const auto* number = std::get_if<std::uint32_t>(&entry.value)) CHECK(*number == want["value"].get<std::uint32_t>());
        }
        const io::safetensors_file values(test::fixtures() / "gguf" / (name + ".expected.safetensors"));
        REQUIRE(contents.tensors.size() == expected["tensors"].size());
        for (std::size_t i = 0; i < contents.tensors.size(); ++i) {
            const auto& info = contents.tensors[i];
            const auto& want = expected["tensors"][i];
            INFO(info.name);
            CHECK(info.name == want["name"].get<std::string>());
            std::vector<std::size_t> ne(info.shape.rbegin(), info.shape.rend());
            CHECK(ne == want["ne"].get<std::vector<std::size_t>>());
            CHECK(info.type == static_cast<std::uint32_t>(outtype(expected["outtype"])));
            const auto got = io::read_gguf_tensor(target, info);
            const auto reference = values.read_f32(values.at(info.name));
            REQUIRE(got.size() == reference.size());
            std::size_t differing = 0;
            for (std::size_t j = 0; j < got.size(); ++j) differing += got[j] != reference[j];
            CHECK(differing == 0);  // the same float operations in the same order: bit for bit
        }
    }
}

TEST_CASE("GGUF export permutes the rows of q and k as llama.cpp's LlamaModel.permute", "[gguf]") {
    // 2 heads of head_dim 4, rank 1: each head's rows (0 1 | 2 3) become 0 2 1 3
    const std::vector<float> b{0, 1, 2, 3, 4, 5, 6, 7};
    CHECK(llama::rope_permuted_rows(b, 2, 1) == std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7});
    // rank 2: whole rows move
    const std::vector<float> b2{0, 10, 1, 11, 2, 12, 3, 13};
    CHECK(llama::rope_permuted_rows(b2, 1, 2) == std::vector<float>{0, 10, 2, 12, 1, 11, 3, 13});
    llama::config qwen;
    qwen.model_type = "qwen2";
    CHECK_FALSE(llama::gguf_permutes_rope_rows(qwen));
    llama::config mistral;
    mistral.model_type = "mistral";
    CHECK(llama::gguf_architecture(mistral) == "llama");
    CHECK(llama::gguf_permutes_rope_rows(mistral));
}

TEST_CASE("GGUF export folds a scaling alpha / r cannot express into lora_b", "[gguf]") {
    const auto config = llama::load_config(test::fixtures() / "llama/gqa-untied/config.json");
    auto layer = q_layer(1.0f);
    layer.scaling = 3.0f;  // alpha 4, r 2: llama.cpp applies 2, so B is multiplied by 1.5
    const auto file = llama::gguf_lora_contents(config, {layer}, 4.0, {}, "adapter");
    CHECK(file.folded == 1);
    const auto& b = file.tensors[1];
    float first;
    std::memcpy(&first, b.data.data(), 4);
    CHECK(first == 1.5f);
    layer.scaling = 1.0f;  // alpha 0: llama.cpp applies 1, nothing to fold
    CHECK(llama::gguf_lora_contents(config, {layer}, 0.0, {}, "adapter").folded == 0);
}

TEST_CASE("GGUF export refuses what llama.cpp cannot load, naming the adapter and module", "[gguf]") {
    const auto config = llama::load_config(test::fixtures() / "llama/gqa-untied/config.json");
    auto other = q_layer();
    other.module = "lm_head";
    CHECK_THROWS_WITH(llama::gguf_lora_contents(config, {other}, 4.0, {}, "my-adapter"),
                      Contains("my-adapter: module \"lm_head\" is not one llama.cpp's LoRA loader takes"));
    auto deep = q_layer();
    deep.module = "model.layers.7.self_attn.q_proj";
    CHECK_THROWS_WITH(llama::gguf_lora_contents(config, {deep}, 4.0, {}, "my-adapter"), Contains("is in layer 7, but the model has 2 layers"));
    auto wide = q_layer();
    wide.out_features = 24;
    wide.b.resize(24 * 2);
    CHECK_THROWS_WITH(llama::gguf_lora_contents(config, {wide}, 4.0, {}, "my-adapter"), Contains("maps 48 -> 24 features, but the model's takes 48 -> 48"));
    auto nan = q_layer();
    nan.b[5] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(llama::gguf_lora_contents(config, {nan}, 4.0, {}, "my-adapter"), Contains("lora_B holds NaN at element 5"));
    const auto big = q_layer(1e6f);
    CHECK_THROWS_WITH(llama::gguf_lora_contents(config, {big}, 4.0, {io::ggml_type::f16, "x"}, "my-adapter"), Contains("does not fit F16"));
    CHECK_THROWS_AS(llama::gguf_lora_contents(config, {}, 4.0, {}, "my-adapter"), argument_error);
    CHECK_THROWS_WITH(llama::gguf_base_config(test::fixtures() / "t5/flan-odd"),
                      Contains("flan-odd/config.json: model_type \"t5\": GGUF export writes llama.cpp LoRA adapters of Llama-family models"));
    CHECK(llama::gguf_base_config(test::fixtures() / "llama/mistral-headdim").head_dim == 12);
}

TEST_CASE("GGUF export replaces an existing file only when asked and only a GGUF LoRA adapter", "[gguf]") {
    const auto config = llama::load_config(test::fixtures() / "llama/gqa-untied/config.json");
    test::temp_dir work;
    const auto target = work / "out.gguf";
    llama::write_gguf_lora(target, config, {q_layer()}, 4.0, {}, "adapter");
    CHECK_THROWS_WITH(llama::write_gguf_lora(target, config, {q_layer()}, 4.0, {}, "adapter"),
                      Contains("out.gguf: exists: refusing to replace it"));
    CHECK_NOTHROW(llama::write_gguf_lora(target, config, {q_layer(0.25f)}, 4.0, {}, "adapter", io::existing_output::replace_ours));
    const auto notes = work / "notes.gguf";
    test::write_file(notes, "my notes");
    CHECK_THROWS_WITH(llama::write_gguf_lora(notes, config, {q_layer()}, 4.0, {}, "adapter", io::existing_output::replace_ours),
                      Contains("notes.gguf: is not a GGUF LoRA adapter: refusing to replace it"));
    CHECK(test::read_file(notes) == "my notes");
    // a model is a GGUF too, but not an adapter
    const auto model = work / "model.gguf";
    io::write_gguf(model, std::vector<io::gguf_entry>{{"general.architecture", std::string("llama")}, {"general.type", std::string("model")}}, {});
    CHECK_THROWS_WITH(llama::write_gguf_lora(model, config, {q_layer()}, 4.0, {}, "adapter", io::existing_output::replace_ours),
                      Contains("is not a GGUF LoRA adapter"));
    // a refused export leaves nothing behind
    auto nan = q_layer();
    nan.a[0] = std::numeric_limits<float>::infinity();
    CHECK_THROWS(llama::write_gguf_lora(work / "bad.gguf", config, {nan}, 4.0, {}, "adapter"));
    CHECK_FALSE(std::filesystem::exists(work / "bad.gguf"));
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(work.path())) ++entries;
    CHECK(entries == 3);
}

TEST_CASE("GGUF reader refuses truncated and hostile files, naming them", "[gguf]") {
    const auto config = llama::load_config(test::fixtures() / "llama/gqa-untied/config.json");
    test::temp_dir work;
    const auto good = work / "good.gguf";
    llama::write_gguf_lora(good, config, {q_layer()}, 4.0, {}, "adapter");
    const auto bytes = test::read_file(good);
    for (const std::size_t keep : {std::size_t{3}, std::size_t{20}, std::size_t{100}, bytes.size() - 1}) {
        test::write_file(work / "cut.gguf", bytes.substr(0, keep));
        CHECK_THROWS_AS(io::read_gguf(work / "cut.gguf"), format_error);
    }
    auto huge = bytes;
    huge[16] = '\xff';  // the metadata count's low byte: more entries than the file holds
    huge[23] = '\x7f';
    test::write_file(work / "huge.gguf", huge);
    CHECK_THROWS_WITH(io::read_gguf(work / "huge.gguf"), Contains("huge.gguf: declares more entries than the file can hold"));
    test::write_file(work / "text.gguf", "hello, world, this is not a GGUF file");
    CHECK_THROWS_WITH(io::read_gguf(work / "text.gguf"), Contains("is not a GGUF file"));
}

TEST_CASE("GGUF writer refuses contents ggml cannot read", "[gguf]") {
    test::temp_dir work;
    io::gguf_tensor tensor{"t", {2, 3}, io::ggml_type::f32, std::vector<std::byte>(24)};
    std::vector<io::gguf_entry> metadata{{"general.architecture", std::string("llama")}};
    CHECK_NOTHROW(io::write_gguf(work / "ok.gguf", metadata, std::vector<io::gguf_tensor>{tensor}));
    auto twice = metadata;
    twice.push_back(metadata.front());
    CHECK_THROWS_WITH(io::write_gguf(work / "a.gguf", twice, {}), Contains("\"general.architecture\": is given twice"));
    auto long_name = tensor;
    long_name.name.assign(64, 'x');
    CHECK_THROWS_WITH(io::write_gguf(work / "b.gguf", metadata, std::vector<io::gguf_tensor>{long_name}), Contains("GGML_MAX_NAME"));
    auto short_data = tensor;
    short_data.data.resize(20);
    CHECK_THROWS_WITH(io::write_gguf(work / "c.gguf", metadata, std::vector<io::gguf_tensor>{short_data}), Contains("has 20 bytes"));
    CHECK_FALSE(std::filesystem::exists(work / "c.gguf"));
}

TEST_CASE("GGUF reader reads a file gguf-py wrote with another alignment and arrays", "[gguf]") {
    const auto path = test::fixtures() / "gguf/gguf-py-aligned.gguf";
    const auto contents = io::read_gguf(path);
    CHECK(contents.version == 3);
    CHECK(contents.text("general.architecture") == "qwen2");
    REQUIRE(contents.find("general.alignment") != nullptr);
    CHECK(std::get<std::uint32_t>(*contents.find("general.alignment")) == 64);
    CHECK(std::get<bool>(*contents.find("flag")));
    CHECK(contents.array_keys == std::vector<std::string>{"tokens", "ids"});
    CHECK(contents.data_offset % 64 == 0);
    REQUIRE(contents.tensors.size() == 2);
    CHECK(contents.tensors[0].name == "x");
    CHECK(contents.tensors[0].shape == std::vector<std::size_t>{2, 3});
    CHECK(contents.tensors[0].type == 1);
    CHECK(io::read_gguf_tensor(path, contents.tensors[0]) == std::vector<float>{0, 1, 2, 3, 4, 5});
    CHECK((contents.tensors[1].offset - contents.data_offset) % 64 == 0);
    CHECK(io::read_gguf_tensor(path, contents.tensors[1]) == std::vector<float>{0, 1, 2, 3, 4});
}
