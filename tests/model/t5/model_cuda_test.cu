// The T5 model on the CUDA backend against HF's fixtures (the same checks as
// model_test.cpp runs on the CPU): logits, loss and greedy ids without and with LoRA, and a
// population's losses in one pass. Part of lorahub_cuda_tests (skipped without a GPU).
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
#include <lorahub/model/t5/model.hpp>

#include "../../support/files.hpp"
#include "../../support/t5_fixtures.hpp"

using namespace lorahub;

static_assert(PopulationModel<t5::model<cuda::backend>> && PopulationModel<t5::model<cuda::bf16_backend>>);

namespace {

const io::json& expected() { return test::t5_expected(); }
t5::batch fixture_batch() { return test::t5_fixture_batch(); }

}  // namespace

TEMPLATE_TEST_CASE("the T5 model on CUDA matches HF's logits, loss and greedy ids", "[cuda][t5]", cuda::backend, cuda::tf32_backend,
                   cuda::bf16_backend) {
    const bool exact = std::is_same_v<TestType, cuda::backend>;
    const std::vector<std::pair<std::string, std::string>> cases{{"flan-odd", "base"}, {"flan-odd", "qv"}, {"flan-odd", "all"},
                                                                 {"t5-relu", "base"}, {"t5-relu", "ko-ff-rslora"}};
    for (const auto& [model_name, variant] : cases) {
        INFO("model " << model_name << ", " << variant);
        const auto model = t5::model<TestType>::load(test::fixtures() / "t5" / model_name);
        const auto adapter = variant == "base" ? io::peft_adapter{} : io::load_peft_adapter(test::fixtures() / "t5" / (model_name + "." + variant));
        const auto lora = model.bind(adapter.layers, variant);
        const auto* bound = variant == "base" ? nullptr : &lora;
        const auto examples = fixture_batch();
        const auto logits = model.logits(examples, bound);
        for (std::size_t s = 0; s < logits.size(); ++s) {
            const auto error = test::logit_error_against_hf(logits[s], model_name, variant, s);
            INFO("example " << s << ": worst logit error " << error.worst << " of " << error.largest);
            CHECK(error.worst <= (exact ? 1e-4 : 2e-2 * error.largest));
        }
        const double want = expected()[model_name][variant]["loss"].get<double>();
        CHECK(std::abs(model.loss(examples, bound) - want) / want <= (exact ? 1e-5 : 1e-2));
        if (exact) CHECK(model.generate(examples.inputs, bound, 24) == expected()[model_name][variant]["greedy"].get<std::vector<std::vector<int>>>());
    }
}

TEST_CASE("a population scored in one pass on CUDA equals HF's loss of each candidate", "[cuda][t5][population]") {
    const auto model = t5::model<cuda::backend>::load(test::fixtures() / "t5/flan-odd");
    const auto qv = io::load_peft_adapter(test::fixtures() / "t5/flan-odd.qv");
    const auto all = io::load_peft_adapter(test::fixtures() / "t5/flan-odd.all");
    const auto qv_lora = model.bind(qv.layers, "qv");
    const auto all_lora = model.bind(all.layers, "all");
    const std::vector<const cuda::device_lora_binding*> candidates{&qv_lora, nullptr, &all_lora};
    const std::vector<std::string> variants{"qv", "base", "all"};
    auto context = model.make_context();
    const auto losses = model.losses(fixture_batch(), candidates, context);
    for (std::size_t p = 0; p < candidates.size(); ++p) {
        const double want = expected()["flan-odd"][variants[p]]["loss"].get<double>();
        CHECK(std::abs(losses[p] - want) / want <= 1e-5);
    }
}
