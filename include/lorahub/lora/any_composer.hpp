#pragma once

#include <concepts>
#include <memory>
#include <type_traits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lorahub/lora/policies.hpp"
#include "lorahub/lora/pool.hpp"

namespace lorahub {

/// Any composer behind one type, for a composer chosen by name at run time (the CLI, Python):
/// compose() is one indirect call per evaluation, so a program that offers every composer
/// instantiates learn(), infer() and score() once instead of once per composer. Composes
/// exactly what the composer it holds composes. Code that knows its composer at compile time
/// passes that type instead.
class any_composer {
public:
    /// LoraHub's rule (weighted_ab), the default composer.
    any_composer() : any_composer(weighted_ab{}) {}

    template <class C>
        requires(!std::same_as<std::remove_cvref_t<C>, any_composer>)
    explicit any_composer(C composer)
        : self_(std::make_shared<const holder<C>>(std::move(composer))), name(self_->name()), nonnegative_weights(self_->nonnegative_weights()) {}

    /// The composer of `Policies` named `name`, set up with `options` (an error naming
    /// `subject` otherwise). A template, so that only a program that calls it compiles every
    /// composer of the list.
    template <class Policies = composer_policies>
    static any_composer named(std::string_view name, const combination_options& options, std::string_view subject = "composer") {
        return Policies::with(name, subject, [&]<class C>() { return any_composer(make_composer<C>(options)); });
    }

    std::vector<lora_layer> allocate(const lora_pool& pool) const { return self_->allocate(pool); }
    void compose(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) const { self_->compose(pool, w, out); }

private:
    struct held {
        virtual ~held() = default;
        virtual std::string_view name() const = 0;
        virtual bool nonnegative_weights() const = 0;
        virtual std::vector<lora_layer> allocate(const lora_pool& pool) const = 0;
        virtual void compose(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) const = 0;
    };
    template <class C>
    struct holder final : held {
        explicit holder(C c) : composer(std::move(c)) {}
        std::string_view name() const override { return C::name; }
        bool nonnegative_weights() const override {
            if constexpr (requires { C::nonnegative_weights; }) return C::nonnegative_weights;
            return false;
        }
        std::vector<lora_layer> allocate(const lora_pool& pool) const override { return composer.allocate(pool); }
        void compose(const lora_pool& pool, std::span<const double> w, std::vector<lora_layer>& out) const override {
            composer.compose(pool, w, out);
        }
        C composer;
    };

    std::shared_ptr<const held> self_;

public:
    /// The held composer's name and whether it takes only weights >= 0 (sqrt(w s) types).
    std::string_view name;
    bool nonnegative_weights = false;
};

}  // namespace lorahub
