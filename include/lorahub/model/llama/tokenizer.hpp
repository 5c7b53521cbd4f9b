#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <sentencepiece_processor.h>

#include "lorahub/core/error.hpp"
#include "lorahub/io/mapped_file.hpp"
#include "lorahub/text/tokenizer.hpp"

namespace lorahub::llama {

/// A Llama-family SentencePiece tokenizer (tokenizer.model: BPE with byte fallback) with Hugging
/// Face's slow LlamaTokenizer conventions: ids are SentencePiece ids; encode() adds no special
/// tokens (the model adds bos and eos where LoraHub's sequences need them); decode() skips
/// special ids (control pieces such as bos and eos, unk, and ids beyond the pieces).
/// Special-token strings inside text ("</s>") are encoded as plain text, not as their ids.
class sentencepiece_tokenizer {
public:
    explicit sentencepiece_tokenizer(const std::filesystem::path& model_file) : path_(model_file) {
        const auto bytes = io::read_text_file(model_file, std::size_t{64} << 20);
        processor_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
        const auto status = processor_->LoadFromSerializedProto(bytes);
        if (!status.ok()) throw format_error(display(model_file), "is not a SentencePiece model: " + status.ToString());
    }

    std::size_t piece_count() const { return static_cast<std::size_t>(processor_->GetPieceSize()); }
    const std::filesystem::path& path() const noexcept { return path_; }

    /// The ids of `text` as SentencePiece encodes it (dummy prefix and byte fallback as the
    /// model file says), with no bos or eos.
    std::vector<int> encode(std::string_view text) const {
        std::vector<int> ids;
        if (text.empty()) return ids;
        const auto status = processor_->Encode(text, &ids);
        if (!status.ok()) throw argument_error(display(path_), "cannot encode text: " + status.ToString());
        return ids;
    }

    bool is_special(int id) const {
        return id < 0 || id >= processor_->GetPieceSize() || processor_->IsControl(id) || processor_->IsUnknown(id);
    }

    /// Text of `ids` without special ids (skip_special_tokens=True).
    std::string decode(std::span<const int> ids) const {
        std::vector<int> kept;
        kept.reserve(ids.size());
        for (int id : ids)
            if (!is_special(id)) kept.push_back(id);
        std::string text;
        const auto status = processor_->Decode(kept, &text);
        if (!status.ok()) throw argument_error(display(path_), "cannot decode ids: " + status.ToString());
        return text;
    }

private:
    std::filesystem::path path_;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

/// The tokenizer of a causal LM's folder: tokenizer.model (SentencePiece, as HF's slow
/// LlamaTokenizer runs it) or tokenizer.json (as HF's fast tokenizers run it: Llama 3, Qwen2,
/// Mistral v0.3), chosen by the file's name. encode() adds no special tokens; prompt() is an
/// input as the tokenizer encodes it with its special tokens, where it knows them.
class tokenizer {
public:
    explicit tokenizer(const std::filesystem::path& file)
        : kind_(file.extension() == ".json" ? kind{text::tokenizer(file)} : kind{sentencepiece_tokenizer(file)}) {}

    /// tokenizer.model when the folder has one (the slow tokenizer HF's Llama path was checked
    /// against), else tokenizer.json; empty when it has neither.
    static std::filesystem::path file_in(const std::filesystem::path& directory) {
        for (const char* name : {"tokenizer.model", "tokenizer.json"})
            if (std::filesystem::exists(directory / name)) return directory / name;
        return {};
    }

    const std::filesystem::path& path() const noexcept {
        return std::visit([](const auto& t) -> const std::filesystem::path& { return t.path(); }, kind_);
    }

    /// The ids of `text` without special tokens.
    std::vector<int> encode(std::string_view text) const {
        if (const auto* json = std::get_if<text::tokenizer>(&kind_)) return json->encode(text, false);
        return std::get<sentencepiece_tokenizer>(kind_).encode(text);
    }

    /// `text` encoded with the special tokens tokenizer.json's post-processor (or, for the
    /// Llama-family classes, tokenizer_config.json's add_bos_token / add_eos_token) adds; none
    /// for tokenizer.model, whose bos the model adds from its config.
    std::optional<std::vector<int>> prompt(std::string_view text) const {
        if (const auto* json = std::get_if<text::tokenizer>(&kind_)) return json->encode(text, true);
        return std::nullopt;
    }

    bool is_special(int id) const {
        return std::visit([&](const auto& t) { return t.is_special(id); }, kind_);
    }

    /// Text of `ids` without special ids (skip_special_tokens=True).
    std::string decode(std::span<const int> ids) const {
        if (const auto* json = std::get_if<text::tokenizer>(&kind_)) return json->decode(ids, true);
        return std::get<sentencepiece_tokenizer>(kind_).decode(ids);
    }

    /// How many ids have a piece (tokenizer.model) or a token (tokenizer.json).
    std::size_t piece_count() const {
        if (const auto* json = std::get_if<text::tokenizer>(&kind_)) return json->vocabulary_size();
        return std::get<sentencepiece_tokenizer>(kind_).piece_count();
    }

private:
    using kind = std::variant<sentencepiece_tokenizer, text::tokenizer>;
    kind kind_;
};

}  // namespace lorahub::llama
