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
#include "lorahub/model/layers/layer_stack.hpp"
#include "lorahub/model/model_base.hpp"
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
    layers::scratch<Backend> layers;
    std::vector<std::size_t> encoder_offsets, decoder_offsets;
    buffer<float> encoder_hidden, hidden, logits;
    buffer<float> cross_keys, cross_values, self_keys, self_values;  ///< generation: per layer
    buffer<float> encoder_bias, decoder_bias;  ///< relative-position bias tables, one per sequence
    std::vector<attention_span> spans, cross_spans;
    std::vector<layers::row_run> cache_writes;
    std::vector<int> ids, next_ids;
    std::vector<float> bias_host;  ///< bias tables built on the host before they are uploaded
    std::vector<labeled_row> labeled;
    std::vector<double> row_losses, copy_losses;  ///< per labeled row; per stacked copy (candidate)
};

/// The parameters outside the layers, placed once on the backend.
template <class Backend>
struct placed_parameters {
    using parameter = typename Backend::parameter;
    parameter shared, lm_head, encoder_final_norm, decoder_final_norm;

    explicit placed_parameters(const weights& w)
        : shared(Backend::place(w.shared)), lm_head(Backend::place(w.lm_head)), encoder_final_norm(Backend::place(w.encoder_final_norm)),
          decoder_final_norm(Backend::place(w.decoder_final_norm)) {}
};

/// Hugging Face's T5ForConditionalGeneration in float32, with LoRA applied at run time
/// (y = x W^T + s (x A^T) B^T) and never merged into W. Sequences are packed: linear layers
/// see all tokens of all sequences as one matrix, attention runs per sequence, and no work is
/// spent on padding. Every computation is a primitive of `Backend` (cpu::backend: oneDNN
/// products; cpu::eigen_backend: Eigen, the reference). The model is immutable: calls that
/// need scratch memory take a context (make_context()); the overloads without one make a
/// fresh context per call.
template <class Backend = cpu::backend>
class model : public model_base<Backend, weights, t5::tokenizer> {
    using base = model_base<Backend, weights, t5::tokenizer>;

public:
    using typename base::candidates;
    using typename base::lora_binding;
    using typename base::tokenizer;
    using batch = t5::batch;
    using context = t5::context<Backend>;

    /// Loads config.json, the weights and, when present, spiece.model from a HF model dir.
    static model load(const std::filesystem::path& directory) {
        auto parts = base::load_parts(directory, load_config(directory / "config.json"), "spiece.model");
        return model(std::move(parts.tensors), std::move(parts.tokens));
    }

    /// Prepares every linear layer's weight for the backend once (a view for fp32; a bf16
    /// copy in bf16 mode, after which the float32 source pages are released) and places the
    /// other parameters.
    explicit model(std::shared_ptr<const weights> tensors, std::shared_ptr<const tokenizer> tokens = nullptr)
        : base(std::move(tensors), std::move(tokens)), config_(weights_->model_config()) {
        const layers::stack_shape shape{config_.d_model,
                                        static_cast<float>(config_.layer_norm_epsilon),
                                        {config_.num_heads, config_.num_heads, config_.d_kv, 1.0f},  // T5: no 1/sqrt(d_kv)
                                        {config_.d_ff, config_.dense_activation, config_.gated_activation}};
        encoder_ = std::make_shared<const stack>(shape, this->linears_, placed_layers(weights_->encoder));
        decoder_ = std::make_shared<const stack>(shape, this->linears_, placed_layers(weights_->decoder));
        placed_ = std::make_shared<const placed_parameters<Backend>>(*weights_);
    }

    /// The files of a model directory this family reads or that travel with it (merging copies them).
    static constexpr std::string_view side_files[] = {"config.json",    "generation_config.json", "spiece.model",
                                                      "tokenizer.json", "tokenizer_config.json",  "special_tokens_map.json"};

    const config& model_config() const noexcept { return config_; }
    const tokenizer& tokens() const {
        if (!tokenizer_) throw io_error(display(weights_->store().directory()), "has no spiece.model");
        return *tokenizer_;
    }
    context make_context() const { return {}; }

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
    std::vector<std::vector<float>> logits(const batch& examples, const lora_binding* lora, context& ctx) const {
        forward(examples, candidates(&lora, 1), ctx);
        std::vector<std::vector<float>> result(examples.labels.size());
        for (std::size_t s = 0; s < result.size(); ++s) {
            result[s].resize((ctx.decoder_offsets[s + 1] - ctx.decoder_offsets[s]) * config_.vocab_size);
            Backend::download(ctx.logits.data() + ctx.decoder_offsets[s] * config_.vocab_size, result[s].size(), result[s].data());
        }
        return result;
    }
    std::vector<std::vector<float>> logits(const batch& examples, const lora_binding* lora = nullptr) const {
        context ctx;
        return logits(examples, lora, ctx);
    }

    /// Mean token cross-entropy over all kept label positions of the batch, as HF's
    /// CrossEntropyLoss(ignore_index=-100) over the padded batch computes it.
    double loss(const batch& examples, const lora_binding* lora, context& ctx) const {
        forward(examples, candidates(&lora, 1), ctx);
        mean_cross_entropies(examples, 1, ctx);
        return ctx.copy_losses.front();
    }

    /// loss() of the batch under each candidate's LoRA, computed in one pass: the batch is
    /// stacked once per candidate (rows = candidates x tokens), every base projection is one
    /// product over all rows on the shared weights, and each candidate's LoRA is applied to
    /// its own block of rows. Equals one loss() per candidate up to float rounding of the
    /// larger products.
    std::vector<double> losses(const batch& examples, candidates population, context& ctx) const {
        if (population.empty()) return {};
        forward(examples, population, ctx);
        mean_cross_entropies(examples, population.size(), ctx);
        return ctx.copy_losses;
    }
    double loss(const batch& examples, const lora_binding* lora = nullptr) const {
        context ctx;
        return loss(examples, lora, ctx);
    }

    /// Greedy decoding as HF generate(do_sample=False, num_beams=1): starts from the decoder
    /// start id, takes the first argmax, stops a sequence at eos (kept) or after
    /// max_new_tokens. Returns the new ids of each sequence, without the start id.
    std::vector<std::vector<int>> generate(const std::vector<std::vector<int>>& inputs, const lora_binding* lora,
                                           std::size_t max_new_tokens, context& ctx) const {
        check_ids(inputs, "generate");
        const candidates one(&lora, 1);
        encode(inputs, one, ctx, 1);
        const std::size_t n = inputs.size(), d = config_.d_model, inner = config_.inner_dim();
        const std::size_t layer_count = decoder_->size(), capacity = std::max<std::size_t>(max_new_tokens, 1);
        std::vector<std::vector<int>> result(n);
        if (max_new_tokens == 0 || n == 0) return result;
        // cross-attention keys and values, once per layer for all encoder tokens
        const std::size_t encoder_tokens = ctx.encoder_offsets.back();
        ctx.cross_keys.resize(layer_count * encoder_tokens * inner);
        ctx.cross_values.resize(layer_count * encoder_tokens * inner);
        for (std::size_t l = 0; l < layer_count; ++l) {
            const auto& cross = *(*decoder_)[l].cross;
            const auto& linears = decoder_->linears();
            linears.apply_each(ctx.encoder_hidden.data(), encoder_tokens,
                               {{cross.k, ctx.cross_keys.data() + l * encoder_tokens * inner}, {cross.v, ctx.cross_values.data() + l * encoder_tokens * inner}},
                               one, ctx.layers);
        }
        ctx.self_keys.resize(layer_count * n * capacity * inner);  // attention reads only the positions written
        ctx.self_values.resize(layer_count * n * capacity * inner);
        std::vector<std::size_t> active(n);
        for (std::size_t s = 0; s < n; ++s) active[s] = s;
        std::vector<int> next(n, config_.decoder_start_token_id);
        for (std::size_t step = 0; step < max_new_tokens && !active.empty(); ++step) {
            const std::size_t rows = active.size();
            ctx.hidden.resize(rows * d);
            ctx.ids.clear();
            for (std::size_t r = 0; r < rows; ++r) ctx.ids.push_back(next[active[r]]);
            Backend::gather_rows(placed_->shared.data(), d, ctx.ids, ctx.hidden.data());
            // one bias table for this step's query position, shared by every sequence and layer
            const attention_span step_span{0, 1, step, 0, step + 1};
            ctx.bias_host.clear();
            fill_relative_bias(false, step_span, weights_->decoder_position_bias.data(), ctx.bias_host);
            ctx.decoder_bias.resize(ctx.bias_host.size());
            Backend::upload(ctx.bias_host, ctx.decoder_bias.data());
            // each sequence's new key and value at its row `step` of the cache; self-attention
            // over the cache (causal by construction), cross-attention over its encoder output
            ctx.spans.clear();
            ctx.cross_spans.clear();
            ctx.cache_writes.clear();
            for (std::size_t r = 0; r < rows; ++r) {
                const std::size_t s = active[r];
                ctx.cache_writes.push_back({r, s * capacity + step, 1});
                ctx.spans.push_back({r, 1, step, s * capacity, step + 1, ctx.decoder_bias.data()});
                ctx.cross_spans.push_back({r, 1, 0, ctx.encoder_offsets[s], ctx.encoder_offsets[s + 1] - ctx.encoder_offsets[s]});
            }
            const layers::kv_cache cache{ctx.self_keys.data(), ctx.self_values.data(), n * capacity, ctx.cache_writes, true};
            const layers::self_attention_input self{ctx.spans, true, nullptr, nullptr, &cache};
            const layers::cross_attention_input cross{ctx.cross_spans, nullptr, 0, ctx.cross_keys.data(), ctx.cross_values.data(), encoder_tokens};
            decoder_->run(ctx.hidden.data(), rows, self, &cross, one, ctx.layers);
            head(rows, ctx);
            ctx.next_ids.resize(rows);
            Backend::argmax_rows(ctx.logits.data(), rows, config_.vocab_size, ctx.next_ids);
            std::vector<std::size_t> still;
            for (std::size_t r = 0; r < rows; ++r) {
                const std::size_t s = active[r];
                const int id = ctx.next_ids[r];
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
        context ctx;
        return generate(inputs, lora, max_new_tokens, ctx);
    }

    /// A model whose bound layers hold W' = W + s B A: the same outputs without runtime LoRA.
    model merged(const lora_binding& lora) const { return model(this->merged_tensors_of(lora), tokenizer_); }

private:
    using stack = layers::layer_stack<Backend>;
    using base::tokenizer_;
    using base::weights_;

    static std::vector<typename stack::layer> placed_layers(const std::vector<layers::host_layer>& host) {
        std::vector<typename stack::layer> placed;
        for (const auto& layer : host) placed.push_back(layers::place_layer<Backend>(layer));
        return placed;
    }

    void check_ids(const std::vector<std::vector<int>>& sequences, const char* what) const {
        check_token_ids(sequences, config_.vocab_size, what);
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
                              typename context::template buffer<float>& table, context& ctx) const {
        ctx.bias_host.clear();
        for (const auto& span : spans) fill_relative_bias(bidirectional, span, position_bias, ctx.bias_host);
        table.resize(ctx.bias_host.size());
        Backend::upload(ctx.bias_host, table.data());
        std::size_t offset = 0;
        for (auto& span : spans) {
            span.relative_bias = table.data() + offset;
            offset += config_.num_heads * span.bias_width();
        }
    }

    /// Offsets of `sequences` packed end to end, the whole list `copies` times over, and one
    /// span per packed sequence whose queries and keys are its own rows.
    static void pack(const std::vector<std::vector<int>>& sequences, std::size_t copies, std::vector<std::size_t>& offsets,
                     std::vector<attention_span>& spans) {
        offsets.assign(1, 0);
        spans.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (const auto& sequence : sequences) {
                spans.push_back({offsets.back(), sequence.size(), 0, offsets.back(), sequence.size()});
                offsets.push_back(offsets.back() + sequence.size());
            }
    }

    /// Mean cross-entropy over the kept labels of each of the batch's `copies` stacked copies:
    /// one backend call over every labeled row, then one sum per copy in row order, into
    /// ctx.copy_losses (no allocation once the context is sized).
    void mean_cross_entropies(const batch& examples, std::size_t copies, context& ctx) const {
        ctx.labeled.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (std::size_t s = 0; s < examples.labels.size(); ++s)
                for (std::size_t i = 0; i < examples.labels[s].size(); ++i)
                    if (const int label = examples.labels[s][i]; label != ignore_index)
                        ctx.labeled.push_back({ctx.decoder_offsets[copy * examples.labels.size() + s] + i, static_cast<std::size_t>(label)});
        if (ctx.labeled.empty()) throw argument_error("loss", "the batch has no label tokens");
        ctx.row_losses.resize(ctx.labeled.size());
        Backend::cross_entropy_rows(ctx.logits.data(), config_.vocab_size, ctx.labeled, ctx.row_losses);
        mean_per_copy(ctx.row_losses, copies, ctx.copy_losses);
    }

    /// Runs the encoder on `inputs` stacked `copies` times (one copy per candidate of
    /// `lora`); leaves its final hidden states in ctx.encoder_hidden.
    void encode(const std::vector<std::vector<int>>& inputs, candidates lora, context& ctx, std::size_t copies) const {
        const std::size_t d = config_.d_model;
        pack(inputs, copies, ctx.encoder_offsets, ctx.spans);
        const std::size_t tokens = ctx.encoder_offsets.back();
        ctx.hidden.resize(tokens * d);
        ctx.ids.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (const auto& sequence : inputs) ctx.ids.insert(ctx.ids.end(), sequence.begin(), sequence.end());
        Backend::gather_rows(placed_->shared.data(), d, ctx.ids, ctx.hidden.data());
        attach_relative_bias(true, ctx.spans, weights_->encoder_position_bias.data(), ctx.encoder_bias, ctx);
        encoder_->run(ctx.hidden.data(), tokens, {ctx.spans, false}, nullptr, lora, ctx.layers);
        ctx.encoder_hidden.resize(tokens * d);
        encoder_->norm(ctx.hidden.data(), tokens, placed_->encoder_final_norm, ctx.encoder_hidden.data());
    }

    /// Final norm, optional d_model^-0.5 scaling (tied head), and logits of ctx.hidden rows.
    void head(std::size_t rows, context& ctx) const {
        const std::size_t d = config_.d_model;
        auto& normed = ctx.layers.normed;
        normed.resize(rows * d);
        decoder_->norm(ctx.hidden.data(), rows, placed_->decoder_final_norm, normed.data());
        if (config_.tie_word_embeddings) Backend::scale(normed.data(), rows * d, 1.0f / std::sqrt(static_cast<float>(d)));
        ctx.logits.resize(rows * config_.vocab_size);
        Backend::gemm_nt({normed.data(), rows, d, d}, {placed_->lm_head.data(), config_.vocab_size, d, d},
                         {ctx.logits.data(), rows, config_.vocab_size, config_.vocab_size});
    }

    /// Teacher-forced pass of the batch stacked once per candidate: logits for every label
    /// position of every copy in ctx.logits.
    void forward(const batch& examples, candidates lora, context& ctx) const {
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
        encode(examples.inputs, lora, ctx, copies);
        const std::size_t d = config_.d_model;
        pack(examples.labels, copies, ctx.decoder_offsets, ctx.spans);
        const std::size_t tokens = ctx.decoder_offsets.back(), encoder_tokens = ctx.encoder_offsets.back();
        ctx.hidden.resize(tokens * d);
        // decoder input: start id, then the labels shifted right with -100 -> pad
        ctx.ids.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (const auto& labels : examples.labels)
                for (std::size_t i = 0; i < labels.size(); ++i)
                    ctx.ids.push_back(i == 0 ? config_.decoder_start_token_id
                                             : (labels[i - 1] == ignore_index ? config_.pad_token_id : labels[i - 1]));
        Backend::gather_rows(placed_->shared.data(), d, ctx.ids, ctx.hidden.data());
        ctx.cross_spans.clear();
        for (std::size_t s = 0; s + 1 < ctx.decoder_offsets.size(); ++s)
            ctx.cross_spans.push_back({ctx.decoder_offsets[s], ctx.decoder_offsets[s + 1] - ctx.decoder_offsets[s], 0, ctx.encoder_offsets[s],
                                       ctx.encoder_offsets[s + 1] - ctx.encoder_offsets[s]});
        attach_relative_bias(false, ctx.spans, weights_->decoder_position_bias.data(), ctx.decoder_bias, ctx);
        const layers::cross_attention_input cross{ctx.cross_spans, ctx.encoder_hidden.data(), encoder_tokens};
        decoder_->run(ctx.hidden.data(), tokens, {ctx.spans, true}, &cross, lora, ctx.layers);
        head(tokens, ctx);
    }

    config config_;
    std::shared_ptr<const stack> encoder_, decoder_;
    std::shared_ptr<const placed_parameters<Backend>> placed_;
};

}  // namespace lorahub::t5
