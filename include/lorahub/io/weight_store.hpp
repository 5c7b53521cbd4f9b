#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lorahub/core/error.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/safetensors.hpp"
#include "lorahub/io/torch_checkpoint.hpp"

namespace lorahub::io {

/// The tensors of a Hugging Face model directory: `model.safetensors`, or the shards listed
/// by `model.safetensors.index.json`. All files stay mapped; lookups return views.
class weight_store {
public:
    struct located {
        const safetensors_file* file;
        const tensor_view* view;
    };

    /// The weight files of a HF model directory, in order of preference: safetensors, then
    /// torch.save .bin (read safely and converted in memory); one file or a sharded index.
    static constexpr std::string_view single_files[] = {"model.safetensors", "pytorch_model.bin"};
    static constexpr std::string_view index_files[] = {"model.safetensors.index.json", "pytorch_model.bin.index.json"};

    explicit weight_store(const std::filesystem::path& directory) : directory_(directory) {
        for (std::size_t i = 0; i < 2 && files_.empty(); ++i) {
            if (std::filesystem::is_regular_file(directory / single_files[i]))
                files_.push_back(std::make_unique<safetensors_file>(open_weights_file(directory / single_files[i])));
            else if (std::filesystem::is_regular_file(directory / index_files[i]))
                open_shards(directory / index_files[i]);
        }
        if (files_.empty())
            throw io_error(display(directory), "has none of model.safetensors, model.safetensors.index.json, pytorch_model.bin, "
                                               "pytorch_model.bin.index.json");
        for (const auto& file : files_)
            for (const auto& view : file->tensors())
                if (!by_name_.emplace(view.name, located{file.get(), &view}).second)
                    throw format_error(display(file->path()), "tensor \"" + view.name + "\" also appears in another shard");
    }

    const std::filesystem::path& directory() const noexcept { return directory_; }
    const std::vector<std::unique_ptr<safetensors_file>>& files() const noexcept { return files_; }
    const std::map<std::string, located, std::less<>>& tensors() const noexcept { return by_name_; }

    const located* find(std::string_view name) const {
        auto it = by_name_.find(name);
        return it == by_name_.end() ? nullptr : &it->second;
    }

private:
    void open_shards(const std::filesystem::path& index) {
        const std::string subject = display(index);
        const json document = parse_json_strict(read_text_file(index, 64 << 20), subject);
        if (!document.is_object() || !document.contains("weight_map") || !document["weight_map"].is_object())
            throw format_error(subject, "has no \"weight_map\" object");
        std::map<std::string, std::vector<std::string>> expected;
        for (const auto& [tensor, shard] : document["weight_map"].items()) {
            if (!shard.is_string()) throw format_error(subject, "weight_map[\"" + tensor + "\"] must be a file name");
            const auto name = shard.get<std::string>();
            if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
                throw format_error(subject, "weight_map names \"" + name + "\", which is not a file in this directory");
            expected[name].push_back(tensor);
        }
        for (const auto& [shard, names] : expected) {
            files_.push_back(std::make_unique<safetensors_file>(open_weights_file(directory_ / shard)));
            for (const auto& tensor : names)
                if (files_.back()->find(tensor) == nullptr)
                    throw format_error(subject, "says \"" + tensor + "\" is in " + shard + ", which has no such tensor");
        }
    }

    std::filesystem::path directory_;
    std::vector<std::unique_ptr<safetensors_file>> files_;
    std::map<std::string, located, std::less<>> by_name_;
};

}  // namespace lorahub::io
