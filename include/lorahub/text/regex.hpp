#pragma once

#include <cctype>
#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <pcre2.h>

#include "lorahub/core/error.hpp"
#include "lorahub/text/unicode.hpp"

namespace lorahub::text {

/// A regular expression of a tokenizer.json, run by PCRE2 (UTF and Unicode-property mode, JIT).
/// The `tokenizers` library runs them on Oniguruma; from_oniguruma() translates the escapes whose
/// meaning differs between the two (\s, \S, \w, \W, \h, \H) and refuses the constructs that
/// could match differently (\b, \B, ^, $, POSIX brackets, nested classes, inline flags other
/// than i), so a pattern either runs as Oniguruma runs it or is an error.
class regex {
public:
    /// `pattern` as Oniguruma reads it; `subject` names it in errors.
    static regex from_oniguruma(std::string_view pattern, const std::string& subject) {
        return regex(translate(pattern, subject), subject);
    }

    /// Matches `literal` exactly.
    static regex literal(std::string_view literal, const std::string& subject) { return regex(escape(literal), subject); }

    /// Matches any of `literals`; at a position where several match, the first listed.
    static regex any_of(const std::vector<std::string>& literals, const std::string& subject) {
        std::string alternation;
        for (const auto& literal : literals) {
            if (!alternation.empty()) alternation.push_back('|');
            alternation += escape(literal);
        }
        return regex(std::move(alternation), subject);
    }

    /// `literal` with every ASCII punctuation and control character escaped for PCRE2.
    static std::string escape(std::string_view literal) {
        std::string escaped;
        escaped.reserve(literal.size() * 2);
        for (const char c : literal) {
            const auto byte = static_cast<unsigned char>(c);
            if (byte < 0x80 && !((byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z')))
                escaped.push_back('\\');
            escaped.push_back(c);
        }
        return escaped;
    }

    /// Calls found(start, end) for each match in `subject` (valid UTF-8), left to right, as
    /// Oniguruma's find_iter yields them: after a match the search goes on at its end, and an
    /// empty match right at the previous match's end is skipped by one character.
    template <class Found>
    void for_each_match(std::string_view subject, Found&& found) const {
        if (!is_valid_utf8(subject)) throw argument_error(subject_, "text to match is not valid UTF-8");
        auto& scratch = match_scratch::local();
        const auto* data = reinterpret_cast<PCRE2_SPTR>(subject.data());
        std::size_t search_from = 0;
        std::size_t previous_end = std::string_view::npos;
        while (search_from <= subject.size()) {
            const int result = pcre2_match(code_.get(), data, subject.size(), search_from, PCRE2_NO_UTF_CHECK,
                                           scratch.match_data, scratch.context);
            if (result == PCRE2_ERROR_NOMATCH) return;
            if (result < 0) throw argument_error(subject_, "matching failed: " + message(result));
            const PCRE2_SIZE* span = pcre2_get_ovector_pointer(scratch.match_data);
            const std::size_t start = span[0], end = span[1];
            if (start == end && previous_end == end) {
                if (search_from >= subject.size()) return;
                search_from += code_point_at(subject, search_from).length;
                continue;
            }
            found(start, end);
            previous_end = end;
            search_from = end;
        }
    }

    const std::string& pattern() const noexcept { return pattern_; }

private:
    struct code_deleter {
        void operator()(pcre2_code* code) const { pcre2_code_free(code); }
    };

    /// Per-thread match data, context and JIT stack (a regex object is shared by threads).
    struct match_scratch {
        pcre2_match_data* match_data = pcre2_match_data_create(1, nullptr);
        pcre2_match_context* context = pcre2_match_context_create(nullptr);
        pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
        match_scratch() {
            if (!match_data || !context || !stack) throw std::bad_alloc();
            pcre2_jit_stack_assign(context, nullptr, stack);
        }
        ~match_scratch() {
            pcre2_jit_stack_free(stack);
            pcre2_match_context_free(context);
            pcre2_match_data_free(match_data);
        }
        match_scratch(const match_scratch&) = delete;
        match_scratch& operator=(const match_scratch&) = delete;
        static match_scratch& local() {
            thread_local match_scratch scratch;
            return scratch;
        }
    };

    regex(std::string pcre2_pattern, const std::string& subject) : pattern_(std::move(pcre2_pattern)), subject_(subject) {
        int error_code = 0;
        PCRE2_SIZE error_offset = 0;
        pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()), pattern_.size(), PCRE2_UTF | PCRE2_UCP,
                                         &error_code, &error_offset, nullptr);
        if (!code)
            throw format_error(subject_, "regex \"" + pattern_ + "\" does not compile at offset " + std::to_string(error_offset) +
                                             ": " + message(error_code));
        code_ = std::shared_ptr<pcre2_code>(code, code_deleter{});
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without JIT (unsupported CPU) PCRE2 interprets
    }

    static std::string message(int code) {
        PCRE2_UCHAR buffer[256];
        pcre2_get_error_message(code, buffer, sizeof buffer);
        return reinterpret_cast<const char*>(buffer);
    }

    // Oniguruma's Unicode \s (U+0009..U+000D, U+0085, Zs, Zl, Zp) and \w (Letter, Mark, Decimal_Number,
    // Connector_Punctuation), as class items.
    static constexpr std::string_view space_items = "\\t-\\r\\x{85}\\p{Z}";
    static constexpr std::string_view word_items = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
    static constexpr std::string_view hex_items = "0-9a-fA-F";

    static std::string translate(std::string_view pattern, const std::string& subject) {
        auto refuse = [&](const std::string& what) -> void {
            throw unsupported_error(subject, "regex \"" + std::string(pattern) + "\": " + what +
                                                 " may match differently in Oniguruma (the tokenizers library) and PCRE2; not supported");
        };
        std::string out;
        out.reserve(pattern.size() + 32);
        bool in_class = false;
        for (std::size_t at = 0; at < pattern.size(); ++at) {
            const char c = pattern[at];
            if (c == '\\') {
                if (at + 1 == pattern.size()) throw format_error(subject, "regex \"" + std::string(pattern) + "\" ends in a backslash");
                const char e = pattern[++at];
                auto item = [&](std::string_view items, bool negated) {
                    if (in_class && negated) refuse(std::string("\\") + e + " inside a character class");
                    if (in_class)
                        out.append(items);
                    else
                        out.append(negated ? "[^" : "[").append(items).append("]");
                };
                switch (e) {
                    case 's': item(space_items, false); break;
                    case 'S': item(space_items, true); break;
                    case 'w': item(word_items, false); break;
                    case 'W': item(word_items, true); break;
                    case 'h': item(hex_items, false); break;
                    case 'H': item(hex_items, true); break;
                    case 'b':
                    case 'B': refuse(std::string("the word boundary \\") + e); break;
                    default: {
                        out.push_back('\\');
                        std::size_t length = code_point_at(pattern, at).length;
                        out.append(pattern.substr(at, length));
                        at += length - 1;
                    }
                }
                continue;
            }
            if (in_class) {
                if (c == '[') refuse(pattern.substr(at, 2) == "[:" ? "a POSIX bracket expression" : "a nested character class");
                if (c == '&' && pattern.substr(at, 2) == "&&") refuse("class intersection (&&)");
                if (c == ']') in_class = false;
                out.push_back(c);
                continue;
            }
            switch (c) {
                case '[':
                    in_class = true;
                    out.push_back(c);
                    if (pattern.substr(at + 1, 1) == "^") out.push_back(pattern[++at]);
                    if (pattern.substr(at + 1, 1) == "]") out.append("\\]"), ++at;  // a leading ] is a literal
                    break;
                case '^':
                case '$': refuse(std::string("the anchor ") + c); break;
                case '(':
                    out.push_back(c);
                    if (pattern.substr(at + 1, 1) == "?") {
                        std::size_t flags = at + 2;
                        while (flags < pattern.size() && (pattern[flags] == 'i' || pattern[flags] == '-')) ++flags;
                        const bool flag_group = flags > at + 2 || (flags < pattern.size() && std::isalpha(static_cast<unsigned char>(pattern[flags])));
                        if (flag_group && flags < pattern.size() && pattern[flags] != ':' && pattern[flags] != ')')
                            refuse("the inline flag " + std::string(1, pattern[flags]));
                    }
                    break;
                default: out.push_back(c);
            }
        }
        if (in_class) throw format_error(subject, "regex \"" + std::string(pattern) + "\" has an unclosed character class");
        return out;
    }

    std::string pattern_;
    std::string subject_;
    std::shared_ptr<pcre2_code> code_;
};

}  // namespace lorahub::text
