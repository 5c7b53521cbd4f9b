#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/text/regex.hpp"
#include "lorahub/text/unicode.hpp"

namespace lorahub::text {

/// Splitting a string by a pattern, as the `tokenizers` library's NormalizedString::split does.

/// A stretch of the string, and whether the pattern matched it.
struct stretch {
    std::size_t start;
    std::size_t end;
    bool matched;
};

/// What becomes of the matched stretches (tokenizers' SplitDelimiterBehavior).
enum class split_behaviour { removed, isolated, merged_with_previous, merged_with_next, contiguous };

inline split_behaviour split_behaviour_named(std::string_view name, const std::string& subject) {
    if (name == "Removed") return split_behaviour::removed;
    if (name == "Isolated") return split_behaviour::isolated;
    if (name == "MergedWithPrevious") return split_behaviour::merged_with_previous;
    if (name == "MergedWithNext") return split_behaviour::merged_with_next;
    if (name == "Contiguous") return split_behaviour::contiguous;
    throw unsupported_error(subject, "split behavior \"" + std::string(name) + "\" is not one the tokenizers library defines");
}

/// The stretches of `text`: the matches of `pattern` and what lies between them.
inline std::vector<stretch> stretches_of(std::string_view text, const regex& pattern) {
    if (text.empty()) return {{0, 0, false}};
    std::vector<stretch> stretches;
    std::size_t previous = 0;
    pattern.for_each_match(text, [&](std::size_t start, std::size_t end) {
        if (previous != start) stretches.push_back({previous, start, false});
        stretches.push_back({start, end, true});
        previous = end;
    });
    if (previous != text.size()) stretches.push_back({previous, text.size(), false});
    return stretches;
}

/// The stretches of `text` (valid UTF-8): each character for which matches(c) holds, and what
/// lies between them.
template <class Predicate>
std::vector<stretch> stretches_of_characters(std::string_view text, Predicate&& matches) {
    if (text.empty()) return {{0, 0, false}};
    std::vector<stretch> stretches;
    std::size_t previous = 0;
    for (std::size_t at = 0; at < text.size();) {
        const auto point = code_point_at(text, at);
        if (matches(point.value)) {
            if (previous < at) stretches.push_back({previous, at, false});
            stretches.push_back({at, at + point.length, true});
            previous = at + point.length;
        }
        at += point.length;
    }
    if (previous < text.size()) stretches.push_back({previous, text.size(), false});
    return stretches;
}

/// `stretches` flipped: matched ones become unmatched and the other way (Split's `invert`).
inline std::vector<stretch> inverted(std::vector<stretch> stretches) {
    for (auto& s : stretches) s.matched = !s.matched;
    return stretches;
}

/// The [start, end) ranges `behaviour` keeps of `stretches`, in order; empty ones included
/// (the caller drops them, as PreTokenizedString::split does).
inline std::vector<stretch> kept_by(split_behaviour behaviour, const std::vector<stretch>& stretches) {
    std::vector<stretch> kept;
    kept.reserve(stretches.size());
    switch (behaviour) {
        case split_behaviour::isolated:
            for (const auto& s : stretches) kept.push_back({s.start, s.end, false});
            return kept;
        case split_behaviour::removed:
            for (const auto& s : stretches)
                if (!s.matched) kept.push_back(s);
            return kept;
        case split_behaviour::contiguous: {
            bool previous_matched = false;
            for (const auto& s : stretches) {
                if (s.matched == previous_matched && !kept.empty())
                    kept.back().end = s.end;
                else
                    kept.push_back({s.start, s.end, false});
                previous_matched = s.matched;
            }
            return kept;
        }
        case split_behaviour::merged_with_previous: {
            bool previous_matched = false;
            for (const auto& s : stretches) {
                if (s.matched && !previous_matched && !kept.empty())
                    kept.back().end = s.end;
                else
                    kept.push_back({s.start, s.end, false});
                previous_matched = s.matched;
            }
            return kept;
        }
        case split_behaviour::merged_with_next: {
            bool previous_matched = false;
            for (auto s = stretches.rbegin(); s != stretches.rend(); ++s) {
                if (s->matched && !previous_matched && !kept.empty())
                    kept.back().start = s->start;
                else
                    kept.push_back({s->start, s->end, false});
                previous_matched = s->matched;
            }
            return {kept.rbegin(), kept.rend()};
        }
    }
    return kept;
}

}  // namespace lorahub::text
