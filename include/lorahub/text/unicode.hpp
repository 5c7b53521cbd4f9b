#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include "lorahub/core/error.hpp"

namespace lorahub::text {

/// Unicode character facts as the `tokenizers` library (Rust) asks them, answered by ICU.

/// The code point starting at byte `at` of valid UTF-8 `text`, and its length in bytes.
struct code_point {
    char32_t value;
    std::size_t length;
};

inline code_point code_point_at(std::string_view text, std::size_t at) {
    UChar32 value = 0;
    std::int32_t next = static_cast<std::int32_t>(at);
    U8_NEXT(reinterpret_cast<const std::uint8_t*>(text.data()), next, static_cast<std::int32_t>(text.size()), value);
    return {static_cast<char32_t>(value < 0 ? 0xFFFD : value), static_cast<std::size_t>(next) - at};
}

/// The byte offset where the code point ending at byte `end` of valid UTF-8 `text` starts.
inline std::size_t code_point_start_before(std::string_view text, std::size_t end) {
    std::size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    return start;
}

/// Appends `value` (a Unicode scalar value) to `out` as UTF-8.
inline void append_utf8(std::string& out, char32_t value) {
    char buffer[U8_MAX_LENGTH];
    std::int32_t length = 0;
    U8_APPEND_UNSAFE(reinterpret_cast<std::uint8_t*>(buffer), length, static_cast<UChar32>(value));
    out.append(buffer, static_cast<std::size_t>(length));
}

/// Rust's char::is_whitespace: the White_Space property.
inline bool is_white_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }

/// Rust's char::is_numeric: general categories Nd, Nl and No.
inline bool is_numeric(char32_t c) {
    return (U_GET_GC_MASK(static_cast<UChar32>(c)) & (U_GC_ND_MASK | U_GC_NL_MASK | U_GC_NO_MASK)) != 0;
}

/// The Rust regex crate's Unicode `\w`: Alphabetic, marks, decimal digits, connector
/// punctuation and Join_Control.
inline bool is_word_character(char32_t c) {
    const auto point = static_cast<UChar32>(c);
    return u_hasBinaryProperty(point, UCHAR_ALPHABETIC) || u_hasBinaryProperty(point, UCHAR_JOIN_CONTROL) ||
           (U_GET_GC_MASK(point) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

/// `bytes` as text, each maximal ill-formed subsequence replaced by U+FFFD, as Rust's
/// String::from_utf8_lossy does (ICU's U8_NEXT follows the same Unicode recommendation).
inline std::string utf8_lossy(std::string_view bytes) {
    std::string text;
    text.reserve(bytes.size());
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    const auto size = static_cast<std::int32_t>(bytes.size());
    for (std::int32_t at = 0; at < size;) {
        const std::int32_t start = at;
        UChar32 value = 0;
        U8_NEXT(data, at, size, value);
        if (value < 0)
            text.append("\xEF\xBF\xBD");
        else
            text.append(bytes.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(at - start)));
    }
    return text;
}

inline bool is_valid_utf8(std::string_view bytes) {
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    const auto size = static_cast<std::int32_t>(bytes.size());
    for (std::int32_t at = 0; at < size;) {
        UChar32 value = 0;
        U8_NEXT(data, at, size, value);
        if (value < 0) return false;
    }
    return true;
}

enum class normal_form { nfc, nfd, nfkc, nfkd };

/// `text` (valid UTF-8) in the normal form, by ICU.
inline std::string normalize(std::string_view text, normal_form form) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* normalizer = nullptr;
    switch (form) {
        case normal_form::nfc: normalizer = icu::Normalizer2::getNFCInstance(status); break;
        case normal_form::nfd: normalizer = icu::Normalizer2::getNFDInstance(status); break;
        case normal_form::nfkc: normalizer = icu::Normalizer2::getNFKCInstance(status); break;
        case normal_form::nfkd: normalizer = icu::Normalizer2::getNFKDInstance(status); break;
    }
    if (U_FAILURE(status)) throw unsupported_error("ICU", std::string("no Unicode normalizer: ") + u_errorName(status));
    const auto source = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<std::int32_t>(text.size())));
    if (normalizer->isNormalized(source, status) && U_SUCCESS(status)) return std::string(text);
    const icu::UnicodeString normalized = normalizer->normalize(source, status);
    if (U_FAILURE(status)) throw argument_error("ICU", std::string("cannot normalize text: ") + u_errorName(status));
    std::string out;
    normalized.toUTF8String(out);
    return out;
}

}  // namespace lorahub::text
