#pragma once

#include <concepts>
#include <span>
#include <string_view>
#include <vector>

#include "lorahub/lora/module.hpp"
#include "lorahub/lora/pool.hpp"
#include "lorahub/optim/common.hpp"

namespace lorahub {

/// A gradient-free minimizer over a box, driven by ask/tell. Policies: optim::cobyla,
/// optim::cma_es, optim::nelder_mead, optim::random_search.
template <class O>
concept Optimizer = std::constructible_from<O, const optim::settings&> && requires(O o, const O& c, std::span<const double> x, double f) {
    { O::name } -> std::convertible_to<std::string_view>;
    { o.ask() } -> std::same_as<optim::point>;
    { o.ask_population() } -> std::same_as<std::vector<optim::point>>;
    o.tell(x, f);
    { c.done() } -> std::same_as<bool>;
    { c.best() } -> std::convertible_to<const optim::best_so_far&>;
};

/// Turns a pool and weights into one LoRA module, writing into storage from allocate().
/// Policies: weighted_ab (the LoraHub rule), delta_sum.
template <class C>
concept Composer = requires(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) {
    { C::name } -> std::convertible_to<std::string_view>;
    { C::allocate(pool) } -> std::same_as<std::vector<lora_layer>>;
    C::compose(pool, w, out);
};

}  // namespace lorahub
