#pragma once

#include <string>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/text/json_fields.hpp"

namespace lorahub::text {

/// What a tokenizer.json "post_processor" adds around one sequence's ids when special tokens
/// are asked for: TemplateProcessing's "single" template (special tokens around $A),
/// RobertaProcessing / BertProcessing (cls $A sep), ByteLevel (nothing: it only moves offsets)
/// and Sequence of those. Any other type is an error naming it.
struct post_processor {
    std::vector<int> before;
    std::vector<int> after;

    static post_processor from_json(const io::sorted_json& node, const std::string& subject) {
        post_processor result;
        if (!node.is_null()) result.append(node, subject + ": post_processor");
        return result;
    }

    /// bos $A eos, as transformers' Llama-family fast tokenizers rebuild the template from
    /// tokenizer_config.json's add_bos_token / add_eos_token.
    static post_processor around(const std::vector<int>& bos, const std::vector<int>& eos) { return {bos, eos}; }

    std::vector<int> operator()(std::vector<int> ids) const {
        ids.insert(ids.begin(), before.begin(), before.end());
        ids.insert(ids.end(), after.begin(), after.end());
        return ids;
    }

private:
    /// Wraps what the earlier steps add (a later processor sees their output as its $A).
    void wrap(const std::vector<int>& outer_before, const std::vector<int>& outer_after) {
        before.insert(before.begin(), outer_before.begin(), outer_before.end());
        after.insert(after.end(), outer_after.begin(), outer_after.end());
    }

    void append(const io::sorted_json& node, const std::string& subject) {
        for_each_part(node, "processors", subject, [&](const std::string& type, const io::sorted_json& part, const std::string& where) {
            append_step(type, part, where);
        });
    }

    void append_step(const std::string& type, const io::sorted_json& node, const std::string& where) {
        if (type == "ByteLevel") {
        } else if (type == "TemplateProcessing") {
            append_template(node, where);
        } else if (type == "RobertaProcessing" || type == "BertProcessing") {
            wrap({token_of_pair(node, "cls", where)}, {token_of_pair(node, "sep", where)});
        } else {
            throw unsupported_error(where, "this post-processor type is not supported (TemplateProcessing, ByteLevel, "
                                           "RobertaProcessing, BertProcessing, Sequence are)");
        }
    }

    static int token_of_pair(const io::sorted_json& node, const char* key, const std::string& subject) {
        const auto& pair = required_field(node, key, subject);
        if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_unsigned())
            throw format_error(subject, std::string("\"") + key + "\" must be [token, id], got " + pair.dump());
        return pair[1].get<int>();
    }

    void append_template(const io::sorted_json& node, const std::string& subject) {
        const auto& single = required_field(node, "single", subject);
        const auto& specials = required_field(node, "special_tokens", subject);
        if (!single.is_array()) throw format_error(subject, "\"single\" must be a list");
        std::vector<int> outer_before, outer_after;
        bool seen_sequence = false;
        for (const auto& item : single) {
            if (item.is_object() && item.contains("Sequence")) {
                const auto& sequence = item["Sequence"];
                if (!sequence.is_object() || sequence.value("id", "") != "A" || seen_sequence)
                    throw unsupported_error(subject, "\"single\" must hold the sequence $A once, got " + single.dump());
                seen_sequence = true;
            } else if (item.is_object() && item.contains("SpecialToken")) {
                const std::string name = required_string(item["SpecialToken"], "id", subject);
                if (!specials.is_object() || !specials.contains(name))
                    throw format_error(subject, "special token \"" + name + "\" of \"single\" is not in \"special_tokens\"");
                const auto& ids = required_field(specials[name], "ids", subject);
                if (!ids.is_array()) throw format_error(subject, "\"ids\" of special token \"" + name + "\" must be a list");
                for (const auto& id : ids) {
                    if (!id.is_number_unsigned()) throw format_error(subject, "ids of special token \"" + name + "\" must be non-negative");
                    (seen_sequence ? outer_after : outer_before).push_back(id.get<int>());
                }
            } else {
                throw format_error(subject, "\"single\" items must be {\"Sequence\": ...} or {\"SpecialToken\": ...}, got " + item.dump());
            }
        }
        if (!seen_sequence) throw format_error(subject, "\"single\" has no $A");
        wrap(outer_before, outer_after);
    }
};

}  // namespace lorahub::text
