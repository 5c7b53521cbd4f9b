#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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
    /// Special-token strings in the text (`</s>`, `<pad>`, `<unk>`, `<extra_id_k>`) become
    /// their ids, and the text between them is encoded piece by piece, as HF's T5Tokenizer does.
    std::vector<int> encode(std::string_view text, std::size_t max_length = default_max_length) const {
        std::vector<int> ids;
        std::size_t start = 0;
        while (start <= text.size()) {
            std::size_t at = text.find('<', start);
            int special = -1;
            std::size_t length = 0;
            while (at != std::string_view::npos && (special = special_at(text.substr(at), length)) < 0) at = text.find('<', at + 1);
            append_pieces(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start), ids);
            if (at == std::string_view::npos) break;
            ids.push_back(special);
            start = at + length;
        }
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
    void append_pieces(std::string_view text, std::vector<int>& ids) const {
        if (text.empty()) return;
        std::vector<int> pieces;
        const auto status = processor_->Encode(text, &pieces);
        if (!status.ok()) throw argument_error(display(path_), "cannot encode text: " + status.ToString());
        ids.insert(ids.end(), pieces.begin(), pieces.end());
    }

    /// The id of the special token that `text` starts with, or -1; `length` gets its size.
    int special_at(std::string_view text, std::size_t& length) const {
        for (const auto& [name, id] : {std::pair<std::string_view, int>{"</s>", eos_id}, {"<pad>", pad_id}, {"<unk>", unk_id}})
            if (text.starts_with(name)) {
                length = name.size();
                return id;
            }
        constexpr std::string_view prefix = "<extra_id_";
        if (!text.starts_with(prefix)) return -1;
        std::size_t i = prefix.size(), k = 0;
        while (i < text.size() && i < prefix.size() + 3 && text[i] >= '0' && text[i] <= '9') k = k * 10 + static_cast<std::size_t>(text[i++] - '0');
        const std::size_t digits = i - prefix.size();
        if (digits == 0 || i >= text.size() || text[i] != '>' || (digits > 1 && text[prefix.size()] == '0') || k >= extra_ids) return -1;
        length = i + 1;
        return static_cast<int>(size() - 1 - k);
    }

    std::filesystem::path path_;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace lorahub::t5
