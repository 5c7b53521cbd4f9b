#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lorahub/text/unicode.hpp"

namespace lorahub::text {

/// GPT-2's byte-level alphabet (tokenizers' bytes_char): each byte stands for one printable
/// character, the printable bytes (! .. ~, ¡ .. ¬, ® .. ÿ) for themselves and the others for
/// U+0100 onwards in byte order.
class byte_level_alphabet {
public:
    static const byte_level_alphabet& get() {
        static const byte_level_alphabet alphabet;
        return alphabet;
    }

    /// The character (UTF-8) that stands for `byte`.
    std::string_view character(std::uint8_t byte) const { return characters_[byte]; }

    /// The byte `c` stands for; none when `c` is not in the alphabet.
    std::optional<std::uint8_t> byte(char32_t c) const {
        if (c >= bytes_.size() || bytes_[c] < 0) return std::nullopt;
        return static_cast<std::uint8_t>(bytes_[c]);
    }

    /// `text`'s bytes each as its character.
    std::string encode(std::string_view text) const {
        std::string out;
        out.reserve(text.size() * 2);
        for (const char c : text) out.append(character(static_cast<std::uint8_t>(c)));
        return out;
    }

private:
    byte_level_alphabet() {
        bytes_.fill(-1);
        char32_t extra = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const char32_t c = printable ? static_cast<char32_t>(b) : 256 + extra++;
            append_utf8(characters_[b], c);
            bytes_[c] = b;
        }
    }

    std::array<std::string, 256> characters_;
    std::array<int, 256 + 68> bytes_{};
};

}  // namespace lorahub::text
