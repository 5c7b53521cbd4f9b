#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/io/torch_checkpoint.hpp>
#include <lorahub/io/weight_store.hpp>

#include "../support/files.hpp"

using namespace lorahub;
using Catch::Matchers::Contains;

namespace {

std::filesystem::path bin() { return test::fixtures() / "bin"; }

}  // namespace

TEST_CASE("a torch.save checkpoint converts to the bytes safetensors.torch.save_file writes", "[io][bin]") {
    // every storage dtype, shared storages, an offset view, transposed and strided views, a scalar, an empty tensor
    const auto converted = io::torch_checkpoint_as_safetensors(bin() / "dtypes.bin");
    const auto expected = test::read_file(bin() / "dtypes.safetensors");
    REQUIRE(converted.size() == expected.size());
    CHECK(std::memcmp(converted.data(), expected.data(), expected.size()) == 0);
    // a root folder named after a file object ("archive") instead of the file
    const auto from_buffer = io::torch_checkpoint_as_safetensors(bin() / "archive_root.bin");
    CHECK(std::memcmp(from_buffer.data(), expected.data(), expected.size()) == 0);
    const auto file = io::open_weights_file(bin() / "dtypes.bin");
    CHECK(file.read_f32(file.at("transposed")) == std::vector<float>{-1.0f, 0.0f, 1.0f, -0.75f, 0.25f, 1.25f, -0.5f, 0.5f, 1.5f, -0.25f, 0.75f, 1.75f});
}

TEST_CASE("adapters saved as adapter_model.bin load exactly as their safetensors originals", "[io][bin]") {
    for (const char* name : {"pool-0", "pool-1", "pool-2"}) {
        const auto from_bin = io::load_peft_adapter(bin() / name);
        const auto from_safetensors = io::load_peft_adapter(test::fixtures() / "t5" / name);
        REQUIRE(from_bin.layers.size() == from_safetensors.layers.size());
        for (std::size_t i = 0; i < from_bin.layers.size(); ++i) {
            CHECK(from_bin.layers[i].module == from_safetensors.layers[i].module);
            CHECK(from_bin.layers[i].a == from_safetensors.layers[i].a);
            CHECK(from_bin.layers[i].b == from_safetensors.layers[i].b);
        }
    }
    // the layout of the public LoraHub modules, as PEFT writes it with safe_serialization=False
    const auto public_layout = io::load_peft_adapter(bin() / "lorahub-layout");
    CHECK(public_layout.config.r == 16);
    CHECK(public_layout.layers.front().scaling == 2.0f);
    CHECK(public_layout.layers.front().rank == 16);
}

TEST_CASE("hostile .bin files are refused before anything runs, naming what is wrong", "[io][bin][hostile]") {
    const std::filesystem::path marker = "/tmp/lorahub-pickle-was-executed";
    std::filesystem::remove(marker);
    const std::vector<std::pair<std::string, std::string>> cases{
        {"os_system.bin", "global posix.system is not allowed"},
        {"eval.bin", "global __builtin__.eval is not allowed"},
        {"unknown_global.bin", "global numpy.core.multiarray._reconstruct is not allowed"},
        {"reduce_storage.bin", "REDUCE of torch.FloatStorage is not allowed"},
        {"deep_nesting.bin", "nest deeper than 64 levels"},
        {"memo_bomb.bin", "nest deeper than 64 levels"},
        {"memo_index.bin", "memo index 4294967295 is past the limit"},
        {"unknown_opcode.bin", "opcode 0xff is not allowed"},
        {"truncated_pickle.bin", "the pickle ends early"},
        {"storage_too_big.bin", "claims 268435456 elements, but its entry holds 16 bytes"},
        {"view_out_of_range.bin", "reaches element 5 of storage \"0\", which has 4"},
        {"truncated.bin", "is not a valid ZIP archive"},
        {"lying_directory.bin", "9 bytes follow STOP"},
        {"compressed.bin", "is compressed"},
    };
    for (const auto& [file, message] : cases) {
        INFO(file);
        CHECK_THROWS_WITH(io::torch_checkpoint_as_safetensors(bin() / "hostile" / file), Contains(file) && Contains(message));
    }
    CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("a model directory of sharded pytorch_model.bin files holds the same tensors as model.safetensors", "[io][bin]") {
    const io::weight_store from_bin(bin() / "flan-odd-bin");
    const io::weight_store from_safetensors(test::fixtures() / "t5/flan-odd");
    REQUIRE(from_bin.tensors().size() == from_safetensors.tensors().size());
    CHECK(from_bin.files().size() == 2);
    for (const auto& [name, located] : from_safetensors.tensors()) {
        const auto* other = from_bin.find(name);
        REQUIRE(other != nullptr);
        CHECK(located.file->read_f32(*located.view) == other->file->read_f32(*other->view));
    }
}
