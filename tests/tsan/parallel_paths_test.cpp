// The parallel paths under ThreadSanitizer (scripts/tsan.sh: clang, -fsanitize=thread, LLVM's
// OpenMP runtime with its Archer tool so that TSan sees OpenMP's synchronization). Products
// are Eigen's here: the Debian oneDNN is built on libgomp, which TSan cannot see into. Each
// case also checks its result, against HF's fixtures or a serial evaluation.
#include <cmath>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/lora/combinations.hpp>
#include <lorahub/lora/kernels.hpp>
#include <lorahub/model/t5/model.hpp>
#include <lorahub/optim/cma_es.hpp>

#include "../support/files.hpp"
#include "../support/t5_fixtures.hpp"
#include "../support/random_hub.hpp"

using namespace lorahub;
using model_type = t5::model<cpu::eigen_backend>;

namespace {

const io::json& expected() { return test::t5_expected(); }
t5::batch fixture_batch() { return test::t5_fixture_batch(); }

bool close(double ours, double theirs) { return std::abs(ours - theirs) <= 1e-5 * std::abs(theirs); }

}  // namespace

TEST_CASE("attention, norms and activations in OpenMP: loss and greedy ids equal HF's", "[tsan]") {
    const auto model = model_type::load(test::fixtures() / "t5/flan-odd");
    const auto adapter = io::load_peft_adapter(test::fixtures() / "t5/flan-odd.all");
    const auto lora = model.bind(adapter.layers, "all");
    const auto examples = fixture_batch();
    CHECK(close(model.loss(examples, &lora), expected()["flan-odd"]["all"]["loss"].get<double>()));
    CHECK(model.generate(examples.inputs, &lora, 24) == expected()["flan-odd"]["all"]["greedy"].get<std::vector<std::vector<int>>>());
}

TEST_CASE("a population scored in one pass equals HF's loss of each candidate", "[tsan]") {
    const auto model = model_type::load(test::fixtures() / "t5/flan-odd");
    const auto qv = io::load_peft_adapter(test::fixtures() / "t5/flan-odd.qv");
    const auto qv_lora = model.bind(qv.layers, "qv");
    const std::vector<const lora_binding*> candidates{&qv_lora, nullptr, &qv_lora};
    auto context = model.make_context();
    const auto losses = model.losses(fixture_batch(), candidates, context);
    CHECK(close(losses[0], expected()["flan-odd"]["qv"]["loss"].get<double>()));
    CHECK(close(losses[1], expected()["flan-odd"]["base"]["loss"].get<double>()));
    CHECK(close(losses[2], expected()["flan-odd"]["qv"]["loss"].get<double>()));
}

TEST_CASE("one immutable model shared by two threads, each with its own context", "[tsan]") {
    const auto model = model_type::load(test::fixtures() / "t5/flan-odd");
    const auto adapter = io::load_peft_adapter(test::fixtures() / "t5/flan-odd.qv");
    const auto lora = model.bind(adapter.layers, "qv");
    const auto examples = fixture_batch();
    double first = 0, second = 0;
    std::thread a([&] { first = model.loss(examples, &lora); });
    std::thread b([&] {
        auto context = model.make_context();
        second = model.losses(examples, std::vector<const lora_binding*>{nullptr, &lora}, context)[1];
    });
    a.join();
    b.join();
    const double reference = expected()["flan-odd"]["qv"]["loss"].get<double>();
    CHECK(close(first, reference));
    CHECK(close(second, reference));
}

TEST_CASE("learn with CMA-ES populations scored together", "[tsan]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 4, 21);
    const auto model = model_type::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    t5::batch batch;
    for (const auto& input : test::random_inputs(5, 3)) {
        batch.inputs.push_back(input);
        batch.labels.push_back({input.front(), input.back(), 1});
    }
    const examples_for<model_type> examples{{batch}, 5};
    learn_options<model_type> options;
    options.budget = 24;
    options.population = 8;
    const auto together = learn<optim::cma_es>(model, pool, examples, options);
    options.population_pass = 1;
    const auto alone = learn<optim::cma_es>(model, pool, examples, options);
    REQUIRE(together.trace.size() == alone.trace.size());
    for (std::size_t i = 0; i < alone.trace.size(); ++i) CHECK(std::abs(together.trace[i].loss - alone.trace[i].loss) <= 1e-6 * alone.trace[i].loss);
}

TEST_CASE("compose, RMSNorm and activations above their parallel thresholds equal serial loops", "[tsan]") {
    const std::size_t modules = 20, length = 1 << 18;  // 5 M floats: past lora::weighted_sums' parallel threshold
    std::vector<float> stack(modules * length), out(length);
    for (std::size_t i = 0; i < stack.size(); ++i) stack[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
    std::vector<double> w(modules);
    for (std::size_t i = 0; i < modules; ++i) w[i] = 0.05 * static_cast<double>(i) - 0.4;
    lora::weighted_sum(stack, w, out);
    for (std::size_t j = 0; j < length; j += 997) {
        float serial = 0;
        for (std::size_t i = 0; i < modules; ++i) serial += static_cast<float>(w[i]) * stack[i * length + j];
        CHECK(out[j] == Approx(serial).margin(1e-5));
    }
    const std::size_t rows = 200, width = 1024;
    std::vector<float> x(stack.begin(), stack.begin() + static_cast<std::ptrdiff_t>(rows * width)), normed(rows * width), ones(width, 1.0f);
    cpu::rms_norm(x.data(), rows, width, ones.data(), 1e-6f, normed.data());
    double squares = 0;
    for (std::size_t i = 0; i < width; ++i) squares += static_cast<double>(normed[5 * width + i]) * normed[5 * width + i];
    CHECK(squares / static_cast<double>(width) == Approx(1.0).epsilon(1e-3));
    auto activated = x;
    cpu::activate_in_place(activation::gelu_tanh, activated.data(), nullptr, activated.size());
    for (std::size_t i = 0; i < activated.size(); i += 4099) CHECK(activated[i] == Approx(activate(activation::gelu_tanh, x[i])).margin(1e-6));
}

TEST_CASE("two threads composing one pool with TIES at once find its weight-free part once, and both get the serial result", "[tsan]") {
    const std::vector<lora_target> shapes{{"t0", 1024, 1024}, {"t1", 1024, 1024}};
    auto pool = lora_pool::with_shapes(5, shapes, 256, 2.0f);  // 5.2 M floats: past the parallel threshold
    std::size_t k = 0;
    for (auto& stack : pool.stacks()) {
        for (auto& v : stack.a) v = static_cast<float>((k++ * 7919) % 1000) / 1000.0f - 0.5f;
        for (auto& v : stack.b) v = static_cast<float>((k++ * 104729) % 1000) / 1000.0f - 0.5f;
    }
    combine_ties composer;
    composer.options.density = 0.4;
    const std::vector<double> w{0.7, 0.4, 1.3, 0.1, 2.5};
    auto first = composer.allocate(pool), second = composer.allocate(pool), serial = composer.allocate(pool);
    std::thread one([&] { composer.compose(pool, w, first); }), two([&] { composer.compose(pool, w, second); });
    one.join();
    two.join();
    const lora_pool copy = pool;  // a copy finds everything anew
    composer.compose(copy, w, serial);
    for (std::size_t t = 0; t < shapes.size(); ++t) {
        CHECK((first[t].a == serial[t].a && first[t].b == serial[t].b));
        CHECK((second[t].a == serial[t].a && second[t].b == serial[t].b));
    }
}
