#pragma once

/// The population benchmark of a step (step_fixture.hpp) on any backend: P candidates, each
/// its own composition of the pool, composed and made visible to the backend per pass as
/// learn() does, then scored one after another (range(1) = 0) or together in one pass (1).
/// Reports evaluations per second; the ratio of the two rows is the batching gain.

#include <memory>
#include <random>
#include <span>
#include <vector>

#include <benchmark/benchmark.h>

#include <lorahub/hub/objective.hpp>
#include <lorahub/lora/weighted_ab.hpp>
#include <lorahub/model/t5/model.hpp>

#include "step_fixture.hpp"

namespace lorahub::bench {

template <class Backend>
void population_pass(benchmark::State& state) {
    const auto& f = fixture();
    const auto candidates = static_cast<std::size_t>(state.range(0));
    const bool together = state.range(1) == 1;
    const auto model = t5::model<Backend>::load(f.directory);
    const weighted_ab composer;
    std::vector<std::vector<lora_layer>> composed;
    std::vector<std::unique_ptr<typename Backend::lora_binding>> bindings;
    std::vector<const typename Backend::lora_binding*> pointers;
    std::vector<std::vector<double>> points;
    std::mt19937 random(11);
    std::uniform_real_distribution<double> around(0.0, 0.1);
    for (std::size_t p = 0; p < candidates; ++p) {
        composed.push_back(composer.allocate(f.pool));
        bindings.push_back(std::make_unique<typename Backend::lora_binding>(model.bind(composed.back(), "bench")));
        pointers.push_back(bindings.back().get());
        points.emplace_back(modules);
        for (auto& w : points.back()) w = around(random);
    }
    auto context = model.make_context();
    const auto pass = [&] {
        for (std::size_t p = 0; p < candidates; ++p) {
            composer.compose(f.pool, points[p], composed[p]);
            model.refresh(*bindings[p]);
        }
        if (together) {
            benchmark::DoNotOptimize(reference_losses(model, f.examples, std::span(pointers), context));
        } else {
            for (std::size_t p = 0; p < candidates; ++p) benchmark::DoNotOptimize(reference_loss(model, f.examples, pointers[p], context));
        }
    };
    pass();  // sizes the context
    for (auto _ : state) pass();
    state.counters["evaluations/s"] = benchmark::Counter(static_cast<double>(candidates), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace lorahub::bench
