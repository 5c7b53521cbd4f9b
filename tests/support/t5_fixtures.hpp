#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <lorahub/io/json.hpp>
#include <lorahub/io/safetensors.hpp>
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

/// The largest |ours - HF| over example `s`'s logits under a fixture variant ("base", "qv",
/// ...), and the largest |HF logit| there (the scale a low-precision tolerance refers to).
struct logit_error {
    double worst = 0, largest = 0;
};
inline logit_error logit_error_against_hf(const std::vector<float>& ours, const std::string& model_name, const std::string& variant,
                                          std::size_t s) {
    const io::safetensors_file reference(fixtures() / ("t5/" + model_name + ".expected.safetensors"));
    const auto theirs = reference.read_f32(reference.at(variant + ".logits." + std::to_string(s)));
    if (theirs.size() != ours.size()) return {INFINITY, 0};
    logit_error error;
    for (std::size_t i = 0; i < theirs.size(); ++i) {
        error.worst = std::max(error.worst, std::abs(static_cast<double>(ours[i]) - theirs[i]));
        error.largest = std::max(error.largest, std::abs(static_cast<double>(theirs[i])));
    }
    return error;
}

}  // namespace lorahub::test
