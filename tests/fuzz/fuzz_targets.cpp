// libFuzzer targets for every parser of untrusted input; one binary per target, chosen with
// LORAHUB_FUZZ_TARGET at compile time. A lorahub::error is the expected answer to bad input;
// any other exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <lorahub/core/error.hpp>
#include <lorahub/io/examples.hpp>
#include <lorahub/io/gguf_reader.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/peft_config.hpp>
#include <lorahub/text/tokenizer.hpp>
#include <lorahub/io/pickle.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/io/torch_checkpoint.hpp>
#include <lorahub/io/zip_archive.hpp>
#include <lorahub/model/llama/config.hpp>
#include <lorahub/model/t5/config.hpp>

namespace {

void run(std::span<const std::byte> bytes) {
    using namespace lorahub;
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
#if LORAHUB_FUZZ_TARGET == 1  // safetensors header and file
    (void)io::parse_safetensors(bytes, "fuzz.safetensors");
#elif LORAHUB_FUZZ_TARGET == 2  // ZIP container, then the whole torch checkpoint path
    const io::zip_archive archive("fuzz.bin", std::vector<std::byte>(bytes.begin(), bytes.end()));
    for (const auto& entry : archive.entries())
        if (entry.size < (1u << 20) && entry.stored) (void)archive.read(entry);
    (void)io::torch_checkpoint_as_safetensors(archive);
#elif LORAHUB_FUZZ_TARGET == 3  // restricted unpickler
    (void)io::restricted_unpickler(bytes, "fuzz.pkl").load();
#elif LORAHUB_FUZZ_TARGET == 4  // config.json of a T5 model
    (void)t5::parse_config(io::parse_json_strict(text, "config.json"), "config.json");
#elif LORAHUB_FUZZ_TARGET == 5  // adapter_config.json
    (void)io::parse_peft_config(io::parse_json_strict(text, "adapter_config.json"), "adapter_config.json");
#elif LORAHUB_FUZZ_TARGET == 6  // examples JSONL
    (void)io::parse_examples(text, "examples.jsonl");
#elif LORAHUB_FUZZ_TARGET == 7  // config.json of a Llama-family model
    (void)llama::parse_config(io::parse_json_strict(text, "config.json"), "config.json");
#elif LORAHUB_FUZZ_TARGET == 8  // tokenizer.json, then text through it and ids back: "TEXT\0JSON" (no NUL: all JSON)
    const auto split = text.find('\0');
    const std::string_view sample = split == std::string_view::npos ? std::string_view("Hello world! 123 <s> \xE6\x9D\xB1 \r\n  x") : text.substr(0, split);
    const text::tokenizer tokens(split == std::string_view::npos ? text : text.substr(split + 1), "tokenizer.json");
    const auto ids = tokens.encode(sample, true);
    (void)tokens.decode(ids, false);
    std::vector<int> every;
    for (int id = -2; id < 300; ++id) every.push_back(id);
    (void)tokens.decode(every, true);
#elif LORAHUB_FUZZ_TARGET == 9  // GGUF header, metadata and tensor table, then every float tensor's values
    const auto contents = io::parse_gguf(bytes, "fuzz.gguf");
    for (const auto& info : contents.tensors) {
        const dtype type = info.type == 0 ? dtype::f32 : info.type == 1 ? dtype::f16 : info.type == 30 ? dtype::bf16 : dtype::u8;
        if (type == dtype::u8) continue;
        std::size_t count = 1;
        for (const auto extent : info.shape) count *= extent;
        std::vector<float> values(count);
        convert_to_f32(type, bytes.subspan(info.offset, count * size_of(type)), values, info.name);
    }
#else
#error "LORAHUB_FUZZ_TARGET must be 1 to 9"
#endif
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        run(std::as_bytes(std::span(data, size)));
    } catch (const lorahub::error&) {
    }
    return 0;
}
