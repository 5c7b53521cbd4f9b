#pragma once

#include <string_view>

#include "lorahub/core/policy_list.hpp"
#include "lorahub/lora/combinations.hpp"
#include "lorahub/lora/delta_sum.hpp"
#include "lorahub/lora/weighted_ab.hpp"

namespace lorahub {

/// Every composer lorahub ships, keyed on its `name`: LoraHub's rule, the exact delta sum and
/// PEFT's add_weighted_adapter combination types under PEFT's names. The one list that run-time
/// choices (the CLI's --composer / --combination, Python's composer="..."), their help and
/// their errors read. A new composer is its header plus one entry here.
using composer_policies = policy_list<weighted_ab, delta_sum, combine_cat, combine_linear, combine_svd_sum, combine_ties, combine_ties_svd,
                                      combine_dare_linear, combine_dare_ties, combine_dare_linear_svd, combine_dare_ties_svd,
                                      combine_magnitude_prune, combine_magnitude_prune_svd>;

/// Composer C set up with `options` (the combination types read them; the others take none).
template <class C>
C make_composer(const combination_options& options) {
    if constexpr (requires { C{options}; }) return C{options};
    else return C{};
}

/// Calls f(composer) with the composer named `name`, set up with `options` (an error naming
/// `subject` for any other name).
template <class F>
decltype(auto) with_composer(std::string_view name, const combination_options& options, F&& f, std::string_view subject = "composer") {
    return composer_policies::with(name, subject, [&]<class C>() -> decltype(auto) { return f(make_composer<C>(options)); });
}

}  // namespace lorahub
