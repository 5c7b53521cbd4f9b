// The Llama-family model on the CUDA backend against HF's fixtures (the checks model_test.cpp
// runs on the CPU): logits at the completion positions, loss and greedy ids (KV cache on the
// device) without and with LoRA, and a population's losses in one pass. Part of
// lorahub_cuda_tests (skipped without a GPU).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include <lorahub/backend/cuda/backend.cuh>
#include <lorahub/concepts.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/model/llama/model.hpp>

#include "../../support/files.hpp"
#include "../../support/llama_fixtures.hpp"

using namespace lorahub;

static_assert(PopulationModel<llama::model<cuda::backend>> && PopulationModel<llama::model<cuda::bf16_backend>>);

namespace {

const io::json& expected() { return test::llama_expected(); }

llama::batch fixture_batch() { return test::llama_fixture_batch(); }

}  // namespace

TEMPLATE_TEST_CASE("the Llama model on CUDA matches HF's logits, loss and greedy ids", "[cuda][llama]", cuda::backend, cuda::tf32_backend,
                   cuda::bf16_backend) {
    const bool exact = std::is_same_v<TestType, cuda::backend>;
    const std::vector<std::pair<std::string, std::string>> cases{
        {"gqa-untied", "base"}, {"gqa-untied", "all"}, {"mha-tied-linear", "mlp-rslora"}, {"mistral-headdim", "qkvo"}};
    const std::size_t vocab = expected()["vocab_size"].get<std::size_t>();
    for (const auto& [model_name, variant] : cases) {
        INFO("model " << model_name << ", " << variant);
        const auto directory = test::fixtures() / "llama";
        const auto model = llama::model<TestType>::load(directory / model_name);
        const auto adapter = variant == "base" ? io::peft_adapter{} : io::load_peft_adapter(directory / (model_name + "." + variant));
        const auto lora = model.bind(adapter.layers, variant);
        const auto* bound = variant == "base" ? nullptr : &lora;
        const auto examples = fixture_batch();
        const auto logits = model.logits(examples, bound);
        const io::safetensors_file reference(directory / (model_name + ".expected.safetensors"));
        for (std::size_t s = 0; s < logits.size(); ++s) {
            const auto all = reference.read_f32(reference.at(variant + ".logits." + std::to_string(s)));
            const std::size_t first = examples.inputs[s].size() - 1;
            double worst = 0, largest = 0;
            for (std::size_t i = 0; i < logits[s].size(); ++i) {
                const double theirs = all[first * vocab + i];
                worst = std::max(worst, std::abs(logits[s][i] - theirs));
                largest = std::max(largest, std::abs(theirs));
            }
            INFO("example " << s << ": worst logit error " << worst << " of " << largest);
            CHECK(worst <= (exact ? 1e-4 : 5e-2 * largest));
        }
        const double want = expected()[model_name][variant]["loss"].get<double>();
        CHECK(std::abs(model.loss(examples, bound) - want) / want <= (exact ? 1e-5 : 1e-2));
        if (exact)
            CHECK(model.generate(examples.inputs, bound, expected()["greedy_tokens"].get<std::size_t>()) ==
                  expected()[model_name][variant]["greedy"].get<std::vector<std::vector<int>>>());
    }
}

TEST_CASE("a population scored in one pass on CUDA equals HF's loss of each Llama candidate", "[cuda][llama][population]") {
    const auto directory = test::fixtures() / "llama";
    const auto model = llama::model<cuda::backend>::load(directory / "gqa-untied");
    const auto all = io::load_peft_adapter(directory / "gqa-untied.all");
    const auto qv = io::load_peft_adapter(directory / "gqa-untied.qv");
    const auto all_lora = model.bind(all.layers, "all");
    const auto qv_lora = model.bind(qv.layers, "qv");
    const std::vector<const cuda::device_lora_binding*> candidates{&all_lora, nullptr, &qv_lora};
    const std::vector<std::string> variants{"all", "base", "qv"};
    auto context = model.make_context();
    const auto losses = model.losses(fixture_batch(), candidates, context);
    for (std::size_t p = 0; p < candidates.size(); ++p) {
        const double want = expected()["gqa-untied"][variants[p]]["loss"].get<double>();
        CHECK(std::abs(losses[p] - want) / want <= 1e-5);
    }
}
