#pragma once

#include <vector>

#include <lorahub/io/json.hpp>
#include <lorahub/model/llama/model.hpp>

#include "files.hpp"

namespace lorahub::test {

/// tests/fixtures/llama/expected.json: HF's losses, greedy ids, the examples' token ids, the
/// tokenizer cases and upstream-style scores.
inline const io::json& llama_expected() {
    static const auto document = io::parse_json_strict(read_file(fixtures() / "llama/expected.json"), "expected.json");
    return document;
}

/// The fixture examples as HF tokenized them: prompts [bos] + input, completions output + [eos].
inline llama::batch llama_fixture_batch() {
    llama::batch examples;
    for (const auto& example : llama_expected()["examples"]) {
        examples.inputs.push_back(example["prompt_ids"].get<std::vector<int>>());
        examples.labels.push_back(example["completion_ids"].get<std::vector<int>>());
    }
    return examples;
}

}  // namespace lorahub::test
