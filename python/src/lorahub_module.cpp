// lorahub._core: the library's hub (learn, score, infer, combine, merge) on models, pools and
// adapters held in C++; python/lorahub/__init__.py is the documented API over it. The GIL is
// released while C++ works; Python callables (callbacks, regularizers, ask/tell optimizers) are
// called with it held.

#include <Python.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <lorahub/core/error.hpp>
#include <lorahub/io/hub_manifest.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/lora/arrow.hpp>
#include <lorahub/lora/module_audit.hpp>
#include <lorahub/lora/policies.hpp>
#include <lorahub/model/families.hpp>
#include <lorahub/model/llama/gguf_lora.hpp>
#include <lorahub/optim/policies.hpp>
#include <lorahub/text/tokenizer.hpp>

#include "model_handle.hpp"

namespace nb = nanobind;

namespace lorahub::python {
namespace {

using weights_array = nb::ndarray<nb::numpy, double, nb::ndim<1>>;

/// A copy of `values` as a numpy float64 array that owns its memory.
nb::object to_numpy(std::vector<double> values) {
    auto* owned = new std::vector<double>(std::move(values));
    nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<double>*>(p); });
    return nb::cast(weights_array(owned->data(), {owned->size()}, owner), nb::rv_policy::move);
}

/// A Python object shared by C++ copies of a callable without touching its reference count
/// (the copies are made and dropped while the GIL is released); the binding that made it
/// holds the last reference and drops it with the GIL held.
using shared_object = std::shared_ptr<nb::object>;

/// Runs Python's signal handlers (Ctrl-C raises KeyboardInterrupt) from C++ work.
void check_signals() {
    nb::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
}

struct model_object {
    std::shared_ptr<const model_handle> handle;
    std::string precision;
};

struct pool_object {
    std::shared_ptr<const lora_pool> pool;

    const lora_stack& stack(const std::string& target) const {
        for (const auto& stack : pool->stacks())
            if (stack.module == target) return stack;
        throw argument_error("LoRA pool", "has no target layer \"" + target + "\" (pool.targets lists them)");
    }
};

/// LoRA layers with the config they are saved with: a composition, a combination, a loaded adapter.
struct adapter_object {
    std::vector<lora_layer> layers;
    io::peft_config config;
    std::string name;

    void save(const std::filesystem::path& directory, bool force) const {
        io::save_peft_adapter(directory, config, layers, dtype::f32, force ? io::existing_output::replace_ours : io::existing_output::refuse);
    }

    /// The llama.cpp LoRA GGUF of these layers for the Llama-family model in `model` (what
    /// `lorahub export --format gguf` writes); `outtype` f32, f16 or bf16.
    void save_gguf(const std::filesystem::path& path, const std::filesystem::path& model, const std::string& outtype, bool force) const {
        if (outtype != "f32" && outtype != "f16" && outtype != "bf16")
            throw argument_error("outtype", "\"" + outtype + "\" is not f32, f16 or bf16");
        const auto type = outtype == "f16" ? io::ggml_type::f16 : outtype == "bf16" ? io::ggml_type::bf16 : io::ggml_type::f32;
        llama::write_gguf_lora(path, llama::gguf_base_config(model), layers, config.lora_alpha, {type, path.stem().string()}, name,
                               force ? io::existing_output::replace_ours : io::existing_output::refuse);
    }
};

struct learn_outcome {
    learn_result result;
    std::vector<std::string> module_names;
    std::shared_ptr<const model_handle> model;
    adapter_object adapter;
};

/// An ask/tell object of Python behind dynamic_optimizer, through the driver of
/// lorahub/_ask_tell.py: ask_population() -> list of float64 arrays, tell_population(values).
class python_optimizer final : public dynamic_optimizer {
public:
    python_optimizer(shared_object driver, std::string name, std::size_t dimension)
        : driver_(std::move(driver)), name_(std::move(name)), dimension_(dimension) {}

    std::string name() const override { return name_; }

    std::vector<std::vector<double>> ask_population() override {
        flush();
        nb::gil_scoped_acquire gil;
        const nb::object asked = driver_->attr("ask_population")();
        std::vector<std::vector<double>> points;
        for (nb::handle item : asked) {
            const auto point = nb::cast<nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>>(item);
            if (point.shape(0) != dimension_)
                throw argument_error("optimizer " + name_, "asked a point of " + std::to_string(point.shape(0)) + " weights; the search has " +
                                                               std::to_string(dimension_) + " (one per module searched)");
            std::vector<double> x(point.data(), point.data() + point.shape(0));
            for (double value : x)
                if (!std::isfinite(value)) throw argument_error("optimizer " + name_, "asked a point with a value that is not finite");
            points.push_back(std::move(x));
        }
        asked_ = points.size();
        return points;
    }

    void tell(std::span<const double>, double value) override {
        told_.push_back(value);
        if (told_.size() == asked_) flush();
    }

    ~python_optimizer() override = default;

private:
    /// Tells the driver the values of the population asked last (all of them, or as many as
    /// the budget let the search score).
    void flush() {
        if (told_.empty()) return;
        nb::gil_scoped_acquire gil;
        driver_->attr("tell_population")(told_);
        told_.clear();
    }

    shared_object driver_;
    std::string name_;
    std::size_t dimension_;
    std::size_t asked_ = 0;
    std::vector<double> told_;
};

std::vector<io::example> examples_of(const std::vector<std::string>& inputs, const std::optional<std::vector<std::string>>& outputs) {
    if (outputs && outputs->size() != inputs.size())
        throw argument_error("examples", std::to_string(inputs.size()) + " inputs and " + std::to_string(outputs->size()) + " outputs");
    std::vector<io::example> examples;
    examples.reserve(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) examples.push_back({inputs[i], outputs ? std::optional((*outputs)[i]) : std::nullopt});
    return examples;
}

std::function<double(std::span<const double>)> python_regularizer(const shared_object& regularizer) {
    if (!regularizer) return {};
    return [regularizer](std::span<const double> w) {
        nb::gil_scoped_acquire gil;
        const double value = nb::cast<double>((*regularizer)(to_numpy({w.begin(), w.end()})));
        return value;
    };
}

struct learn_arguments {
    std::string optimizer = "cobyla";
    nb::object driver = nb::none();  ///< None unless the optimizer is a Python object
    std::string driver_name;
    std::size_t budget = 40, population = 0, starts = 1, select = 0, batch_size = 0, max_restarts = 9, stall_generations = 0;
    std::uint64_t seed = 42;
    std::string start = "zero";
    std::optional<std::vector<double>> start_weights;
    double lower = -1.5, upper = 1.5;
};

learn_outcome learn_call(const model_object& model, const pool_object& pool, const std::vector<std::string>& inputs,
                    const std::vector<std::string>& outputs, const any_composer& composer, const learn_arguments& arguments,
                    nb::object regularizer, nb::object callback) {
    search_request request;
    request.optimizer = arguments.driver.is_none() ? arguments.optimizer : std::string();
    request.batch_size = arguments.batch_size;
    auto& search = request.search;
    search.budget = arguments.budget;
    search.population = arguments.population;
    search.starts = arguments.starts;
    search.select = arguments.select;
    search.seed = arguments.seed;
    search.start = start_point_named(arguments.start);
    if (arguments.start_weights) search.start_weights = *arguments.start_weights;
    search.lower = arguments.lower;
    search.upper = arguments.upper;
    search.restarts = {.max_restarts = arguments.max_restarts, .stall_generations = arguments.stall_generations};
    const auto regularizer_object = regularizer.is_none() ? shared_object() : std::make_shared<nb::object>(std::move(regularizer));
    const auto callback_object = callback.is_none() ? shared_object() : std::make_shared<nb::object>(std::move(callback));
    const auto driver_object = arguments.driver.is_none() ? shared_object() : std::make_shared<nb::object>(arguments.driver);
    request.regularizer = python_regularizer(regularizer_object);
    auto stopped = std::make_shared<bool>(false);
    request.on_evaluation = [callback_object, stopped](std::size_t index, const evaluation& step, const evaluation&) {
        check_signals();
        if (!callback_object) return;
        nb::gil_scoped_acquire gil;
        const nb::object answer = (*callback_object)(index, to_numpy(step.weights), step.objective);
        if (answer.is(nb::bool_(false))) *stopped = true;
    };
    request.stop = [stopped] { return *stopped; };
    if (driver_object)
        request.make_external = [driver_object, name = arguments.driver_name](const optim::settings& settings) -> std::unique_ptr<dynamic_optimizer> {
            return std::make_unique<python_optimizer>(driver_object, name, settings.dimension);
        };
    const auto examples = examples_of(inputs, outputs);
    learn_outcome outcome;
    {
        nb::gil_scoped_release released;
        outcome.result = model.handle->learn(*pool.pool, composer, examples, request);
    }
    outcome.module_names = pool.pool->names();
    outcome.model = model.handle;
    outcome.adapter.layers = outcome.result.composed;
    outcome.adapter.config = io::config_for_layers(pool.pool->config(), outcome.result.composed);
    outcome.adapter.config.base_model_name_or_path = model.handle->directory().string();
    outcome.adapter.name = "learned LoRA";
    return outcome;
}

/// The objective and loss of each row of `weights` [P, N].
std::pair<std::vector<double>, std::vector<double>> score_call(const model_object& model, const pool_object& pool,
                                                          const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                                                          nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu> weights,
                                                          const any_composer& composer, std::size_t batch_size, nb::object regularizer) {
    std::vector<std::vector<double>> points;
    for (std::size_t p = 0; p < weights.shape(0); ++p)
        points.emplace_back(weights.data() + p * weights.shape(1), weights.data() + (p + 1) * weights.shape(1));
    if (points.empty()) throw argument_error("weights", "hold no row to score");
    const auto regularizer_object = regularizer.is_none() ? shared_object() : std::make_shared<nb::object>(std::move(regularizer));
    const auto examples = examples_of(inputs, outputs);
    std::vector<score_result> scored;
    {
        nb::gil_scoped_release released;
        scored = model.handle->score(*pool.pool, composer, examples, batch_size, points, python_regularizer(regularizer_object));
    }
    std::pair<std::vector<double>, std::vector<double>> result;
    for (const auto& one : scored) result.first.push_back(one.objective), result.second.push_back(one.loss);
    return result;
}

adapter_object compose(const pool_object& pool, const std::vector<double>& weights, const any_composer& composer) {
    nb::gil_scoped_release released;
    pool.pool->check_weights(weights);
    adapter_object adapter;
    adapter.layers = composer.allocate(*pool.pool);
    composer.compose(*pool.pool, weights, adapter.layers);
    adapter.config = io::config_for_layers(pool.pool->config(), adapter.layers);
    adapter.name = "composed LoRA";
    return adapter;
}

std::vector<std::string> infer_call(const model_object& model, const std::vector<std::string>& inputs, const adapter_object* adapter,
                               std::size_t max_new_tokens, std::size_t batch_size) {
    const auto examples = examples_of(inputs, std::nullopt);
    infer_options options;
    options.max_new_tokens = max_new_tokens;
    options.batch_size = batch_size;
    if (adapter) options.lora_name = adapter->name;
    nb::gil_scoped_release released;
    return model.handle->infer(examples, adapter ? std::span<const lora_layer>(adapter->layers) : std::span<const lora_layer>(), options)
        .predictions;
}

std::pair<pool_object, std::vector<std::string>> load_pool(const model_object* model, const std::vector<std::filesystem::path>& directories,
                                                           const std::string& scaling, bool allow_base_mismatch) {
    if (scaling != "first-module" && scaling != "per-module")
        throw argument_error("scaling", "\"" + scaling + "\" is not first-module or per-module");
    const auto rule = scaling == "per-module" ? module_scaling::per_module : module_scaling::first_module;
    nb::gil_scoped_release released;
    std::optional<model_identity> identity;
    if (model) identity = identify_model(model->handle->directory());
    auto warnings = audit_modules(directories, identity ? &*identity : nullptr, allow_base_mismatch ? base_mismatch::warn : base_mismatch::refuse, rule);
    pool_object pool{std::make_shared<const lora_pool>(lora_pool::load(directories, rule))};
    return {std::move(pool), std::move(warnings)};
}

/// A read-only numpy view of `values` shaped `shape`, kept alive by `owner` (the pool).
nb::ndarray<nb::numpy, const float> view_of(const std::vector<float>& values, std::initializer_list<std::size_t> shape, nb::handle owner) {
    return nb::ndarray<nb::numpy, const float>(values.data(), shape, owner);
}

bool is_missing(const std::string& path) {
    std::error_code ignored;
    return !path.empty() && !std::filesystem::exists(std::filesystem::path(path), ignored);
}

}  // namespace
}  // namespace lorahub::python

NB_MODULE(_core, m) {
    using namespace lorahub;
    using namespace lorahub::python;
    m.doc() = "lorahub's C++ core; use the lorahub package, which documents it.";

    static nb::exception<format_error> format_exception(m, "FormatError", PyExc_ValueError);
    static nb::exception<config_error> config_exception(m, "ConfigError", PyExc_ValueError);
    static nb::exception<shape_error> shape_exception(m, "ShapeError", PyExc_ValueError);
    static nb::exception<argument_error> argument_exception(m, "ArgumentError", PyExc_ValueError);
    static nb::exception<unsupported_error> unsupported_exception(m, "UnsupportedError", PyExc_ValueError);
    nb::register_exception_translator([](const std::exception_ptr& failure, void*) {
        try {
            std::rethrow_exception(failure);
        } catch (const io_error& error) {
            PyErr_SetString(is_missing(error.subject()) ? PyExc_FileNotFoundError : PyExc_OSError, error.what());
        }
    });

    m.def("optimizer_names", &optim::policies::names, "The optimizer policies, by name.");
    m.def("composer_names", &composer_policies::names, "The composers (LoraHub's rule and PEFT's combination types), by name.");
    m.def("model_types", &known_model_types, "The config.json model_types lorahub runs.");

    nb::class_<model_object>(m, "Model", "A base model loaded in C++ (see lorahub.load_model).")
        .def_prop_ro("family", [](const model_object& model) { return model.handle->family(); })
        .def_prop_ro("precision", [](const model_object& model) { return model.precision; })
        .def_prop_ro("path", [](const model_object& model) { return model.handle->directory(); })
        .def_prop_ro("targets", [](const model_object& model) {
            std::vector<std::string> names;
            for (const auto& target : model.handle->targets()) names.push_back(target.module);
            return names;
        })
        .def("tokenize", [](const model_object& model, const std::string& text) { return model.handle->tokenize(text); }, nb::arg("text"))
        .def("detokenize", [](const model_object& model, const std::vector<int>& ids) { return model.handle->detokenize(ids); }, nb::arg("ids"))
        .def("save_merged", [](const model_object& model, const adapter_object& adapter, const std::filesystem::path& out, bool force) {
            nb::gil_scoped_release released;
            model.handle->save_merged(adapter.layers, adapter.name, out, force ? io::existing_output::replace_ours : io::existing_output::refuse);
        }, nb::arg("adapter"), nb::arg("out"), nb::arg("force") = false);

    nb::class_<text::tokenizer>(m, "Tokenizer", "A tokenizer.json (see lorahub.Tokenizer).")
        .def("__init__", [](text::tokenizer* self, const std::filesystem::path& file) {
            nb::gil_scoped_release released;
            new (self) text::tokenizer(file);
        }, nb::arg("path"))
        .def("encode", [](const text::tokenizer& tokens, const std::string& text, bool add_special_tokens) {
            nb::gil_scoped_release released;
            return tokens.encode(text, add_special_tokens);
        }, nb::arg("text"), nb::arg("add_special_tokens"))
        .def("decode", [](const text::tokenizer& tokens, const std::vector<int>& ids, bool skip_special_tokens) {
            nb::gil_scoped_release released;
            return tokens.decode(ids, skip_special_tokens);
        }, nb::arg("ids"), nb::arg("skip_special_tokens"))
        .def("id_of", &text::tokenizer::id_of, nb::arg("token"))
        .def_prop_ro("bos_id", &text::tokenizer::bos_id)
        .def_prop_ro("eos_id", &text::tokenizer::eos_id)
        .def_prop_ro("vocabulary_size", &text::tokenizer::vocabulary_size)
        .def_prop_ro("path", &text::tokenizer::path);

    m.def("load_model", [](const std::filesystem::path& directory, const std::string& precision) {
        nb::gil_scoped_release released;
        return model_object{load_model(directory, precision), precision};
    }, nb::arg("path"), nb::arg("precision") = "fp32");

    nb::class_<pool_object>(m, "Pool", "LoRA modules of one structure, stacked per target layer (see lorahub.load_pool).")
        .def("__len__", [](const pool_object& pool) { return pool.pool->size(); })
        .def_prop_ro("names", [](const pool_object& pool) { return pool.pool->names(); })
        .def_prop_ro("paths", [](const pool_object& pool) { return pool.pool->directories(); })
        .def_prop_ro("targets", [](const pool_object& pool) {
            std::vector<std::string> names;
            for (const auto& stack : pool.pool->stacks()) names.push_back(stack.module);
            return names;
        })
        .def("rank", [](const pool_object& pool, const std::string& target) { return pool.stack(target).rank; }, nb::arg("target"))
        .def("lora_a", [](nb::handle self, const std::string& target) {
            const auto& pool = nb::cast<const pool_object&>(self);
            const auto& stack = pool.stack(target);
            return view_of(stack.a, {pool.pool->size(), stack.rank, stack.in_features}, self);
        }, nb::arg("target"))
        .def("lora_b", [](nb::handle self, const std::string& target) {
            const auto& pool = nb::cast<const pool_object&>(self);
            const auto& stack = pool.stack(target);
            return view_of(stack.b, {pool.pool->size(), stack.out_features, stack.rank}, self);
        }, nb::arg("target"))
        .def("scaling", [](nb::handle self, const std::string& target) {
            const auto& pool = nb::cast<const pool_object&>(self);
            return view_of(pool.stack(target).scaling, {pool.pool->size()}, self);
        }, nb::arg("target"));

    m.def("load_pool", [](const model_object* model, const std::vector<std::filesystem::path>& paths, const std::string& scaling,
                          bool allow_base_mismatch) { return load_pool(model, paths, scaling, allow_base_mismatch); },
          nb::arg("model").none(), nb::arg("paths"), nb::arg("scaling") = "first-module", nb::arg("allow_base_mismatch") = false);

    nb::class_<any_composer>(m, "Composer", "A composer chosen by name, with its options (see lorahub.learn's composer=).")
        .def_prop_ro("name", [](const any_composer& composer) { return std::string(composer.name); })
        .def_prop_ro("nonnegative_weights", [](const any_composer& composer) { return composer.nonnegative_weights; });
    m.def("make_composer", [](const std::string& name, double density, std::size_t svd_rank, std::optional<double> svd_clamp,
                              const std::string& sign, std::uint64_t seed) {
        combination_options options;
        options.density = density;
        options.svd_rank = svd_rank;
        options.svd_clamp = svd_clamp;
        options.sign = majority_sign_named(sign);
        options.seed = seed;
        return make_composer(name, options);
    }, nb::arg("name"), nb::arg("density") = 1.0, nb::arg("svd_rank") = 0, nb::arg("svd_clamp").none() = nb::none(),
       nb::arg("majority_sign") = "total", nb::arg("seed") = 42);

    nb::class_<adapter_object>(m, "Adapter", "A LoRA adapter: a composition, a combination or one loaded from a PEFT folder.")
        .def_prop_ro("targets", [](const adapter_object& adapter) {
            std::vector<std::string> names;
            for (const auto& layer : adapter.layers) names.push_back(layer.module);
            return names;
        })
        .def_prop_ro("rank", [](const adapter_object& adapter) { return adapter.layers.empty() ? std::size_t{0} : adapter.layers.front().rank; })
        .def("save", [](const adapter_object& adapter, const std::filesystem::path& directory, bool force) {
            nb::gil_scoped_release released;
            adapter.save(directory, force);
        }, nb::arg("directory"), nb::arg("force") = false)
        .def("save_gguf", [](const adapter_object& adapter, const std::filesystem::path& path, const std::filesystem::path& model,
                             const std::string& outtype, bool force) {
            nb::gil_scoped_release released;
            adapter.save_gguf(path, model, outtype, force);
        }, nb::arg("path"), nb::arg("model"), nb::arg("outtype") = "f32", nb::arg("force") = false);
    m.def("load_adapter", [](const std::filesystem::path& directory) {
        nb::gil_scoped_release released;
        auto loaded = io::load_peft_adapter(directory);
        return adapter_object{std::move(loaded.layers), std::move(loaded.config), display(directory)};
    }, nb::arg("directory"));
    m.def("compose", &compose, nb::arg("pool"), nb::arg("weights"), nb::arg("composer"));
    m.def("arrow", [](const pool_object& pool, std::size_t top_k, double temperature, const pool_object* general) {
        nb::gil_scoped_release released;
        const arrow_options options{top_k, temperature};
        auto layers = general ? arrow_layers(subtract_general_knowledge(*pool.pool, *general->pool), options) : arrow_layers(*pool.pool, options);
        return adapter_object{std::move(layers), pool.pool->config(), "Arrow routing"};
    }, nb::arg("pool"), nb::arg("top_k") = 3, nb::arg("temperature") = 1.0, nb::arg("general").none() = nb::none());

    nb::class_<evaluation>(m, "Evaluation", "One objective evaluation of a search.")
        .def_prop_ro("weights", [](const evaluation& step) { return to_numpy(step.weights); })
        .def_ro("loss", &evaluation::loss)
        .def_ro("objective", &evaluation::objective)
        .def_ro("seconds", &evaluation::seconds)
        .def("__repr__", [](const evaluation& step) { return "Evaluation(objective=" + std::to_string(step.objective) + ")"; });

    nb::class_<learn_outcome>(m, "LearnOutcome")
        .def_prop_ro("weights", [](const learn_outcome& outcome) { return to_numpy(outcome.result.weights); })
        .def_prop_ro("objective", [](const learn_outcome& outcome) { return outcome.result.objective; })
        .def_prop_ro("loss", [](const learn_outcome& outcome) { return outcome.result.loss; })
        .def_prop_ro("trace", [](const learn_outcome& outcome) { return outcome.result.trace; })
        .def_prop_ro("optimizer", [](const learn_outcome& outcome) { return outcome.result.optimizer; })
        .def_prop_ro("composer", [](const learn_outcome& outcome) { return outcome.result.composer; })
        .def_prop_ro("single_losses", [](const learn_outcome& outcome) { return outcome.result.single_losses; })
        .def_prop_ro("searched", [](const learn_outcome& outcome) { return outcome.result.searched; })
        .def_prop_ro("seconds", [](const learn_outcome& outcome) { return outcome.result.seconds; })
        .def_prop_ro("module_names", [](const learn_outcome& outcome) { return outcome.module_names; })
        .def_prop_ro("adapter", [](const learn_outcome& outcome) { return outcome.adapter; });

    nb::class_<learn_arguments>(m, "LearnArguments")
        .def(nb::init<>())
        .def_rw("optimizer", &learn_arguments::optimizer)
        .def_rw("driver", &learn_arguments::driver)
        .def_rw("driver_name", &learn_arguments::driver_name)
        .def_rw("budget", &learn_arguments::budget)
        .def_rw("population", &learn_arguments::population)
        .def_rw("starts", &learn_arguments::starts)
        .def_rw("select", &learn_arguments::select)
        .def_rw("batch_size", &learn_arguments::batch_size)
        .def_rw("max_restarts", &learn_arguments::max_restarts)
        .def_rw("stall_generations", &learn_arguments::stall_generations)
        .def_rw("seed", &learn_arguments::seed)
        .def_rw("start", &learn_arguments::start)
        .def_rw("start_weights", &learn_arguments::start_weights)
        .def_rw("lower", &learn_arguments::lower)
        .def_rw("upper", &learn_arguments::upper);

    m.def("learn", &learn_call, nb::arg("model"), nb::arg("pool"), nb::arg("inputs"), nb::arg("outputs"), nb::arg("composer"), nb::arg("arguments"),
          nb::arg("regularizer").none(), nb::arg("callback").none());
    m.def("score", &score_call, nb::arg("model"), nb::arg("pool"), nb::arg("inputs"), nb::arg("outputs"), nb::arg("weights"), nb::arg("composer"),
          nb::arg("batch_size"), nb::arg("regularizer").none());
    m.def("infer", &infer_call, nb::arg("model"), nb::arg("inputs"), nb::arg("adapter").none(), nb::arg("max_new_tokens"), nb::arg("batch_size"));

    m.def("load_hub", [](const std::filesystem::path& root) {
        const auto hub = io::load_hub_manifest(root);
        nb::dict tasks;
        for (const auto& task : hub.tasks) {
            nb::dict entry;
            entry["few_shot"] = task.few_shot;
            entry["test"] = task.test;
            entry["trained_lora"] = task.trained_lora.empty() ? nb::none() : nb::cast(task.trained_lora);
            tasks[task.name.c_str()] = entry;
        }
        nb::dict result;
        result["root"] = hub.root;
        result["model"] = hub.model;
        result["modules"] = hub.modules;
        result["default_task"] = hub.default_task;
        result["tasks"] = tasks;
        return result;
    }, nb::arg("root"));
    m.def("read_examples", [](const std::filesystem::path& path) {
        std::vector<std::string> inputs;
        std::vector<std::optional<std::string>> outputs;
        for (auto& example : io::read_examples(path)) inputs.push_back(std::move(example.input)), outputs.push_back(std::move(example.output));
        return std::make_pair(inputs, outputs);
    }, nb::arg("path"));
}
