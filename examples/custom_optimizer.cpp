// A user-defined optimizer policy plugged into lorahub::learn: a (1+1) evolution strategy
// with the one-fifth success rule. Run it on the embedded demo hub:
//
//     cd examples/demo-hub
//     ../../build/release/examples/custom_optimizer model tasks/sum/few_shot.jsonl modules/*
#include <cmath>
#include <cstdio>
#include <iostream>
#include <span>
#include <string_view>
#include <vector>

#include <lorahub/lorahub.hpp>

// [readme]
/// (1+1)-ES with the 1/5th success rule (Rechenberg; step update as in Auger & Hansen):
/// each point is the best so far plus a Gaussian step; the step grows after a success and
/// shrinks after a failure, so that about one step in five succeeds.
class one_plus_one_es {
public:
    static constexpr std::string_view name = "one-plus-one-es";

    explicit one_plus_one_es(const lorahub::optim::settings& settings)
        : settings_(settings), random_(settings.seed), sigma_(settings.initial_step) {
        settings_.validate();  // a box, a budget, a seed, a start point (w = 0 unless given)
        damping_ = std::sqrt(static_cast<double>(settings_.dimension) + 1.0);
    }

    lorahub::optim::point ask() {
        if (best_.evaluations == 0) return settings_.start_point();  // the start point first
        auto x = best_.x.empty() ? settings_.start_point() : best_.x;
        for (auto& value : x) value += sigma_ * random_.normal();
        return lorahub::optim::clip(std::move(x), settings_.lower, settings_.upper);
    }
    std::vector<lorahub::optim::point> ask_population() { return {ask()}; }

    /// Points come back in the order they were asked, each with its objective.
    void tell(std::span<const double> x, double objective) {
        const bool success = lorahub::optim::comparable(objective) < best_.value;
        const bool first = best_.evaluations == 0;
        best_.record(x, objective);  // non-finite objectives never become the best
        if (!first) sigma_ *= std::exp(((success ? 1.0 : 0.0) - 0.2) / damping_);
    }
    bool done() const { return best_.evaluations >= settings_.budget; }
    const lorahub::optim::best_so_far& best() const { return best_; }

private:
    lorahub::optim::settings settings_;
    lorahub::optim::random_source random_;  // seeded, the same numbers on every platform
    double sigma_, damping_ = 1.0;
    lorahub::optim::best_so_far best_;
};
static_assert(lorahub::Optimizer<one_plus_one_es>);
// [/readme]

int main(int argc, char** argv) try {
    if (argc < 4) {
        std::cerr << "usage: custom_optimizer MODEL_DIR EXAMPLES.jsonl MODULE_DIR...\n";
        return 2;
    }
    using namespace lorahub;
    const auto model = t5::model<>::load(argv[1]);
    const auto examples = tokenize_examples(model, io::read_examples(argv[2]), 0, argv[2]);
    const auto pool = lora_pool::load(std::span(argv + 3, argv + argc));

    learn_options<t5::model<>> options;  // LoraHub's defaults: budget 40, box [-1.5, 1.5], start 0
    options.budget = 60;
    const auto learned = learn<one_plus_one_es>(model, pool, examples, options);
    std::printf("%s: objective %.6f (w = 0: %.6f) after %zu evaluations\n", learned.optimizer.c_str(), learned.objective,
                score(model, pool, examples, std::vector<double>(pool.size(), 0.0)).objective, learned.trace.size());
    for (std::size_t i = 0; i < pool.size(); ++i) std::printf("  %+.4f  %s\n", learned.weights[i], printable(pool.names()[i]).c_str());

    // what learn() reports is what score() gives for the same weights, exactly
    const auto rescored = score(model, pool, examples, learned.weights);
    if (rescored.objective != learned.objective || learned.trace.size() != options.budget) {
        std::cerr << "error: learn reported objective " << learned.objective << ", score gives " << rescored.objective << "\n";
        return 1;
    }
    return 0;
} catch (const lorahub::error& failure) {
    std::cerr << "error: " << failure.what() << "\n";
    return 1;
}
