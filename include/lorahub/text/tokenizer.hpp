#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"
#include "lorahub/text/added_tokens.hpp"
#include "lorahub/text/bpe.hpp"
#include "lorahub/text/decoder.hpp"
#include "lorahub/text/normalizer.hpp"
#include "lorahub/text/post_processor.hpp"
#include "lorahub/text/pre_tokenizer.hpp"
#include "lorahub/text/unicode.hpp"

namespace lorahub::text {

/// A tokenizer.json (the `tokenizers` library's format) for the BPE tokenizers of today's causal
/// LMs (Llama 3, Qwen2, Mistral, GPT-2), giving the ids and text that library gives: added tokens
/// found first, then the normalizer, the pre-tokenizer, the BPE model and, when special tokens
/// are asked for, the post-processor. tokenizer_config.json beside it is read as transformers
/// reads it: bos / eos tokens, and for the Llama-family tokenizer classes, whose template
/// transformers rebuilds, add_bos_token / add_eos_token. A part or field it cannot follow
/// exactly is an error naming it.
class tokenizer {
public:
    /// Reads `file` (a tokenizer.json) and the tokenizer_config.json in its folder, if any.
    explicit tokenizer(const std::filesystem::path& file) : tokenizer(io::read_text_file(file, std::size_t{512} << 20), display(file)) {
        path_ = file;
        read_config(file.parent_path() / "tokenizer_config.json");
    }

    /// From the text of a tokenizer.json (no tokenizer_config.json); `subject` names it in errors.
    tokenizer(std::string_view json_text, const std::string& subject) : path_(subject) {
        const auto document = io::parse_json_strict<io::sorted_json>(json_text, subject);
        if (!document.is_object()) throw format_error(subject, "must be a JSON object");
        for (const char* key : {"truncation", "padding"})
            if (document.contains(key) && !document[key].is_null())
                throw unsupported_error(subject, std::string("\"") + key + "\" is set; lorahub encodes each text whole (set it to null)");
        model_ = bpe::from_json(required_field(document, "model", subject), subject);
        normalizer_ = normalizer::from_json(document.value("normalizer", io::sorted_json()), subject);
        pre_tokenizer_ = pre_tokenizer::from_json(document.value("pre_tokenizer", io::sorted_json()), subject);
        if (normalizer_.prepends() && pre_tokenizer_.prepends_at_text_start())
            throw unsupported_error(subject, "a Prepend normalizer before a Metaspace pre-tokenizer with prepend_scheme \"first\" "
                                             "is not supported");
        decoder_ = decoder::from_json(document.value("decoder", io::sorted_json()), subject);
        added_ = added_tokens::from_json(document.value("added_tokens", io::sorted_json()), model_, normalizer_, subject);
        post_processor_ = post_processor::from_json(document.value("post_processor", io::sorted_json()), subject);
    }

    const std::filesystem::path& path() const noexcept { return path_; }

    /// The id of a token or added token; none when it has none.
    std::optional<int> id_of(std::string_view token) const {
        if (const auto added = added_.id_of(token)) return added;
        return model_.id_of(token);
    }

    /// How many ids have a token: the model's vocabulary and the added tokens beyond it.
    std::size_t vocabulary_size() const { return model_.vocabulary_size() + added_.count_outside(model_); }

    std::optional<int> bos_id() const noexcept { return bos_id_; }
    std::optional<int> eos_id() const noexcept { return eos_id_; }

    /// The ids of `text` (valid UTF-8); with `add_special_tokens`, the post-processor's around them.
    std::vector<int> encode(std::string_view text, bool add_special_tokens) const {
        if (!is_valid_utf8(text)) throw argument_error(display(path_), "text to encode is not valid UTF-8");
        std::vector<int> ids;
        ids.reserve(text.size() / 3 + 4);
        std::vector<piece> pending;
        auto flush = [&] {
            pre_tokenizer_(pending);
            for (const auto& p : pending) model_.encode(p.text, ids);
            pending.clear();
        };
        for (auto& part : added_.extract_and_normalize(text, normalizer_)) {
            if (part.id) {
                flush();
                ids.push_back(*part.id);
            } else {
                pending.push_back(std::move(part.text));
            }
        }
        flush();
        return add_special_tokens ? post_processor_(std::move(ids)) : ids;
    }

    /// Whether `id` is a special added token (skip_special_tokens skips it).
    bool is_special(int id) const {
        const std::string* added = added_.text_of(id);
        return added && added_.is_special(*added);
    }

    /// The text of `ids`; ids that are neither tokens nor added tokens are skipped, as the
    /// tokenizers library skips them, and so are special ones when `skip_special_tokens`.
    std::string decode(std::span<const int> ids, bool skip_special_tokens) const {
        std::vector<std::string> tokens;
        tokens.reserve(ids.size());
        for (const int id : ids) {
            const std::string* token = added_.text_of(id);
            if (!token) token = model_.token_of(id);
            if (!token || (skip_special_tokens && added_.is_special(*token))) continue;
            tokens.push_back(*token);
        }
        return decoder_(std::move(tokens));
    }

private:
    /// tokenizer_class values whose transformers fast tokenizer rebuilds the post-processor from
    /// add_bos_token / add_eos_token (update_post_processor), with their defaults.
    struct template_rebuilding_class {
        std::string_view name;
        bool add_bos;
        bool add_eos;
    };
    static constexpr template_rebuilding_class template_rebuilding_classes[] = {
        {"LlamaTokenizer", true, false},     {"LlamaTokenizerFast", true, false}, {"CodeLlamaTokenizer", true, false},
        {"CodeLlamaTokenizerFast", true, false}, {"GemmaTokenizer", true, false}, {"GemmaTokenizerFast", true, false},
        {"CohereTokenizerFast", true, false}, {"GPTNeoXTokenizerFast", false, false},
    };

    std::optional<int> special_token_id(const io::sorted_json& config, const char* key, const std::string& subject) const {
        if (!config.contains(key) || config[key].is_null()) return std::nullopt;
        const auto& value = config[key];
        std::string content;
        if (value.is_string())
            content = value.get<std::string>();
        else if (value.is_object() && value.contains("content") && value["content"].is_string())
            content = value["content"].get<std::string>();
        else
            throw config_error(subject, std::string("\"") + key + "\" must be a string or an AddedToken object, got " + value.dump());
        const auto id = id_of(content);
        if (!id) throw config_error(subject, std::string("\"") + key + "\" \"" + content + "\" is not a token of " + display(path_));
        return id;
    }

    void read_config(const std::filesystem::path& file) {
        if (!std::filesystem::exists(file)) return;
        const std::string subject = display(file);
        const auto config = io::parse_json_strict<io::sorted_json>(io::read_text_file(file, std::size_t{16} << 20), subject);
        if (!config.is_object()) throw format_error(subject, "must be a JSON object");
        bos_id_ = special_token_id(config, "bos_token", subject);
        eos_id_ = special_token_id(config, "eos_token", subject);
        const std::string tokenizer_class = io::string_field(config, "tokenizer_class", "", subject);
        for (const auto& rebuilding : template_rebuilding_classes) {
            if (tokenizer_class != rebuilding.name) continue;
            const bool add_bos = io::bool_field(config, "add_bos_token", rebuilding.add_bos, subject);
            const bool add_eos = io::bool_field(config, "add_eos_token", rebuilding.add_eos, subject);
            if ((add_bos && !bos_id_) || (add_eos && !eos_id_))
                throw config_error(subject, std::string(add_bos && !bos_id_ ? "add_bos_token" : "add_eos_token") + " is true but the token is not set");
            std::vector<int> before, after;
            if (add_bos) before.push_back(*bos_id_);
            if (add_eos) after.push_back(*eos_id_);
            post_processor_ = post_processor::around(before, after);
        }
    }

    std::filesystem::path path_;
    bpe model_;
    normalizer normalizer_;
    pre_tokenizer pre_tokenizer_;
    decoder decoder_;
    added_tokens added_;
    post_processor post_processor_;
    std::optional<int> bos_id_;
    std::optional<int> eos_id_;
};

}  // namespace lorahub::text
