#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lorahub/backend/cpu/gemm.hpp"
#include "lorahub/backend/cpu/onednn_gemm.hpp"
#include "lorahub/backend/cpu/ops.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/t5/config.hpp"
#include "lorahub/model/t5/lora_binding.hpp"
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

/// Hugging Face's T5ForConditionalGeneration on the CPU in float32, with LoRA applied at run
/// time (y = x W^T + s (x A^T) B^T) and never merged into W. Sequences are packed: linear
/// layers see all tokens of all sequences as one matrix, attention runs per sequence, and no
/// work is spent on padding. `Gemm` is the matrix-product policy: oneDNN by default (the
/// measured winner, docs/benchmarks.md), cpu::eigen_gemm as the dependency-light reference.
/// Calls on one object must not overlap: it reuses one workspace between calls.
template <class Gemm = cpu::onednn_gemm>
class model {
public:
    /// Loads config.json, the weights and, when present, spiece.model from a HF model dir.
    static model load(const std::filesystem::path& directory) {
        const auto c = load_config(directory / "config.json");
        auto store = std::make_shared<const io::weight_store>(directory);
        auto tensors = std::make_shared<const weights>(c, std::move(store));
        std::shared_ptr<const tokenizer> tokens;
        if (std::filesystem::exists(directory / "spiece.model")) tokens = std::make_shared<const tokenizer>(directory / "spiece.model");
        return model(std::move(tensors), std::move(tokens));
    }

    explicit model(std::shared_ptr<const weights> tensors, std::shared_ptr<const tokenizer> tokens = nullptr)
        : weights_(std::move(tensors)), tokenizer_(std::move(tokens)), config_(weights_->model_config()),
          workspace_(std::make_shared<workspace>()) {}

    const config& model_config() const noexcept { return config_; }
    const weights& tensors() const noexcept { return *weights_; }
    bool has_tokenizer() const noexcept { return tokenizer_ != nullptr; }
    const tokenizer& tokens() const {
        if (!tokenizer_) throw io_error(display(weights_->store().directory()), "has no spiece.model");
        return *tokenizer_;
    }

    lora_binding bind(std::span<const lora_layer> layers, const std::string& subject) const {
        return bind_lora(*weights_, layers, subject);
    }

    /// Logits at every label position of every example: [labels[i].size(), vocab_size] each.
    std::vector<std::vector<float>> logits(const batch& examples, const lora_binding* lora = nullptr) const {
        auto& w = *workspace_;
        forward(examples, lora, w);
        std::vector<std::vector<float>> result(examples.labels.size());
        for (std::size_t s = 0; s < result.size(); ++s)
            result[s].assign(w.logits.begin() + static_cast<std::ptrdiff_t>(w.decoder_offsets[s] * config_.vocab_size),
                             w.logits.begin() + static_cast<std::ptrdiff_t>(w.decoder_offsets[s + 1] * config_.vocab_size));
        return result;
    }

    /// Mean token cross-entropy over all kept label positions of the batch, as HF's
    /// CrossEntropyLoss(ignore_index=-100) over the padded batch computes it.
    double loss(const batch& examples, const lora_binding* lora = nullptr) const {
        auto& w = *workspace_;
        forward(examples, lora, w);
        double total = 0.0;
        std::size_t kept = 0;
        for (std::size_t s = 0; s < examples.labels.size(); ++s)
            for (std::size_t i = 0; i < examples.labels[s].size(); ++i) {
                const int label = examples.labels[s][i];
                if (label == ignore_index) continue;
                const float* row = w.logits.data() + (w.decoder_offsets[s] + i) * config_.vocab_size;
                total += cpu::cross_entropy(row, config_.vocab_size, static_cast<std::size_t>(label));
                ++kept;
            }
        if (kept == 0) throw argument_error("loss", "the batch has no label tokens");
        return total / static_cast<double>(kept);
    }

    /// Greedy decoding as HF generate(do_sample=False, num_beams=1): starts from the decoder
    /// start id, takes the first argmax, stops a sequence at eos (kept) or after
    /// max_new_tokens. Returns the new ids of each sequence, without the start id.
    std::vector<std::vector<int>> generate(const std::vector<std::vector<int>>& inputs, const lora_binding* lora,
                                           std::size_t max_new_tokens) const {
        auto& w = *workspace_;
        check_ids(inputs, "generate");
        encode(inputs, lora, w);
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
            linear(w.encoder_hidden.data(), encoder_tokens, block.k, lora, w.cross_keys.data() + l * encoder_tokens * inner, w);
            linear(w.encoder_hidden.data(), encoder_tokens, block.v, lora, w.cross_values.data() + l * encoder_tokens * inner, w);
        }
        w.self_keys.assign(layers * n * capacity * inner, 0.0f);
        w.self_values.assign(layers * n * capacity * inner, 0.0f);
        std::vector<std::size_t> active(n);
        for (std::size_t s = 0; s < n; ++s) active[s] = s;
        std::vector<int> next(n, config_.decoder_start_token_id);
        for (std::size_t step = 0; step < max_new_tokens && !active.empty(); ++step) {
            const std::size_t rows = active.size();
            w.hidden.resize(rows * d);
            for (std::size_t r = 0; r < rows; ++r) embed(next[active[r]], w.hidden.data() + r * d);
            for (std::size_t l = 0; l < layers; ++l) {
                const auto& layer = weights_->decoder[l];
                // self-attention over the cache of this sequence, causal by construction
                w.normed.resize(rows * d);
                cpu::rms_norm(w.hidden.data(), rows, d, layer.self_norm.data(), eps(), w.normed.data());
                w.query.resize(rows * inner);
                w.key.resize(rows * inner);
                w.value.resize(rows * inner);
                linear(w.normed.data(), rows, layer.self.q, lora, w.query.data(), w);
                linear(w.normed.data(), rows, layer.self.k, lora, w.key.data(), w);
                linear(w.normed.data(), rows, layer.self.v, lora, w.value.data(), w);
                float* keys = w.self_keys.data() + l * n * capacity * inner;
                float* values = w.self_values.data() + l * n * capacity * inner;
                w.spans.clear();
                for (std::size_t r = 0; r < rows; ++r) {
                    const std::size_t base = active[r] * capacity * inner;
                    std::copy_n(w.key.data() + r * inner, inner, keys + base + step * inner);
                    std::copy_n(w.value.data() + r * inner, inner, values + base + step * inner);
                    w.spans.push_back({r, 1, step, active[r] * capacity, step + 1});
                }
                w.context.resize(rows * inner);
                attend(w.query.data(), keys, values, w.spans, bias_kind::causal, w.context.data());
                add_linear(w.context.data(), rows, layer.self.o, lora, w.hidden.data(), w);
                // cross-attention over the encoder output of this sequence
                cpu::rms_norm(w.hidden.data(), rows, d, layer.cross_norm.data(), eps(), w.normed.data());
                linear(w.normed.data(), rows, layer.cross.q, lora, w.query.data(), w);
                w.spans.clear();
                for (std::size_t r = 0; r < rows; ++r) {
                    const std::size_t s = active[r];
                    w.spans.push_back({r, 1, 0, w.encoder_offsets[s], w.encoder_offsets[s + 1] - w.encoder_offsets[s]});
                }
                attend(w.query.data(), w.cross_keys.data() + l * encoder_tokens * inner,
                       w.cross_values.data() + l * encoder_tokens * inner, w.spans, bias_kind::none, w.context.data());
                add_linear(w.context.data(), rows, layer.cross.o, lora, w.hidden.data(), w);
                feed_forward(layer.ff_norm.data(), layer.ff, rows, lora, w);
            }
            head(rows, w);
            std::vector<std::size_t> still;
            for (std::size_t r = 0; r < rows; ++r) {
                const std::size_t s = active[r];
                const int id = static_cast<int>(cpu::argmax(w.logits.data() + r * config_.vocab_size, config_.vocab_size));
                result[s].push_back(id);
                next[s] = id;
                if (id != config_.eos_token_id) still.push_back(s);
            }
            active.swap(still);
        }
        return result;
    }

    /// A model whose bound layers hold W' = W + s B A: the same outputs without runtime LoRA.
    model merged(const lora_binding& lora) const {
        auto merged_weights = std::make_shared<weights>(*weights_);
        for (std::size_t index = 0; index < lora.size(); ++index) {
            const auto& ref = lora[index];
            if (ref.rank == 0) continue;
            const auto& linear = weights_->linears[index];
            std::vector<float> values(linear.weight.begin(), linear.weight.end());
            Gemm::multiply({ref.b, linear.out_features, ref.rank, ref.rank}, {ref.a, ref.rank, linear.in_features, linear.in_features},
                           {values.data(), linear.out_features, linear.in_features, linear.in_features}, ref.scaling, 1.0f);
            merged_weights->replace_linear(index, std::move(values));
        }
        return model(std::move(merged_weights), tokenizer_);
    }

private:
    enum class bias_kind { none, bidirectional, causal };

    /// Queries rows [query_row, +query_count) at positions query_position + i attend to
    /// key rows [key_row, +key_count) at positions 0..key_count-1 of one sequence.
    struct attention_span {
        std::size_t query_row, query_count, query_position, key_row, key_count;
    };

    struct workspace {
        std::vector<std::size_t> encoder_offsets, decoder_offsets;
        std::vector<float> encoder_hidden, hidden, normed, query, key, value, context, ff_in, ff_gate, lora_tmp, logits;
        std::vector<float> cross_keys, cross_values, self_keys, self_values;
        std::vector<attention_span> spans, cross_spans;
    };

    float eps() const { return static_cast<float>(config_.layer_norm_epsilon); }

    void check_ids(const std::vector<std::vector<int>>& sequences, const char* what) const {
        for (std::size_t s = 0; s < sequences.size(); ++s) {
            if (sequences[s].empty()) throw argument_error(what, "sequence " + std::to_string(s) + " is empty");
            for (int id : sequences[s])
                if (id < 0 || static_cast<std::size_t>(id) >= config_.vocab_size)
                    throw argument_error(what, "sequence " + std::to_string(s) + " holds token id " + std::to_string(id) +
                                                   ", outside the model's vocabulary of " + std::to_string(config_.vocab_size));
        }
    }

    void embed(int id, float* out) const {
        std::copy_n(weights_->shared.data() + static_cast<std::size_t>(id) * config_.d_model, config_.d_model, out);
    }

    /// out = x W^T (+ s (x A^T) B^T), x is [rows, in].
    void linear(const float* x, std::size_t rows, std::size_t index, const lora_binding* lora, float* out, workspace& w,
                float beta = 0.0f) const {
        const auto& layer = weights_->linears[index];
        Gemm::multiply_transposed({x, rows, layer.in_features, layer.in_features},
                                  {layer.weight.data(), layer.out_features, layer.in_features, layer.in_features},
                                  {out, rows, layer.out_features, layer.out_features}, 1.0f, beta);
        if (lora == nullptr || (*lora)[index].rank == 0) return;
        const auto& ref = (*lora)[index];
        w.lora_tmp.resize(rows * ref.rank);
        Gemm::multiply_transposed({x, rows, layer.in_features, layer.in_features}, {ref.a, ref.rank, layer.in_features, layer.in_features},
                                  {w.lora_tmp.data(), rows, ref.rank, ref.rank});
        Gemm::multiply_transposed({w.lora_tmp.data(), rows, ref.rank, ref.rank}, {ref.b, layer.out_features, ref.rank, ref.rank},
                                  {out, rows, layer.out_features, layer.out_features}, ref.scaling, 1.0f);
    }

    /// out += linear(x): the residual connection of attention and feed-forward outputs.
    void add_linear(const float* x, std::size_t rows, std::size_t index, const lora_binding* lora, float* out, workspace& w) const {
        linear(x, rows, index, lora, out, w, 1.0f);
    }

    void attend(const float* query, const float* keys, const float* values, const std::vector<attention_span>& spans, bias_kind kind,
                float* context) const {
        const std::size_t heads = config_.num_heads, dk = config_.d_kv, inner = config_.inner_dim();
        const std::size_t buckets = config_.relative_attention_num_buckets, distance = config_.relative_attention_max_distance;
        const float* table = kind == bias_kind::bidirectional ? weights_->encoder_position_bias.data()
                                                              : weights_->decoder_position_bias.data();
        const std::size_t jobs = spans.size() * heads;
#pragma omp parallel for schedule(dynamic)
        for (std::size_t job = 0; job < jobs; ++job) {
            const auto& span = spans[job / heads];
            const std::size_t h = job % heads;
            thread_local std::vector<float> scores;
            thread_local std::vector<std::int64_t> bucket_of;
            scores.resize(span.query_count * span.key_count);
            if (kind != bias_kind::none) {
                // bucket of every relative position key - query that this span can see
                const std::size_t last_query = span.query_position + span.query_count - 1;
                bucket_of.resize(span.key_count + last_query + 1);
                for (std::size_t i = 0; i < bucket_of.size(); ++i)
                    bucket_of[i] = relative_position_bucket(static_cast<std::int64_t>(i) - static_cast<std::int64_t>(last_query),
                                                            kind == bias_kind::bidirectional, static_cast<std::int64_t>(buckets),
                                                            static_cast<std::int64_t>(distance));
            }
            Gemm::multiply_transposed({query + span.query_row * inner + h * dk, span.query_count, dk, inner},
                                      {keys + span.key_row * inner + h * dk, span.key_count, dk, inner},
                                      {scores.data(), span.query_count, span.key_count, span.key_count});
            for (std::size_t i = 0; i < span.query_count; ++i) {
                float* row = scores.data() + i * span.key_count;
                const std::size_t position = span.query_position + i;
                const std::size_t visible = kind == bias_kind::causal ? std::min(position + 1, span.key_count) : span.key_count;
                if (kind != bias_kind::none) {
                    const std::size_t shift = span.query_position + span.query_count - 1 - position;
                    for (std::size_t j = 0; j < visible; ++j) row[j] += table[bucket_of[j + shift] * heads + h];
                }
                cpu::softmax_row(row, visible);
                std::fill(row + visible, row + span.key_count, 0.0f);
            }
            Gemm::multiply({scores.data(), span.query_count, span.key_count, span.key_count},
                           {values + span.key_row * inner + h * dk, span.key_count, dk, inner},
                           {context + span.query_row * inner + h * dk, span.query_count, dk, inner});
        }
    }

    void feed_forward(const float* norm, const feed_forward_block& block, std::size_t rows, const lora_binding* lora, workspace& w) const {
        const std::size_t d = config_.d_model, ff = config_.d_ff;
        w.normed.resize(rows * d);
        cpu::rms_norm(w.hidden.data(), rows, d, norm, eps(), w.normed.data());
        w.ff_in.resize(rows * ff);
        linear(w.normed.data(), rows, block.wi, lora, w.ff_in.data(), w);
        if (config_.gated_activation) {
            w.ff_gate.resize(rows * ff);
            linear(w.normed.data(), rows, block.wi_1, lora, w.ff_gate.data(), w);
            cpu::activate_in_place(config_.dense_activation, w.ff_in.data(), w.ff_gate.data(), rows * ff);
        } else {
            cpu::activate_in_place(config_.dense_activation, w.ff_in.data(), nullptr, rows * ff);
        }
        add_linear(w.ff_in.data(), rows, block.wo, lora, w.hidden.data(), w);
    }

    static void pack(const std::vector<std::vector<int>>& sequences, std::vector<std::size_t>& offsets) {
        offsets.assign(1, 0);
        for (const auto& sequence : sequences) offsets.push_back(offsets.back() + sequence.size());
    }

    /// Runs the encoder; leaves its final hidden states in w.encoder_hidden.
    void encode(const std::vector<std::vector<int>>& inputs, const lora_binding* lora, workspace& w) const {
        const std::size_t d = config_.d_model, inner = config_.inner_dim();
        pack(inputs, w.encoder_offsets);
        const std::size_t tokens = w.encoder_offsets.back();
        w.hidden.resize(tokens * d);
        for (std::size_t s = 0; s < inputs.size(); ++s)
            for (std::size_t i = 0; i < inputs[s].size(); ++i) embed(inputs[s][i], w.hidden.data() + (w.encoder_offsets[s] + i) * d);
        w.spans.clear();
        for (std::size_t s = 0; s < inputs.size(); ++s) {
            const std::size_t length = inputs[s].size();
            w.spans.push_back({w.encoder_offsets[s], length, 0, w.encoder_offsets[s], length});
        }
        w.normed.resize(tokens * d);
        w.query.resize(tokens * inner);
        w.key.resize(tokens * inner);
        w.value.resize(tokens * inner);
        w.context.resize(tokens * inner);
        for (const auto& layer : weights_->encoder) {
            cpu::rms_norm(w.hidden.data(), tokens, d, layer.self_norm.data(), eps(), w.normed.data());
            linear(w.normed.data(), tokens, layer.self.q, lora, w.query.data(), w);
            linear(w.normed.data(), tokens, layer.self.k, lora, w.key.data(), w);
            linear(w.normed.data(), tokens, layer.self.v, lora, w.value.data(), w);
            attend(w.query.data(), w.key.data(), w.value.data(), w.spans, bias_kind::bidirectional, w.context.data());
            add_linear(w.context.data(), tokens, layer.self.o, lora, w.hidden.data(), w);
            feed_forward(layer.ff_norm.data(), layer.ff, tokens, lora, w);
        }
        w.encoder_hidden.resize(tokens * d);
        cpu::rms_norm(w.hidden.data(), tokens, d, weights_->encoder_final_norm.data(), eps(), w.encoder_hidden.data());
    }

    /// Final norm, optional d_model^-0.5 scaling (tied head), and logits of w.hidden rows.
    void head(std::size_t rows, workspace& w) const {
        const std::size_t d = config_.d_model;
        w.normed.resize(rows * d);
        cpu::rms_norm(w.hidden.data(), rows, d, weights_->decoder_final_norm.data(), eps(), w.normed.data());
        const float scale = config_.tie_word_embeddings ? 1.0f / std::sqrt(static_cast<float>(d)) : 1.0f;
        if (scale != 1.0f)
            for (auto& value : w.normed) value *= scale;
        w.logits.resize(rows * config_.vocab_size);
        Gemm::multiply_transposed({w.normed.data(), rows, d, d}, {weights_->lm_head.data(), config_.vocab_size, d, d},
                                  {w.logits.data(), rows, config_.vocab_size, config_.vocab_size});
    }

    /// Teacher-forced pass: logits for every label position in w.logits.
    void forward(const batch& examples, const lora_binding* lora, workspace& w) const {
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
        encode(examples.inputs, lora, w);
        const std::size_t d = config_.d_model, inner = config_.inner_dim();
        pack(examples.labels, w.decoder_offsets);
        const std::size_t tokens = w.decoder_offsets.back(), encoder_tokens = w.encoder_offsets.back();
        w.hidden.resize(tokens * d);
        for (std::size_t s = 0; s < examples.labels.size(); ++s) {
            const auto& labels = examples.labels[s];
            for (std::size_t i = 0; i < labels.size(); ++i) {
                // decoder input: start id, then the labels shifted right with -100 -> pad
                const int id = i == 0 ? config_.decoder_start_token_id
                                      : (labels[i - 1] == ignore_index ? config_.pad_token_id : labels[i - 1]);
                embed(id, w.hidden.data() + (w.decoder_offsets[s] + i) * d);
            }
        }
        // reused workspace vectors: after the first call, an evaluation allocates nothing here
        auto& self_spans = w.spans;
        auto& cross_spans = w.cross_spans;
        self_spans.clear();
        cross_spans.clear();
        for (std::size_t s = 0; s < examples.labels.size(); ++s) {
            const std::size_t length = examples.labels[s].size();
            self_spans.push_back({w.decoder_offsets[s], length, 0, w.decoder_offsets[s], length});
            cross_spans.push_back({w.decoder_offsets[s], length, 0, w.encoder_offsets[s], w.encoder_offsets[s + 1] - w.encoder_offsets[s]});
        }
        w.normed.resize(tokens * d);
        w.query.resize(tokens * inner);
        w.key.resize(std::max(tokens, encoder_tokens) * inner);
        w.value.resize(std::max(tokens, encoder_tokens) * inner);
        w.context.resize(tokens * inner);
        for (const auto& layer : weights_->decoder) {
            cpu::rms_norm(w.hidden.data(), tokens, d, layer.self_norm.data(), eps(), w.normed.data());
            linear(w.normed.data(), tokens, layer.self.q, lora, w.query.data(), w);
            linear(w.normed.data(), tokens, layer.self.k, lora, w.key.data(), w);
            linear(w.normed.data(), tokens, layer.self.v, lora, w.value.data(), w);
            attend(w.query.data(), w.key.data(), w.value.data(), self_spans, bias_kind::causal, w.context.data());
            add_linear(w.context.data(), tokens, layer.self.o, lora, w.hidden.data(), w);
            cpu::rms_norm(w.hidden.data(), tokens, d, layer.cross_norm.data(), eps(), w.normed.data());
            linear(w.normed.data(), tokens, layer.cross.q, lora, w.query.data(), w);
            linear(w.encoder_hidden.data(), encoder_tokens, layer.cross.k, lora, w.key.data(), w);
            linear(w.encoder_hidden.data(), encoder_tokens, layer.cross.v, lora, w.value.data(), w);
            attend(w.query.data(), w.key.data(), w.value.data(), cross_spans, bias_kind::none, w.context.data());
            add_linear(w.context.data(), tokens, layer.cross.o, lora, w.hidden.data(), w);
            feed_forward(layer.ff_norm.data(), layer.ff, tokens, lora, w);
        }
        head(tokens, w);
    }

    std::shared_ptr<const weights> weights_;
    std::shared_ptr<const tokenizer> tokenizer_;
    config config_;
    std::shared_ptr<workspace> workspace_;
};

}  // namespace lorahub::t5
