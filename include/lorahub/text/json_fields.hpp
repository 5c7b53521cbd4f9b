#pragma once

#include <string>
#include <string_view>

#include "lorahub/core/error.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/text/regex.hpp"
#include "lorahub/text/unicode.hpp"

namespace lorahub::text {

/// Fields of a tokenizer.json part ("normalizer", "pre_tokenizer", ...): `subject` names the
/// file and the part, so an error says where to look.

inline const io::sorted_json& required_field(const io::sorted_json& part, const char* key, const std::string& subject) {
    if (!part.is_object() || !part.contains(key)) throw format_error(subject, std::string("has no \"") + key + "\"");
    return part[key];
}

inline std::string required_string(const io::sorted_json& part, const char* key, const std::string& subject) {
    const auto& value = required_field(part, key, subject);
    if (!value.is_string()) throw format_error(subject, std::string("\"") + key + "\" must be a string, got " + value.dump());
    return value.get<std::string>();
}

/// The part's "type"; `subject` becomes "<subject> (<type>)" for the part's own fields.
inline std::string part_type(const io::sorted_json& part, const std::string& subject) { return required_string(part, "type", subject); }

/// Calls f(type, part, where) for the part `node` or, when it is a Sequence, for each part of its
/// `list_key` list in order (Sequences within flattened); `where` names the part in errors,
/// "<subject> (<type>)".
template <class F>
void for_each_part(const io::sorted_json& node, const char* list_key, const std::string& subject, F&& f) {
    const std::string type = part_type(node, subject);
    const std::string where = subject + " (" + type + ")";
    if (type != "Sequence") {
        f(type, node, where);
        return;
    }
    const auto& parts = required_field(node, list_key, where);
    if (!parts.is_array()) throw format_error(where, std::string("\"") + list_key + "\" must be a list");
    for (const auto& part : parts) for_each_part(part, list_key, where, f);
}

/// A one-character string field (Metaspace's replacement, Strip's content), as UTF-8.
inline std::string character_field(const io::sorted_json& part, const char* key, const std::string& subject) {
    std::string value = required_string(part, key, subject);
    if (value.empty() || code_point_at(value, 0).length != value.size())
        throw format_error(subject, std::string("\"") + key + "\" must be one character, got \"" + value + "\"");
    return value;
}

/// Refuses a part whose `key` is set to something other than what this tokenizer follows.
inline void require_value(const io::sorted_json& part, const char* key, const io::sorted_json& expected, const std::string& subject) {
    if (part.contains(key) && !part[key].is_null() && part[key] != expected)
        throw unsupported_error(subject, std::string("\"") + key + "\": " + part[key].dump() + " is not supported (only " +
                                             expected.dump() + ")");
}

/// A Replace / Split "pattern": {"String": s} matches s literally, {"Regex": r} as Oniguruma
/// reads r.
inline regex pattern_field(const io::sorted_json& part, const std::string& subject) {
    const auto& pattern = required_field(part, "pattern", subject);
    if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string())
        return regex::literal(pattern["String"].get<std::string>(), subject);
    if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string())
        return regex::from_oniguruma(pattern["Regex"].get<std::string>(), subject);
    throw format_error(subject, "\"pattern\" must be {\"String\": ...} or {\"Regex\": ...}, got " + pattern.dump());
}

}  // namespace lorahub::text
