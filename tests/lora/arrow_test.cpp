// Arrow routing (lora/arrow.hpp) against PEFT's create_arrow_model on both model families:
// tests/fixtures/make_arrow_fixtures.py recorded PEFT 0.18's logits, losses and prototypes.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/hub/merge.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/lora/arrow.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/model/llama/model.hpp>
#include <lorahub/model/t5/model.hpp>

#include "../support/arrow_fixtures.hpp"
#include "../support/files.hpp"
#include "../support/llama_fixtures.hpp"
#include "../support/t5_fixtures.hpp"

using namespace lorahub;
using Catch::Matchers::Contains;

namespace {

/// The routed layers of a fixture variant: its top-k and temperature, GenKnowSub when it says so.
std::vector<lora_layer> arrow_variant_layers(const std::string& family, const std::string& variant, const arrow_options* override_options = nullptr) {
    const auto& settings = test::arrow_expected()["variants"][variant];
    auto tasks = lora_pool::load(test::arrow_modules(family, "task", test::arrow_expected()["task_modules"].get<std::size_t>()));
    if (settings["use_gks"].get<bool>())
        tasks = subtract_general_knowledge(tasks, lora_pool::load(test::arrow_modules(family, "general", test::arrow_expected()["general_modules"].get<std::size_t>())));
    const arrow_options options{settings["top_k"].get<std::size_t>(), settings["router_temperature"].get<double>()};
    return arrow_layers(tasks, override_options ? *override_options : options);
}

double max_routed_logit_error(const std::vector<float>& ours, const std::vector<float>& theirs) {
    if (ours.size() != theirs.size()) return INFINITY;
    double worst = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - theirs[i]));
    return worst;
}

/// Logits at every label position within 1e-4 of PEFT's, the loss within 1e-5 relative, and
/// the greedy ids of generate() (the KV-cache path) identical.
template <class Model, class Batch>
void check_arrow_variant(const Model& model, const Batch& examples, const std::string& family, const std::string& variant) {
    const auto layers = arrow_variant_layers(family, variant);
    const auto binding = model.bind(layers, family + " Arrow");
    const auto logits = model.logits(examples, &binding);
    for (std::size_t s = 0; s < logits.size(); ++s) {
        INFO(family << " " << variant << " example " << s);
        const auto theirs = test::arrow_reference().read_f32(test::arrow_reference().at(family + "." + variant + ".logits." + std::to_string(s)));
        CHECK(max_routed_logit_error(logits[s], theirs) <= 1e-4);
    }
    auto context = model.make_context();
    const double loss = model.loss(examples, &binding, context), want = test::arrow_expected()[family][variant]["loss"].get<double>();
    CHECK(std::abs(loss - want) / want <= 1e-5);
    const auto greedy = model.generate(examples.inputs, &binding, test::arrow_expected()["greedy_tokens"][family].get<std::size_t>());
    CHECK(greedy == test::arrow_expected()[family][variant]["greedy"].get<std::vector<std::vector<int>>>());
}

}  // namespace

TEST_CASE("Arrow's prototypes are the top right singular vectors PEFT's power iteration converged to", "[arrow]") {
    // make_arrow_fixtures.py checked that PEFT's 15 iterations reached the exact vectors (9e-8 seen)
    for (const std::string family : {"t5", "llama"})
        for (const std::string variant : {"top2", "top3-t0.5-gks"}) {
            const auto layers = arrow_variant_layers(family, variant);
            for (const auto& layer : layers) {
                INFO(family << " " << variant << " " << layer.module);
                const auto theirs = test::arrow_reference().read_f32(test::arrow_reference().at(family + "." + variant + ".prototypes." + layer.module));
                const auto& routing = *layer.routing;
                REQUIRE(theirs.size() == routing.prototypes.size());
                for (std::size_t e = 0; e < routing.experts; ++e) {
                    double same = 0, flipped = 0;  // a singular vector's sign is arbitrary
                    for (std::size_t i = 0; i < layer.in_features; ++i) {
                        const double ours = routing.prototypes[e * layer.in_features + i], hf = theirs[e * layer.in_features + i];
                        same = std::max(same, std::abs(ours - hf));
                        flipped = std::max(flipped, std::abs(ours + hf));
                    }
                    CHECK(std::min(same, flipped) <= 1e-6);
                }
            }
        }
}

TEST_CASE("the top right singular vector of a known B A", "[arrow]") {
    // B A = 3 u1 v1^T + 1 u2 v2^T with v1 = (0, 0.6, 0.8), v2 = (1, 0, 0); the factors mix them
    const std::vector<float> a{0.0f, 1.2f, 1.6f, 2.0f, 0.0f, 0.0f};  // [2, 3]: rows 2 v1 and 2 v2
    const std::vector<float> b{1.5f, 0.0f, 0.0f, 0.5f};             // [2, 2]: diag(1.5, 0.5)
    const auto v = top_right_singular_vector(a, b, 2, 3, 2);
    REQUIRE(v.size() == 3);
    CHECK(std::abs(std::abs(v[1]) - 0.6f) < 1e-6f);
    CHECK(std::abs(std::abs(v[2]) - 0.8f) < 1e-6f);
    CHECK(std::abs(v[0]) < 1e-6f);
    const std::vector<float> zero_b(4, 0.0f);
    CHECK(top_right_singular_vector(a, zero_b, 2, 3, 2) == std::vector<float>(3, 0.0f));
}

TEMPLATE_TEST_CASE("Arrow routing matches PEFT's create_arrow_model on a T5", "[arrow][t5][parity]", cpu::backend, cpu::eigen_backend) {
    const auto model = t5::model<TestType>::load(test::fixtures() / "t5/flan-odd");
    for (const std::string variant : {"top2", "top3-t0.5-gks", "top1"}) check_arrow_variant(model, test::t5_fixture_batch(), "t5", variant);
}

TEMPLATE_TEST_CASE("Arrow routing matches PEFT's create_arrow_model on a Llama", "[arrow][llama][parity]", cpu::backend, cpu::eigen_backend) {
    const auto model = llama::model<TestType>::load(test::fixtures() / "llama/gqa-untied");
    for (const std::string variant : {"top2", "top3-t0.5-gks", "top1"}) check_arrow_variant(model, test::llama_fixture_batch(), "llama", variant);
}

TEST_CASE("the routing decides the logits: other top-k or temperatures miss PEFT's", "[arrow][llama]") {
    const auto model = llama::model<cpu::backend>::load(test::fixtures() / "llama/gqa-untied");
    const auto examples = test::llama_fixture_batch();
    const auto theirs = test::arrow_reference().read_f32(test::arrow_reference().at("llama.top2.logits.0"));
    for (const arrow_options& other : {arrow_options{4, 1.0}, arrow_options{2, 3.0}, arrow_options{1, 1.0}}) {
        const auto layers = arrow_variant_layers("llama", "top2", &other);
        const auto binding = model.bind(layers, "Arrow");
        CHECK(max_routed_logit_error(model.logits(examples, &binding)[0], theirs) > 1e-3);
    }
}

TEST_CASE("Arrow refuses bad options, mismatched general modules, merging and saving", "[arrow]") {
    const auto tasks = lora_pool::load(test::arrow_modules("llama", "task", 4));
    CHECK_THROWS_WITH(arrow_layers(tasks, {0, 1.0}), Contains("top-k") && Contains("at least 1"));
    CHECK_THROWS_WITH(arrow_layers(tasks, {5, 1.0}), Contains("5 exceeds the 4 modules it routes among"));
    CHECK_THROWS_WITH(arrow_layers(tasks, {2, 0.0}), Contains("temperature"));
    CHECK_THROWS_WITH(arrow_layers(tasks, {2, std::nan("")}), Contains("temperature"));
    const auto t5_general = lora_pool::load(test::arrow_modules("t5", "general", 2));
    CHECK_THROWS_WITH(subtract_general_knowledge(tasks, t5_general), Contains("GenKnowSub"));

    auto poisoned = tasks;
    poisoned.stacks()[1].b[3] = std::nanf("");
    CHECK_THROWS_WITH(arrow_layers(poisoned, {2, 1.0}), Contains(poisoned.stacks()[1].module) && Contains("lora_B"));

    const auto layers = arrow_layers(tasks, {2, 1.0});
    const auto model = llama::model<cpu::backend>::load(test::fixtures() / "llama/gqa-untied");
    CHECK_THROWS_WITH(model.merged_weights(model.bind(layers, "Arrow")), Contains("routed") && Contains("no single weight"));
    const test::temp_dir out;
    CHECK_THROWS_WITH(io::save_peft_adapter(out.path() / "adapter", tasks.config(), layers), Contains("routed") && Contains("no PEFT LoRA"));
    CHECK_FALSE(std::filesystem::exists(out.path() / "adapter"));
}
