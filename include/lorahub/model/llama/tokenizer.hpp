#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sentencepiece_processor.h>

#include "lorahub/core/error.hpp"
#include "lorahub/io/mapped_file.hpp"

namespace lorahub::llama {

/// A Llama-family SentencePiece tokenizer (tokenizer.model: BPE with byte fallback) with Hugging
/// Face's slow LlamaTokenizer conventions: ids are SentencePiece ids; encode() adds no special
/// tokens (the model adds bos and eos where LoraHub's sequences need them); decode() skips
/// special ids (control pieces such as bos and eos, unk, and ids beyond the pieces).
/// Special-token strings inside text ("</s>") are encoded as plain text, not as their ids.
class tokenizer {
public:
    explicit tokenizer(const std::filesystem::path& model_file) : path_(model_file) {
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

}  // namespace lorahub::llama
