#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "lorahub/optim/common.hpp"

namespace lorahub::optim {

/// Uniform random search in the box; the first point asked is the start point.
/// ask_population() gives the next `population` points (default 16, never past the budget):
/// the same sequence as asking one at a time, to be scored together.
class random_search {
public:
    static constexpr std::string_view name = "random";
    static constexpr std::string_view description = "uniform random points of the box, in batches";
    static constexpr std::size_t default_population = 16;

    explicit random_search(const settings& options) : options_(options), random_(options.seed) { options_.validate(); }

    point ask() {
        if (asked_++ == 0) return options_.start_point();
        point x(options_.dimension);
        for (auto& value : x) value = random_.uniform(options_.lower, options_.upper);
        return x;
    }
    std::vector<point> ask_population() {
        const std::size_t size = options_.population > 0 ? options_.population : default_population;
        std::vector<point> points;
        while (points.size() < size && asked_ < options_.budget) points.push_back(ask());
        if (points.empty()) points.push_back(ask());  // asked past the budget: one more point, as ask() would give
        return points;
    }
    void tell(std::span<const double> x, double value) { best_.record(x, value); }
    bool done() const { return best_.evaluations >= options_.budget; }
    const best_so_far& best() const { return best_; }

private:
    settings options_;
    random_source random_;
    best_so_far best_;
    std::size_t asked_ = 0;
};

}  // namespace lorahub::optim
