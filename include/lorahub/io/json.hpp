#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "lorahub/core/error.hpp"

namespace lorahub::io {

using json = nlohmann::ordered_json;

/// JSON whose objects are sorted maps: for documents with objects of many keys (a
/// tokenizer.json's vocabulary), which `json` (insertion-ordered, linear lookups) would read in
/// quadratic time.
using sorted_json = nlohmann::json;

/// Parses JSON text strictly: invalid JSON, invalid UTF-8 and duplicate keys in any object
/// are format errors naming `subject`. (nlohmann alone keeps the last duplicate silently.)
template <class Json = json>
Json parse_json_strict(std::string_view text, const std::string& subject) {
    std::vector<std::unordered_set<std::string>> open_objects;
    auto reject_duplicates = [&](int, typename Json::parse_event_t event, Json& parsed) {
        switch (event) {
            case Json::parse_event_t::object_start: open_objects.emplace_back(); break;
            case Json::parse_event_t::object_end: open_objects.pop_back(); break;
            case Json::parse_event_t::key:
                if (!open_objects.back().insert(parsed.template get<std::string>()).second)
                    throw format_error(subject, "duplicate JSON key \"" + parsed.template get<std::string>() + "\"");
                break;
            default: break;
        }
        return true;
    };
    try {
        return Json::parse(text.begin(), text.end(), reject_duplicates);
    } catch (const typename Json::exception& failure) {
        throw format_error(subject, std::string("invalid JSON: ") + failure.what());
    }
}

inline std::string json_type_name(const json& value) { return value.type_name(); }

}  // namespace lorahub::io
