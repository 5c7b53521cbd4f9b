#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/text/bpe.hpp"
#include "lorahub/text/json_fields.hpp"
#include "lorahub/text/normalizer.hpp"
#include "lorahub/text/pre_tokenizer.hpp"
#include "lorahub/text/regex.hpp"
#include "lorahub/text/unicode.hpp"

namespace lorahub::text {

/// One entry of tokenizer.json's "added_tokens".
struct added_token {
    std::string content;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = true;
    bool special = false;
    bool operator==(const added_token&) const = default;
};

/// A piece of text on its way to the model, or an added token already found in the text.
struct found_piece {
    piece text;
    std::optional<int> id;  // set: an added token, which the model does not see
};

/// tokenizer.json's added tokens, found in text before the normalizer and the model run, as the
/// `tokenizers` library's AddedVocabulary finds them: leftmost-longest, tokens with
/// normalized=false in the raw text, the others in each remaining part once normalized;
/// single_word, lstrip and rstrip as that library (0.22) reads them. Ids are given as that library
/// gives them when it loads a file: the model's id when the content is in its vocabulary, else
/// the next free one.
class added_tokens {
public:
    added_tokens() = default;

    static added_tokens from_json(const io::sorted_json& list, const bpe& model, const normalizer& normalize, const std::string& file) {
        const std::string subject = file + ": added_tokens";
        added_tokens result;
        if (list.is_null()) return result;
        if (!list.is_array()) throw format_error(subject, "must be a list");
        for (const auto& entry : list) {
            if (!entry.is_object()) throw format_error(subject, "each entry must be an object, got " + entry.dump());
            added_token token;
            token.content = required_string(entry, "content", subject);
            token.special = io::bool_field(entry, "special", false, subject);
            token.single_word = io::bool_field(entry, "single_word", false, subject);
            token.lstrip = io::bool_field(entry, "lstrip", false, subject);
            token.rstrip = io::bool_field(entry, "rstrip", false, subject);
            token.normalized = io::bool_field(entry, "normalized", !token.special, subject);
            result.add(std::move(token), model, normalize);
        }
        result.build_matchers(subject);
        return result;
    }

    std::optional<int> id_of(std::string_view content) const {
        const auto found = ids_.find(content);
        if (found == ids_.end()) return std::nullopt;
        return found->second;
    }

    /// The text `id` decodes to, its content as written (tokenizers 0.22, which transformers 4.57
    /// requires; 0.23 decodes a normalized token's normalized content); none when `id` is not an
    /// added token.
    const std::string* text_of(int id) const {
        const auto found = tokens_.find(id);
        return found == tokens_.end() ? nullptr : &found->second.content;
    }

    /// How many added tokens have ids outside `model`'s vocabulary.
    std::size_t count_outside(const bpe& model) const {
        std::size_t count = 0;
        for (const auto& [id, token] : tokens_) count += model.token_of(id) ? 0 : 1;
        return count;
    }

    bool is_special(std::string_view text) const { return special_contents_.contains(text); }

    /// `text` cut into pieces for the model and the added tokens found in it; pieces are
    /// normalized. Empty pieces are dropped.
    std::vector<found_piece> extract_and_normalize(std::string_view text, const normalizer& normalize) const {
        std::vector<found_piece> raw_split;
        split(std::string(text), raw_matcher_, true, raw_split);
        std::vector<found_piece> pieces;
        pieces.reserve(raw_split.size());
        for (auto& part : raw_split) {
            if (part.id) {
                pieces.push_back(std::move(part));
                continue;
            }
            split(normalize(std::move(part.text.text)), normalized_matcher_, part.text.begins_text, pieces);
        }
        return pieces;
    }

private:
    void add(added_token token, const bpe& model, const normalizer& normalize) {
        if (token.content.empty()) return;
        if (const auto known = ids_.find(token.content); known != ids_.end() && tokens_.at(known->second) == token) return;
        int id;
        if (const auto existing = id_of(token.content))
            id = *existing;
        else if (const auto in_model = model.id_of(token.content))
            id = *in_model;
        else
            id = next_id(model);
        if (token.normalized && !normalize.empty()) {
            std::string normalized = normalize(token.content);
            if (normalized != token.content) normalized_contents_[id] = std::move(normalized);
        }
        ids_[token.content] = id;
        if (token.special) special_contents_.insert(token.content);
        tokens_.insert_or_assign(id, std::move(token));
    }

    int next_id(const bpe& model) const {
        const int vocabulary = static_cast<int>(model.vocabulary_size());
        if (tokens_.empty()) return vocabulary;
        int largest = 0;
        for (const auto& [id, token] : tokens_) largest = std::max(largest, id);
        return largest >= vocabulary || vocabulary == 0 ? largest + 1 : vocabulary;
    }

    /// A matcher of a set of contents: one PCRE2 alternation of the literals, longest first, so
    /// that the first alternative matching at the leftmost position is the longest there.
    struct matcher {
        std::optional<regex> pattern;
        std::unordered_map<std::string, int, string_hash, std::equal_to<>> ids;
    };

    void build_matchers(const std::string& subject) {
        std::vector<std::pair<std::string, int>> raw, normalized;
        for (const auto& [id, token] : tokens_) {
            if (token.normalized) {
                const auto normal = normalized_contents_.find(id);
                normalized.emplace_back(normal != normalized_contents_.end() ? normal->second : token.content, id);
            }
            else {
                raw.emplace_back(token.content, id);
            }
        }
        raw_matcher_ = matcher_of(std::move(raw), subject);
        normalized_matcher_ = matcher_of(std::move(normalized), subject);
    }

    static matcher matcher_of(std::vector<std::pair<std::string, int>> contents, const std::string& subject) {
        matcher result;
        if (contents.empty()) return result;
        std::sort(contents.begin(), contents.end(), [](const auto& a, const auto& b) {
            return a.first.size() != b.first.size() ? a.first.size() > b.first.size() : a.first < b.first;
        });
        std::vector<std::string> literals;
        for (const auto& [content, id] : contents) {
            literals.push_back(content);
            result.ids.emplace(content, id);
        }
        result.pattern = regex::any_of(literals, subject);
        return result;
    }

    /// Appends the pieces of `sentence` to `out`: stretches between matches, and each match as its
    /// token, widened by lstrip / rstrip and skipped when single_word does not hold.
    void split(std::string sentence, const matcher& tokens, bool begins_text, std::vector<found_piece>& out) const {
        if (!tokens.pattern) {
            if (!sentence.empty()) out.push_back({{std::move(sentence), begins_text}, std::nullopt});
            return;
        }
        std::size_t start_offset = 0;
        auto push = [&](std::size_t start, std::size_t stop, std::optional<int> id) {
            if (stop > start || id) out.push_back({{sentence.substr(start, stop - start), begins_text && start == 0}, id});
        };
        std::vector<std::pair<std::pair<std::size_t, std::size_t>, int>> matches;
        tokens.pattern->for_each_match(sentence, [&](std::size_t start, std::size_t stop) {
            matches.push_back({{start, stop}, tokens.ids.find(std::string_view(sentence).substr(start, stop - start))->second});
        });
        const std::string_view view(sentence);
        for (auto [span, id] : matches) {
            auto [start, stop] = span;
            const added_token& token = tokens_.at(id);
            if (token.single_word) {
                const bool space_before = start == 0 || !is_word_character(code_point_at(view, code_point_start_before(view, start)).value);
                const bool space_after = stop == view.size() || !is_word_character(code_point_at(view, stop).value);
                if (!space_before || !space_after) continue;
            }
            if (token.lstrip) {
                std::size_t widened = start;
                while (widened > 0) {
                    const std::size_t previous = code_point_start_before(view, widened);
                    if (!is_white_space(code_point_at(view, previous).value)) break;
                    widened = previous;
                }
                start = std::max(widened, start_offset);
            }
            if (token.rstrip)
                while (stop < view.size() && is_white_space(code_point_at(view, stop).value)) stop += code_point_at(view, stop).length;
            if (start_offset < start) push(start_offset, start, std::nullopt);
            push(start, stop, id);
            start_offset = stop;
        }
        if (start_offset != view.size()) push(start_offset, view.size(), std::nullopt);
    }

    std::unordered_map<std::string, int, string_hash, std::equal_to<>> ids_;
    std::unordered_map<int, added_token> tokens_;
    std::unordered_map<int, std::string> normalized_contents_;
    std::unordered_set<std::string, string_hash, std::equal_to<>> special_contents_;  // looked up by view: no copy per decoded token
    matcher raw_matcher_;
    matcher normalized_matcher_;
};

}  // namespace lorahub::text
