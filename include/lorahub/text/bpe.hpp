#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/text/json_fields.hpp"
#include "lorahub/text/unicode.hpp"

namespace lorahub::text {

/// Strings as keys, looked up by string_view without a copy.
struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using string_ids = std::unordered_map<std::string, int, string_hash, std::equal_to<>>;

/// A tokenizer.json "model" of type BPE, as the `tokenizers` library runs it: merges applied
/// lowest rank first (leftmost among equals), `ignore_merges` (a word in the vocabulary is one
/// token), `byte_fallback` (<0xXX> tokens for characters outside the vocabulary), `unk_token`
/// with `fuse_unk`, `continuing_subword_prefix` and `end_of_word_suffix`. Dropout (random) is
/// refused.
class bpe {
public:
    static bpe from_json(const io::sorted_json& node, const std::string& file) {
        const std::string subject = file + ": model";
        if (!node.is_object()) throw format_error(subject, "must be an object");
        const std::string type = node.contains("type") ? required_string(node, "type", subject) : "BPE";
        if (type != "BPE")
            throw unsupported_error(subject, "model type \"" + type + "\" is not supported (BPE is: Llama 3, Qwen2, Mistral, GPT-2)");
        if (node.contains("dropout") && !node["dropout"].is_null() && node["dropout"] != 0)
            throw unsupported_error(subject, "\"dropout\" " + node["dropout"].dump() + " makes tokenization random; not supported");
        bpe model;
        model.ignore_merges_ = io::bool_field(node, "ignore_merges", false, subject);
        model.byte_fallback_ = io::bool_field(node, "byte_fallback", false, subject);
        model.fuse_unk_ = io::bool_field(node, "fuse_unk", false, subject);
        model.prefix_ = io::string_field(node, "continuing_subword_prefix", "", subject);
        model.suffix_ = io::string_field(node, "end_of_word_suffix", "", subject);
        model.read_vocabulary(required_field(node, "vocab", subject), subject);
        model.read_merges(required_field(node, "merges", subject), subject);
        if (node.contains("unk_token") && !node["unk_token"].is_null()) {
            const std::string unk = required_string(node, "unk_token", subject);
            model.unk_id_ = model.id_of(unk);
            if (!model.unk_id_) throw format_error(subject, "unk_token \"" + unk + "\" is not in the vocabulary");
        }
        for (int byte = 0; byte < 256; ++byte) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", byte);
            model.byte_ids_[static_cast<std::size_t>(byte)] = model.id_of(name).value_or(-1);
        }
        return model;
    }

    std::size_t vocabulary_size() const noexcept { return vocabulary_.size(); }

    std::optional<int> id_of(std::string_view token) const {
        const auto found = vocabulary_.find(token);
        if (found == vocabulary_.end()) return std::nullopt;
        return found->second;
    }

    /// The token of `id`; none for an id outside the vocabulary.
    const std::string* token_of(int id) const {
        if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size() || !has_token_[static_cast<std::size_t>(id)]) return nullptr;
        return &tokens_[static_cast<std::size_t>(id)];
    }

    /// Appends the ids of `word` (one pre-tokenized piece, valid UTF-8) to `ids`.
    void encode(std::string_view word, std::vector<int>& ids) const {
        if (word.empty()) return;
        if (ignore_merges_)
            if (const auto whole = vocabulary_.find(word); whole != vocabulary_.end()) {
                ids.push_back(whole->second);
                return;
            }
        std::vector<symbol> symbols;
        symbols.reserve(word.size());
        split_into_symbols(word, symbols);
        merge(symbols);
        for (const auto& s : symbols)
            if (s.length > 0) ids.push_back(s.id);
    }

private:
    struct symbol {
        int id;
        int previous;
        int next;
        std::size_t length;
    };
    struct merge_rule {
        int rank;
        int merged_id;
    };
    struct candidate {
        int rank;
        int position;
        int merged_id;
        bool operator>(const candidate& other) const {
            return rank != other.rank ? rank > other.rank : position > other.position;
        }
    };

    static std::uint64_t pair_key(int left, int right) {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
    }

    void read_vocabulary(const io::sorted_json& vocabulary, const std::string& subject) {
        if (!vocabulary.is_object()) throw format_error(subject, "\"vocab\" must be an object of token: id");
        vocabulary_.reserve(vocabulary.size());
        std::size_t largest = 0;
        for (const auto& [token, id] : vocabulary.items()) {
            if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() >= (1ll << 31))
                throw format_error(subject, "vocab id of \"" + token + "\" must be a non-negative integer, got " + id.dump());
            vocabulary_.emplace(token, id.get<int>());
            largest = std::max(largest, id.get<std::size_t>());
        }
        if (vocabulary.size() > 0 && largest >= std::size_t{64} * vocabulary.size() + 1024)
            throw format_error(subject, "vocab ids reach " + std::to_string(largest) + " for " + std::to_string(vocabulary.size()) + " tokens");
        tokens_.resize(vocabulary.empty() ? 0 : largest + 1);
        has_token_.assign(tokens_.size(), false);
        for (const auto& [token, id] : vocabulary_) {
            tokens_[static_cast<std::size_t>(id)] = token;
            has_token_[static_cast<std::size_t>(id)] = true;
        }
    }

    void read_merges(const io::sorted_json& merges, const std::string& subject) {
        if (!merges.is_array()) throw format_error(subject, "\"merges\" must be a list");
        merges_.reserve(merges.size());
        int rank = 0;
        for (const auto& merge : merges) {
            std::string left, right;
            if (merge.is_string()) {  // the older "left right" form
                const auto& line = merge.get_ref<const std::string&>();
                if (line.starts_with("#version")) continue;
                const auto space = line.find(' ');
                if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
                    throw format_error(subject, "merge " + std::to_string(rank + 1) + " \"" + line + "\" is not two tokens separated by a space");
                left = line.substr(0, space);
                right = line.substr(space + 1);
            } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
                left = merge[0].get<std::string>();
                right = merge[1].get<std::string>();
            } else {
                throw format_error(subject, "merge " + std::to_string(rank + 1) + " must be \"left right\" or [left, right], got " + merge.dump());
            }
            const auto left_id = id_of(left), right_id = id_of(right);
            if (!left_id || !right_id)
                throw format_error(subject, "merge " + std::to_string(rank + 1) + ": \"" + (left_id ? right : left) + "\" is not in the vocabulary");
            if (!prefix_.empty() && !right.starts_with(prefix_))
                throw format_error(subject, "merge " + std::to_string(rank + 1) + ": \"" + right + "\" lacks the continuing_subword_prefix");
            const std::string merged = left + right.substr(prefix_.size());
            const auto merged_id = id_of(merged);
            if (!merged_id)
                throw format_error(subject, "merge " + std::to_string(rank + 1) + ": \"" + merged + "\" is not in the vocabulary");
            merges_.insert_or_assign(pair_key(*left_id, *right_id), merge_rule{rank, *merged_id});
            ++rank;
        }
    }

    /// The word's characters as symbols (tokenizers' merge_word before merging).
    void split_into_symbols(std::string_view word, std::vector<symbol>& symbols) const {
        int unknown_id = -1;  // an unk token waiting to be added (fuse_unk grows it), when >= 0
        std::size_t unknown_length = 0;
        auto add = [&](int id, std::size_t length) {
            const int position = static_cast<int>(symbols.size());
            if (!symbols.empty()) symbols.back().next = position;
            symbols.push_back({id, position - 1, -1, length});
        };
        auto add_pending_unknown = [&] {
            if (unknown_id >= 0) add(unknown_id, unknown_length);
            unknown_id = -1;
        };
        std::string scratch;
        for (std::size_t at = 0; at < word.size();) {
            const std::size_t length = code_point_at(word, at).length;
            std::string_view character = word.substr(at, length);
            const bool first = at == 0, last = at + length == word.size();
            at += length;
            if ((!first && !prefix_.empty()) || (last && !suffix_.empty())) {
                scratch.assign(first ? "" : prefix_).append(character).append(last ? suffix_ : "");
                character = scratch;
            }
            if (const auto known = vocabulary_.find(character); known != vocabulary_.end()) {
                add_pending_unknown();
                add(known->second, length);
                continue;
            }
            if (byte_fallback_) {  // as tokenizers: byte tokens go in before a pending unk
                bool all_bytes_known = true;
                for (const char c : character) all_bytes_known = all_bytes_known && byte_ids_[static_cast<std::uint8_t>(c)] >= 0;
                if (all_bytes_known) {
                    for (const char c : character) add(byte_ids_[static_cast<std::uint8_t>(c)], 1);
                    continue;
                }
            }
            if (!unk_id_) continue;  // no unk token: the character is dropped, as tokenizers drops it
            if (unknown_id >= 0 && fuse_unk_) {
                unknown_length += length;
            } else {
                add_pending_unknown();
                unknown_id = *unk_id_;
                unknown_length = length;
            }
        }
        add_pending_unknown();
    }

    void merge(std::vector<symbol>& symbols) const {
        std::priority_queue<candidate, std::vector<candidate>, std::greater<>> queue;
        auto consider = [&](int position) {
            const int next = symbols[static_cast<std::size_t>(position)].next;
            if (next < 0) return;
            const auto rule = merges_.find(pair_key(symbols[static_cast<std::size_t>(position)].id, symbols[static_cast<std::size_t>(next)].id));
            if (rule != merges_.end()) queue.push({rule->second.rank, position, rule->second.merged_id});
        };
        for (int position = 0; position + 1 < static_cast<int>(symbols.size()); ++position) consider(position);
        while (!queue.empty()) {
            const candidate top = queue.top();
            queue.pop();
            auto& left = symbols[static_cast<std::size_t>(top.position)];
            if (left.length == 0 || left.next < 0) continue;
            auto& right = symbols[static_cast<std::size_t>(left.next)];
            const auto rule = merges_.find(pair_key(left.id, right.id));
            if (rule == merges_.end() || rule->second.merged_id != top.merged_id) continue;  // stale
            left.id = top.merged_id;
            left.length += right.length;
            left.next = right.next;
            right.length = 0;
            if (left.next >= 0) symbols[static_cast<std::size_t>(left.next)].previous = top.position;
            if (left.previous >= 0) consider(left.previous);
            consider(top.position);
        }
    }

    string_ids vocabulary_;
    std::vector<std::string> tokens_;
    std::vector<bool> has_token_;
    std::unordered_map<std::uint64_t, merge_rule> merges_;
    std::optional<int> unk_id_;
    std::array<int, 256> byte_ids_{};
    bool ignore_merges_ = false;
    bool byte_fallback_ = false;
    bool fuse_unk_ = false;
    std::string prefix_;
    std::string suffix_;
};

}  // namespace lorahub::text
