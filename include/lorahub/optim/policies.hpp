#pragma once

#include <string_view>

#include "lorahub/core/policy_list.hpp"
#include "lorahub/optim/cma_es.hpp"
#include "lorahub/optim/cma_es_restarts.hpp"
#include "lorahub/optim/cobyla.hpp"
#include "lorahub/optim/nelder_mead.hpp"
#include "lorahub/optim/random_search.hpp"

namespace lorahub::optim {

/// Every optimizer policy lorahub ships, keyed on its `name`: the one list that run-time
/// choices (the CLI's --optimizer, Python's optimizer="..."), their help and their errors read.
/// A new policy is its header plus one entry here.
using policies = policy_list<cobyla, cma_es, cma_es_ipop, cma_es_bipop, nelder_mead, random_search>;

/// Calls f.template operator()<O>() for the optimizer policy named `name` (an error naming
/// `subject` for any other name).
template <class F>
decltype(auto) with_optimizer(std::string_view name, F&& f, std::string_view subject = "optimizer") {
    return policies::with(name, subject, f);
}

}  // namespace lorahub::optim
