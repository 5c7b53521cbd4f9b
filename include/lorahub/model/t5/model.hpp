#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lorahub/backend/cpu/declarations.hpp"
#include "lorahub/backend/cpu/gemm.hpp"
#if !defined(__CUDACC__)  // nvcc cannot compile oneDNN's header; CUDA code names its backend
#include "lorahub/backend/cpu/backend.hpp"
#endif
#include "lorahub/core/error.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/core/primitives.hpp"
#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/lora_linear.hpp"
#include "lorahub/model/model_support.hpp"
#include "lorahub/model/t5/config.hpp"
#include "lorahub/model/t5/relative_position.hpp"
#include "lorahub/model/t5/tokenizer.hpp"
#include "lorahub/model/t5/weights.hpp"

namespace lorahub::t5 {

/// Token ids of a set of examples. Labels may hold -100 for positions to ignore.
struct batch {
    std::vector<std::vector<int>> inputs;
    std::vector<std::vector<int>> labels;
};

inline constexpr int ignore_index = -100;

/// Buffers one forward pass or generation reuses: the state the model's calls mutate,
/// owned by the caller (model::make_context), so that a model is immutable and shareable.
/// After the first call of a given size, a call allocates nothing in here.
template <class Backend>
struct context {
    template <class T>
    using buffer = typename Backend::template buffer<T>;
    std::vector<std::size_t> encoder_offsets, decoder_offsets;
    buffer<float> encoder_hidden, hidden, normed, query, key, value, attended, ff_in, ff_gate, lora_tmp, logits;
    buffer<float> cross_keys, cross_values, self_keys, self_values;
    buffer<float> encoder_bias, decoder_bias;  ///< relative-position bias tables, one per sequence
    std::vector<attention_span> spans, cross_spans;
    std::vector<int> ids, next_ids;
    std::vector<float> bias_host;  ///< bias tables built on the host before they are uploaded
    std::vector<labeled_row> labeled;
    std::vector<double> row_losses, copy_losses;  ///< per labeled row; per stacked copy (candidate)
};

/// The parameters other than linear weights, placed once on the backend.
template <class Backend>
struct placed_parameters {
    using parameter = typename Backend::parameter;
    parameter shared, lm_head, encoder_final_norm, decoder_final_norm;
    std::vector<std::vector<parameter>> encoder_norms, decoder_norms;  ///< per layer: self (cross) ff

    explicit placed_parameters(const weights& w)
        : shared(Backend::place(w.shared)), lm_head(Backend::place(w.lm_head)), encoder_final_norm(Backend::place(w.encoder_final_norm)),
          decoder_final_norm(Backend::place(w.decoder_final_norm)) {
        for (const auto& layer : w.encoder) encoder_norms.push_back({Backend::place(layer.self_norm), Backend::place(layer.ff_norm)});
        for (const auto& layer : w.decoder)
            decoder_norms.push_back({Backend::place(layer.self_norm), Backend::place(layer.cross_norm), Backend::place(layer.ff_norm)});
    }
};

/// Hugging Face's T5ForConditionalGeneration in float32, with LoRA applied at run time
/// (y = x W^T + s (x A^T) B^T) and never merged into W. Sequences are packed: linear layers
/// see all tokens of all sequences as one matrix, attention runs per sequence, and no work is
/// spent on padding. Every computation is a primitive of `Backend` (cpu::backend: oneDNN
/// products; cpu::eigen_backend: Eigen, the reference). The model is immutable: calls that
/// need scratch memory take a context (make_context()); the overloads without one make a
/// fresh context per call.
template <class Backend = cpu::backend>
class model {
public:
    using backend = Backend;
    using batch = t5::batch;
    using tokenizer = t5::tokenizer;
    /// LoRA views the backend reads: the host views on the CPU, device copies on a GPU.
    using lora_binding = typename Backend::lora_binding;
    using context = t5::context<Backend>;
    /// One LoRA binding per candidate of a population (nullptr: none); see losses().
    using candidates = std::span<const lora_binding* const>;

    /// Loads config.json, the weights and, when present, spiece.model from a HF model dir.
    static model load(const std::filesystem::path& directory) {
        const auto c = load_config(directory / "config.json");
        auto store = std::make_shared<const io::weight_store>(directory);
        auto tensors = std::make_shared<const weights>(c, std::move(store));
        std::shared_ptr<const tokenizer> tokens;
        if (std::filesystem::exists(directory / "spiece.model")) tokens = std::make_shared<const tokenizer>(directory / "spiece.model");
        return model(std::move(tensors), std::move(tokens));
    }

    /// Prepares every linear layer's weight for the backend once (a view for fp32; a bf16
    /// copy in bf16 mode, after which the float32 source pages are released).
    explicit model(std::shared_ptr<const weights> tensors, std::shared_ptr<const tokenizer> tokens = nullptr)
        : weights_(std::move(tensors)), tokenizer_(std::move(tokens)), config_(weights_->model_config()) {
        prepared_ = prepare_linears<Backend>(*weights_);
        placed_ = std::make_shared<const placed_parameters<Backend>>(*weights_);
    }

    const config& model_config() const noexcept { return config_; }
    const weights& tensors() const noexcept { return *weights_; }
    const io::weight_store& weight_store() const noexcept { return weights_->store(); }
    bool has_tokenizer() const noexcept { return tokenizer_ != nullptr; }
    const tokenizer& tokens() const {
        if (!tokenizer_) throw io_error(display(weights_->store().directory()), "has no spiece.model");
        return *tokenizer_;
    }
    context make_context() const { return {}; }

    /// The linear layers LoRA can target, in binding order.
    std::vector<lora_target> lora_targets() const {
        std::vector<lora_target> targets;
        for (const auto& linear : weights_->linears) targets.push_back({linear.module, linear.in_features, linear.out_features});
        return targets;
    }
    lora_binding bind(std::span<const lora_layer> layers, const std::string& subject) const {
        return Backend::adopt_lora(lorahub::bind_lora(*weights_, layers, subject));
    }
    /// Makes a binding see new values of the layers it was made from (learn() composes in
    /// place): nothing on the CPU, an upload on a device backend.
    void refresh(lora_binding& binding) const { Backend::refresh_lora(binding); }

    /// Adds one example as the reference LoraHub tokenizes it: input and output each encoded
    /// with eos appended, truncated at 2048 tokens; the output ids are the labels.
    void add_example(batch& examples, std::string_view input, std::string_view output) const {
        examples.inputs.push_back(tokens().encode(input));
        examples.labels.push_back(tokens().encode(output));
    }
    /// Label positions that count in the loss.
    std::size_t label_tokens(const batch& examples) const {
        std::size_t kept = 0;
        for (const auto& labels : examples.labels) kept += static_cast<std::size_t>(std::count_if(labels.begin(), labels.end(), [](int id) {
            return id != ignore_index;
        }));
        return kept;
    }
    /// The ids generation starts from for `input`, and the text of generated ids.
    std::vector<int> encode_input(std::string_view input) const { return tokens().encode(input); }
    std::string decode_output(std::span<const int> ids) const { return tokens().decode(ids); }

    /// Logits at every label position of every example: [labels[i].size(), vocab_size] each.
    std::vector<std::vector<float>> logits(const batch& examples, const lora_binding* lora, context& w) const {
        forward(examples, candidates(&lora, 1), w);
        std::vector<std::vector<float>> result(examples.labels.size());
        for (std::size_t s = 0; s < result.size(); ++s) {
            result[s].resize((w.decoder_offsets[s + 1] - w.decoder_offsets[s]) * config_.vocab_size);
            Backend::download(w.logits.data() + w.decoder_offsets[s] * config_.vocab_size, result[s].size(), result[s].data());
        }
        return result;
    }
    std::vector<std::vector<float>> logits(const batch& examples, const lora_binding* lora = nullptr) const {
        context w;
        return logits(examples, lora, w);
    }

    /// Mean token cross-entropy over all kept label positions of the batch, as HF's
    /// CrossEntropyLoss(ignore_index=-100) over the padded batch computes it.
    double loss(const batch& examples, const lora_binding* lora, context& w) const {
        forward(examples, candidates(&lora, 1), w);
        mean_cross_entropies(examples, 1, w);
        return w.copy_losses.front();
    }

    /// loss() of the batch under each candidate's LoRA, computed in one pass: the batch is
    /// stacked once per candidate (rows = candidates x tokens), every base projection is one
    /// product over all rows on the shared weights, and each candidate's LoRA is applied to
    /// its own block of rows. Equals one loss() per candidate up to float rounding of the
    /// larger products.
    std::vector<double> losses(const batch& examples, candidates population, context& w) const {
        if (population.empty()) return {};
        forward(examples, population, w);
        mean_cross_entropies(examples, population.size(), w);
        return w.copy_losses;
    }
    double loss(const batch& examples, const lora_binding* lora = nullptr) const {
        context w;
        return loss(examples, lora, w);
    }

    /// Greedy decoding as HF generate(do_sample=False, num_beams=1): starts from the decoder
    /// start id, takes the first argmax, stops a sequence at eos (kept) or after
    /// max_new_tokens. Returns the new ids of each sequence, without the start id.
    std::vector<std::vector<int>> generate(const std::vector<std::vector<int>>& inputs, const lora_binding* lora,
                                           std::size_t max_new_tokens, context& w) const {
        check_ids(inputs, "generate");
        const candidates one(&lora, 1);
        encode(inputs, one, w, 1);
        const std::size_t n = inputs.size(), d = config_.d_model, inner = config_.inner_dim();
        const std::size_t layers = config_.num_decoder_layers, capacity = std::max<std::size_t>(max_new_tokens, 1);
        std::vector<std::vector<int>> result(n);
        if (max_new_tokens == 0 || n == 0) return result;
        // cross-attention keys and values, once per layer for all encoder tokens
        const std::size_t encoder_tokens = w.encoder_offsets.back();
        w.cross_keys.resize(layers * encoder_tokens * inner);
        w.cross_values.resize(layers * encoder_tokens * inner);
        for (std::size_t l = 0; l < layers; ++l) {
            const auto& block = weights_->decoder[l].cross;
            linear(w.encoder_hidden.data(), encoder_tokens, block.k, one, w.cross_keys.data() + l * encoder_tokens * inner, w);
            linear(w.encoder_hidden.data(), encoder_tokens, block.v, one, w.cross_values.data() + l * encoder_tokens * inner, w);
        }
        w.self_keys.resize(layers * n * capacity * inner);  // attention reads only the positions written
        w.self_values.resize(layers * n * capacity * inner);
        std::vector<std::size_t> active(n);
        for (std::size_t s = 0; s < n; ++s) active[s] = s;
        std::vector<int> next(n, config_.decoder_start_token_id);
        for (std::size_t step = 0; step < max_new_tokens && !active.empty(); ++step) {
            const std::size_t rows = active.size();
            w.hidden.resize(rows * d);
            w.ids.clear();
            for (std::size_t r = 0; r < rows; ++r) w.ids.push_back(next[active[r]]);
            Backend::gather_rows(placed_->shared.data(), d, w.ids, w.hidden.data());
            // one bias table for this step's query position, shared by every sequence and layer
            const attention_span step_span{0, 1, step, 0, step + 1};
            w.bias_host.clear();
            fill_relative_bias(false, step_span, weights_->decoder_position_bias.data(), w.bias_host);
            w.decoder_bias.resize(w.bias_host.size());
            Backend::upload(w.bias_host, w.decoder_bias.data());
            for (std::size_t l = 0; l < layers; ++l) {
                const auto& layer = weights_->decoder[l];
                const auto& norms = placed_->decoder_norms[l];
                // self-attention over the cache of this sequence, causal by construction
                w.normed.resize(rows * d);
                norm(w.hidden.data(), rows, norms[0], w.normed.data());
                w.query.resize(rows * inner);
                w.key.resize(rows * inner);
                w.value.resize(rows * inner);
                linear(w.normed.data(), rows, layer.self.q, one, w.query.data(), w);
                linear(w.normed.data(), rows, layer.self.k, one, w.key.data(), w);
                linear(w.normed.data(), rows, layer.self.v, one, w.value.data(), w);
                float* keys = w.self_keys.data() + l * n * capacity * inner;
                float* values = w.self_values.data() + l * n * capacity * inner;
                w.spans.clear();
                for (std::size_t r = 0; r < rows; ++r) {
                    const std::size_t base = active[r] * capacity * inner;
                    Backend::copy(w.key.data() + r * inner, inner, keys + base + step * inner);
                    Backend::copy(w.value.data() + r * inner, inner, values + base + step * inner);
                    w.spans.push_back({r, 1, step, active[r] * capacity, step + 1, w.decoder_bias.data()});
                }
                w.attended.resize(rows * inner);
                attend(w.query.data(), keys, values, w.spans, true, w.attended.data());
                add_linear(w.attended.data(), rows, layer.self.o, one, w.hidden.data(), w);
                // cross-attention over the encoder output of this sequence
                norm(w.hidden.data(), rows, norms[1], w.normed.data());
                linear(w.normed.data(), rows, layer.cross.q, one, w.query.data(), w);
                w.spans.clear();
                for (std::size_t r = 0; r < rows; ++r) {
                    const std::size_t s = active[r];
                    w.spans.push_back({r, 1, 0, w.encoder_offsets[s], w.encoder_offsets[s + 1] - w.encoder_offsets[s]});
                }
                attend(w.query.data(), w.cross_keys.data() + l * encoder_tokens * inner,
                       w.cross_values.data() + l * encoder_tokens * inner, w.spans, false, w.attended.data());
                add_linear(w.attended.data(), rows, layer.cross.o, one, w.hidden.data(), w);
                feed_forward(norms[2], layer.ff, rows, one, w);
            }
            head(rows, w);
            w.next_ids.resize(rows);
            Backend::argmax_rows(w.logits.data(), rows, config_.vocab_size, w.next_ids);
            std::vector<std::size_t> still;
            for (std::size_t r = 0; r < rows; ++r) {
                const std::size_t s = active[r];
                const int id = w.next_ids[r];
                result[s].push_back(id);
                next[s] = id;
                if (id != config_.eos_token_id) still.push_back(s);
            }
            active.swap(still);
        }
        return result;
    }
    std::vector<std::vector<int>> generate(const std::vector<std::vector<int>>& inputs, const lora_binding* lora,
                                           std::size_t max_new_tokens) const {
        context w;
        return generate(inputs, lora, max_new_tokens, w);
    }

    /// W' = W + s B A for every layer the binding gives a LoRA: (tensor name, values) pairs.
    std::vector<std::pair<std::string, std::vector<float>>> merged_weights(const lora_binding& binding) const {
        return merged_linear_weights(*weights_, Backend::host_lora(binding));
    }

    /// A model whose bound layers hold W' = W + s B A: the same outputs without runtime LoRA.
    model merged(const lora_binding& lora) const { return model(merged_tensors(*weights_, Backend::host_lora(lora)), tokenizer_); }

private:
    float eps() const { return static_cast<float>(config_.layer_norm_epsilon); }

    void check_ids(const std::vector<std::vector<int>>& sequences, const char* what) const {
        check_token_ids(sequences, config_.vocab_size, what);
    }

    void norm(const float* x, std::size_t rows, const typename Backend::parameter& weight, float* out) const {
        Backend::rms_norm(x, rows, config_.d_model, weight.data(), eps(), out);
    }

    /// out = x W^T (+ s (x A^T) B^T), x is [rows, in]; one block of rows per candidate (lora_linear).
    void linear(const float* x, std::size_t rows, std::size_t index, candidates lora, float* out, context& w,
                float beta = 0.0f) const {
        lora_linear<Backend>(x, rows, weights_->linears[index], (*prepared_)[index], index, lora, out, w.lora_tmp, beta);
    }

    /// out += linear(x): the residual connection of attention and feed-forward outputs.
    void add_linear(const float* x, std::size_t rows, std::size_t index, candidates lora, float* out, context& w) const {
        linear(x, rows, index, lora, out, w, 1.0f);
    }

    /// Appends the [heads, width] relative-position bias table of `span` to `table` (host):
    /// bias of head h for relative position rel = key - query is position_bias[bucket(rel), h].
    void fill_relative_bias(bool bidirectional, const attention_span& span, const float* position_bias, std::vector<float>& table) const {
        const std::size_t heads = config_.num_heads, width = span.bias_width();
        const auto last_query = static_cast<std::int64_t>(span.query_position + span.query_count - 1);
        const std::size_t offset = table.size();
        table.resize(offset + heads * width);
        float* out = table.data() + offset;
        for (std::size_t i = 0; i < width; ++i) {
            const auto bucket = relative_position_bucket(static_cast<std::int64_t>(i) - last_query, bidirectional,
                                                         static_cast<std::int64_t>(config_.relative_attention_num_buckets),
                                                         static_cast<std::int64_t>(config_.relative_attention_max_distance));
            for (std::size_t h = 0; h < heads; ++h) out[h * width + i] = position_bias[static_cast<std::size_t>(bucket) * heads + h];
        }
    }

    /// Bias tables for spans (one per sequence), built on the host and uploaded into `table`,
    /// and the spans pointed at them.
    void attach_relative_bias(bool bidirectional, std::vector<attention_span>& spans, const float* position_bias,
                              typename context::template buffer<float>& table, context& w) const {
        w.bias_host.clear();
        for (const auto& span : spans) fill_relative_bias(bidirectional, span, position_bias, w.bias_host);
        table.resize(w.bias_host.size());
        Backend::upload(w.bias_host, table.data());
        std::size_t offset = 0;
        for (auto& span : spans) {
            span.relative_bias = table.data() + offset;
            offset += config_.num_heads * span.bias_width();
        }
    }

    /// T5 attention: no 1/sqrt(d_kv) scaling; heads laid out [rows, heads, d_kv].
    void attend(const float* query, const float* keys, const float* values, std::span<const attention_span> spans, bool causal,
                float* out) const {
        const std::size_t inner = config_.inner_dim();
        Backend::attention({query, keys, values, out, config_.num_heads, config_.d_kv, inner, inner, 1.0f, causal, spans});
    }

    void feed_forward(const typename Backend::parameter& norm_weight, const feed_forward_block& block, std::size_t rows, candidates lora,
                      context& w) const {
        const std::size_t d = config_.d_model, ff = config_.d_ff;
        w.normed.resize(rows * d);
        norm(w.hidden.data(), rows, norm_weight, w.normed.data());
        w.ff_in.resize(rows * ff);
        linear(w.normed.data(), rows, block.wi, lora, w.ff_in.data(), w);
        if (config_.gated_activation) {
            w.ff_gate.resize(rows * ff);
            linear(w.normed.data(), rows, block.wi_1, lora, w.ff_gate.data(), w);
            Backend::activate(config_.dense_activation, w.ff_in.data(), w.ff_gate.data(), rows * ff);
        } else {
            Backend::activate(config_.dense_activation, w.ff_in.data(), nullptr, rows * ff);
        }
        add_linear(w.ff_in.data(), rows, block.wo, lora, w.hidden.data(), w);
    }

    /// Offsets of `sequences` packed end to end, the whole list `copies` times over.
    static void pack(const std::vector<std::vector<int>>& sequences, std::size_t copies, std::vector<std::size_t>& offsets) {
        offsets.assign(1, 0);
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (const auto& sequence : sequences) offsets.push_back(offsets.back() + sequence.size());
    }

    /// Mean cross-entropy over the kept labels of each of the batch's `copies` stacked copies:
    /// one backend call over every labeled row, then one sum per copy in row order, into
    /// w.copy_losses (no allocation once the context is sized).
    void mean_cross_entropies(const batch& examples, std::size_t copies, context& w) const {
        w.labeled.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (std::size_t s = 0; s < examples.labels.size(); ++s)
                for (std::size_t i = 0; i < examples.labels[s].size(); ++i)
                    if (const int label = examples.labels[s][i]; label != ignore_index)
                        w.labeled.push_back({w.decoder_offsets[copy * examples.labels.size() + s] + i, static_cast<std::size_t>(label)});
        if (w.labeled.empty()) throw argument_error("loss", "the batch has no label tokens");
        w.row_losses.resize(w.labeled.size());
        Backend::cross_entropy_rows(w.logits.data(), config_.vocab_size, w.labeled, w.row_losses);
        mean_per_copy(w.row_losses, copies, w.copy_losses);
    }

    /// Runs the encoder on `inputs` stacked `copies` times (one copy per candidate of
    /// `lora`); leaves its final hidden states in w.encoder_hidden.
    void encode(const std::vector<std::vector<int>>& inputs, candidates lora, context& w, std::size_t copies) const {
        const std::size_t d = config_.d_model, inner = config_.inner_dim();
        pack(inputs, copies, w.encoder_offsets);
        const std::size_t tokens = w.encoder_offsets.back();
        w.hidden.resize(tokens * d);
        w.ids.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (const auto& sequence : inputs) w.ids.insert(w.ids.end(), sequence.begin(), sequence.end());
        Backend::gather_rows(placed_->shared.data(), d, w.ids, w.hidden.data());
        w.spans.clear();
        for (std::size_t s = 0; s + 1 < w.encoder_offsets.size(); ++s) {
            const std::size_t length = w.encoder_offsets[s + 1] - w.encoder_offsets[s];
            w.spans.push_back({w.encoder_offsets[s], length, 0, w.encoder_offsets[s], length});
        }
        attach_relative_bias(true, w.spans, weights_->encoder_position_bias.data(), w.encoder_bias, w);
        w.normed.resize(tokens * d);
        w.query.resize(tokens * inner);
        w.key.resize(tokens * inner);
        w.value.resize(tokens * inner);
        w.attended.resize(tokens * inner);
        for (std::size_t l = 0; l < weights_->encoder.size(); ++l) {
            const auto& layer = weights_->encoder[l];
            const auto& norms = placed_->encoder_norms[l];
            norm(w.hidden.data(), tokens, norms[0], w.normed.data());
            linear(w.normed.data(), tokens, layer.self.q, lora, w.query.data(), w);
            linear(w.normed.data(), tokens, layer.self.k, lora, w.key.data(), w);
            linear(w.normed.data(), tokens, layer.self.v, lora, w.value.data(), w);
            attend(w.query.data(), w.key.data(), w.value.data(), w.spans, false, w.attended.data());
            add_linear(w.attended.data(), tokens, layer.self.o, lora, w.hidden.data(), w);
            feed_forward(norms[1], layer.ff, tokens, lora, w);
        }
        w.encoder_hidden.resize(tokens * d);
        norm(w.hidden.data(), tokens, placed_->encoder_final_norm, w.encoder_hidden.data());
    }

    /// Final norm, optional d_model^-0.5 scaling (tied head), and logits of w.hidden rows.
    void head(std::size_t rows, context& w) const {
        const std::size_t d = config_.d_model;
        w.normed.resize(rows * d);
        norm(w.hidden.data(), rows, placed_->decoder_final_norm, w.normed.data());
        if (config_.tie_word_embeddings) Backend::scale(w.normed.data(), rows * d, 1.0f / std::sqrt(static_cast<float>(d)));
        w.logits.resize(rows * config_.vocab_size);
        Backend::gemm_nt({w.normed.data(), rows, d, d}, {placed_->lm_head.data(), config_.vocab_size, d, d},
                         {w.logits.data(), rows, config_.vocab_size, config_.vocab_size});
    }

    /// Teacher-forced pass of the batch stacked once per candidate: logits for every label
    /// position of every copy in w.logits.
    void forward(const batch& examples, candidates lora, context& w) const {
        if (examples.inputs.size() != examples.labels.size())
            throw argument_error("batch", std::to_string(examples.inputs.size()) + " inputs but " +
                                              std::to_string(examples.labels.size()) + " label sequences");
        check_ids(examples.inputs, "batch inputs");
        for (std::size_t s = 0; s < examples.labels.size(); ++s) {
            if (examples.labels[s].empty()) throw argument_error("batch labels", "sequence " + std::to_string(s) + " is empty");
            for (int id : examples.labels[s])
                if (id != ignore_index && (id < 0 || static_cast<std::size_t>(id) >= config_.vocab_size))
                    throw argument_error("batch labels", "sequence " + std::to_string(s) + " holds label " + std::to_string(id) +
                                                             ", outside the vocabulary");
        }
        const std::size_t copies = lora.size();
        encode(examples.inputs, lora, w, copies);
        const std::size_t d = config_.d_model, inner = config_.inner_dim();
        pack(examples.labels, copies, w.decoder_offsets);
        const std::size_t tokens = w.decoder_offsets.back(), encoder_tokens = w.encoder_offsets.back();
        w.hidden.resize(tokens * d);
        // decoder input: start id, then the labels shifted right with -100 -> pad
        w.ids.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (const auto& labels : examples.labels)
                for (std::size_t i = 0; i < labels.size(); ++i)
                    w.ids.push_back(i == 0 ? config_.decoder_start_token_id
                                           : (labels[i - 1] == ignore_index ? config_.pad_token_id : labels[i - 1]));
        Backend::gather_rows(placed_->shared.data(), d, w.ids, w.hidden.data());
        w.spans.clear();
        w.cross_spans.clear();
        for (std::size_t s = 0; s + 1 < w.decoder_offsets.size(); ++s) {
            const std::size_t length = w.decoder_offsets[s + 1] - w.decoder_offsets[s];
            w.spans.push_back({w.decoder_offsets[s], length, 0, w.decoder_offsets[s], length});
            w.cross_spans.push_back({w.decoder_offsets[s], length, 0, w.encoder_offsets[s], w.encoder_offsets[s + 1] - w.encoder_offsets[s]});
        }
        attach_relative_bias(false, w.spans, weights_->decoder_position_bias.data(), w.decoder_bias, w);
        w.normed.resize(tokens * d);
        w.query.resize(tokens * inner);
        w.key.resize(std::max(tokens, encoder_tokens) * inner);
        w.value.resize(std::max(tokens, encoder_tokens) * inner);
        w.attended.resize(tokens * inner);
        for (std::size_t l = 0; l < weights_->decoder.size(); ++l) {
            const auto& layer = weights_->decoder[l];
            const auto& norms = placed_->decoder_norms[l];
            norm(w.hidden.data(), tokens, norms[0], w.normed.data());
            linear(w.normed.data(), tokens, layer.self.q, lora, w.query.data(), w);
            linear(w.normed.data(), tokens, layer.self.k, lora, w.key.data(), w);
            linear(w.normed.data(), tokens, layer.self.v, lora, w.value.data(), w);
            attend(w.query.data(), w.key.data(), w.value.data(), w.spans, true, w.attended.data());
            add_linear(w.attended.data(), tokens, layer.self.o, lora, w.hidden.data(), w);
            norm(w.hidden.data(), tokens, norms[1], w.normed.data());
            linear(w.normed.data(), tokens, layer.cross.q, lora, w.query.data(), w);
            linear(w.encoder_hidden.data(), encoder_tokens, layer.cross.k, lora, w.key.data(), w);
            linear(w.encoder_hidden.data(), encoder_tokens, layer.cross.v, lora, w.value.data(), w);
            attend(w.query.data(), w.key.data(), w.value.data(), w.cross_spans, false, w.attended.data());
            add_linear(w.attended.data(), tokens, layer.cross.o, lora, w.hidden.data(), w);
            feed_forward(norms[2], layer.ff, tokens, lora, w);
        }
        head(tokens, w);
    }

    std::shared_ptr<const weights> weights_;
    std::shared_ptr<const tokenizer> tokenizer_;
    config config_;
    std::shared_ptr<const std::vector<typename Backend::weight>> prepared_;
    std::shared_ptr<const placed_parameters<Backend>> placed_;
};

}  // namespace lorahub::t5
