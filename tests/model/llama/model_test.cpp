#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/concepts.hpp>
#include <lorahub/hub/merge.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/model/llama/model.hpp>

#include "../../support/bf16_checkpoint.hpp"
#include "../../support/files.hpp"
#include "../../support/llama_fixtures.hpp"

using namespace lorahub;
using Catch::Matchers::Contains;

static_assert(Model<llama::model<cpu::backend>> && PopulationModel<llama::model<cpu::backend>>);
static_assert(Model<llama::model<cpu::eigen_backend>> && Model<llama::model<cpu::bf16_backend>>);

namespace {

const io::json& expected() { return test::llama_expected(); }

llama::batch fixture_batch() { return test::llama_fixture_batch(); }

/// The examples as HF tokenized them for `model_name`: its own (tokenizer.json models) or the
/// shared tokenizer.model ones.
llama::batch fixture_batch(const std::string& model_name) {
    if (!expected()[model_name].contains("examples")) return fixture_batch();
    llama::batch examples;
    for (const auto& example : expected()[model_name]["examples"]) {
        examples.inputs.push_back(example["prompt_ids"].get<std::vector<int>>());
        examples.labels.push_back(example["completion_ids"].get<std::vector<int>>());
    }
    return examples;
}

std::filesystem::path fixture(const std::string& name) { return test::fixtures() / "llama" / name; }

/// HF's logits of example s at sequence positions [first, first + rows).
std::vector<float> hf_logits(const std::string& model_name, const std::string& variant, std::size_t s, std::size_t first, std::size_t rows) {
    const io::safetensors_file reference(fixture(model_name + ".expected.safetensors"));
    const auto all = reference.read_f32(reference.at(variant + ".logits." + std::to_string(s)));
    const std::size_t vocab = expected()[model_name].value("vocab_size", expected()["vocab_size"].get<std::size_t>());
    return {all.begin() + static_cast<std::ptrdiff_t>(first * vocab), all.begin() + static_cast<std::ptrdiff_t>((first + rows) * vocab)};
}

/// The largest |ours - HF|; in bf16 mode, relative to the largest |HF logit| (the scale a
/// low-precision tolerance refers to).
double logit_error(const std::vector<float>& ours, const std::vector<float>& theirs, bool relative) {
    REQUIRE(ours.size() == theirs.size());
    double worst = 0, largest = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - theirs[i]));
        largest = std::max(largest, std::abs(static_cast<double>(theirs[i])));
    }
    return relative ? worst / largest : worst;
}

/// Logits (at every completion position, and at every position of the whole sequence),
/// loss and greedy ids of one (model, adapter) pair against HF's: fp32 within 1e-4 (loss 1e-5
/// relative); bf16 within 5e-2 of the largest logit (loss 1e-2; bf16 rounding of every
/// activation compounds over the layers of these random models: 3.2% seen), no greedy ids.
template <class Model>
void check_parity(const Model& model, const lora_binding* lora, const std::string& model_name, const std::string& variant, bool bf16 = false) {
    const double tolerance = bf16 ? 5e-2 : 1e-4;
    const auto examples = fixture_batch(model_name);
    const auto& want = expected()[model_name][variant];
    const auto logits = model.logits(examples, lora);
    for (std::size_t s = 0; s < logits.size(); ++s) {
        INFO("example " << s);
        const auto theirs = hf_logits(model_name, variant, s, examples.inputs[s].size() - 1, examples.labels[s].size());
        CHECK(logit_error(logits[s], theirs, bf16) <= tolerance);
        // every position: the whole sequence after bos as labels
        llama::batch whole{{{examples.inputs[s].front()}}, {{}}};
        whole.labels[0].assign(examples.inputs[s].begin() + 1, examples.inputs[s].end());
        whole.labels[0].insert(whole.labels[0].end(), examples.labels[s].begin(), examples.labels[s].end());
        const auto all = model.logits(whole, lora)[0];
        CHECK(logit_error(all, hf_logits(model_name, variant, s, 0, whole.labels[0].size()), bf16) <= tolerance);
    }
    const double loss = model.loss(examples, lora);
    const double reference_loss = want["loss"].get<double>();
    CHECK(std::abs(loss - reference_loss) / reference_loss <= (bf16 ? 1e-2 : 1e-5));
    if (bf16) return;  // greedy ids of a random model may flip on its near-ties
    const auto greedy = model.generate(examples.inputs, lora, expected()["greedy_tokens"].get<std::size_t>());
    CHECK(greedy == want["greedy"].get<std::vector<std::vector<int>>>());
}

const std::vector<std::string> model_names{"gqa-untied", "mha-tied-linear", "mistral-headdim", "llama3-rope", "mistral-window", "qwen2-window"};
const std::vector<std::pair<std::string, std::string>> adapter_cases{
    {"gqa-untied", "all"}, {"gqa-untied", "qv"},        {"mha-tied-linear", "mlp-rslora"}, {"mistral-headdim", "qkvo"},
    {"llama3-rope", "qv"}, {"mistral-window", "qv"}, {"qwen2-window", "qkv"}};

}  // namespace

TEMPLATE_TEST_CASE("Llama-family logits, loss and greedy ids match HF without LoRA", "[llama][parity]", cpu::eigen_backend,
                   cpu::basic_backend<cpu::basic_onednn_gemm<0>>) {
    for (const auto& name : model_names) {
        INFO("model " << name);
        const auto model = llama::model<TestType>::load(fixture(name));
        check_parity(model, nullptr, name, "base");
    }
}

TEMPLATE_TEST_CASE("Llama-family runtime LoRA and merged weights match HF with PEFT CAUSAL_LM adapters", "[llama][parity][lora]",
                   cpu::eigen_backend, cpu::basic_backend<cpu::basic_onednn_gemm<0>>) {
    for (const auto& [model_name, adapter_name] : adapter_cases) {
        INFO("model " << model_name << ", adapter " << adapter_name);
        const auto model = llama::model<TestType>::load(fixture(model_name));
        const auto adapter = io::load_peft_adapter(fixture(model_name + "." + adapter_name));
        const auto lora = model.bind(adapter.layers, adapter_name);
        check_parity(model, &lora, model_name, adapter_name);
        check_parity(model.merged(lora), nullptr, model_name, adapter_name);
    }
}

TEST_CASE("a merged Llama model written to disk loads and matches HF with the adapter", "[llama][merge]") {
    test::temp_dir dir;
    const auto model = llama::model<>::load(fixture("gqa-untied"));
    const auto adapter = io::load_peft_adapter(fixture("gqa-untied.all"));
    save_merged_model(model, model.bind(adapter.layers, "all"), dir / "merged");
    CHECK(std::filesystem::exists(dir / "merged/tokenizer.model"));
    check_parity(llama::model<>::load(dir / "merged"), nullptr, "gqa-untied", "all");
}

TEST_CASE("a population of LoRA candidates scores as one loss per candidate", "[llama][population]") {
    const auto model = llama::model<>::load(fixture("gqa-untied"));
    const auto all = io::load_peft_adapter(fixture("gqa-untied.all"));
    const auto qv = io::load_peft_adapter(fixture("gqa-untied.qv"));
    const auto first = model.bind(all.layers, "all"), second = model.bind(qv.layers, "qv");
    const std::vector<const llama::model<>::lora_binding*> population{&first, nullptr, &second};
    auto context = model.make_context();
    const auto losses = model.losses(fixture_batch(), population, context);
    REQUIRE(losses.size() == 3);
    CHECK(losses[0] == Approx(expected()["gqa-untied"]["all"]["loss"].get<double>()).epsilon(1e-5));
    CHECK(losses[1] == Approx(expected()["gqa-untied"]["base"]["loss"].get<double>()).epsilon(1e-5));
    CHECK(losses[2] == Approx(expected()["gqa-untied"]["qv"]["loss"].get<double>()).epsilon(1e-5));
}

TEST_CASE("bf16 compute mode stays within bf16 tolerance of HF's float32 Llama results", "[llama][bf16]") {
    for (const auto& [model_name, adapter_name] : adapter_cases) {
        INFO("model " << model_name << ", adapter " << adapter_name);
        const auto model = llama::model<cpu::bf16_backend>::load(fixture(model_name));
        const auto adapter = io::load_peft_adapter(fixture(model_name + "." + adapter_name));
        const auto lora = model.bind(adapter.layers, adapter_name);
        check_parity(model, &lora, model_name, adapter_name, true);
    }
}

TEST_CASE("a BF16 Llama-family checkpoint's linear weights are used in place by the bf16 backend, with the round trip's results", "[llama][bf16]") {
    const test::temp_dir dir;
    test::write_bf16_copy(fixture("qwen2-window"), dir.path());  // q/k/v biases, sliding windows
    const auto in_place = llama::model<cpu::bf16_backend>::load(dir.path());
    for (const auto& linear : in_place.tensors().linears) CHECK((linear.weight.empty() && !linear.bf16.empty()));
    const auto store = std::make_shared<const io::weight_store>(dir.path());
    const llama::model<cpu::bf16_backend> round_trip(
        std::make_shared<const llama::weights>(llama::load_config(dir.path() / "config.json"), store, linear_weight_form::float32));
    const auto adapter = io::load_peft_adapter(fixture("qwen2-window.qkv"));
    const auto lora = in_place.bind(adapter.layers, "qkv"), lora_round_trip = round_trip.bind(adapter.layers, "qkv");
    const auto examples = fixture_batch("qwen2-window");
    CHECK(in_place.loss(examples, &lora) == round_trip.loss(examples, &lora_round_trip));
    CHECK(in_place.merged_weights(lora) == round_trip.merged_weights(lora_round_trip));
}

TEST_CASE("LoraHub's causal-LM examples are [bos] + input | output + [eos] as HF tokenizes them", "[llama][examples]") {
    const auto model = llama::model<>::load(fixture("mha-tied-linear"));
    llama::batch built;
    for (const auto& example : expected()["examples"])
        model.add_example(built, example["input"].get<std::string>(), example["output"].get<std::string>());
    const auto reference = fixture_batch();
    CHECK(built.inputs == reference.inputs);
    CHECK(built.labels == reference.labels);
    CHECK(model.label_tokens(built) == 5 + [&] {
        std::size_t n = 0;
        for (const auto& labels : reference.labels) n += labels.size() - 1;
        return n;
    }());
    CHECK(model.encode_input(expected()["examples"][1]["input"].get<std::string>()) == reference.inputs[1]);
}

TEST_CASE("tokenizer.json models build LoraHub's examples as AutoTokenizer encodes them: template on the input, none on the output", "[llama][examples]") {
    for (const char* name : {"mistral-window", "qwen2-window"}) {
        INFO(name);
        const auto model = llama::model<>::load(fixture(name));
        llama::batch built;
        for (const auto& example : expected()[name]["examples"])
            model.add_example(built, example["input"].get<std::string>(), example["output"].get<std::string>());
        const auto reference = fixture_batch(name);
        CHECK(built.inputs == reference.inputs);
        CHECK(built.labels == reference.labels);
    }
}

TEST_CASE("Qwen2 and Mistral configs give HF's per-layer sliding windows and Qwen2's q/k/v biases", "[llama][config]") {
    const auto qwen2 = llama::load_config(fixture("qwen2-window/config.json"));
    CHECK(qwen2.layer_windows == std::vector<std::size_t>{0, 6, 6});  // layer_types: full, sliding, sliding
    CHECK(qwen2.qkv_bias);
    CHECK_FALSE(qwen2.has_bos());
    const auto mistral = llama::load_config(fixture("mistral-window/config.json"));
    CHECK(mistral.layer_windows == std::vector<std::size_t>{5, 5});
    CHECK_FALSE(mistral.qkv_bias);
    // without layer_types: use_sliding_window with max_window_layers, as Qwen2Config derives them
    auto document = io::parse_json_strict(test::read_file(fixture("qwen2-window/config.json")), "config.json");
    document.erase("layer_types");
    document["max_window_layers"] = 2;
    CHECK(llama::parse_config(document, "config.json").layer_windows == std::vector<std::size_t>{0, 0, 6});
    document["use_sliding_window"] = false;  // HF: sliding_window = None, every layer full
    CHECK(llama::parse_config(document, "config.json").layer_windows == std::vector<std::size_t>{0, 0, 0});
    document.erase("eos_token_id");
    CHECK_THROWS_WITH(llama::parse_config(document, "config.json"), Contains("has no \"eos_token_id\""));
}

TEST_CASE("bad Llama batches, lengths and adapters are clear errors", "[llama][errors]") {
    const auto model = llama::model<>::load(fixture("mistral-headdim"));
    CHECK_THROWS_WITH(model.loss({{{1, 5}}, {{}}}), Contains("sequence 0 is empty"));
    CHECK_THROWS_WITH(model.loss({{{1, 5}}, {{3, 2}, {4, 2}}}), Contains("1 inputs but 2 label sequences"));
    CHECK_THROWS_WITH(model.loss({{{1, 999}}, {{3, 2}}}), Contains("token id 999, outside the model's vocabulary of 384"));
    CHECK_THROWS_WITH(model.loss({{{1, 5}}, {{3, -100}}}), Contains("token id -100"));
    CHECK_THROWS_WITH(model.generate({{}}, nullptr, 4), Contains("sequence 0 is empty"));
    const std::vector<int> long_prompt(600, 5);
    CHECK_THROWS_WITH(model.loss({{long_prompt}, {{2}}}), Contains("longer than the model's max_position_embeddings (512)"));
    const auto other = io::load_peft_adapter(fixture("gqa-untied.qv"));
    CHECK_THROWS_WITH(model.bind(other.layers, "gqa-untied.qv"), Contains("gqa-untied.qv: LoRA module"));
    // generation stops at the model's range instead of running past it
    const std::vector<int> prompt(500, 5);
    CHECK_THROWS_WITH(model.generate({prompt}, nullptr, 50), Contains("max_position_embeddings"));
}

TEST_CASE("a Llama model without tokenizer.model reads tokenizer.json: prompts with its template, outputs without", "[llama][tokenizer]") {
    test::temp_dir dir;
    const auto source = fixture("mha-tied-linear");
    const auto tokenizer_kind = test::fixtures() / "tokenizer_json/mistral-v03";
    std::filesystem::create_directories(dir / "model");
    for (const char* file : {"config.json", "model.safetensors"}) std::filesystem::copy_file(source / file, dir / "model" / file);
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"}) std::filesystem::copy_file(tokenizer_kind / file, dir / "model" / file);
    const auto model = llama::model<>::load(dir / "model");
    const auto kinds = io::parse_json_strict(test::read_file(test::fixtures() / "tokenizer_json/expected.json"), "expected.json");
    const auto& hello = kinds["kinds"]["mistral-v03"]["cases"][0];
    REQUIRE(hello["text"] == "hello world");
    // AutoTokenizer's ids with special tokens (LlamaTokenizerFast: <s> first), and without
    CHECK(model.encode_input("hello world") == hello["transformers_ids"].get<std::vector<int>>());
    llama::batch built;
    model.add_example(built, "hello world", "hello world");
    auto completion = hello["ids"].get<std::vector<int>>();
    completion.push_back(2);
    CHECK(built.labels[0] == completion);
    CHECK(model.decode_output(completion) == "hello world");
    test::write_file(dir / "model/tokenizer.json", "{}");
    CHECK_THROWS_WITH(llama::model<>::load(dir / "model"), Contains("tokenizer.json: has no \"model\""));
}

TEST_CASE("generation stops at generation_config.json's eos ids, as HF generate does", "[llama][generate]") {
    test::temp_dir dir;
    const auto source = fixture("mha-tied-linear");
    std::filesystem::create_directories(dir / "model");
    for (const char* file : {"config.json", "model.safetensors", "tokenizer.model"}) std::filesystem::copy_file(source / file, dir / "model" / file);
    const auto greedy = expected()["mha-tied-linear"]["base"]["greedy"].get<std::vector<std::vector<int>>>();
    // the fifth token HF generated for example 0 (its first 266) becomes a stop id: generation ends there, keeping it
    const int stop = greedy[0][4];
    test::write_file(dir / "model/generation_config.json", "{\"eos_token_id\": [2, " + std::to_string(stop) + "]}");
    const auto model = llama::model<>::load(dir / "model");
    const auto examples = fixture_batch();
    const auto ids = model.generate({examples.inputs[0]}, nullptr, 12)[0];
    const auto cut = std::find(greedy[0].begin(), greedy[0].end(), stop);
    CHECK(ids == std::vector<int>(greedy[0].begin(), cut + 1));
    test::write_file(dir / "model/generation_config.json", "{\"eos_token_id\": 384}");
    CHECK_THROWS_WITH(llama::model<>::load(dir / "model"), Contains("generation_config.json: \"eos_token_id\" 384 is not below vocab_size 384"));
}
