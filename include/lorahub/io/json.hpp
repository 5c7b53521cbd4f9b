#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "lorahub/core/error.hpp"

namespace lorahub::io {

using json = nlohmann::ordered_json;

/// Parses JSON text strictly: invalid JSON, invalid UTF-8 and duplicate keys in any object
/// are format errors naming `subject`. (nlohmann alone keeps the last duplicate silently.)
inline json parse_json_strict(std::string_view text, const std::string& subject) {
    std::vector<std::unordered_set<std::string>> open_objects;
    auto reject_duplicates = [&](int, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start: open_objects.emplace_back(); break;
            case json::parse_event_t::object_end: open_objects.pop_back(); break;
            case json::parse_event_t::key:
                if (!open_objects.back().insert(parsed.get<std::string>()).second)
                    throw format_error(subject, "duplicate JSON key \"" + parsed.get<std::string>() + "\"");
                break;
            default: break;
        }
        return true;
    };
    try {
        return json::parse(text.begin(), text.end(), reject_duplicates);
    } catch (const json::exception& failure) {
        throw format_error(subject, std::string("invalid JSON: ") + failure.what());
    }
}

inline std::string json_type_name(const json& value) { return value.type_name(); }

}  // namespace lorahub::io
