#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lorahub {

/// Which line breaks survive printable(): none (text quoted inside one line, such as a
/// tensor name or an error message), or newline and tab (whole lines of output).
enum class line_breaks { escape, keep };

namespace detail {

inline void append_hex_escape(std::string& out, unsigned value, int digits, const char* prefix) {
    constexpr char hex[] = "0123456789abcdef";
    out += prefix;
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += hex[(value >> shift) & 0xfu];
}

/// Length of the well-formed UTF-8 sequence at text[at] and its code point, or 0 when the
/// bytes there are not one (overlong forms, surrogates and values past U+10FFFF included).
inline std::size_t utf8_sequence(std::string_view text, std::size_t at, std::uint32_t& code_point) {
    const auto lead = static_cast<unsigned char>(text[at]);
    std::size_t length = 0;
    std::uint32_t minimum = 0;
    if (lead < 0x80) {
        code_point = lead;
        return 1;
    }
    if ((lead & 0xe0) == 0xc0) length = 2, code_point = lead & 0x1fu, minimum = 0x80;
    else if ((lead & 0xf0) == 0xe0) length = 3, code_point = lead & 0x0fu, minimum = 0x800;
    else if ((lead & 0xf8) == 0xf0) length = 4, code_point = lead & 0x07u, minimum = 0x10000;
    else return 0;
    if (at + length > text.size()) return 0;
    for (std::size_t i = 1; i < length; ++i) {
        const auto next = static_cast<unsigned char>(text[at + i]);
        if ((next & 0xc0) != 0x80) return 0;
        code_point = (code_point << 6) | (next & 0x3fu);
    }
    if (code_point < minimum || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) return 0;
    return length;
}

}  // namespace detail

/// Text from a file made safe for a terminal: always valid UTF-8 with no control
/// characters. A byte that is not part of well-formed UTF-8 becomes `\xHH`; C0 controls and
/// DEL become `\xHH` (newline and tab stay when `breaks` is keep); C1 controls (U+0080 to
/// U+009F, which some terminals obey as escape sequences) become `\uHHHH`.
inline std::string printable(std::string_view text, line_breaks breaks = line_breaks::escape) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t at = 0; at < text.size();) {
        std::uint32_t code_point = 0;
        const std::size_t length = detail::utf8_sequence(text, at, code_point);
        if (length == 0) {
            detail::append_hex_escape(out, static_cast<unsigned char>(text[at]), 2, "\\x");
            ++at;
            continue;
        }
        const bool kept_break = breaks == line_breaks::keep && (code_point == '\n' || code_point == '\t');
        if ((code_point < 0x20 && !kept_break) || code_point == 0x7f) detail::append_hex_escape(out, code_point, 2, "\\x");
        else if (code_point >= 0x80 && code_point <= 0x9f) detail::append_hex_escape(out, code_point, 4, "\\u");
        else out.append(text.substr(at, length));
        at += length;
    }
    return out;
}

/// True when every byte of `text` belongs to a well-formed UTF-8 sequence.
inline bool is_valid_utf8(std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        std::uint32_t code_point = 0;
        const std::size_t length = detail::utf8_sequence(text, at, code_point);
        if (length == 0) return false;
        at += length;
    }
    return true;
}

/// True when printable(text, breaks) would return the text unchanged.
inline bool is_printable(std::string_view text, line_breaks breaks = line_breaks::escape) { return printable(text, breaks) == text; }

}  // namespace lorahub
