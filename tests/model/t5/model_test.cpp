#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/concepts.hpp>
#include <lorahub/model/t5/model.hpp>

#include "../../support/bf16_checkpoint.hpp"
#include "../../support/files.hpp"
#include "../../support/t5_fixtures.hpp"

using namespace lorahub;

static_assert(Backend<cpu::backend> && Backend<cpu::eigen_backend>);
static_assert(Model<t5::model<cpu::backend>> && Model<t5::model<cpu::eigen_backend>>);

namespace {

const io::json& expected() { return test::t5_expected(); }
t5::batch fixture_batch() { return test::t5_fixture_batch(); }

double max_abs_error(const std::vector<float>& ours, const io::safetensors_file& reference, const std::string& name) {
    const auto theirs = reference.read_f32(reference.at(name));
    REQUIRE(theirs.size() == ours.size());
    double worst = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - theirs[i]));
    return worst;
}

/// Checks logits, loss and greedy ids of one (model, adapter) pair against HF's.
template <class Model>
void check_parity(const Model& model, const lora_binding* lora, const std::string& model_name, const std::string& variant) {
    const auto examples = fixture_batch();
    const io::safetensors_file reference(test::fixtures() / ("t5/" + model_name + ".expected.safetensors"));
    const auto& want = expected()[model_name][variant];
    const auto logits = model.logits(examples, lora);
    for (std::size_t s = 0; s < logits.size(); ++s) {
        INFO("example " << s);
        CHECK(max_abs_error(logits[s], reference, variant + ".logits." + std::to_string(s)) <= 1e-4);
    }
    const double loss = model.loss(examples, lora);
    const double reference_loss = want["loss"].get<double>();
    CHECK(std::abs(loss - reference_loss) / reference_loss <= 1e-5);
    const auto greedy = model.generate(examples.inputs, lora, 24);
    CHECK(greedy == want["greedy"].get<std::vector<std::vector<int>>>());
}

}  // namespace

TEMPLATE_TEST_CASE("logits, loss and greedy ids match HF without LoRA", "[t5][parity]", cpu::eigen_backend,
                   cpu::basic_backend<cpu::basic_onednn_gemm<0>>) {
    for (const char* name : {"flan-odd", "t5-relu"}) {
        INFO("model " << name);
        const auto model = t5::model<TestType>::load(test::fixtures() / "t5" / name);
        check_parity(model, nullptr, name, "base");
    }
}

TEMPLATE_TEST_CASE("runtime LoRA and merged weights both match HF with PEFT adapters", "[t5][parity][lora]", cpu::eigen_backend,
                   cpu::basic_backend<cpu::basic_onednn_gemm<0>>) {
    const std::vector<std::pair<std::string, std::string>> cases{{"flan-odd", "qv"}, {"flan-odd", "all"}, {"t5-relu", "ko-ff-rslora"}};
    for (const auto& [model_name, adapter_name] : cases) {
        INFO("model " << model_name << ", adapter " << adapter_name);
        const auto model = t5::model<TestType>::load(test::fixtures() / "t5" / model_name);
        const auto adapter = io::load_peft_adapter(test::fixtures() / "t5" / (model_name + "." + adapter_name));
        const auto lora = model.bind(adapter.layers, adapter_name);
        SECTION("runtime LoRA " + model_name + "." + adapter_name) { check_parity(model, &lora, model_name, adapter_name); }
        SECTION("merged " + model_name + "." + adapter_name) { check_parity(model.merged(lora), nullptr, model_name, adapter_name); }
    }
}

TEST_CASE("the base weights stay untouched by LoRA and merging", "[t5][lora]") {
    const auto model = t5::model<>::load(test::fixtures() / "t5/flan-odd");
    const auto adapter = io::load_peft_adapter(test::fixtures() / "t5/flan-odd.qv");
    const auto lora = model.bind(adapter.layers, "qv");
    const auto before = model.loss(fixture_batch());
    [[maybe_unused]] const auto merged = model.merged(lora);
    [[maybe_unused]] const auto with_lora = model.loss(fixture_batch(), &lora);
    CHECK(model.loss(fixture_batch()) == before);
    const auto& q = model.tensors().linears[model.tensors().linear_index("encoder.block.0.layer.0.SelfAttention.q")];
    const auto* stored = model.tensors().store().find("encoder.block.0.layer.0.SelfAttention.q.weight");
    CHECK(static_cast<const void*>(q.weight.data()) == static_cast<const void*>(stored->view->bytes.data()));  // a view, not a copy
}

TEST_CASE("bad batches and mismatched adapters are clear errors", "[t5][lora]") {
    const auto model = t5::model<>::load(test::fixtures() / "t5/t5-relu");
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(model.loss({{{5, 1}}, {{}}}), Contains("sequence 0 is empty"));
    CHECK_THROWS_WITH(model.loss({{{5, 1}}, {{3, 1}, {4, 1}}}), Contains("1 inputs but 2 label sequences"));
    CHECK_THROWS_WITH(model.loss({{{5, 999}}, {{3, 1}}}), Contains("token id 999, outside the model's vocabulary of 200"));
    CHECK_THROWS_WITH(model.generate({{}}, nullptr, 4), Contains("sequence 0 is empty"));
    const auto other = io::load_peft_adapter(test::fixtures() / "t5/flan-odd.qv");
    CHECK_THROWS_WITH(model.bind(other.layers, "flan-odd.qv"), Contains("flan-odd.qv: LoRA module"));
}

TEST_CASE("bf16 compute mode stays within bf16 tolerance of HF's float32 results", "[t5][bf16]") {
    const std::vector<std::pair<std::string, std::string>> cases{{"flan-odd", "base"}, {"flan-odd", "qv"}, {"t5-relu", "ko-ff-rslora"}};
    for (const auto& [model_name, variant] : cases) {
        INFO("model " << model_name << ", " << variant);
        const auto model = t5::model<cpu::bf16_backend>::load(test::fixtures() / "t5" / model_name);
        const auto adapter = variant == "base" ? io::peft_adapter{} : io::load_peft_adapter(test::fixtures() / "t5" / (model_name + "." + variant));
        const auto lora = model.bind(adapter.layers, variant);
        const auto* bound = variant == "base" ? nullptr : &lora;
        const auto examples = fixture_batch();
        const auto logits = model.logits(examples, bound);
        for (std::size_t s = 0; s < logits.size(); ++s) {
            const auto error = test::logit_error_against_hf(logits[s], model_name, variant, s);
            INFO("example " << s << ": largest |logit| " << error.largest << ", worst error " << error.worst);
            CHECK(error.worst <= 2e-2 * error.largest);
        }
        const double reference_loss = expected()[model_name][variant]["loss"].get<double>();
        CHECK(std::abs(model.loss(examples, bound) - reference_loss) / reference_loss <= 1e-2);
    }
}

TEST_CASE("a BF16 checkpoint's linear weights are used in place by the bf16 backend, with the round trip's results", "[t5][bf16]") {
    const test::temp_dir dir;
    test::write_bf16_copy(test::fixtures() / "t5/flan-odd", dir.path());
    const auto in_place = t5::model<cpu::bf16_backend>::load(dir.path());
    const auto& tensors = in_place.tensors();
    for (const auto& linear : tensors.linears) {
        INFO(linear.module);
        CHECK(linear.weight.empty());  // no float32 copy
        CHECK(static_cast<const void*>(linear.bf16.data()) == static_cast<const void*>(tensors.store().find(linear.module + ".weight")->view->bytes.data()));
    }
    // the same file converted to float32 at load, then rounded back by the backend: the same bits
    const auto c = t5::load_config(dir.path() / "config.json");
    const auto store = std::make_shared<const io::weight_store>(dir.path());
    const auto as_float = std::make_shared<const t5::weights>(c, store, linear_weight_form::float32);
    const auto as_stored = std::make_shared<const t5::weights>(c, store, linear_weight_form::stored_bf16);
    CHECK_FALSE(as_float->linears.front().weight.empty());
    const t5::model<cpu::bf16_backend> round_trip(as_float);
    const auto adapter = io::load_peft_adapter(test::fixtures() / "t5/flan-odd.qv");
    const auto examples = fixture_batch();
    const auto lora = in_place.bind(adapter.layers, "qv"), lora_round_trip = round_trip.bind(adapter.layers, "qv");
    CHECK(in_place.loss(examples, &lora) == round_trip.loss(examples, &lora_round_trip));
    CHECK(in_place.logits(examples, nullptr) == round_trip.logits(examples, nullptr));
    // a float32 backend given the in-place tensors converts them itself: as if loaded as float32
    const t5::model<cpu::backend> fp32_in_place(as_stored), fp32(as_float);
    CHECK(fp32_in_place.logits(examples, nullptr) == fp32.logits(examples, nullptr));
    // merging converts the stored values exactly
    CHECK(in_place.merged_weights(lora) == round_trip.merged_weights(lora_round_trip));
    // and against HF's float32 model, within bf16's tolerance
    const double reference_loss = expected()["flan-odd"]["qv"]["loss"].get<double>();
    CHECK(std::abs(in_place.loss(examples, &lora) - reference_loss) / reference_loss <= 1e-2);
}

TEST_CASE("a NaN in a BF16 linear weight kept in place is an error naming the tensor and its file", "[t5][bf16]") {
    const test::temp_dir dir;
    const std::string tensor = "decoder.block.0.layer.1.EncDecAttention.k.weight";
    test::write_bf16_copy(test::fixtures() / "t5/flan-odd", dir.path(), tensor);
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(t5::model<cpu::bf16_backend>::load(dir.path()),
                      Contains(tensor) && Contains("NaN at element 5") && Contains("model.safetensors"));
    CHECK_THROWS_WITH(t5::model<cpu::backend>::load(dir.path()), Contains(tensor) && Contains("NaN at element 5"));
}

TEMPLATE_TEST_CASE("a population's losses in one pass equal HF's loss of each candidate", "[t5][population]", cpu::eigen_backend,
                   cpu::backend, cpu::bf16_backend) {
    static_assert(PopulationModel<t5::model<TestType>>);
    const auto model = t5::model<TestType>::load(test::fixtures() / "t5/flan-odd");
    const auto qv = io::load_peft_adapter(test::fixtures() / "t5/flan-odd.qv");
    const auto all = io::load_peft_adapter(test::fixtures() / "t5/flan-odd.all");
    const auto qv_lora = model.bind(qv.layers, "qv");
    const auto all_lora = model.bind(all.layers, "all");
    const std::vector<const lora_binding*> candidates{&qv_lora, nullptr, &all_lora, &qv_lora, &all_lora};
    const std::vector<std::string> variants{"qv", "base", "all", "qv", "all"};
    const auto examples = fixture_batch();
    auto context = model.make_context();
    const auto together = model.losses(examples, candidates, context);
    REQUIRE(together.size() == candidates.size());
    const bool bf16 = std::is_same_v<TestType, cpu::bf16_backend>;
    for (std::size_t p = 0; p < candidates.size(); ++p) {
        INFO("candidate " << p << " (" << variants[p] << ")");
        const double alone = model.loss(examples, candidates[p], context);
        CHECK(std::abs(together[p] - alone) / alone <= (bf16 ? 1e-3 : 1e-6));
        const double reference = expected()["flan-odd"][variants[p]]["loss"].get<double>();
        CHECK(std::abs(together[p] - reference) / reference <= (bf16 ? 1e-2 : 1e-5));
    }
    CHECK(model.losses(examples, std::span<const lora_binding* const>{}, context).empty());
    // a single loss after a population pass reuses the context without leftovers
    CHECK(std::abs(model.loss(examples, &all_lora, context) - expected()["flan-odd"]["all"]["loss"].get<double>()) /
              expected()["flan-odd"]["all"]["loss"].get<double>() <=
          (bf16 ? 1e-2 : 1e-5));
}
