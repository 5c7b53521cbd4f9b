#pragma once

/// The concepts the library is written against. This header includes only the standard
/// library and core/ (the LoRA types): checking a policy against a concept pulls in no I/O,
/// no model and no backend.

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "lorahub/core/activation.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/core/primitives.hpp"

namespace lorahub {

namespace optim {
struct settings;
struct best_so_far;
}  // namespace optim

/// What a search drives: a minimizer asked for populations of points and told their values.
/// Contract beyond the syntax: tell() is called once per asked point, in the order asked
/// (the last population of a budget may be told in part); a population that is empty while
/// done() is false is an error. `name` may be a member (an optimizer made at run time).
template <class O>
concept AskTellOptimizer = requires(O o, const O& c, std::span<const double> x, double f) {
    { o.name } -> std::convertible_to<std::string_view>;
    { o.ask_population() } -> std::same_as<std::vector<std::vector<double>>>;
    o.tell(x, f);
    { c.done() } -> std::same_as<bool>;
};

/// A gradient-free minimizer policy over a box, made from optim::settings. Policies:
/// optim::cobyla, optim::cma_es (and its restarts), optim::nelder_mead, optim::random_search.
template <class O>
concept Optimizer = AskTellOptimizer<O> && std::constructible_from<O, const optim::settings&> &&
                    requires(O o, const O& c) {
                        { O::name } -> std::convertible_to<std::string_view>;
                        { o.ask() } -> std::same_as<std::vector<double>>;
                        { c.best() } -> std::convertible_to<const optim::best_so_far&>;
                    };

/// Makes the optimizer of each start of a search from its settings (learn_using()).
template <class F>
concept OptimizerFactory = std::invocable<F&, const optim::settings&> &&
                           AskTellOptimizer<std::remove_cvref_t<std::invoke_result_t<F&, const optim::settings&>>>;

/// N LoRA modules of one structure: per target layer a stack a = [N, rank, in] and
/// b = [N, out, rank] with N scalings (lora_pool; later, pools living on a device).
template <class P>
concept LoraPool = requires(const P& pool, std::span<const double> w) {
    { pool.size() } -> std::convertible_to<std::size_t>;
    { pool.names() } -> std::convertible_to<const std::vector<std::string>&>;
    pool.check_weights(w);
    { pool.stacks().size() } -> std::convertible_to<std::size_t>;
    { pool.stacks()[0].module } -> std::convertible_to<const std::string&>;
    { pool.stacks()[0].rank } -> std::convertible_to<std::size_t>;
    { pool.stacks()[0].scaling[0] } -> std::convertible_to<float>;
};

/// Turns a pool and weights into one LoRA module. A composer is an object (it may carry
/// settings: density, rank, ...): allocate() makes the output storage once, compose()
/// writes the composition for `w` into it without allocating. Policies: weighted_ab (the
/// LoraHub rule), delta_sum, PEFT's combination types (lora/policies.hpp lists them all);
/// any_composer holds any of them chosen at run time.
template <class C, class Pool>
concept Composer = LoraPool<Pool> && requires(const C& composer, const Pool& pool, std::span<const double> w, std::vector<lora_layer>& out) {
    { composer.name } -> std::convertible_to<std::string_view>;
    { composer.allocate(pool) } -> std::same_as<std::vector<lora_layer>>;
    composer.compose(pool, w, out);
};

/// A language model LoraHub can score and run: its batch, LoRA binding, tokenizer, backend
/// and context (scratch memory a call mutates, owned by the caller) types; binding LoRA
/// layers by module name; building batches from text examples; the loss of a batch (mean
/// token cross-entropy over label tokens) and greedy generation, both with a binding.
/// t5::model (seq2seq) and llama::model (causal LM) are two; a test plugs in a model of its own.
template <class M>
concept Model = requires(const M& model, typename M::context& context, const typename M::batch& batch, typename M::batch& building,
                         const typename M::lora_binding& lora, std::span<const lora_layer> layers,
                         const std::vector<std::vector<int>>& inputs, std::string_view text, std::span<const int> ids, std::size_t n) {
    typename M::backend;
    typename M::tokenizer;
    { model.make_context() } -> std::same_as<typename M::context>;
    { model.lora_targets() } -> std::convertible_to<std::vector<lora_target>>;
    { model.bind(layers, std::string()) } -> std::same_as<typename M::lora_binding>;
    model.add_example(building, text, text);
    { model.label_tokens(batch) } -> std::convertible_to<std::size_t>;
    { model.loss(batch, &lora, context) } -> std::convertible_to<double>;
    { model.encode_input(text) } -> std::same_as<std::vector<int>>;
    { model.generate(inputs, &lora, n, context) } -> std::same_as<std::vector<std::vector<int>>>;
    { model.decode_output(ids) } -> std::convertible_to<std::string>;
};

/// A model that also scores a population in one pass: losses(batch, candidates, context)
/// gives loss(batch, candidates[p], context) for every candidate p (nullptr: no LoRA).
template <class M>
concept PopulationModel = Model<M> && requires(const M& model, typename M::context& context, const typename M::batch& batch,
                                               std::span<const typename M::lora_binding* const> candidates) {
    { model.losses(batch, candidates, context) } -> std::same_as<std::vector<double>>;
};

/// A model whose LoRA can be merged into a copy of its weights and written out: its weight
/// store (the loaded files), the merged values of the layers a binding changes, and the side
/// files of its family that travel with the weights (config, tokenizer).
template <class M>
concept MergeableModel = Model<M> && requires(const M& model, const typename M::lora_binding& lora) {
    model.weight_store().directory();
    model.weight_store().tensors();
    { model.merged_weights(lora) } -> std::convertible_to<std::vector<std::pair<std::string, std::vector<float>>>>;
    { M::side_files[0] } -> std::convertible_to<std::string_view>;
};

/// The primitives a model is written against, one implementation per device and precision
/// (cpu::backend, cpu::bf16_backend; cuda::backend and its tf32/bf16 forms): linear layers on
/// weights the backend prepared once (its own dtype, layout or device), other parameters
/// placed once, products, biases, norms, activations, rotary position embeddings, attention over
/// ragged spans, cross-entropy and argmax over logit rows, embedding gathers, buffers, and
/// copies to, from and within the backend's memory. Pointers given to a primitive point into backend memory, except the
/// spans and ids passed as std::span, which are host values.
template <class B>
concept Backend = requires(const matrix_ref& a, const mutable_matrix_ref& c, const float* x, float* y, std::size_t n, float f,
                           std::span<const int> ids, const attention_problem& problem, activation kind,
                           std::span<const labeled_row> labeled, std::span<double> losses, std::span<int> indices,
                           std::span<const float> host, typename B::lora_binding& binding) {
    { B::name } -> std::convertible_to<std::string_view>;
    typename B::template buffer<float>;
    typename B::weight;
    { B::reads_source_weights } -> std::convertible_to<bool>;
    { B::prepare(x, n, n) } -> std::same_as<typename B::weight>;
    B::linear(a, B::prepare(x, n, n), c, f, f);
    B::gemm_nt(a, a, c, f, f);
    B::gemm_nn(a, a, c, f, f);
    B::rms_norm(x, n, n, x, f, y);
    B::activate(kind, y, x, n);
    B::scale(y, n, f);
    B::add_bias(y, n, n, x);
    B::rotary(y, n, n, n, n, x, x);
    B::gather_rows(x, n, ids, y);
    B::attention(problem);
    B::cross_entropy_rows(x, n, labeled, losses);
    B::argmax_rows(x, n, n, indices);
    typename B::parameter;
    typename B::lora_binding;
    { B::adopt_lora(lora_binding{}) } -> std::same_as<typename B::lora_binding>;
    B::refresh_lora(binding);
    { B::host_lora(B::adopt_lora(lora_binding{})) } -> std::convertible_to<const lora_binding&>;
    { B::place(host).data() } -> std::convertible_to<const float*>;
    B::upload(host, y);
    B::download(x, n, y);
    B::copy(x, n, y);
};

}  // namespace lorahub
