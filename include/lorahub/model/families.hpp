#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>

#include "lorahub/core/error.hpp"
#include "lorahub/core/policy_list.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"
#include "lorahub/lora/module_audit.hpp"
#include "lorahub/model/llama/family.hpp"
#include "lorahub/model/model_card.hpp"
#include "lorahub/model/t5/family.hpp"

namespace lorahub {

/// The model families lorahub runs, one entry each (in the spirit of llama.cpp's arch table):
/// config.json's model_type picks the family whose `model_types` hold it. A family is its
/// folder under model/ (config, layout, weights, tokenizer, model, family.hpp) plus one entry here.
using model_families = policy_list<t5::family, llama::family>;

/// The model_type a config.json without one is read as (HF's T5Config allows none).
inline constexpr std::string_view default_model_type = "t5";

/// config.json's model_type in `model_directory` (default_model_type when absent).
inline std::string model_type_of(const std::filesystem::path& model_directory) {
    const auto path = model_directory / "config.json";
    const auto subject = display(path);
    const auto document = io::parse_json_strict(io::read_text_file(path, 1 << 20), subject);
    if (!document.is_object()) throw config_error(subject, "config must be a JSON object");
    return io::string_field(document, "model_type", std::string(default_model_type), subject);
}

/// Every model_type of every family: "t5, mt5, llama, mistral, qwen2".
inline std::string known_model_types() {
    std::string text;
    auto add = [&]<class Family>() {
        for (const auto type : Family::model_types) text += (text.empty() ? "" : ", ") + std::string(type);
    };
    [&]<class... Families>(policy_list<Families...>) { (add.template operator()<Families>(), ...); }(model_families{});
    return text;
}

namespace detail {

template <class F, class Family, class... Rest>
decltype(auto) with_family_of_type(const std::string& type, const std::filesystem::path& config, F& f) {
    if (std::find(Family::model_types.begin(), Family::model_types.end(), type) != Family::model_types.end())
        return f.template operator()<Family>();
    if constexpr (sizeof...(Rest) == 0) {
        throw unsupported_error(display(config), "model_type \"" + type + "\" is not a model lorahub runs (" + known_model_types() + ")");
    } else {
        return with_family_of_type<F, Rest...>(type, config, f);
    }
}

}  // namespace detail

/// Calls f.template operator()<Family>() for the family of the model in `model_directory`;
/// a model_type no family reads is an error naming config.json and the types that are.
template <class F>
decltype(auto) with_family(const std::filesystem::path& model_directory, F&& f) {
    const auto type = model_type_of(model_directory);
    return [&]<class... Families>(policy_list<Families...>) -> decltype(auto) {
        return detail::with_family_of_type<F, Families...>(type, model_directory / "config.json", f);
    }(model_families{});
}

/// The model in `model_directory` as its modules' configs name it: its directory, config.json's
/// _name_or_path and its family's PEFT task type (module_audit checks modules against it).
inline model_identity identify_model(const std::filesystem::path& model_directory) {
    const auto path = model_directory / "config.json";
    const auto document = io::parse_json_strict(io::read_text_file(path, 1 << 20), display(path));
    model_identity identity;
    identity.directory = model_directory;
    identity.name_or_path = io::string_field(document, "_name_or_path", "", display(path));
    identity.peft_task_type = with_family(model_directory, []<class Family>() { return std::string(Family::peft_task_type); });
    return identity;
}

/// The family's summary of a model directory (model_card), checked against its weights.
inline model_card describe_model(const std::filesystem::path& model_directory) {
    return with_family(model_directory, [&]<class Family>() { return Family::describe(model_directory); });
}

}  // namespace lorahub
