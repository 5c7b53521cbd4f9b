#pragma once

#include <string>
#include <string_view>

#include "lorahub/core/error.hpp"

namespace lorahub {

/// How learn() picks the k modules it searches (search_settings::select): by each module's
/// loss alone on the examples (N evaluations), or by how much Arrow's routing sends the
/// examples' tokens to each module (one forward pass, whatever N: hub/module_selection.hpp).
enum class selection_rule { single_loss, arrow_routing };

/// The rule named "loss" or "routing" (the CLI's --select-by).
inline selection_rule selection_rule_named(std::string_view name) {
    if (name == "loss") return selection_rule::single_loss;
    if (name == "routing") return selection_rule::arrow_routing;
    throw argument_error("select-by", "\"" + std::string(name) + "\" is not loss or routing");
}

}  // namespace lorahub
