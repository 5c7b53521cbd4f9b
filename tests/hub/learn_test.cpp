#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include <catch2/catch.hpp>

#include <lorahub/model/llama/model.hpp>
#include <lorahub/model/t5/model.hpp>
#include <lorahub/hub/infer.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/hub/merge.hpp>
#include <lorahub/hub/score.hpp>
#include <lorahub/lora/combinations.hpp>
#include <lorahub/lora/delta_sum.hpp>
#include <lorahub/optim/cma_es.hpp>
#include <lorahub/optim/cobyla.hpp>
#include <lorahub/optim/nelder_mead.hpp>
#include <lorahub/optim/random_search.hpp>

#include "../support/random_hub.hpp"

using namespace lorahub;

namespace {

/// Few-shot examples and held-out inputs whose targets are the greedy outputs (4 tokens) of
/// the pool composed at the planted weights. Only inputs whose every greedy token wins by a
/// logit margin >= 1 are kept: a real task has decisive answers, while a random network has
/// near-ties that any weight a hair away from w* flips.
template <class Model>
struct planted_task {
    examples_for<Model> few_shot;
    std::vector<std::vector<int>> held_out_inputs, held_out_targets;
};

constexpr std::size_t planted_tokens = 4;

template <class Model>
std::vector<std::vector<int>> random_inputs_for(std::size_t count, unsigned seed) {
    if constexpr (std::is_same_v<typename Model::batch, llama::batch>) return test::random_prompts(count, seed);
    else return test::random_inputs(count, seed);
}

template <class Model>
void decisive_examples(const Model& model, const lora_binding& lora, std::size_t count, unsigned seed,
                       std::vector<std::vector<int>>& inputs, std::vector<std::vector<int>>& targets) {
    const std::size_t vocab = model.model_config().vocab_size;
    for (auto& candidate : random_inputs_for<Model>(count * 20, seed)) {
        auto output = model.generate({candidate}, &lora, planted_tokens)[0];
        const auto logits = model.logits(typename Model::batch{{candidate}, {output}}, &lora)[0];
        bool decisive = true;
        for (std::size_t p = 0; p < output.size(); ++p) {
            std::vector<float> row(logits.begin() + static_cast<std::ptrdiff_t>(p * vocab), logits.begin() + static_cast<std::ptrdiff_t>((p + 1) * vocab));
            std::nth_element(row.begin(), row.begin() + 1, row.end(), std::greater<float>());
            decisive = decisive && row[0] - row[1] >= 1.0f;
        }
        if (!decisive) continue;
        inputs.push_back(std::move(candidate));
        targets.push_back(std::move(output));
        if (inputs.size() == count) return;
    }
    FAIL("fewer than " << count << " decisive inputs among " << count * 20);
}

template <class Model>
planted_task<Model> plant(const Model& model, const lora_pool& pool, const std::vector<double>& planted, std::size_t shots = 5) {
    auto composed = weighted_ab{}.allocate(pool);
    weighted_ab{}.compose(pool, planted, composed);
    const auto lora = model.bind(composed, "planted");
    planted_task<Model> task;
    typename Model::batch batch;
    decisive_examples(model, lora, shots, 21, batch.inputs, batch.labels);
    task.few_shot = {{batch}, shots};
    decisive_examples(model, lora, 30, 99, task.held_out_inputs, task.held_out_targets);
    return task;
}

/// The planted-recovery hub: LoRA on the last decoder feed-forward output only, whose effect
/// on the logits is smooth in w (LoRA on every layer of a random network makes the
/// objective too rugged for any budget-limited search to be a fair test).
test::random_hub planted_hub(const std::filesystem::path& root, std::size_t modules, unsigned seed) {
    return test::make_random_hub(root, modules, seed, 4, 4.0f, 0.6f, {"decoder.block.1.layer.2.DenseReluDense.wo"});
}

template <class Model>
double exact_match(const Model& model, const std::vector<lora_layer>& composed, const planted_task<Model>& task) {
    const auto lora = model.bind(composed, "learned");
    const auto predictions = model.generate(task.held_out_inputs, composed.empty() ? nullptr : &lora, planted_tokens);
    std::size_t same = 0;
    for (std::size_t i = 0; i < predictions.size(); ++i) same += predictions[i] == task.held_out_targets[i];
    return static_cast<double>(same) / static_cast<double>(predictions.size());
}

template <class Model>
double objective_at(const Model& model, const lora_pool& pool, const examples_for<Model>& examples, const std::vector<double>& w) {
    auto composed = weighted_ab{}.allocate(pool);
    weighted_ab{}.compose(pool, w, composed);
    const auto lora = model.bind(composed, "at");
    return reference_loss(model, examples, &lora) + l1_penalty(w);
}

}  // namespace

TEST_CASE("CMA-ES recovers planted weights of a 6-module pool", "[hub][learn]") {
    test::temp_dir dir;
    const auto hub = planted_hub(dir.path(), 6, 7);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const std::vector<double> planted{0.8, -0.5, 0.0, 0.6, 0.0, -0.9};
    const auto task = plant(model, pool, planted);
    CHECK(exact_match(model, {}, task) < 0.5);  // the base model alone does not do the task

    learn_options<t5::model<>> options;
    options.budget = 300;
    options.seed = 1;
    const auto result = learn<optim::cma_es>(model, pool, task.few_shot, options);
    const double planted_objective = objective_at(model, pool, task.few_shot, planted);
    INFO("learned objective " << result.objective << ", planted objective " << planted_objective);
    CHECK(result.objective <= planted_objective + 1e-3);
    CHECK(exact_match(model, result.composed, task) >= 0.95);
    CHECK(result.trace.size() <= 300);
    CHECK(result.optimizer == "cma-es");
}

TEST_CASE("CMA-ES recovers planted weights on a causal LM (Llama), up to the sign symmetry", "[hub][learn][llama]") {
    test::temp_dir dir;
    const auto hub = test::make_random_llama_hub(dir.path(), 6, 7, 4, 4.0f, 0.6f, {"model.layers.1.mlp.down_proj"});
    const auto model = llama::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const std::vector<double> planted{0.8, -0.5, 0.0, 0.6, 0.0, -0.9};
    // 10 shots: with 5, weights 0.12 from the planted ones fit the few-shot completions better
    // than the planted weights themselves (objective 0.0505 against 0.0558) and reach 83% held out
    const auto task = plant(model, pool, planted, 10);
    CHECK(exact_match(model, {}, task) < 0.5);

    learn_options<llama::model<>> options;
    options.budget = 300;
    options.seed = 1;
    const auto result = learn<optim::cma_es>(model, pool, task.few_shot, options);
    const double planted_objective = objective_at(model, pool, task.few_shot, planted);
    INFO("learned objective " << result.objective << ", planted objective " << planted_objective);
    CHECK(result.objective <= planted_objective + 1e-3);
    CHECK(exact_match(model, result.composed, task) >= 0.95);
    // A = sum w_i A_i and B = sum w_i B_i make the update s B A even in w: -w* is as good as w*
    const double sign = result.weights[0] * planted[0] < 0 ? -1.0 : 1.0;
    for (std::size_t i = 0; i < planted.size(); ++i) CHECK(std::abs(sign * result.weights[i] - planted[i]) <= 0.2);
}

TEST_CASE("COBYLA recovers planted weights of a 3-module pool in the reference budget", "[hub][learn]") {
    test::temp_dir dir;
    const auto hub = planted_hub(dir.path(), 3, 8);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const std::vector<double> planted{0.7, -0.4, 1.0};
    const auto task = plant(model, pool, planted);
    CHECK(exact_match(model, {}, task) < 0.5);
    learn_options<t5::model<>> options;
    options.budget = 60;
    const auto result = learn<optim::cobyla>(model, pool, task.few_shot, options);
    const double planted_objective = objective_at(model, pool, task.few_shot, planted);
    INFO("learned objective " << result.objective << ", planted objective " << planted_objective);
    CHECK(result.objective <= planted_objective + 1e-3);
    CHECK(exact_match(model, result.composed, task) >= 0.95);
    CHECK(result.trace.front().weights == std::vector<double>(3, 0.0));  // the reference starts at 0
}

TEMPLATE_TEST_CASE("the same seed and inputs give bitwise identical weights", "[hub][learn]", optim::cma_es, optim::cobyla,
                   optim::nelder_mead, optim::random_search) {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 4, 9);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.5, 0.5, -0.5, 0.2});
    learn_options<t5::model<>> options;
    options.budget = 30;
    options.seed = 5;
    const auto first = learn<TestType>(model, pool, task.few_shot, options);
    const auto second = learn<TestType>(model, pool, task.few_shot, options);
    CHECK(first.weights == second.weights);
    CHECK(first.objective == second.objective);
    REQUIRE(first.trace.size() == second.trace.size());
    for (std::size_t i = 0; i < first.trace.size(); ++i) CHECK(first.trace[i].weights == second.trace[i].weights);
}

TEMPLATE_TEST_CASE("a population scored in one pass gives the trace of one-at-a-time scoring", "[hub][learn][population]", optim::cma_es,
                   optim::random_search) {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 5, 13);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.4, -0.3, 0.2, 0.6, -0.1});
    learn_options<t5::model<>> options;
    options.budget = 45;  // not a multiple of the population: the last one is cut at the budget
    options.seed = 3;
    options.population = 8;
    options.population_pass = 3;  // passes of 3, 3 and 2 candidates per population
    const auto together = learn<TestType>(model, pool, task.few_shot, options);
    options.population_pass = 1;
    const auto alone = learn<TestType>(model, pool, task.few_shot, options);
    REQUIRE(together.trace.size() == 45);
    REQUIRE(alone.trace.size() == 45);
    for (std::size_t i = 0; i < alone.trace.size(); ++i) {
        INFO("evaluation " << i);
        REQUIRE(together.trace[i].weights == alone.trace[i].weights);
        CHECK(std::abs(together.trace[i].loss - alone.trace[i].loss) <= 1e-6 * alone.trace[i].loss);
    }
    CHECK(together.weights == alone.weights);
    // and each loss is the loss of its own composition, scored afresh
    for (std::size_t i : {0u, 7u, 20u, 44u}) {
        const auto& w = together.trace[i].weights;
        CHECK(std::abs(together.trace[i].objective - objective_at(model, pool, task.few_shot, w)) <= 1e-6 * together.trace[i].objective);
    }
}

TEST_CASE("learn with a PEFT combination type: sqrt-weighted types search w >= 0, others anywhere", "[hub][learn][combination]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 3, 14);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.5, 0.2, 0.8});
    learn_options<t5::model<>> options;
    options.budget = 12;
    CHECK_THROWS_WITH(learn<optim::cobyla>(model, pool, task.few_shot, options, combine_ties{}),
                      Catch::Matchers::Contains("ties: takes the square root of each weight x scaling: search with lower >= 0"));
    options.lower = 0.0;
    const auto ties = learn<optim::cobyla>(model, pool, task.few_shot, options, combine_ties{{.density = 0.5}});
    CHECK(ties.composer == "ties");
    for (const auto& step : ties.trace)
        for (double w : step.weights) CHECK(w >= 0.0);
    // the learned composition scores as score() scores those weights with the same composer
    const auto again = score(model, pool, task.few_shot, ties.weights, options, combine_ties{{.density = 0.5}});
    CHECK(again.objective == Approx(ties.objective).epsilon(1e-9));
    options.lower = -1.5;
    CHECK(learn<optim::cobyla>(model, pool, task.few_shot, options, combine_cat{}).composer == "cat");
}

TEST_CASE("start points: uniform average, best single module, and several starts sharing the budget", "[hub][learn][start]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 4, 15);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.6, -0.2, 0.0, 0.9});
    learn_options<t5::model<>> options;
    options.budget = 20;
    options.start = start_point::uniform;
    const auto uniform = learn<optim::cobyla>(model, pool, task.few_shot, options);
    CHECK(uniform.trace.front().weights == std::vector<double>(4, 0.25));  // COBYLA evaluates its start first
    CHECK(uniform.single_losses.empty());

    options.start = start_point::best_single;
    const auto single = learn<optim::cobyla>(model, pool, task.few_shot, options);
    REQUIRE(single.single_losses.size() == 4);
    const auto best = static_cast<std::size_t>(std::min_element(single.single_losses.begin(), single.single_losses.end()) - single.single_losses.begin());
    std::vector<double> unit(4, 0.0);
    unit[best] = 1.0;
    CHECK(single.trace.front().weights == unit);
    // each single loss is the loss of that module alone, as score() gives it
    for (std::size_t i = 0; i < 4; ++i) {
        std::vector<double> alone(4, 0.0);
        alone[i] = 1.0;
        CHECK(single.single_losses[i] == Approx(score(model, pool, task.few_shot, alone).loss).epsilon(1e-6));  // scored in one pass of 4
    }

    options.start = start_point::zero;
    options.starts = 3;
    const auto three = learn<optim::cobyla>(model, pool, task.few_shot, options);
    REQUIRE(three.trace.size() == 20);
    CHECK(three.trace[0].weights == std::vector<double>(4, 0.0));
    CHECK(three.trace[7].weights != std::vector<double>(4, 0.0));  // the second search starts at a random point (shares 7, 7, 6)
    for (double w : three.trace[7].weights) CHECK((w >= -1.5 && w <= 1.5));
    double lowest = std::numeric_limits<double>::infinity();
    for (const auto& step : three.trace) lowest = std::min(lowest, step.objective);
    CHECK(three.objective == lowest);
    options.starts = 21;
    CHECK_THROWS_WITH(learn<optim::cobyla>(model, pool, task.few_shot, options), Catch::Matchers::Contains("every start at least one evaluation"));
}

TEST_CASE("module selection searches the k modules with the lowest single-module loss", "[hub][learn][select]") {
    test::temp_dir dir;
    const auto hub = planted_hub(dir.path(), 6, 16);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.0, 0.9, 0.0, -0.7, 0.0, 0.0});
    learn_options<t5::model<>> options;
    options.budget = 60;
    options.select = 2;
    options.start = start_point::best_single;
    const auto result = learn<optim::cma_es>(model, pool, task.few_shot, options);
    REQUIRE(result.single_losses.size() == 6);
    REQUIRE(result.searched.size() == 2);
    std::vector<std::size_t> order{0, 1, 2, 3, 4, 5};
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return result.single_losses[a] < result.single_losses[b]; });
    CHECK(result.searched == std::vector<std::size_t>{order[0], order[1]});
    REQUIRE(result.weights.size() == 6);
    for (std::size_t i = 0; i < 6; ++i)
        if (i != order[0] && i != order[1]) CHECK(result.weights[i] == 0.0);
    for (const auto& step : result.trace) CHECK(step.weights.size() == 6);
    std::vector<double> unit(6, 0.0);
    unit[order[0]] = 1.0;
    CHECK(result.trace.front().weights.size() == 6);
    // the composed adapter of the sub-pool is the full pool's composition at the expanded weights
    CHECK(result.objective == Approx(objective_at(model, pool, task.few_shot, result.weights)).epsilon(1e-6));
}

TEST_CASE("a NaN loss scores +infinity and is never the result", "[hub][learn]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 3, 10);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.3, 0.3, 0.3});
    learn_options<t5::model<>> options;
    options.budget = 25;
    std::size_t calls = 0;
    options.loss = [&](const t5::model<>& m, const examples_for<t5::model<>>& e, const lora_binding& lora, t5::model<>::context& c) {
        return ++calls % 2 == 1 ? std::nan("") : reference_loss(m, e, &lora, c);
    };
    const auto result = learn<optim::random_search>(model, pool, task.few_shot, options);
    CHECK(std::isfinite(result.objective));
    std::size_t infinite = 0;
    for (const auto& step : result.trace) infinite += std::isinf(step.objective);
    CHECK(infinite == 13);
    options.loss = [](const t5::model<>&, const examples_for<t5::model<>>&, const lora_binding&, t5::model<>::context&) {
        return std::nan("");
    };
    CHECK_THROWS_WITH(learn<optim::random_search>(model, pool, task.few_shot, options), Catch::Matchers::Contains("no evaluation gave a finite loss"));
}

TEST_CASE("delta_sum composes exactly sum_i w_i s_i B_i A_i", "[hub][compose]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 3, 11, 3);
    const auto pool = lora_pool::load(hub.modules);
    auto composed = delta_sum{}.allocate(pool);
    const std::vector<double> w{0.5, -1.25, 0.75};
    delta_sum{}.compose(pool, w, composed);
    const auto& target = pool.stacks()[2];
    const auto& layer = composed[2];
    CHECK(layer.rank == 9);
    for (std::size_t o = 0; o < target.out_features; o += 7)
        for (std::size_t i = 0; i < target.in_features; i += 5) {
            double expected = 0, ours = 0;
            for (std::size_t m = 0; m < 3; ++m)
                for (std::size_t k = 0; k < target.rank; ++k)
                    expected += w[m] * target.scaling[m] * target.b[m * target.out_features * target.rank + o * target.rank + k] *
                                target.a[m * target.rank * target.in_features + k * target.in_features + i];
            for (std::size_t k = 0; k < layer.rank; ++k) ours += layer.scaling * layer.b[o * layer.rank + k] * layer.a[k * layer.in_features + i];
            CHECK(ours == Approx(expected).margin(1e-5));
        }
}

TEMPLATE_TEST_CASE("a saved adapter and a merged model dir reproduce the composed outputs", "[hub][save]", weighted_ab, delta_sum) {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 3, 12);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    auto composed = TestType{}.allocate(pool);
    TestType{}.compose(pool, std::vector<double>{0.9, -0.3, 0.4}, composed);
    const auto lora = model.bind(composed, "composed");
    const t5::batch batch{test::random_inputs(4, 5), test::random_inputs(4, 6)};
    const auto expected = model.logits(batch, &lora);

    io::save_peft_adapter(dir / "adapter", io::config_for_layers(pool.config(), composed), composed);
    const auto adapter = io::load_peft_adapter(dir / "adapter");
    const auto reloaded = model.bind(adapter.layers, "reloaded");
    const auto from_adapter = model.logits(batch, &reloaded);

    save_merged_model(model, lora, dir / "merged");
    const auto merged = t5::model<>::load(dir / "merged");
    const auto from_merged = merged.logits(batch);
    for (std::size_t s = 0; s < expected.size(); ++s)
        for (std::size_t i = 0; i < expected[s].size(); ++i) {
            CHECK(from_adapter[s][i] == Approx(expected[s][i]).margin(1e-5));
            // these random adapters move logits by up to ~23; W + sBA in float32 rounds differently
            // from runtime LoRA by ~1e-4 at that scale (relative 4e-6)
            CHECK(from_merged[s][i] == Approx(expected[s][i]).margin(3e-4));
        }
    CHECK(std::filesystem::exists(dir / "merged" / "config.json"));
}

TEST_CASE("accuracy follows upstream's normalisation and is a percentage", "[hub][infer]") {
    CHECK(normalize_answer("  The Answer.\n") == "the answer");
    CHECK(normalize_answer("(A)") == "(a)");
    CHECK(normalize_answer(" ... ") == "");
}

namespace {

/// An optimizer that claims to go on but asks for nothing: learn() must not spin on it.
struct stalled_optimizer {
    static constexpr std::string_view name = "stalled";
    explicit stalled_optimizer(const optim::settings&) {}
    optim::point ask() { return {}; }
    std::vector<optim::point> ask_population() { return {}; }
    void tell(std::span<const double>, double) {}
    bool done() const { return false; }
    const optim::best_so_far& best() const { return best_; }
    optim::best_so_far best_;
};
static_assert(Optimizer<stalled_optimizer>);

}  // namespace

TEST_CASE("an optimizer that asks no point while not done is an error, not an endless loop", "[hub][learn]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 2, 13);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.5, -0.5});
    CHECK_THROWS_WITH(learn<stalled_optimizer>(model, pool, task.few_shot),
                      Catch::Matchers::Contains("stalled: ask_population() returned no point although done() is false"));
}

TEST_CASE("COBYLA and Nelder-Mead ignore the seed, CMA-ES and random search follow it", "[hub][learn]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 3, 14);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.4, -0.6, 0.2});
    // every point asked, in order: the whole search, not only where it ended
    auto with_seed = [&]<class O>(std::uint64_t seed) {
        learn_options<t5::model<>> options;
        options.budget = 20;
        options.seed = seed;
        std::vector<std::vector<double>> asked;
        for (const auto& step : learn<O>(model, pool, task.few_shot, options).trace) asked.push_back(step.weights);
        return asked;
    };
    CHECK(with_seed.operator()<optim::cobyla>(1) == with_seed.operator()<optim::cobyla>(42));
    CHECK(with_seed.operator()<optim::nelder_mead>(1) == with_seed.operator()<optim::nelder_mead>(42));
    CHECK(with_seed.operator()<optim::cma_es>(1) != with_seed.operator()<optim::cma_es>(42));
    CHECK(with_seed.operator()<optim::random_search>(1) != with_seed.operator()<optim::random_search>(42));
}

TEST_CASE("score() gives what learn() recorded, and infer() takes what learn() returns", "[hub][score][infer]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 3, 15);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.3, 0.6, -0.4});
    learn_options<t5::model<>> options;
    options.budget = 15;
    const auto learned = learn<optim::cobyla>(model, pool, task.few_shot, options);
    const auto scored = score(model, pool, task.few_shot, learned.weights);
    CHECK(scored.loss == learned.loss);
    CHECK(scored.objective == learned.objective);
    for (const auto& step : learned.trace) CHECK(score(model, pool, task.few_shot, step.weights).objective == step.objective);

    // the random hub has no tokenizer: infer() needs one, so compare the generations it runs
    const auto lora = model.bind(learned.composed, "learned");
    const auto expected = model.generate(task.held_out_inputs, &lora, planted_tokens);
    auto composed = weighted_ab{}.allocate(pool);
    weighted_ab{}.compose(pool, learned.weights, composed);
    const auto again = model.bind(composed, "again");
    CHECK(model.generate(task.held_out_inputs, &again, planted_tokens) == expected);
}

TEST_CASE("infer() with a learn result, with pool and weights, and with layers agree", "[hub][infer]") {
    const auto model = t5::model<>::load(test::fixtures() / "t5/flan-odd");
    const std::vector<std::filesystem::path> modules{test::fixtures() / "t5/pool-0", test::fixtures() / "t5/pool-1",
                                                     test::fixtures() / "t5/pool-2"};
    const auto pool = lora_pool::load(modules);
    const auto examples = io::read_examples(test::fixtures() / "t5/examples.jsonl");
    const auto batches = tokenize_examples(model, examples, 0, "examples.jsonl");
    learn_options<t5::model<>> options;
    options.budget = 10;
    const auto learned = learn<optim::cobyla>(model, pool, batches, options);
    const infer_options short_answers{.max_new_tokens = 6};
    const auto from_result = infer(model, examples, learned, short_answers);
    const auto from_weights = infer(model, examples, pool, learned.weights, short_answers);
    const auto from_layers = infer(model, examples, learned.composed, short_answers);
    CHECK(from_result.predictions == from_weights.predictions);
    CHECK(from_result.predictions == from_layers.predictions);
    REQUIRE(from_result.accuracy.has_value());
    // the HF fixture's greedy outputs of the base model: zero-shot through infer() matches them
    const auto expected = io::parse_json_strict(test::read_file(test::fixtures() / "t5/expected.json"), "expected.json");
    const auto zero_shot = infer(model, examples, infer_options{.max_new_tokens = 6});
    const auto& greedy = expected["flan-odd"]["base"]["greedy"];
    REQUIRE(zero_shot.predictions.size() == greedy.size());
    for (std::size_t i = 0; i < greedy.size(); ++i) {
        std::vector<int> ids;
        for (std::size_t t = 0; t < 6 && (ids.empty() || ids.back() != 1); ++t) ids.push_back(greedy[i][t].get<int>());
        CHECK(zero_shot.predictions[i] == model.tokens().decode(ids));
    }
    CHECK_THROWS_WITH(infer(model, examples, pool, std::vector<double>{1.0}, short_answers),
                      Catch::Matchers::Contains("1 weights for a pool of 3 modules"));
}

TEST_CASE("learn_using() with a factory of a policy searches as learn<policy>() does", "[hub][learn]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 4, 16);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.5, -0.2, 0.3, 0.1});
    learn_options<t5::model<>> options;
    options.budget = 24;
    options.starts = 2;
    options.select = 3;
    std::vector<std::size_t> made_dimensions;
    auto make = [&](const optim::settings& settings) {
        made_dimensions.push_back(settings.dimension);
        return optim::cma_es(settings);
    };
    const auto made = learn_using(make, model, pool, task.few_shot, options);
    const auto policy = learn<optim::cma_es>(model, pool, task.few_shot, options);
    CHECK(made_dimensions == std::vector<std::size_t>{3, 3});  // one optimizer per start, over the selected modules
    CHECK(made.optimizer == "cma-es");
    CHECK(made.weights == policy.weights);
    REQUIRE(made.trace.size() == policy.trace.size());
    for (std::size_t i = 0; i < made.trace.size(); ++i) CHECK(made.trace[i].weights == policy.trace[i].weights);
}

TEST_CASE("options.stop ends the search after the evaluation it answers true for", "[hub][learn]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 3, 17);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.4, 0.1, -0.3});
    learn_options<t5::model<>> options;
    options.budget = 30;
    options.starts = 3;
    std::size_t evaluations = 0;
    options.on_evaluation = [&](std::size_t, const evaluation&, const evaluation&) { ++evaluations; };
    options.stop = [&] { return evaluations == 6; };
    const auto stopped = learn<optim::cobyla>(model, pool, task.few_shot, options);
    CHECK(stopped.trace.size() == 6);  // no later start runs either
    const auto best = std::min_element(stopped.trace.begin(), stopped.trace.end(),
                                       [](const evaluation& a, const evaluation& b) { return a.objective < b.objective; });
    CHECK(stopped.weights == best->weights);
    CHECK(stopped.objective == best->objective);
}

TEST_CASE("score_all() gives each point's score(), the points scored in population passes", "[hub][score][population]") {
    test::temp_dir dir;
    const auto hub = test::make_random_hub(dir.path(), 4, 18);
    const auto model = t5::model<>::load(hub.model);
    const auto pool = lora_pool::load(hub.modules);
    const auto task = plant(model, pool, {0.2, 0.2, -0.5, 0.4});
    std::vector<std::vector<double>> points;
    random_source random(4);
    for (int p = 0; p < 7; ++p) points.push_back({random.uniform(-1, 1), random.uniform(-1, 1), random.uniform(-1, 1), random.uniform(-1, 1)});
    learn_options<t5::model<>> options;
    options.population_pass = 3;  // passes of 3, 3 and 1
    const auto all = score_all(model, pool, task.few_shot, points, options);
    REQUIRE(all.size() == points.size());
    for (std::size_t p = 0; p < points.size(); ++p) {
        const auto one = score(model, pool, task.few_shot, points[p]);
        CHECK(std::abs(all[p].loss - one.loss) <= 1e-6 * one.loss);
        CHECK(std::abs(all[p].objective - one.objective) <= 1e-6 * one.objective);
    }
    CHECK(score_all(model, pool, task.few_shot, std::span<const std::vector<double>>()).empty());
    points[2].pop_back();
    CHECK_THROWS_WITH(score_all(model, pool, task.few_shot, points), Catch::Matchers::Contains("3 weights for a pool of 4"));
}
