#pragma once

#include <cctype>
#include <cmath>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"

namespace lorahub::io {

/// A pattern list or a regex, as PEFT accepts for target_modules and exclude_modules.
using module_selector = std::variant<std::vector<std::string>, std::string>;

/// adapter_config.json of a PEFT LoRA adapter, with PEFT's matching rules for modules.
struct peft_config {
    std::size_t r = 8;
    double lora_alpha = 8;
    module_selector target_modules = std::vector<std::string>{};
    std::optional<module_selector> exclude_modules;
    bool use_rslora = false;
    bool fan_in_fan_out = false;
    bool use_dora = false;
    std::string bias = "none";
    std::vector<std::pair<std::string, std::size_t>> rank_pattern;
    std::vector<std::pair<std::string, double>> alpha_pattern;
    std::vector<std::string> modules_to_save;
    std::vector<std::size_t> layers_to_transform;
    std::vector<std::string> layers_pattern;
    std::string base_model_name_or_path;
    std::string task_type = "SEQ_2_SEQ_LM";
    std::string peft_type = "LORA";

    /// PEFT's check_target_module_exists for a module name such as
    /// "encoder.block.0.layer.0.SelfAttention.q".
    bool targets(const std::string& module) const {
        if (exclude_modules && matches(*exclude_modules, module)) return false;
        for (const auto& saved : modules_to_save)
            if (std::regex_match(module, std::regex("(^|.*\\.)" + saved + "($|\\..*)"))) return false;
        if (const auto* pattern = std::get_if<std::string>(&target_modules)) return std::regex_match(module, std::regex(*pattern));
        if (!matches(target_modules, module)) return false;
        if (layers_to_transform.empty()) return true;
        const auto index = layer_index(module);
        if (!index) return false;
        for (auto layer : layers_to_transform)
            if (layer == *index) return true;
        return false;
    }

    std::size_t rank_for(const std::string& module) const { return pattern_value(rank_pattern, module, r); }
    double alpha_for(const std::string& module) const { return pattern_value(alpha_pattern, module, lora_alpha); }

    /// lora_alpha / r, or lora_alpha / sqrt(r) with rsLoRA, per module.
    double scaling_for(const std::string& module) const {
        const double rank = static_cast<double>(rank_for(module));
        return use_rslora ? alpha_for(module) / std::sqrt(rank) : alpha_for(module) / rank;
    }

private:
    static bool matches(const module_selector& selector, const std::string& module) {
        if (const auto* pattern = std::get_if<std::string>(&selector)) return std::regex_match(module, std::regex(*pattern));
        for (const auto& name : std::get<std::vector<std::string>>(selector))
            if (module == name || (module.size() > name.size() && module.ends_with(name) &&
                                   module[module.size() - name.size() - 1] == '.'))
                return true;
        return false;
    }

    std::optional<std::size_t> layer_index(const std::string& module) const {
        std::smatch found;
        if (layers_pattern.empty()) {
            if (std::regex_search(module, found, std::regex(R"(^.*?\.[^.]*\.(\d+)\.)"))) return std::stoul(found[1]);
            return std::nullopt;
        }
        for (const auto& pattern : layers_pattern)
            if (std::regex_search(module, found, std::regex("^(?:|.*?\\.)" + pattern + "\\.(\\d+)\\.")))
                return std::stoul(found[1]);
        return std::nullopt;
    }

    /// PEFT's get_pattern_key: the first key (in file order) with re.match(r"(.*\.)?(key)$").
    template <class T>
    static T pattern_value(const std::vector<std::pair<std::string, T>>& patterns, const std::string& module, T fallback) {
        for (const auto& [key, value] : patterns)
            if (std::regex_match(module, std::regex("(.*\\.)?(" + key + ")"))) return value;
        return fallback;
    }
};

namespace detail {

/// Refuses patterns that std::regex cannot be trusted with before compiling them: longer
/// than 4096 characters, a repetition count past 1000, or a back-reference number of more
/// than 3 digits (libstdc++ overflows a signed integer on huge numbers in both places, found
/// by fuzzing). PEFT's module-name patterns are short.
inline void check_regex(const std::string& pattern, const std::string& subject, const std::string& key) {
    if (pattern.size() > 4096) throw config_error(subject, "\"" + key + "\" holds a pattern longer than 4096 characters");
    for (std::size_t at = pattern.find('{'); at != std::string::npos; at = pattern.find('{', at + 1)) {
        std::size_t digits = 0, value = 0;
        for (std::size_t i = at + 1; i < pattern.size() && (std::isdigit(static_cast<unsigned char>(pattern[i])) || pattern[i] == ','); ++i) {
            if (pattern[i] == ',') {
                digits = value = 0;
                continue;
            }
            if (++digits > 4 || (value = value * 10 + static_cast<std::size_t>(pattern[i] - '0')) > 1000)
                throw config_error(subject, "\"" + key + "\" holds a pattern with a repetition count past 1000");
        }
    }
    for (std::size_t at = pattern.find('\\'); at != std::string::npos && at + 1 < pattern.size(); at = pattern.find('\\', at + 2)) {
        std::size_t digits = 0;
        while (at + 1 + digits < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[at + 1 + digits]))) ++digits;
        if (digits > 3) throw config_error(subject, "\"" + key + "\" holds a pattern with a back-reference number of more than 3 digits");
    }
    try {
        std::regex check(pattern);
    } catch (const std::regex_error& failure) {
        throw config_error(subject, "\"" + key + "\" holds \"" + pattern + "\", which is not a valid regular expression: " + failure.what());
    }
}

inline module_selector parse_selector(const json& value, const std::string& subject, const char* key) {
    if (value.is_string()) {
        check_regex(value.get<std::string>(), subject, key);
        return value.get<std::string>();
    }
    if (!value.is_array()) throw config_error(subject, std::string("\"") + key + "\" must be a list of names or a regex string");
    std::vector<std::string> names;
    for (const auto& item : value) {
        if (!item.is_string()) throw config_error(subject, std::string("\"") + key + "\" must hold strings, got " + item.dump());
        names.push_back(item.get<std::string>());
    }
    return names;
}

inline bool optional_bool(const json& document, const char* key, const std::string& subject) {
    if (!document.contains(key) || document[key].is_null()) return false;
    if (!document[key].is_boolean()) throw config_error(subject, std::string("\"") + key + "\" must be true or false");
    return document[key].get<bool>();
}

inline std::string optional_string(const json& document, const char* key, std::string fallback, const std::string& subject) {
    if (!document.contains(key) || document[key].is_null()) return fallback;
    if (!document[key].is_string()) throw config_error(subject, std::string("\"") + key + "\" must be a string");
    return document[key].get<std::string>();
}

inline std::size_t positive_rank(const json& value, const std::string& subject, const std::string& what) {
    if (!value.is_number_integer() || value.get<std::int64_t>() <= 0 || value.get<std::int64_t>() > 65536)
        throw config_error(subject, what + " must be an integer in 1..65536, got " + value.dump());
    return value.get<std::size_t>();
}

inline double finite_alpha(const json& value, const std::string& subject, const std::string& what) {
    if (!value.is_number() || !std::isfinite(value.get<double>()))
        throw config_error(subject, what + " must be a finite number, got " + value.dump());
    return value.get<double>();
}

}  // namespace detail

inline peft_config parse_peft_config(const json& document, const std::string& subject) {
    if (!document.is_object()) throw config_error(subject, "adapter config must be a JSON object");
    peft_config config;
    config.peft_type = detail::optional_string(document, "peft_type", "LORA", subject);
    if (config.peft_type != "LORA") throw unsupported_error(subject, "peft_type \"" + config.peft_type + "\" is not LORA");
    if (!document.contains("r")) throw config_error(subject, "has no \"r\"");
    config.r = detail::positive_rank(document["r"], subject, "\"r\"");
    if (document.contains("lora_alpha"))  // absent: PEFT's default of 8, whatever r is
        config.lora_alpha = detail::finite_alpha(document["lora_alpha"], subject, "\"lora_alpha\"");
    if (!document.contains("target_modules") || document["target_modules"].is_null())
        throw config_error(subject, "has no \"target_modules\"");
    config.target_modules = detail::parse_selector(document["target_modules"], subject, "target_modules");
    if (document.contains("exclude_modules") && !document["exclude_modules"].is_null())
        config.exclude_modules = detail::parse_selector(document["exclude_modules"], subject, "exclude_modules");
    config.use_rslora = detail::optional_bool(document, "use_rslora", subject);
    config.fan_in_fan_out = detail::optional_bool(document, "fan_in_fan_out", subject);
    config.use_dora = detail::optional_bool(document, "use_dora", subject);
    config.bias = detail::optional_string(document, "bias", "none", subject);
    config.base_model_name_or_path = detail::optional_string(document, "base_model_name_or_path", "", subject);
    config.task_type = detail::optional_string(document, "task_type", "SEQ_2_SEQ_LM", subject);
    if (config.bias != "none" && config.bias != "all" && config.bias != "lora_only")
        throw config_error(subject, "\"bias\" must be \"none\", \"all\" or \"lora_only\", got \"" + config.bias + "\"");

    auto read_patterns = [&](const char* key, auto&& read_value, auto& into) {
        if (!document.contains(key) || document[key].is_null()) return;
        if (!document[key].is_object()) throw config_error(subject, std::string("\"") + key + "\" must be an object");
        for (const auto& [pattern, value] : document[key].items()) {
            detail::check_regex(pattern, subject, key);
            into.emplace_back(pattern, read_value(value, subject, std::string(key) + "[\"" + pattern + "\"]"));
        }
    };
    read_patterns("rank_pattern", detail::positive_rank, config.rank_pattern);
    read_patterns("alpha_pattern", detail::finite_alpha, config.alpha_pattern);

    if (document.contains("modules_to_save") && !document["modules_to_save"].is_null()) {
        const auto names = detail::parse_selector(document["modules_to_save"], subject, "modules_to_save");
        if (const auto* list = std::get_if<std::vector<std::string>>(&names)) config.modules_to_save = *list;
        else config.modules_to_save = {std::get<std::string>(names)};
    }
    if (document.contains("layers_to_transform") && !document["layers_to_transform"].is_null()) {
        const auto& layers = document["layers_to_transform"];
        auto read_layer = [&](const json& item) {
            if (!item.is_number_integer() || item.get<std::int64_t>() < 0)
                throw config_error(subject, "\"layers_to_transform\" must hold non-negative integers, got " + item.dump());
            config.layers_to_transform.push_back(item.get<std::size_t>());
        };
        if (layers.is_array()) for (const auto& item : layers) read_layer(item);
        else read_layer(layers);
    }
    if (document.contains("layers_pattern") && !document["layers_pattern"].is_null()) {
        const auto patterns = detail::parse_selector(document["layers_pattern"], subject, "layers_pattern");
        if (const auto* list = std::get_if<std::vector<std::string>>(&patterns)) config.layers_pattern = *list;
        else config.layers_pattern = {std::get<std::string>(patterns)};
        for (const auto& pattern : config.layers_pattern) detail::check_regex(pattern, subject, "layers_pattern");
    }
    return config;
}

inline peft_config load_peft_config(const std::filesystem::path& path) {
    const std::string subject = display(path);
    return parse_peft_config(parse_json_strict(read_text_file(path, 1 << 20), subject), subject);
}

/// An alpha as PEFT writes it: an integer when it is one.
inline json alpha_json(double alpha) {
    if (alpha == std::trunc(alpha) && std::abs(alpha) < 1e15) return static_cast<std::int64_t>(alpha);
    return alpha;
}

/// adapter_config.json as PEFT writes it for a LoRA adapter.
inline json to_json(const peft_config& config) {
    json document = json::object();
    document["peft_type"] = config.peft_type;
    document["task_type"] = config.task_type;
    document["base_model_name_or_path"] = config.base_model_name_or_path;
    document["r"] = config.r;
    document["lora_alpha"] = alpha_json(config.lora_alpha);
    if (const auto* pattern = std::get_if<std::string>(&config.target_modules)) document["target_modules"] = *pattern;
    else document["target_modules"] = std::get<std::vector<std::string>>(config.target_modules);
    if (config.exclude_modules) {
        if (const auto* pattern = std::get_if<std::string>(&*config.exclude_modules)) document["exclude_modules"] = *pattern;
        else document["exclude_modules"] = std::get<std::vector<std::string>>(*config.exclude_modules);
    }
    document["lora_dropout"] = 0.0;
    document["bias"] = config.bias;
    document["use_rslora"] = config.use_rslora;
    document["use_dora"] = config.use_dora;
    document["fan_in_fan_out"] = config.fan_in_fan_out;
    document["inference_mode"] = true;
    document["init_lora_weights"] = true;
    document["modules_to_save"] = config.modules_to_save.empty() ? json(nullptr) : json(config.modules_to_save);
    document["layers_to_transform"] = config.layers_to_transform.empty() ? json(nullptr) : json(config.layers_to_transform);
    document["layers_pattern"] = config.layers_pattern.empty() ? json(nullptr) : json(config.layers_pattern);
    json ranks = json::object(), alphas = json::object();
    for (const auto& [key, value] : config.rank_pattern) ranks[key] = value;
    for (const auto& [key, value] : config.alpha_pattern) alphas[key] = alpha_json(value);
    document["rank_pattern"] = ranks;
    document["alpha_pattern"] = alphas;
    return document;
}

}  // namespace lorahub::io
