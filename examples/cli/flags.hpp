#pragma once

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <optional>
#include <system_error>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <lorahub/core/printable.hpp>
#include <lorahub/lora/module_audit.hpp>
#include <lorahub/lora/policies.hpp>
#include <lorahub/model/families.hpp>

#include "composer_choice.hpp"
#include "sources.hpp"

namespace lorahub::cli {

/// A check that an integer flag's text is a whole number inside int64_t: CLI11 would clamp
/// 2^63 and more to 2^63 - 1 without a word.
inline CLI::Validator within_int64() {
    return CLI::Validator(
        [](const std::string& text) -> std::string {
            std::int64_t value = 0;
            const auto* end = text.data() + text.size();
            const auto [stop, failure] = std::from_chars(text.data(), end, value);
            if (failure == std::errc::result_out_of_range) return "\"" + text + "\" is out of range (at most 9223372036854775807)";
            (void)stop;  // text that is no number at all is CLI11's to refuse ("is not a valid value")
            return {};
        },
        "INT64");
}

inline void add_allow_base_mismatch_flag(CLI::App* command, bool& allow) {
    command->add_flag("--allow-base-mismatch", allow,
                      "Compose modules whose base_model_name_or_path or task_type names another model (a warning instead of an error)");
}

/// --scaling and --allow-base-mismatch: how modules that differ from the first or from the
/// model are composed.
inline void add_module_options(CLI::App* command, sources& in) {
    command->add_option("--scaling", in.scaling,
                        "first-module (default, upstream's rule: the composition takes the first module's lora_alpha / r) or "
                        "per-module (each module's own, folded into its B: the order of --lora no longer matters)")
        ->check(CLI::IsMember({"first-module", "per-module"}));
    add_allow_base_mismatch_flag(command, in.allow_base_mismatch);
}

/// The flags of `sources` (--lora only when the command takes modules).
inline void add_sources(CLI::App* command, sources& in, bool modules) {
    command->add_option("--model", in.model, "Base model directory (config.json: " + known_model_types() +
                                                 "; weights; its tokenizer); default: the demo hub's");
    if (modules) command->add_option("--lora", in.modules, "PEFT LoRA module directory (repeat per module); default: the demo hub's pool");
    command->add_option("--examples", in.examples, "Examples JSONL ({input, output} or {context, completion}); default: the demo hub's");
    command->add_option("--task", in.task, "Demo hub task to take defaults from (default: the hub's default task)");
    command->add_option("--precision", in.precision, "fp32 (default) or bf16: bf16 linear layers with fp32 accumulation, fp32 elsewhere")
        ->check(CLI::IsMember(std::vector<std::string>(std::begin(precisions), std::end(precisions))));
    command->add_option("--device", in.device, "cpu (default) or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
    if (modules) add_module_options(command, in);
}

/// Prints the warnings of module_audit for the modules of `in` (on the model when it has
/// one) on stderr; a module for another base model or task type is an error unless
/// --allow-base-mismatch. `first_module_rule`: the composer applies the first module's scaling.
inline void audit_sources(const sources& in, bool first_module_rule) {
    const std::vector<std::filesystem::path> modules(in.modules.begin(), in.modules.end());
    std::optional<model_identity> model;
    if (!in.model.empty()) model = identify_model(in.model);
    const auto scaling = first_module_rule ? in.module_scaling() : module_scaling::per_module;
    for (const auto& warning : audit_modules(modules, model ? &*model : nullptr,
                                             in.allow_base_mismatch ? base_mismatch::warn : base_mismatch::refuse, scaling))
        std::cerr << "warning: " << printable(warning) << "\n";
}

/// --composer (or --combination) and the options of PEFT's combination types.
inline void add_composer_options(CLI::App* command, composer_choice& choice, const char* flag, bool with_seed) {
    command->add_option(flag, choice.name, "Composer (default " + choice.name + "):\n" + composer_policies::described("    "))
        ->check(CLI::IsMember(composer_policies::names()));
    command->add_option("--density", choice.density, "Fraction of entries kept by ties, dare_* and magnitude_prune* (default 1)");
    command->add_option("--svd-rank", choice.svd_rank, "Rank of the *svd combinations (default: the modules' rank)");
    command->add_option("--svd-clamp", choice.svd_clamp, "Clamp the *svd factors to this quantile of their entries (default: none)");
    command->add_option("--majority-sign", choice.majority_sign, "Sign election of ties and dare_ties: total (default) or frequency")
        ->check(CLI::IsMember({"total", "frequency"}));
    if (with_seed) command->add_option("--seed", choice.seed, "Seed of DARE's masks (default 42)")->check(within_int64());
}

}  // namespace lorahub::cli
