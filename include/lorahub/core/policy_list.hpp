#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"

namespace lorahub {

/// A compile-time list of policy types, each with a `static constexpr std::string_view name`
/// and `description`: the one place a family of policies (optimizers, composers, model families)
/// is listed, from which run-time choices by name, help texts and error messages derive.
template <class... Policies>
struct policy_list {
    static_assert(sizeof...(Policies) > 0, "a policy list names at least one policy");

    static constexpr std::size_t size = sizeof...(Policies);

    /// The policies' names, in the list's order.
    static std::vector<std::string> names() { return {std::string(Policies::name)...}; }

    static bool contains(std::string_view name) { return ((Policies::name == name) || ...); }

    /// "a, b or c": the names as a sentence lists them.
    static std::string sentence() {
        const auto all = names();
        std::string text;
        for (std::size_t i = 0; i < all.size(); ++i) text += (i == 0 ? "" : i + 1 == all.size() ? " or " : ", ") + all[i];
        return text;
    }

    /// "name: description" per policy, one per line, for help texts.
    static std::string described(std::string_view indent = "  ") {
        std::string text;
        ((text += std::string(indent) + std::string(Policies::name) + ": " + std::string(Policies::description) + "\n"), ...);
        return text;
    }

    /// Calls f.template operator()<P>() for the policy P named `name`; any other name is an
    /// argument_error that names `subject` and lists the names.
    template <class F>
    static decltype(auto) with(std::string_view name, std::string_view subject, F&& f) {
        return dispatch<F, Policies...>(name, subject, f);
    }

private:
    template <class F, class First, class... Rest>
    static decltype(auto) dispatch(std::string_view name, std::string_view subject, F& f) {
        if (First::name == name) return f.template operator()<First>();
        if constexpr (sizeof...(Rest) == 0)
            throw argument_error(std::string(subject), "\"" + std::string(name) + "\" is not " + sentence());
        else
            return dispatch<F, Rest...>(name, subject, f);
    }
};

}  // namespace lorahub
