#pragma once

#include <functional>

#include "lorahub/concepts.hpp"
#include "lorahub/optim/common.hpp"

namespace lorahub::optim {

/// Runs `O` on `f` until it is done; returns the best point and value seen.
template <Optimizer O, class F>
    requires std::invocable<F&, const point&>
best_so_far minimize(F&& f, const settings& options) {
    O optimizer(options);
    while (!optimizer.done()) {
        const point x = optimizer.ask();
        optimizer.tell(x, std::invoke(f, x));
    }
    return optimizer.best();
}

}  // namespace lorahub::optim
