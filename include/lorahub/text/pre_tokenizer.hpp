#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/text/byte_level.hpp"
#include "lorahub/text/json_fields.hpp"
#include "lorahub/text/regex.hpp"
#include "lorahub/text/split.hpp"
#include "lorahub/text/unicode.hpp"

namespace lorahub::text {

/// A part of the text on its way to the model; `begins_text` says whether it starts where the
/// original text starts (Metaspace's prepend_scheme "first" asks).
struct piece {
    std::string text;
    bool begins_text = false;
};

/// Metaspace's prepend_scheme.
enum class prepend_scheme { always, first, never };

inline prepend_scheme metaspace_prepend_scheme(const io::sorted_json& node, const std::string& subject) {
    const std::string name = io::string_field(node, "prepend_scheme", "always", subject);
    prepend_scheme scheme;
    if (name == "always")
        scheme = prepend_scheme::always;
    else if (name == "first")
        scheme = prepend_scheme::first;
    else if (name == "never")
        scheme = prepend_scheme::never;
    else
        throw format_error(subject, "\"prepend_scheme\" must be \"always\", \"first\" or \"never\", got \"" + name + "\"");
    if (node.contains("add_prefix_space") && node["add_prefix_space"] == false) {  // the older field, as tokenizers reads it
        if (scheme != prepend_scheme::never) throw format_error(subject, "add_prefix_space does not match declared prepend_scheme");
        scheme = prepend_scheme::never;
    }
    return scheme;
}

/// A tokenizer.json "pre_tokenizer": Split, ByteLevel, Metaspace, Digits, WhitespaceSplit and
/// Sequence of those, splitting pieces as the `tokenizers` library does. Any other type is an
/// error naming it.
class pre_tokenizer {
public:
    pre_tokenizer() = default;  // none: each piece goes to the model whole

    static pre_tokenizer from_json(const io::sorted_json& node, const std::string& subject) {
        pre_tokenizer result;
        if (!node.is_null()) result.append(node, subject + ": pre_tokenizer");
        return result;
    }

    /// Whether a step is Metaspace with prepend_scheme "first".
    bool prepends_at_text_start() const {
        for (const auto& step : steps_)
            if (const auto* metaspace = std::get_if<metaspace_step>(&step); metaspace && metaspace->scheme == prepend_scheme::first)
                return true;
        return false;
    }

    /// Splits `pieces` in place, step by step; empty pieces are dropped.
    void operator()(std::vector<piece>& pieces) const {
        for (const auto& step : steps_) std::visit([&](const auto& s) { s.apply(pieces); }, step);
    }

private:
    /// Replaces each piece by its parts that `split(text)` keeps, dropping empty ones.
    template <class Split>
    static void split_each(std::vector<piece>& pieces, Split&& split) {
        std::vector<piece> result;
        result.reserve(pieces.size() * 2);
        for (auto& p : pieces)
            for (const auto& kept : split(p.text))
                if (kept.end > kept.start)
                    result.push_back({p.text.substr(kept.start, kept.end - kept.start), p.begins_text && kept.start == 0});
        pieces = std::move(result);
    }

    struct split_step {
        regex pattern;
        split_behaviour behaviour;
        bool invert;
        void apply(std::vector<piece>& pieces) const {
            split_each(pieces, [&](const std::string& text) {
                auto stretches = stretches_of(text, pattern);
                return kept_by(behaviour, invert ? inverted(std::move(stretches)) : stretches);
            });
        }
    };

    struct byte_level_step {
        bool add_prefix_space;
        bool use_regex;
        const regex* gpt2_pattern;
        void apply(std::vector<piece>& pieces) const {
            for (auto& p : pieces)
                if (add_prefix_space && !p.text.starts_with(' ')) p.text.insert(0, 1, ' ');
            if (use_regex)
                split_each(pieces, [&](const std::string& text) { return kept_by(split_behaviour::isolated, stretches_of(text, *gpt2_pattern)); });
            const auto& alphabet = byte_level_alphabet::get();
            for (auto& p : pieces) p.text = alphabet.encode(p.text);
        }
    };

    struct metaspace_step {
        std::string replacement;
        prepend_scheme scheme;
        bool split;
        void apply(std::vector<piece>& pieces) const {
            const char32_t mark = code_point_at(replacement, 0).value;
            for (auto& p : pieces) {
                std::string replaced;
                replaced.reserve(p.text.size() + replacement.size());
                for (const char c : p.text) {
                    if (c == ' ')
                        replaced += replacement;
                    else
                        replaced.push_back(c);
                }
                const bool prepend = scheme == prepend_scheme::always || (scheme == prepend_scheme::first && p.begins_text);
                if (prepend && !replaced.starts_with(replacement)) replaced.insert(0, replacement);
                p.text = std::move(replaced);
            }
            if (split)
                split_each(pieces, [&](const std::string& text) {
                    return kept_by(split_behaviour::merged_with_next, stretches_of_characters(text, [&](char32_t c) { return c == mark; }));
                });
        }
    };

    struct digits_step {
        bool individual;
        void apply(std::vector<piece>& pieces) const {
            split_each(pieces, [&](const std::string& text) {
                return kept_by(individual ? split_behaviour::isolated : split_behaviour::contiguous,
                                   stretches_of_characters(text, [](char32_t c) { return is_numeric(c); }));
            });
        }
    };

    struct whitespace_split_step {
        void apply(std::vector<piece>& pieces) const {
            split_each(pieces, [](const std::string& text) {
                return kept_by(split_behaviour::removed, stretches_of_characters(text, [](char32_t c) { return is_white_space(c); }));
            });
        }
    };

    using step = std::variant<split_step, byte_level_step, metaspace_step, digits_step, whitespace_split_step>;

    /// GPT-2's pattern, which ByteLevel's use_regex applies.
    static const regex& gpt2_pattern() {
        static const regex pattern = regex::from_oniguruma(
            R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", "the ByteLevel pre-tokenizer's regex");
        return pattern;
    }

    void append(const io::sorted_json& node, const std::string& subject) {
        for_each_part(node, "pretokenizers", subject, [&](const std::string& type, const io::sorted_json& part, const std::string& where) {
            append_step(type, part, where);
        });
    }

    void append_step(const std::string& type, const io::sorted_json& node, const std::string& where) {
        if (type == "Split") {
            steps_.push_back(split_step{pattern_field(node, where), split_behaviour_named(required_string(node, "behavior", where), where),
                                        io::bool_field(node, "invert", false, where)});
        } else if (type == "ByteLevel") {
            steps_.push_back(byte_level_step{io::bool_field(node, "add_prefix_space", true, where),
                                             io::bool_field(node, "use_regex", true, where), &gpt2_pattern()});
        } else if (type == "Metaspace") {
            steps_.push_back(metaspace_step{character_field(node, "replacement", where), metaspace_prepend_scheme(node, where),
                                            io::bool_field(node, "split", true, where)});
        } else if (type == "Digits") {
            steps_.push_back(digits_step{io::bool_field(node, "individual_digits", false, where)});
        } else if (type == "WhitespaceSplit") {
            steps_.push_back(whitespace_split_step{});
        } else {
            throw unsupported_error(where, "this pre-tokenizer type is not supported (Split, ByteLevel, Metaspace, Digits, "
                                           "WhitespaceSplit, Sequence are)");
        }
    }

    std::vector<step> steps_;
};

}  // namespace lorahub::text
