#pragma once

#include <filesystem>
#include <string>

#include <lorahub/core/error.hpp>
#include <lorahub/io/config_fields.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/mapped_file.hpp>

namespace lorahub::cli {

/// The model families the CLI runs, told apart by config.json's model_type.
enum class model_family { t5, llama };

/// t5 and mt5 (or no model_type, as T5Config allows) are T5; llama and mistral are the
/// Llama family; anything else is refused naming the type.
inline model_family family_of(const std::filesystem::path& model_directory) {
    const auto path = model_directory / "config.json";
    const auto subject = display(path);
    const auto document = io::parse_json_strict(io::read_text_file(path, 1 << 20), subject);
    if (!document.is_object()) throw config_error(subject, "config must be a JSON object");
    const auto type = io::string_field(document, "model_type", "t5", subject);
    if (type == "t5" || type == "mt5") return model_family::t5;
    if (type == "llama" || type == "mistral") return model_family::llama;
    throw unsupported_error(subject, "model_type \"" + type + "\" is not a model lorahub runs (t5, mt5, llama, mistral)");
}

}  // namespace lorahub::cli
