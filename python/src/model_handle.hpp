#pragma once

// A model of any family and precision behind one interface, so that the bindings
// (lorahub_module.cpp) never instantiate a model: held_model.hpp implements it per model type,
// compiled once per precision in model_fp32.cpp and model_bf16.cpp.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <lorahub/backend/cpu/declarations.hpp>
#include <lorahub/core/lora.hpp>
#include <lorahub/hub/infer.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/io/atomic_output.hpp>
#include <lorahub/io/examples.hpp>
#include <lorahub/lora/any_composer.hpp>
#include <lorahub/lora/pool.hpp>
#include <lorahub/model/model_options.hpp>

namespace lorahub::python {

/// An optimizer known only at run time (a Python ask/tell object): learn() drives it through
/// external_optimizer.
class dynamic_optimizer {
public:
    virtual ~dynamic_optimizer() = default;
    virtual std::string name() const = 0;
    virtual std::vector<std::vector<double>> ask_population() = 0;
    virtual void tell(std::span<const double> x, double value) = 0;
};

/// dynamic_optimizer as learn_using() drives an optimizer (AskTellOptimizer).
struct external_optimizer {
    std::unique_ptr<dynamic_optimizer> self;
    std::string name;

    std::vector<std::vector<double>> ask_population() { return self->ask_population(); }
    void tell(std::span<const double> x, double value) { self->tell(x, value); }
    bool done() const { return false; }  // the budget ends its search
};

/// A search in model-independent terms: learn_options less the model's types.
struct search_request {
    search_settings search;
    std::size_t batch_size = 0;
    std::string optimizer;  ///< a name of optim::policies, or empty: make_external
    std::function<std::unique_ptr<dynamic_optimizer>(const optim::settings&)> make_external;
    std::function<double(std::span<const double>)> regularizer;  ///< empty: upstream's 0.05 * mean |w|
    std::function<void(std::size_t index, const evaluation&, const evaluation& best)> on_evaluation;
    std::function<bool()> stop;
};

class model_handle {
public:
    virtual ~model_handle() = default;
    virtual std::string family() const = 0;
    virtual const std::filesystem::path& directory() const = 0;
    virtual std::vector<lora_target> targets() const = 0;
    virtual std::vector<int> tokenize(std::string_view text) const = 0;
    virtual std::string detokenize(std::span<const int> ids) const = 0;
    virtual learn_result learn(const lora_pool& pool, const any_composer& composer, std::span<const io::example> examples,
                               const search_request& request) const = 0;
    /// The loss and objective of each point; one point is scored as score() scores, several as
    /// score_all() does (population passes).
    virtual std::vector<score_result> score(const lora_pool& pool, const any_composer& composer, std::span<const io::example> examples,
                                            std::size_t batch_size, std::span<const std::vector<double>> points,
                                            const std::function<double(std::span<const double>)>& regularizer) const = 0;
    virtual inference_result infer(std::span<const io::example> examples, std::span<const lora_layer> layers,
                                   const infer_options& options) const = 0;
    virtual void save_merged(std::span<const lora_layer> layers, const std::string& name, const std::filesystem::path& out,
                             io::existing_output existing) const = 0;
};

/// The model in `directory` (any family of the registry) on Backend, held behind model_handle:
/// defined in held_model.hpp, instantiated once per CPU backend (model_fp32.cpp, model_bf16.cpp).
template <class Backend>
std::shared_ptr<const model_handle> load_held(const std::filesystem::path& directory);

extern template std::shared_ptr<const model_handle> load_held<cpu::backend>(const std::filesystem::path&);
extern template std::shared_ptr<const model_handle> load_held<cpu::bf16_backend>(const std::filesystem::path&);

/// Loads the model in `directory` at `precision` ("fp32", "bf16").
inline std::shared_ptr<const model_handle> load_model(const std::filesystem::path& directory, std::string_view precision) {
    return with_cpu_backend(precision, [&]<class Backend>() { return load_held<Backend>(directory); });
}

/// The composer named `name` of composer_policies with PEFT's combination options (composers.cpp).
any_composer make_composer(std::string_view name, const combination_options& options);

}  // namespace lorahub::python
