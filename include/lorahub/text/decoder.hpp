#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/text/byte_level.hpp"
#include "lorahub/text/json_fields.hpp"
#include "lorahub/text/pre_tokenizer.hpp"
#include "lorahub/text/regex.hpp"
#include "lorahub/text/split.hpp"
#include "lorahub/text/unicode.hpp"

namespace lorahub::text {

/// A tokenizer.json "decoder": ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace and
/// Sequence of those, turning tokens back into text as the `tokenizers` library does (bytes that
/// are not valid UTF-8 become U+FFFD as it replaces them). With no decoder, tokens are joined by
/// spaces, as that library joins them. Any other type is an error naming it.
class decoder {
public:
    decoder() = default;

    static decoder from_json(const io::sorted_json& node, const std::string& subject) {
        decoder result;
        if (!node.is_null()) {
            result.present_ = true;
            result.append(node, subject + ": decoder");
        }
        return result;
    }

    std::string operator()(std::vector<std::string> tokens) const {
        if (!present_) return joined(tokens, " ");
        for (const auto& step : steps_) tokens = std::visit([&](const auto& s) { return s.apply(std::move(tokens)); }, step);
        return joined(tokens, "");
    }

private:
    using tokens = std::vector<std::string>;

    static std::string joined(const tokens& parts, std::string_view separator) {
        std::string text;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (i > 0) text.append(separator);
            text.append(parts[i]);
        }
        return text;
    }

    struct byte_level_step {
        tokens apply(tokens parts) const {
            const auto& alphabet = byte_level_alphabet::get();
            std::string bytes;
            for (const auto& token : parts) {
                std::string token_bytes;
                bool all_in_alphabet = true;
                for (std::size_t at = 0; at < token.size() && all_in_alphabet;) {
                    const auto point = code_point_at(token, at);
                    const auto byte = alphabet.byte(point.value);
                    if (byte)
                        token_bytes.push_back(static_cast<char>(*byte));
                    else
                        all_in_alphabet = false;
                    at += point.length;
                }
                bytes += all_in_alphabet ? token_bytes : token;
            }
            return {utf8_lossy(bytes)};
        }
    };

    struct byte_fallback_step {
        tokens apply(tokens parts) const {
            tokens out;
            std::string pending;
            auto flush = [&] {
                if (pending.empty()) return;
                if (is_valid_utf8(pending))
                    out.push_back(pending);
                else
                    for (std::size_t i = 0; i < pending.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
                pending.clear();
            };
            for (auto& token : parts) {
                if (const auto byte = byte_token(token)) {
                    pending.push_back(static_cast<char>(*byte));
                    continue;
                }
                flush();
                out.push_back(std::move(token));
            }
            flush();
            return out;
        }
        static std::optional<std::uint8_t> byte_token(std::string_view token) {
            if (token.size() != 6 || !token.starts_with("<0x") || token.back() != '>') return std::nullopt;
            auto hex = [](char c) -> int {
                if (c >= '0' && c <= '9') return c - '0';
                if (c >= 'a' && c <= 'f') return c - 'a' + 10;
                if (c >= 'A' && c <= 'F') return c - 'A' + 10;
                return -1;
            };
            const int high = hex(token[3]), low = hex(token[4]);
            if (high < 0 || low < 0) return std::nullopt;
            return static_cast<std::uint8_t>(high * 16 + low);
        }
    };

    struct fuse_step {
        tokens apply(tokens parts) const { return {joined(parts, "")}; }
    };

    struct strip_step {
        char32_t content;
        std::size_t start;
        std::size_t stop;
        tokens apply(tokens parts) const {
            for (auto& token : parts) {
                std::vector<std::size_t> offsets;  // of each character, and the end
                for (std::size_t at = 0; at < token.size(); at += code_point_at(token, at).length) offsets.push_back(at);
                const std::size_t count = offsets.size();
                offsets.push_back(token.size());
                std::size_t cut_start = 0;
                for (std::size_t i = 0; i < std::min(start, count); ++i) {
                    if (code_point_at(token, offsets[i]).value != content) break;
                    cut_start = i + 1;
                }
                std::size_t cut_stop = count;
                for (std::size_t i = 0; i < std::min(stop, count); ++i) {
                    const std::size_t index = count - i - 1;
                    if (code_point_at(token, offsets[index]).value != content) break;
                    cut_stop = index;
                }
                token = cut_stop > cut_start ? token.substr(offsets[cut_start], offsets[cut_stop] - offsets[cut_start]) : std::string();
            }
            return parts;
        }
    };

    struct replace_step {
        regex pattern;
        std::string content;
        tokens apply(tokens parts) const {
            for (auto& token : parts) {
                std::string replaced;
                for (const auto& s : stretches_of(token, pattern)) {
                    if (s.matched)
                        replaced += content;
                    else
                        replaced.append(token, s.start, s.end - s.start);
                }
                token = std::move(replaced);
            }
            return parts;
        }
    };

    struct metaspace_step {
        char32_t replacement;
        prepend_scheme scheme;
        tokens apply(tokens parts) const {
            for (std::size_t i = 0; i < parts.size(); ++i) {
                std::string decoded;
                const auto& token = parts[i];
                for (std::size_t at = 0; at < token.size();) {
                    const auto point = code_point_at(token, at);
                    if (point.value != replacement)
                        decoded.append(token, at, point.length);
                    else if (i != 0 || scheme == prepend_scheme::never)
                        decoded.push_back(' ');
                    at += point.length;
                }
                parts[i] = std::move(decoded);
            }
            return parts;
        }
    };

    using step = std::variant<byte_level_step, byte_fallback_step, fuse_step, strip_step, replace_step, metaspace_step>;

    void append(const io::sorted_json& node, const std::string& subject) {
        for_each_part(node, "decoders", subject, [&](const std::string& type, const io::sorted_json& part, const std::string& where) {
            append_step(type, part, where);
        });
    }

    void append_step(const std::string& type, const io::sorted_json& node, const std::string& where) {
        if (type == "ByteLevel") {
            steps_.push_back(byte_level_step{});
        } else if (type == "ByteFallback") {
            steps_.push_back(byte_fallback_step{});
        } else if (type == "Fuse") {
            steps_.push_back(fuse_step{});
        } else if (type == "Strip") {
            steps_.push_back(strip_step{code_point_at(character_field(node, "content", where), 0).value, count_field(node, "start", where),
                                        count_field(node, "stop", where)});
        } else if (type == "Replace") {
            steps_.push_back(replace_step{pattern_field(node, where), required_string(node, "content", where)});
        } else if (type == "Metaspace") {
            steps_.push_back(metaspace_step{code_point_at(character_field(node, "replacement", where), 0).value,
                                            metaspace_prepend_scheme(node, where)});
        } else {
            throw unsupported_error(where, "this decoder type is not supported (ByteLevel, ByteFallback, Fuse, Strip, Replace, "
                                           "Metaspace, Sequence are)");
        }
    }

    static std::size_t count_field(const io::sorted_json& node, const char* key, const std::string& subject) {
        const auto& value = required_field(node, key, subject);
        if (!value.is_number_unsigned()) throw format_error(subject, std::string("\"") + key + "\" must be a non-negative integer");
        return value.get<std::size_t>();
    }

    bool present_ = false;
    std::vector<step> steps_;
};

}  // namespace lorahub::text
