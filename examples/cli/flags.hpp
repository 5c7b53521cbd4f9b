#pragma once

#include <iterator>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <lorahub/lora/policies.hpp>
#include <lorahub/model/families.hpp>

#include "composer_choice.hpp"
#include "sources.hpp"

namespace lorahub::cli {

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
    if (with_seed) command->add_option("--seed", choice.seed, "Seed of DARE's masks (default 42)");
}

}  // namespace lorahub::cli
