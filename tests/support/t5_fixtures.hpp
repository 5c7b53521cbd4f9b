#pragma once

#include <vector>

#include <lorahub/io/json.hpp>
#include <lorahub/model/t5/model.hpp>

#include "files.hpp"

namespace lorahub::test {

/// tests/fixtures/t5/expected.json: HF's losses, greedy ids and the examples' token ids.
inline const io::json& t5_expected() {
    static const auto document = io::parse_json_strict(read_file(fixtures() / "t5/expected.json"), "expected.json");
    return document;
}

/// The fixture examples as one batch, as HF tokenized them.
inline t5::batch t5_fixture_batch() {
    t5::batch examples;
    for (const auto& example : t5_expected()["examples"]) {
        examples.inputs.push_back(example["input_ids"].get<std::vector<int>>());
        examples.labels.push_back(example["label_ids"].get<std::vector<int>>());
    }
    return examples;
}

}  // namespace lorahub::test
