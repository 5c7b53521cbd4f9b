#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lorahub/backend/cpu/declarations.hpp"
#if !defined(__CUDACC__)  // nvcc cannot compile oneDNN's header; CUDA code names its backend
#include "lorahub/backend/cpu/backend.hpp"
#endif
#include "lorahub/core/error.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/core/primitives.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"
#include "lorahub/io/weight_store.hpp"
#include "lorahub/model/linear_layers.hpp"
#include "lorahub/model/llama/config.hpp"
#include "lorahub/model/llama/rotary.hpp"
#include "lorahub/model/llama/tokenizer.hpp"
#include "lorahub/model/llama/weights.hpp"
#include "lorahub/model/lora_linear.hpp"
#include "lorahub/model/model_support.hpp"

namespace lorahub::llama {

/// Examples for a causal LM: per example the prompt ids ([bos] + encode(input)) and the
/// completion ids (encode(output) + [eos]). The model runs prompt + completion as one
/// sequence; only the completion tokens are labels (HF's labels = -100 on the prompt).
struct batch {
    std::vector<std::vector<int>> inputs;
    std::vector<std::vector<int>> labels;
};

/// Buffers one forward pass or generation reuses, owned by the caller (model::make_context).
/// After the first call of a given size, a call allocates nothing in here.
template <class Backend>
struct context {
    template <class T>
    using buffer = typename Backend::template buffer<T>;
    buffer<float> hidden, normed, query, key, value, attended, gate, up, lora_tmp, head_in, logits;
    buffer<float> key_cache, value_cache;         ///< generation: [layers, sequences x capacity, kv_dim]
    buffer<float> cos_table, sin_table;           ///< rotary rows of positions 0..rotary_positions-1
    buffer<float> cos_rows, sin_rows;             ///< the rows of this pass's tokens
    std::size_t rotary_positions = 0;
    std::vector<float> cos_host, sin_host;
    std::vector<std::size_t> offsets;             ///< packed sequences (all copies)
    std::vector<attention_span> spans;
    std::vector<int> ids, positions, selected, next_ids;
    std::vector<labeled_row> labeled;
    std::vector<double> row_losses, copy_losses;  ///< per labeled row; per stacked copy (candidate)
};

/// The parameters other than linear weights, placed once on the backend.
template <class Backend>
struct placed_parameters {
    using parameter = typename Backend::parameter;
    parameter embed_tokens, lm_head, final_norm;
    std::vector<parameter> input_norms, post_attention_norms;

    explicit placed_parameters(const weights& w)
        : embed_tokens(Backend::place(w.embed_tokens)), lm_head(Backend::place(w.lm_head)), final_norm(Backend::place(w.final_norm)) {
        for (const auto& layer : w.layers) {
            input_norms.push_back(Backend::place(layer.input_norm));
            post_attention_norms.push_back(Backend::place(layer.post_attention_norm));
        }
    }
};

/// Hugging Face's LlamaForCausalLM (and MistralForCausalLM within its sliding window) in
/// float32: RMSNorm, rotary embeddings on q and k (rotate-half, rope_theta, linear scaling),
/// grouped-query attention, SwiGLU MLP, tied or untied head. LoRA is applied at run time
/// (y = x W^T + s (x A^T) B^T) and never merged into W. Sequences are packed: linear layers see
/// all tokens of all sequences as one matrix and attention runs causally per sequence.
/// Generation keeps a KV cache. Every computation is a primitive of `Backend`.
template <class Backend = cpu::backend>
class model {
public:
    using backend = Backend;
    using batch = llama::batch;
    using tokenizer = llama::tokenizer;
    using lora_binding = typename Backend::lora_binding;
    using context = llama::context<Backend>;
    using candidates = std::span<const lora_binding* const>;

    /// Loads config.json, the weights (model.safetensors, sharded, or .bin) and, when present,
    /// tokenizer.model, tokenizer_config.json's add_bos_token and generation_config.json's
    /// eos_token_id (where generation stops, as HF generate reads it) from a HF model directory.
    static model load(const std::filesystem::path& directory) {
        const auto c = load_config(directory / "config.json");
        auto store = std::make_shared<const io::weight_store>(directory);
        auto tensors = std::make_shared<const weights>(c, std::move(store));
        std::shared_ptr<const tokenizer> tokens;
        if (std::filesystem::exists(directory / "tokenizer.model")) tokens = std::make_shared<const tokenizer>(directory / "tokenizer.model");
        model result(std::move(tensors), std::move(tokens));
        if (const auto document = optional_json_object(directory / "tokenizer_config.json"))
            result.add_bos_ = io::bool_field(*document, "add_bos_token", true, display(directory / "tokenizer_config.json"));
        if (const auto document = optional_json_object(directory / "generation_config.json");
            document && document->contains("eos_token_id") && !(*document)["eos_token_id"].is_null()) {
            const auto subject = display(directory / "generation_config.json");
            result.stop_ids_ = detail::eos_ids(*document, subject);
            for (const int id : result.stop_ids_)
                if (static_cast<std::size_t>(id) >= c.vocab_size)
                    throw config_error(subject, "\"eos_token_id\" " + std::to_string(id) + " is not below vocab_size " + std::to_string(c.vocab_size));
        }
        return result;
    }

    explicit model(std::shared_ptr<const weights> tensors, std::shared_ptr<const tokenizer> tokens = nullptr)
        : weights_(std::move(tensors)), tokenizer_(std::move(tokens)), config_(weights_->model_config()),
          inverse_frequencies_(rotary_inverse_frequencies(config_)), stop_ids_(config_.eos_token_ids) {
        prepared_ = prepare_linears<Backend>(*weights_);
        placed_ = std::make_shared<const placed_parameters<Backend>>(*weights_);
    }

    const config& model_config() const noexcept { return config_; }
    const weights& tensors() const noexcept { return *weights_; }
    const io::weight_store& weight_store() const noexcept { return weights_->store(); }
    bool has_tokenizer() const noexcept { return tokenizer_ != nullptr; }
    const tokenizer& tokens() const {
        if (tokenizer_) return *tokenizer_;
        const auto& directory = weights_->store().directory();
        if (std::filesystem::exists(directory / "tokenizer.json"))
            throw unsupported_error(display(directory), "has only tokenizer.json (a Hugging Face tokenizers file); lorahub reads "
                                                        "SentencePiece tokenizer.model files for Llama-family models");
        throw io_error(display(directory), "has no tokenizer.model");
    }
    /// Whether sequences start with bos: config.json has a bos_token_id and
    /// tokenizer_config.json does not say add_bos_token: false.
    bool adds_bos() const noexcept { return add_bos_ && config_.has_bos(); }
    context make_context() const { return {}; }

    std::vector<lora_target> lora_targets() const { return linear_layers(config_); }
    lora_binding bind(std::span<const lora_layer> layers, const std::string& subject) const {
        return Backend::adopt_lora(lorahub::bind_lora(*weights_, layers, subject));
    }
    void refresh(lora_binding& binding) const { Backend::refresh_lora(binding); }

    /// The prompt generation and the loss start from: [bos] + encode(input).
    std::vector<int> encode_input(std::string_view input) const {
        std::vector<int> ids;
        if (adds_bos()) ids.push_back(config_.bos_token_id);
        const auto text = tokens().encode(input);
        ids.insert(ids.end(), text.begin(), text.end());
        return ids;
    }
    std::string decode_output(std::span<const int> ids) const { return tokens().decode(ids); }

    /// Adds one example as LoraHub on a causal LM tokenizes it: prompt [bos] + encode(input),
    /// labels encode(output) + [eos].
    void add_example(batch& examples, std::string_view input, std::string_view output) const {
        auto prompt = encode_input(input);
        auto completion = tokens().encode(output);
        completion.push_back(config_.eos_token_ids.front());
        examples.inputs.push_back(std::move(prompt));
        examples.labels.push_back(std::move(completion));
    }
    std::size_t label_tokens(const batch& examples) const {
        std::size_t kept = 0;
        for (const auto& labels : examples.labels) kept += labels.size();
        return kept;
    }

    /// Logits at every label position of every example: [labels[i].size(), vocab_size] each,
    /// row j being the prediction of labels[i][j] (the output at the token before it).
    std::vector<std::vector<float>> logits(const batch& examples, const lora_binding* lora, context& w) const {
        forward(examples, candidates(&lora, 1), w);
        std::vector<std::vector<float>> result(examples.labels.size());
        std::size_t row = 0;
        for (std::size_t s = 0; s < result.size(); ++s) {
            result[s].resize(examples.labels[s].size() * config_.vocab_size);
            Backend::download(w.logits.data() + row * config_.vocab_size, result[s].size(), result[s].data());
            row += examples.labels[s].size();
        }
        return result;
    }
    std::vector<std::vector<float>> logits(const batch& examples, const lora_binding* lora = nullptr) const {
        context w;
        return logits(examples, lora, w);
    }

    /// Mean token cross-entropy over the completion tokens of the batch, as HF's causal-LM
    /// loss (shifted by one, labels -100 on the prompt and padding) computes it.
    double loss(const batch& examples, const lora_binding* lora, context& w) const {
        forward(examples, candidates(&lora, 1), w);
        mean_cross_entropies(examples, 1, w);
        return w.copy_losses.front();
    }
    double loss(const batch& examples, const lora_binding* lora = nullptr) const {
        context w;
        return loss(examples, lora, w);
    }

    /// loss() under each candidate's LoRA in one pass: the batch stacked once per candidate,
    /// every base projection one product over all rows, each candidate's LoRA on its block.
    std::vector<double> losses(const batch& examples, candidates population, context& w) const {
        if (population.empty()) return {};
        forward(examples, population, w);
        mean_cross_entropies(examples, population.size(), w);
        return w.copy_losses;
    }

    /// Greedy decoding as HF generate(do_sample=False, num_beams=1) from each prompt: the
    /// prompts run once (prefill) into a KV cache, then one token per step; a sequence stops
    /// at any eos id of generation_config.json, else config.json (kept) or after max_new_tokens. Returns the new ids of each sequence.
    std::vector<std::vector<int>> generate(const std::vector<std::vector<int>>& inputs, const lora_binding* lora,
                                           std::size_t max_new_tokens, context& w) const {
        check_ids(inputs, "generate");
        const std::size_t n = inputs.size();
        std::vector<std::vector<int>> result(n);
        if (max_new_tokens == 0 || n == 0) return result;
        const candidates one(&lora, 1);
        std::size_t longest = 0;
        for (const auto& prompt : inputs) longest = std::max(longest, prompt.size());
        check_length(longest, "generate");
        // positions past max_position_embeddings are refused when reached, so the cache needs no more
        const std::size_t capacity = std::min(longest + max_new_tokens, std::max(longest, config_.max_position_embeddings));
        const std::size_t layers = config_.num_hidden_layers, kv = config_.key_value_dim(), d = config_.hidden_size;
        w.key_cache.resize(layers * n * capacity * kv);
        w.value_cache.resize(layers * n * capacity * kv);
        ensure_rotary(capacity, w);  // once, not one position per step

        // prefill: every prompt token, causal per prompt; keys and values into the cache
        pack(inputs, {}, 1, w);
        run_layers(w.offsets.back(), one, w, [&](std::size_t l) {
            for (std::size_t s = 0; s < n; ++s) {
                const std::size_t base = (l * n + s) * capacity * kv, length = inputs[s].size();
                Backend::copy(w.key.data() + w.offsets[s] * kv, length * kv, w.key_cache.data() + base);
                Backend::copy(w.value.data() + w.offsets[s] * kv, length * kv, w.value_cache.data() + base);
            }
        });
        w.selected.clear();
        for (std::size_t s = 0; s < n; ++s) w.selected.push_back(static_cast<int>(w.offsets[s + 1] - 1));
        head(w.selected, w);

        std::vector<std::size_t> active(n), length(n);
        for (std::size_t s = 0; s < n; ++s) {
            active[s] = s;
            length[s] = inputs[s].size();
        }
        for (std::size_t step = 0;; ++step) {
            w.next_ids.resize(active.size());
            Backend::argmax_rows(w.logits.data(), active.size(), config_.vocab_size, w.next_ids);
            std::vector<std::size_t> still;
            w.ids.clear();
            for (std::size_t r = 0; r < active.size(); ++r) {
                const std::size_t s = active[r];
                const int id = w.next_ids[r];
                result[s].push_back(id);
                if (!is_eos(id) && step + 1 < max_new_tokens) {
                    still.push_back(s);
                    w.ids.push_back(id);
                }
            }
            active.swap(still);
            if (active.empty()) break;
            // one new token per active sequence at position length[s], attending to its cache
            const std::size_t rows = active.size();
            w.positions.clear();
            for (const std::size_t s : active) w.positions.push_back(static_cast<int>(length[s]));
            w.hidden.resize(rows * d);
            Backend::gather_rows(placed_->embed_tokens.data(), d, w.ids, w.hidden.data());
            w.spans.clear();
            for (std::size_t r = 0; r < rows; ++r) {
                const std::size_t s = active[r];
                w.spans.push_back({r, 1, length[s], s * capacity, length[s] + 1});
            }
            run_layers(rows, one, w, [&](std::size_t l) {
                for (std::size_t r = 0; r < rows; ++r) {
                    const std::size_t s = active[r], at = (l * n + s) * capacity * kv + length[s] * kv;
                    Backend::copy(w.key.data() + r * kv, kv, w.key_cache.data() + at);
                    Backend::copy(w.value.data() + r * kv, kv, w.value_cache.data() + at);
                }
            }, n * capacity * kv);
            for (const std::size_t s : active) ++length[s];
            w.selected.resize(rows);
            for (std::size_t r = 0; r < rows; ++r) w.selected[r] = static_cast<int>(r);
            head(w.selected, w);
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
    model merged(const lora_binding& lora) const {
        model result(merged_tensors(*weights_, Backend::host_lora(lora)), tokenizer_);
        result.add_bos_ = add_bos_;
        result.stop_ids_ = stop_ids_;
        return result;
    }

private:
    bool is_eos(int id) const { return std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end(); }

    /// The JSON object in `path`, or nothing when there is no such file.
    static std::optional<io::json> optional_json_object(const std::filesystem::path& path) {
        if (!std::filesystem::exists(path)) return std::nullopt;
        const auto subject = display(path);
        auto document = io::parse_json_strict(io::read_text_file(path, 16 << 20), subject);
        if (!document.is_object()) throw config_error(subject, "must be a JSON object");
        return document;
    }

    void check_ids(const std::vector<std::vector<int>>& sequences, const char* what) const {
        check_token_ids(sequences, config_.vocab_size, what);
    }

    /// Positions past the model's range (or past Mistral's sliding window, which this
    /// implementation does not apply) are refused.
    void check_length(std::size_t tokens, const char* what) const {
        if (tokens > config_.max_position_embeddings)
            throw argument_error(what, "a sequence of " + std::to_string(tokens) + " tokens is longer than the model's max_position_embeddings (" +
                                           std::to_string(config_.max_position_embeddings) + ")");
        if (config_.sliding_window != 0 && tokens > config_.sliding_window)
            throw unsupported_error(what, "a sequence of " + std::to_string(tokens) + " tokens is longer than the model's sliding_window (" +
                                              std::to_string(config_.sliding_window) + "), which lorahub does not implement");
    }

    /// Packs inputs[s] (+ labels[s] when given) end to end, `copies` times over: token ids,
    /// positions, offsets and causal spans (queries and keys are the same rows) into w.
    void pack(const std::vector<std::vector<int>>& inputs, const std::vector<std::vector<int>>& labels, std::size_t copies, context& w) const {
        w.offsets.assign(1, 0);
        w.ids.clear();
        w.positions.clear();
        w.spans.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (std::size_t s = 0; s < inputs.size(); ++s) {
                const std::size_t start = w.offsets.back();
                w.ids.insert(w.ids.end(), inputs[s].begin(), inputs[s].end());
                if (!labels.empty()) w.ids.insert(w.ids.end(), labels[s].begin(), labels[s].end());
                const std::size_t length = w.ids.size() - start;
                for (std::size_t p = 0; p < length; ++p) w.positions.push_back(static_cast<int>(p));
                w.offsets.push_back(w.ids.size());
                w.spans.push_back({start, length, 0, start, length});
            }
        w.hidden.resize(w.ids.size() * config_.hidden_size);
        Backend::gather_rows(placed_->embed_tokens.data(), config_.hidden_size, w.ids, w.hidden.data());
    }

    /// Grows the context's rotary table to cover positions [0, positions).
    void ensure_rotary(std::size_t positions, context& w) const {
        if (positions <= w.rotary_positions) return;
        const std::size_t half = config_.head_dim / 2;
        w.cos_host.clear();
        w.sin_host.clear();
        append_rotary_rows(inverse_frequencies_, 0, positions, w.cos_host, w.sin_host);
        w.cos_table.resize(positions * half);
        w.sin_table.resize(positions * half);
        Backend::upload(w.cos_host, w.cos_table.data());
        Backend::upload(w.sin_host, w.sin_table.data());
        w.rotary_positions = positions;
    }

    void norm(const float* x, std::size_t rows, const typename Backend::parameter& weight, float* out) const {
        Backend::rms_norm(x, rows, config_.hidden_size, weight.data(), static_cast<float>(config_.rms_norm_eps), out);
    }

    void linear(const float* x, std::size_t rows, std::size_t index, candidates lora, float* out, context& w, float beta = 0.0f) const {
        lora_linear<Backend>(x, rows, weights_->linears[index], (*prepared_)[index], index, lora, out, w.lora_tmp, beta);
    }

    /// The decoder layers over the `rows` tokens in w.hidden at w.positions, attending over
    /// w.spans. `store_keys(l)` runs after layer l's rotated keys and values are in w.key and
    /// w.value. With `cache_layer` (the size of one layer's KV cache; 0: none), attention reads
    /// keys and values from w.key_cache / w.value_cache (generation) instead of w.key / w.value.
    template <class StoreKeys>
    void run_layers(std::size_t rows, candidates lora, context& w, StoreKeys&& store_keys, std::size_t cache_layer = 0) const {
        const std::size_t d = config_.hidden_size, q_dim = config_.query_dim(), kv = config_.key_value_dim(), ff = config_.intermediate_size;
        const std::size_t hd = config_.head_dim, half = hd / 2;
        std::size_t longest = 0;
        for (const int p : w.positions) longest = std::max(longest, static_cast<std::size_t>(p) + 1);
        check_length(longest, "sequence");
        ensure_rotary(longest, w);
        w.cos_rows.resize(rows * half);
        w.sin_rows.resize(rows * half);
        Backend::gather_rows(w.cos_table.data(), half, w.positions, w.cos_rows.data());
        Backend::gather_rows(w.sin_table.data(), half, w.positions, w.sin_rows.data());
        w.normed.resize(rows * d);
        w.query.resize(rows * q_dim);
        w.key.resize(rows * kv);
        w.value.resize(rows * kv);
        w.attended.resize(rows * q_dim);
        w.gate.resize(rows * ff);
        w.up.resize(rows * ff);
        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
        for (std::size_t l = 0; l < weights_->layers.size(); ++l) {
            const auto& layer = weights_->layers[l];
            norm(w.hidden.data(), rows, placed_->input_norms[l], w.normed.data());
            linear(w.normed.data(), rows, layer.q, lora, w.query.data(), w);
            linear(w.normed.data(), rows, layer.k, lora, w.key.data(), w);
            linear(w.normed.data(), rows, layer.v, lora, w.value.data(), w);
            Backend::rotary(w.query.data(), rows, config_.num_attention_heads, hd, q_dim, w.cos_rows.data(), w.sin_rows.data());
            Backend::rotary(w.key.data(), rows, config_.num_key_value_heads, hd, kv, w.cos_rows.data(), w.sin_rows.data());
            store_keys(l);
            const float* keys = cache_layer ? w.key_cache.data() + l * cache_layer : w.key.data();
            const float* values = cache_layer ? w.value_cache.data() + l * cache_layer : w.value.data();
            Backend::attention({w.query.data(), keys, values, w.attended.data(), config_.num_attention_heads, hd, q_dim, kv, scale, true,
                                w.spans, config_.num_key_value_heads});
            linear(w.attended.data(), rows, layer.o, lora, w.hidden.data(), w, 1.0f);
            norm(w.hidden.data(), rows, placed_->post_attention_norms[l], w.normed.data());
            linear(w.normed.data(), rows, layer.gate, lora, w.gate.data(), w);
            linear(w.normed.data(), rows, layer.up, lora, w.up.data(), w);
            Backend::activate(activation::silu, w.gate.data(), w.up.data(), rows * ff);
            linear(w.gate.data(), rows, layer.down, lora, w.hidden.data(), w, 1.0f);
        }
    }

    /// Final norm of the rows `selected` of w.hidden, then their logits into w.logits.
    void head(std::span<const int> selected, context& w) const {
        const std::size_t d = config_.hidden_size, rows = selected.size();
        w.head_in.resize(rows * d);
        Backend::gather_rows(w.hidden.data(), d, selected, w.head_in.data());
        w.normed.resize(rows * d);
        norm(w.head_in.data(), rows, placed_->final_norm, w.normed.data());
        w.logits.resize(rows * config_.vocab_size);
        Backend::gemm_nt({w.normed.data(), rows, d, d}, {placed_->lm_head.data(), config_.vocab_size, d, d},
                         {w.logits.data(), rows, config_.vocab_size, config_.vocab_size});
    }

    /// Teacher-forced pass of prompt + completion per example, stacked once per candidate;
    /// logits only at the rows that predict a completion token, in order, into w.logits.
    void forward(const batch& examples, candidates lora, context& w) const {
        if (examples.inputs.size() != examples.labels.size())
            throw argument_error("batch", std::to_string(examples.inputs.size()) + " inputs but " + std::to_string(examples.labels.size()) +
                                              " label sequences");
        check_ids(examples.inputs, "batch inputs");
        check_ids(examples.labels, "batch labels");
        const std::size_t copies = lora.size();
        pack(examples.inputs, examples.labels, copies, w);
        run_layers(w.ids.size(), lora, w, [](std::size_t) {});
        w.selected.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (std::size_t s = 0; s < examples.inputs.size(); ++s) {
                const std::size_t first = w.offsets[copy * examples.inputs.size() + s] + examples.inputs[s].size() - 1;
                for (std::size_t i = 0; i < examples.labels[s].size(); ++i) w.selected.push_back(static_cast<int>(first + i));
            }
        head(w.selected, w);
    }

    /// Mean cross-entropy over the labels of each of the batch's `copies` stacked copies (the
    /// logits rows forward() selected, in order) into w.copy_losses.
    void mean_cross_entropies(const batch& examples, std::size_t copies, context& w) const {
        w.labeled.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (const auto& labels : examples.labels)
                for (const int label : labels) w.labeled.push_back({w.labeled.size(), static_cast<std::size_t>(label)});
        if (w.labeled.empty()) throw argument_error("loss", "the batch has no label tokens");
        w.row_losses.resize(w.labeled.size());
        Backend::cross_entropy_rows(w.logits.data(), config_.vocab_size, w.labeled, w.row_losses);
        mean_per_copy(w.row_losses, copies, w.copy_losses);
    }

    std::shared_ptr<const weights> weights_;
    std::shared_ptr<const tokenizer> tokenizer_;
    config config_;
    std::vector<float> inverse_frequencies_;
    bool add_bos_ = true;
    std::vector<int> stop_ids_;  ///< generation stops at these (generation_config.json, else config.json)
    std::shared_ptr<const std::vector<typename Backend::weight>> prepared_;
    std::shared_ptr<const placed_parameters<Backend>> placed_;
};

}  // namespace lorahub::llama
