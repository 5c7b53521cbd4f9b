#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "lorahub/core/error.hpp"
#include "lorahub/io/json.hpp"

namespace lorahub::io {

/// Fields of a Hugging Face config.json, read as HF's config classes read them: a missing or
/// null field takes the class default; a present one of the wrong kind is an error naming it.

template <class Json = json>
std::size_t positive_size_field(const Json& document, const char* key, std::size_t fallback, const std::string& subject) {
    if (!document.contains(key) || document[key].is_null()) return fallback;
    const auto& value = document[key];
    if (!value.is_number_integer() || value.template get<std::int64_t>() <= 0 || value.template get<std::int64_t>() > (1ll << 31))
        throw config_error(subject, std::string("\"") + key + "\" must be a positive integer, got " + value.dump());
    return value.template get<std::size_t>();
}

/// A token id; a list (eos_token_id may be one) gives its first element.
template <class Json = json>
int token_id_field(const Json& document, const char* key, int fallback, const std::string& subject) {
    if (!document.contains(key) || document[key].is_null()) return fallback;
    auto value = document[key];
    if (value.is_array() && !value.empty()) value = value[0];
    if (!value.is_number_integer() || value.template get<std::int64_t>() < 0 || value.template get<std::int64_t>() > (1ll << 31))
        throw config_error(subject, std::string("\"") + key + "\" must be a non-negative integer, got " + value.dump());
    return value.template get<int>();
}

template <class Json = json>
double positive_number_field(const Json& document, const char* key, double fallback, const std::string& subject) {
    if (!document.contains(key) || document[key].is_null()) return fallback;
    const auto& value = document[key];
    if (!value.is_number() || !(value.template get<double>() > 0) || !std::isfinite(value.template get<double>()))
        throw config_error(subject, std::string("\"") + key + "\" must be a positive number, got " + value.dump());
    return value.template get<double>();
}

template <class Json = json>
bool bool_field(const Json& document, const char* key, bool fallback, const std::string& subject) {
    if (!document.contains(key) || document[key].is_null()) return fallback;
    if (!document[key].is_boolean()) throw config_error(subject, std::string("\"") + key + "\" must be true or false");
    return document[key].template get<bool>();
}

template <class Json = json>
std::string string_field(const Json& document, const char* key, const std::string& fallback, const std::string& subject) {
    if (!document.contains(key) || document[key].is_null()) return fallback;
    if (!document[key].is_string()) throw config_error(subject, std::string("\"") + key + "\" must be a string");
    return document[key].template get<std::string>();
}

}  // namespace lorahub::io
