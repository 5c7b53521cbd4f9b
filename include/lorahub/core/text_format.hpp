#pragma once

#include <cstdarg>
#include <cstdio>
#include <string>

namespace lorahub {

/// printf-style formatting into a string (512 characters at most).
inline std::string formatted(const char* format, ...) __attribute__((format(printf, 1, 2)));
inline std::string formatted(const char* format, ...) {
    char buffer[512];
    va_list arguments;
    va_start(arguments, format);
    std::vsnprintf(buffer, sizeof buffer, format, arguments);
    va_end(arguments);
    return buffer;
}

/// A number as the reports print it ("%.4g" unless told).
inline std::string number(double value, const char* format = "%.4g") {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, format, value);
    return buffer;
}

/// Text made safe inside SVG / XML character data and attribute values.
inline std::string escape_xml(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace lorahub
