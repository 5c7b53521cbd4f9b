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
#include "lorahub/model/layers/layer_stack.hpp"
#include "lorahub/model/model_base.hpp"
#include "lorahub/model/llama/config.hpp"
#include "lorahub/model/llama/rotary.hpp"
#include "lorahub/model/llama/tokenizer.hpp"
#include "lorahub/model/llama/weights.hpp"
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
    layers::scratch<Backend> layers;
    buffer<float> hidden, head_in, logits;
    buffer<float> key_cache, value_cache;         ///< generation: [layers, sequences x capacity, kv_dim]
    buffer<float> cos_table, sin_table;           ///< rotary rows of positions 0..rotary_positions-1
    buffer<float> cos_rows, sin_rows;             ///< the rows of this pass's tokens
    std::size_t rotary_positions = 0;
    std::vector<float> cos_host, sin_host;
    std::vector<std::size_t> offsets;             ///< packed sequences (all copies)
    std::vector<attention_span> spans;
    std::vector<layers::row_run> cache_writes;
    std::vector<int> ids, positions, selected, next_ids;
    std::vector<labeled_row> labeled;
    std::vector<double> row_losses, copy_losses;  ///< per labeled row; per stacked copy (candidate)
};

/// The parameters outside the layers, placed once on the backend.
template <class Backend>
struct placed_parameters {
    using parameter = typename Backend::parameter;
    parameter embed_tokens, lm_head, final_norm;

    explicit placed_parameters(const weights& w)
        : embed_tokens(Backend::place(w.embed_tokens)), lm_head(Backend::place(w.lm_head)), final_norm(Backend::place(w.final_norm)) {}
};

/// Hugging Face's LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM in float32: RMSNorm,
/// rotary embeddings on q and k (rotate-half, rope_theta, linear or llama3 scaling),
/// grouped-query attention (per layer within a causal sliding window where Mistral's or
/// Qwen2's config sets one, in packed batches and in generation alike), Qwen2's q/k/v biases,
/// SwiGLU MLP, tied or untied head. LoRA is applied at run time
/// (y = x W^T + s (x A^T) B^T) and never merged into W. Sequences are packed: linear layers see
/// all tokens of all sequences as one matrix and attention runs causally per sequence.
/// Generation keeps a KV cache. Every computation is a primitive of `Backend`.
template <class Backend = cpu::backend>
class model : public model_base<Backend, weights, llama::tokenizer> {
    using base = model_base<Backend, weights, llama::tokenizer>;

public:
    using typename base::candidates;
    using typename base::lora_binding;
    using typename base::tokenizer;
    using batch = llama::batch;
    using context = llama::context<Backend>;

    /// Loads config.json, the weights (model.safetensors, sharded, or .bin) and, when present,
    /// tokenizer.model, tokenizer_config.json's add_bos_token and generation_config.json's
    /// eos_token_id (where generation stops, as HF generate reads it) from a HF model directory.
    static model load(const std::filesystem::path& directory) {
        const auto c = load_config(directory / "config.json");
        auto parts = base::load_parts(directory, c, tokenizer::file_in(directory).filename().string());
        model result(std::move(parts.tensors), std::move(parts.tokens));
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
        : base(std::move(tensors), std::move(tokens)), config_(weights_->model_config()),
          inverse_frequencies_(rotary_inverse_frequencies(config_)), stop_ids_(config_.eos_token_ids) {
        const layers::stack_shape shape{config_.hidden_size,
                                        static_cast<float>(config_.rms_norm_eps),
                                        {config_.num_attention_heads, config_.num_key_value_heads, config_.head_dim,
                                         1.0f / std::sqrt(static_cast<float>(config_.head_dim))},
                                        {config_.intermediate_size, activation::silu, true}};
        std::vector<typename stack::layer> placed;
        for (const auto& layer : weights_->layers) placed.push_back(layers::place_layer<Backend>(layer));
        decoder_ = std::make_shared<const stack>(shape, this->linears_, std::move(placed));
        placed_ = std::make_shared<const placed_parameters<Backend>>(*weights_);
    }

    /// The files of a model directory this family reads or that travel with it (merging copies them).
    static constexpr std::string_view side_files[] = {"config.json",    "generation_config.json", "tokenizer.model",
                                                      "tokenizer.json", "tokenizer_config.json",  "special_tokens_map.json"};

    const config& model_config() const noexcept { return config_; }
    const tokenizer& tokens() const {
        if (tokenizer_) return *tokenizer_;
        throw io_error(display(weights_->store().directory()), "has no tokenizer.model or tokenizer.json");
    }
    /// Whether sequences start with bos: config.json has a bos_token_id and
    /// tokenizer_config.json does not say add_bos_token: false.
    bool adds_bos() const noexcept { return add_bos_ && config_.has_bos(); }
    context make_context() const { return {}; }

    /// The prompt generation and the loss start from: the input encoded with the tokenizer's
    /// special tokens (tokenizer.json's template), or for tokenizer.model [bos] + encode(input).
    std::vector<int> encode_input(std::string_view input) const {
        if (auto templated = tokens().prompt(input)) return std::move(*templated);
        std::vector<int> ids;
        if (adds_bos()) ids.push_back(config_.bos_token_id);
        const auto text = tokens().encode(input);
        ids.insert(ids.end(), text.begin(), text.end());
        return ids;
    }
    std::string decode_output(std::span<const int> ids) const { return tokens().decode(ids); }

    /// Adds one example as LoraHub on a causal LM tokenizes it: prompt encode_input(input),
    /// labels encode(output) (no special tokens) + [eos]; the loss counts the labels only.
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
    std::vector<std::vector<float>> logits(const batch& examples, const lora_binding* lora, context& ctx) const {
        forward(examples, candidates(&lora, 1), ctx);
        std::vector<std::vector<float>> result(examples.labels.size());
        std::size_t row = 0;
        for (std::size_t s = 0; s < result.size(); ++s) {
            result[s].resize(examples.labels[s].size() * config_.vocab_size);
            Backend::download(ctx.logits.data() + row * config_.vocab_size, result[s].size(), result[s].data());
            row += examples.labels[s].size();
        }
        return result;
    }
    std::vector<std::vector<float>> logits(const batch& examples, const lora_binding* lora = nullptr) const {
        context ctx;
        return logits(examples, lora, ctx);
    }

    /// Mean token cross-entropy over the completion tokens of the batch, as HF's causal-LM
    /// loss (shifted by one, labels -100 on the prompt and padding) computes it.
    double loss(const batch& examples, const lora_binding* lora, context& ctx) const {
        forward(examples, candidates(&lora, 1), ctx);
        mean_cross_entropies(examples, 1, ctx);
        return ctx.copy_losses.front();
    }
    double loss(const batch& examples, const lora_binding* lora = nullptr) const {
        context ctx;
        return loss(examples, lora, ctx);
    }

    /// loss() under each candidate's LoRA in one pass: the batch stacked once per candidate,
    /// every base projection one product over all rows, each candidate's LoRA on its block.
    std::vector<double> losses(const batch& examples, candidates population, context& ctx) const {
        if (population.empty()) return {};
        forward(examples, population, ctx);
        mean_cross_entropies(examples, population.size(), ctx);
        return ctx.copy_losses;
    }

    /// Greedy decoding as HF generate(do_sample=False, num_beams=1) from each prompt: the
    /// prompts run once (prefill) into a KV cache, then one token per step; a sequence stops at
    /// any eos id of generation_config.json, else config.json (kept), or after max_new_tokens.
    /// Returns the new ids of each sequence.
    std::vector<std::vector<int>> generate(const std::vector<std::vector<int>>& inputs, const lora_binding* lora,
                                           std::size_t max_new_tokens, context& ctx) const {
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
        const std::size_t layer_count = decoder_->size(), kv = config_.key_value_dim(), d = config_.hidden_size;
        ctx.key_cache.resize(layer_count * n * capacity * kv);
        ctx.value_cache.resize(layer_count * n * capacity * kv);
        ensure_rotary(capacity, ctx);  // once, not one position per step

        // prefill: every prompt token, causal per prompt; keys and values into the cache
        pack(inputs, {}, 1, ctx);
        ctx.cache_writes.clear();
        for (std::size_t s = 0; s < n; ++s) ctx.cache_writes.push_back({ctx.offsets[s], s * capacity, inputs[s].size()});
        const layers::kv_cache prefill{ctx.key_cache.data(), ctx.value_cache.data(), n * capacity, ctx.cache_writes, false};
        run_layers(ctx.offsets.back(), one, ctx, &prefill);
        ctx.selected.clear();
        for (std::size_t s = 0; s < n; ++s) ctx.selected.push_back(static_cast<int>(ctx.offsets[s + 1] - 1));
        head(ctx.selected, ctx);

        std::vector<std::size_t> active(n), length(n);
        for (std::size_t s = 0; s < n; ++s) {
            active[s] = s;
            length[s] = inputs[s].size();
        }
        for (std::size_t step = 0;; ++step) {
            ctx.next_ids.resize(active.size());
            Backend::argmax_rows(ctx.logits.data(), active.size(), config_.vocab_size, ctx.next_ids);
            std::vector<std::size_t> still;
            ctx.ids.clear();
            for (std::size_t r = 0; r < active.size(); ++r) {
                const std::size_t s = active[r];
                const int id = ctx.next_ids[r];
                result[s].push_back(id);
                if (!is_eos(id) && step + 1 < max_new_tokens) {
                    still.push_back(s);
                    ctx.ids.push_back(id);
                }
            }
            active.swap(still);
            if (active.empty()) break;
            // one new token per active sequence at position length[s], attending to its cache
            const std::size_t rows = active.size();
            ctx.positions.clear();
            for (const std::size_t s : active) ctx.positions.push_back(static_cast<int>(length[s]));
            ctx.hidden.resize(rows * d);
            Backend::gather_rows(placed_->embed_tokens.data(), d, ctx.ids, ctx.hidden.data());
            ctx.spans.clear();
            ctx.cache_writes.clear();
            for (std::size_t r = 0; r < rows; ++r) {
                const std::size_t s = active[r];
                ctx.spans.push_back({r, 1, length[s], s * capacity, length[s] + 1});
                ctx.cache_writes.push_back({r, s * capacity + length[s], 1});
            }
            const layers::kv_cache decode{ctx.key_cache.data(), ctx.value_cache.data(), n * capacity, ctx.cache_writes, true};
            run_layers(rows, one, ctx, &decode);
            for (const std::size_t s : active) ++length[s];
            ctx.selected.resize(rows);
            for (std::size_t r = 0; r < rows; ++r) ctx.selected[r] = static_cast<int>(r);
            head(ctx.selected, ctx);
        }
        return result;
    }
    std::vector<std::vector<int>> generate(const std::vector<std::vector<int>>& inputs, const lora_binding* lora,
                                           std::size_t max_new_tokens) const {
        context ctx;
        return generate(inputs, lora, max_new_tokens, ctx);
    }

    /// A model whose bound layers hold W' = W + s B A: the same outputs without runtime LoRA.
    model merged(const lora_binding& lora) const {
        model result(this->merged_tensors_of(lora), tokenizer_);
        result.add_bos_ = add_bos_;
        result.stop_ids_ = stop_ids_;
        return result;
    }

private:
    using stack = layers::layer_stack<Backend>;
    using base::tokenizer_;
    using base::weights_;

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

    /// Positions past the model's range are refused.
    void check_length(std::size_t tokens, const char* what) const {
        if (tokens > config_.max_position_embeddings)
            throw argument_error(what, "a sequence of " + std::to_string(tokens) + " tokens is longer than the model's max_position_embeddings (" +
                                           std::to_string(config_.max_position_embeddings) + ")");
    }

    /// Packs inputs[s] (+ labels[s] when given) end to end, `copies` times over: token ids,
    /// positions, offsets and causal spans (queries and keys are the same rows) into ctx.
    void pack(const std::vector<std::vector<int>>& inputs, const std::vector<std::vector<int>>& labels, std::size_t copies, context& ctx) const {
        ctx.offsets.assign(1, 0);
        ctx.ids.clear();
        ctx.positions.clear();
        ctx.spans.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (std::size_t s = 0; s < inputs.size(); ++s) {
                const std::size_t start = ctx.offsets.back();
                ctx.ids.insert(ctx.ids.end(), inputs[s].begin(), inputs[s].end());
                if (!labels.empty()) ctx.ids.insert(ctx.ids.end(), labels[s].begin(), labels[s].end());
                const std::size_t length = ctx.ids.size() - start;
                for (std::size_t p = 0; p < length; ++p) ctx.positions.push_back(static_cast<int>(p));
                ctx.offsets.push_back(ctx.ids.size());
                ctx.spans.push_back({start, length, 0, start, length});
            }
        ctx.hidden.resize(ctx.ids.size() * config_.hidden_size);
        Backend::gather_rows(placed_->embed_tokens.data(), config_.hidden_size, ctx.ids, ctx.hidden.data());
    }

    /// Grows the context's rotary table to cover positions [0, positions).
    void ensure_rotary(std::size_t positions, context& ctx) const {
        if (positions <= ctx.rotary_positions) return;
        const std::size_t half = config_.head_dim / 2;
        ctx.cos_host.clear();
        ctx.sin_host.clear();
        append_rotary_rows(inverse_frequencies_, 0, positions, ctx.cos_host, ctx.sin_host);
        ctx.cos_table.resize(positions * half);
        ctx.sin_table.resize(positions * half);
        Backend::upload(ctx.cos_host, ctx.cos_table.data());
        Backend::upload(ctx.sin_host, ctx.sin_table.data());
        ctx.rotary_positions = positions;
    }

    /// The decoder layers over the `rows` tokens in ctx.hidden at ctx.positions, attending over
    /// ctx.spans, with the rotary rows of those positions; keys and values stored into and read
    /// from `cache` as it says (null: none).
    void run_layers(std::size_t rows, candidates lora, context& ctx, const layers::kv_cache* cache) const {
        const std::size_t half = config_.head_dim / 2;
        std::size_t longest = 0;
        for (const int p : ctx.positions) longest = std::max(longest, static_cast<std::size_t>(p) + 1);
        check_length(longest, "sequence");
        ensure_rotary(longest, ctx);
        ctx.cos_rows.resize(rows * half);
        ctx.sin_rows.resize(rows * half);
        Backend::gather_rows(ctx.cos_table.data(), half, ctx.positions, ctx.cos_rows.data());
        Backend::gather_rows(ctx.sin_table.data(), half, ctx.positions, ctx.sin_rows.data());
        decoder_->run(ctx.hidden.data(), rows, {ctx.spans, true, ctx.cos_rows.data(), ctx.sin_rows.data(), cache}, nullptr, lora, ctx.layers);
    }

    /// Final norm of the rows `selected` of ctx.hidden, then their logits into ctx.logits.
    void head(std::span<const int> selected, context& ctx) const {
        const std::size_t d = config_.hidden_size, rows = selected.size();
        auto& normed = ctx.layers.normed;
        ctx.head_in.resize(rows * d);
        Backend::gather_rows(ctx.hidden.data(), d, selected, ctx.head_in.data());
        normed.resize(rows * d);
        decoder_->norm(ctx.head_in.data(), rows, placed_->final_norm, normed.data());
        ctx.logits.resize(rows * config_.vocab_size);
        Backend::gemm_nt({normed.data(), rows, d, d}, {placed_->lm_head.data(), config_.vocab_size, d, d},
                         {ctx.logits.data(), rows, config_.vocab_size, config_.vocab_size});
    }

    /// Teacher-forced pass of prompt + completion per example, stacked once per candidate;
    /// logits only at the rows that predict a completion token, in order, into ctx.logits.
    void forward(const batch& examples, candidates lora, context& ctx) const {
        if (examples.inputs.size() != examples.labels.size())
            throw argument_error("batch", std::to_string(examples.inputs.size()) + " inputs but " + std::to_string(examples.labels.size()) +
                                              " label sequences");
        check_ids(examples.inputs, "batch inputs");
        check_ids(examples.labels, "batch labels");
        const std::size_t copies = lora.size();
        pack(examples.inputs, examples.labels, copies, ctx);
        run_layers(ctx.ids.size(), lora, ctx, nullptr);
        ctx.selected.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (std::size_t s = 0; s < examples.inputs.size(); ++s) {
                const std::size_t first = ctx.offsets[copy * examples.inputs.size() + s] + examples.inputs[s].size() - 1;
                for (std::size_t i = 0; i < examples.labels[s].size(); ++i) ctx.selected.push_back(static_cast<int>(first + i));
            }
        head(ctx.selected, ctx);
    }

    /// Mean cross-entropy over the labels of each of the batch's `copies` stacked copies (the
    /// logits rows forward() selected, in order) into ctx.copy_losses.
    void mean_cross_entropies(const batch& examples, std::size_t copies, context& ctx) const {
        ctx.labeled.clear();
        for (std::size_t copy = 0; copy < copies; ++copy)
            for (const auto& labels : examples.labels)
                for (const int label : labels) ctx.labeled.push_back({ctx.labeled.size(), static_cast<std::size_t>(label)});
        if (ctx.labeled.empty()) throw argument_error("loss", "the batch has no label tokens");
        ctx.row_losses.resize(ctx.labeled.size());
        Backend::cross_entropy_rows(ctx.logits.data(), config_.vocab_size, ctx.labeled, ctx.row_losses);
        mean_per_copy(ctx.row_losses, copies, ctx.copy_losses);
    }

    config config_;
    std::vector<float> inverse_frequencies_;
    bool add_bos_ = true;
    std::vector<int> stop_ids_;  ///< generation stops at these (generation_config.json, else config.json)
    std::shared_ptr<const stack> decoder_;
    std::shared_ptr<const placed_parameters<Backend>> placed_;
};

}  // namespace lorahub::llama
