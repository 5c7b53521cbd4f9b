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

namespace lorahub::t5 {

/// T5's SentencePiece tokenizer with Hugging Face's conventions: ids are SentencePiece ids,
/// `<extra_id_k>` = size() - 1 - k, encode appends eos, decode skips special ids.
class tokenizer {
public:
    static constexpr int pad_id = 0;
    static constexpr int eos_id = 1;
    static constexpr int unk_id = 2;
    static constexpr std::size_t extra_ids = 100;
    static constexpr std::size_t default_max_length = 2048;

    explicit tokenizer(const std::filesystem::path& spiece_model) : path_(spiece_model) {
        const auto bytes = io::read_text_file(spiece_model, std::size_t{64} << 20);
        processor_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
        const auto status = processor_->LoadFromSerializedProto(bytes);
        if (!status.ok())
            throw format_error(display(spiece_model), "is not a SentencePiece model: " + status.ToString());
        if (processor_->GetPieceSize() < 3)
            throw format_error(display(spiece_model), "has " + std::to_string(processor_->GetPieceSize()) + " pieces; T5 needs pad, eos and unk");
    }

    /// SentencePiece pieces plus the 100 sentinel ids, as HF's T5Tokenizer counts them.
    std::size_t size() const { return static_cast<std::size_t>(processor_->GetPieceSize()) + extra_ids; }
    std::size_t piece_count() const { return static_cast<std::size_t>(processor_->GetPieceSize()); }
    const std::filesystem::path& path() const noexcept { return path_; }

    /// Ids of `text` followed by eos; longer results keep the first max_length - 1 ids + eos.
    std::vector<int> encode(std::string_view text, std::size_t max_length = default_max_length) const {
        std::vector<int> ids;
        const auto status = processor_->Encode(text, &ids);
        if (!status.ok()) throw argument_error(display(path_), "cannot encode text: " + status.ToString());
        if (max_length > 0 && ids.size() + 1 > max_length) ids.resize(max_length - 1);
        ids.push_back(eos_id);
        return ids;
    }

    bool is_special(int id) const {
        return id == pad_id || id == eos_id || id == unk_id || id >= processor_->GetPieceSize();
    }

    /// Text of `ids` without pad, eos, unk and sentinel ids (skip_special_tokens=True).
    std::string decode(std::span<const int> ids) const {
        std::vector<int> kept;
        kept.reserve(ids.size());
        for (int id : ids)
            if (id >= 0 && !is_special(id)) kept.push_back(id);
        std::string text;
        const auto status = processor_->Decode(kept, &text);
        if (!status.ok()) throw argument_error(display(path_), "cannot decode ids: " + status.ToString());
        return text;
    }

private:
    std::filesystem::path path_;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace lorahub::t5
