#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <lorahub/core/printable.hpp>
#include <lorahub/io/gguf_reader.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/io/peft_adapter.hpp>
#include <lorahub/io/safetensors.hpp>
#include <lorahub/io/torch_checkpoint.hpp>
#include <lorahub/io/weight_store.hpp>
#include <lorahub/model/families.hpp>

#include "../commands.hpp"
#include "../output.hpp"

namespace lorahub::cli {
namespace {

using io::json;

/// Parameter counts and dtypes of a set of tensors.
json tensor_totals(const std::vector<const io::tensor_view*>& views) {
    std::uint64_t parameters = 0;
    std::map<std::string, std::uint64_t> by_dtype;
    for (const auto* view : views) {
        parameters += view->numel();
        by_dtype[std::string(name_of(view->type))] += view->numel();
    }
    return {{"tensors", views.size()}, {"parameters", parameters}, {"dtypes", by_dtype}};
}

std::string dtype_list(const json& totals) {
    std::string text;
    for (const auto& [name, count] : totals["dtypes"].items()) text += (text.empty() ? "" : ", ") + name;
    return text.empty() ? "none" : text;
}

/// A .safetensors file, or a torch.save checkpoint (.bin, .pt, .pth) read safely.
json inspect_safetensors(const std::filesystem::path& path) {
    const auto file = io::open_weights_file(path);
    std::vector<const io::tensor_view*> views;
    json tensors = json::array();
    for (const auto& view : file.tensors()) {
        views.push_back(&view);
        tensors.push_back({{"name", view.name}, {"dtype", name_of(view.type)}, {"shape", view.shape}});
    }
    const bool torch = path.extension() != ".safetensors";
    json summary = {{"path", path.string()}, {"kind", torch ? "torch-checkpoint" : "safetensors"}, {"metadata", file.metadata()}};
    summary.update(tensor_totals(views));
    summary["tensor_list"] = tensors;
    return summary;
}

/// A GGUF file (a llama.cpp LoRA adapter or model): its scalar metadata and tensor table.
json inspect_gguf(const std::filesystem::path& path) {
    const auto contents = io::read_gguf(path);
    json metadata = json::object();
    for (const auto& entry : contents.metadata) std::visit([&](const auto& value) { metadata[entry.key] = value; }, entry.value);
    for (const auto& key : contents.array_keys) metadata[key] = "(array)";
    std::uint64_t parameters = 0;
    std::map<std::string, std::uint64_t> by_type;
    json tensors = json::array();
    for (const auto& info : contents.tensors) {
        std::uint64_t count = 1;
        for (const auto extent : info.shape) count *= extent;
        const std::string type = info.type == 0 ? "F32" : info.type == 1 ? "F16" : info.type == 30 ? "BF16" : "type " + std::to_string(info.type);
        parameters += count;
        by_type[type] += count;
        tensors.push_back({{"name", info.name}, {"dtype", type}, {"shape", info.shape}});
    }
    return {{"path", path.string()}, {"kind", "gguf"}, {"version", contents.version}, {"metadata", metadata}, {"tensors", tensors.size()},
            {"parameters", parameters}, {"dtypes", by_type}, {"tensor_list", tensors}};
}

/// Weight totals and files of a model directory's store.
json store_summary(const io::weight_store& store) {
    std::vector<const io::tensor_view*> views;
    for (const auto& [name, located] : store.tensors()) views.push_back(located.view);
    json files = json::array();
    for (const auto& file : store.files()) files.push_back(file->path().filename().string());
    json summary = tensor_totals(views);
    summary["files"] = files;
    return summary;
}

/// A model directory as its family describes it, with its weight files.
json inspect_model(const std::filesystem::path& directory) {
    const auto card = describe_model(directory);
    json summary = {{"path", directory.string()}, {"kind", card.kind}, {"family", card.family}, {"title", card.title}};
    summary["config"] = card.config;
    summary["details"] = card.details;
    summary["weights"] = store_summary(io::weight_store(directory));
    summary["lora_targets"] = card.lora_targets;
    summary["tokenizer"] = card.tokenizer;
    summary["tokenizer_line"] = card.tokenizer_line;
    return summary;
}

json inspect_adapter(const std::filesystem::path& directory) {
    const auto adapter = io::load_peft_adapter(directory);
    const auto& config = adapter.config;
    std::uint64_t parameters = 0;
    std::map<std::string, std::uint64_t> targets;
    std::map<std::size_t, std::uint64_t> ranks;
    for (const auto& layer : adapter.layers) {
        parameters += layer.a.size() + layer.b.size();
        targets[layer.module.substr(layer.module.rfind('.') + 1)] += 1;
        ranks[layer.rank] += 1;
    }
    json summary = {{"path", directory.string()}, {"kind", "peft-lora-adapter"}};
    summary["r"] = config.r;
    summary["lora_alpha"] = io::alpha_json(config.lora_alpha);
    summary["use_rslora"] = config.use_rslora;
    summary["scaling"] = config.scaling_for(adapter.layers.front().module);
    summary["target_modules"] = to_json(config)["target_modules"];
    summary["base_model_name_or_path"] = config.base_model_name_or_path;
    summary["layers"] = adapter.layers.size();
    summary["layers_per_target"] = targets;
    json rank_counts = json::object();
    for (const auto& [rank, count] : ranks) rank_counts[std::to_string(rank)] = count;
    summary["layers_per_rank"] = rank_counts;
    summary["parameters"] = parameters;
    return summary;
}

/// Summarises a model dir, an adapter dir or a .safetensors file; throws lorahub::error.
json inspect_path(const std::filesystem::path& path) {
    if (std::filesystem::is_directory(path)) {
        if (std::filesystem::exists(path / "adapter_config.json")) return inspect_adapter(path);
        if (std::filesystem::exists(path / "config.json")) return inspect_model(path);
        throw io_error(display(path), "is neither a model directory (config.json) nor an adapter directory (adapter_config.json)");
    }
    if (!std::filesystem::exists(path)) throw io_error(display(path), "does not exist");
    const auto extension = path.extension();
    if (extension == ".safetensors" || extension == ".bin" || extension == ".pt" || extension == ".pth") return inspect_safetensors(path);
    if (extension == ".gguf") return inspect_gguf(path);
    throw unsupported_error(display(path), "is not a .safetensors, torch .bin or .gguf file, a model directory or an adapter directory");
}

/// A string of a summary, escaped to stay on its line (names can hold any character).
std::string field(const json& value) {
    return printable(value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, json::error_handler_t::replace));
}

/// The weights and LoRA-target lines of a model summary.
void print_weights(std::ostream& out, const json& summary) {
    const auto& w = summary["weights"];
    out << "  weights: " << w["tensors"] << " tensors, " << w["parameters"] << " parameters (" << dtype_list(w) << ") in "
        << w["files"].size() << " file(s)\n";
    out << "  LoRA-targetable linear layers: " << summary["lora_targets"] << "\n";
}

void print_summary(std::ostream& out, const json& summary) {
    const auto kind = summary["kind"].get<std::string>();
    out << field(summary["path"]) << ": ";
    if (kind == "safetensors" || kind == "torch-checkpoint") {
        out << (kind == "safetensors" ? "safetensors, " : "torch checkpoint (read without unpickling code), ") << summary["tensors"] << " tensors, " << summary["parameters"] << " parameters ("
            << dtype_list(summary) << ")\n";
        for (const auto& tensor : summary["tensor_list"])
            out << "  " << field(tensor["name"]) << "  " << field(tensor["dtype"]) << " " << field(tensor["shape"]) << "\n";
    } else if (kind == "gguf") {
        out << "GGUF v" << summary["version"] << ", " << summary["tensors"] << " tensors, " << summary["parameters"] << " parameters ("
            << dtype_list(summary) << ")\n";
        for (const auto& [key, value] : summary["metadata"].items()) out << "  " << field(key) << " = " << field(value) << "\n";
        for (const auto& tensor : summary["tensor_list"])
            out << "  " << field(tensor["name"]) << "  " << field(tensor["dtype"]) << " " << field(tensor["shape"]) << "\n";
    } else if (summary.contains("family")) {
        out << field(summary["title"]) << "\n";
        for (const auto& line : summary["details"]) out << "  " << field(line) << "\n";
        print_weights(out, summary);
        out << "  tokenizer: " << field(summary["tokenizer_line"]) << "\n";
    } else {
        out << "PEFT LoRA adapter\n";
        out << "  r " << summary["r"] << ", lora_alpha " << summary["lora_alpha"] << ", scaling " << summary["scaling"]
            << (summary["use_rslora"].get<bool>() ? " (rsLoRA)" : "") << "\n";
        out << "  target_modules " << field(summary["target_modules"]) << "\n";
        out << "  " << summary["layers"] << " LoRA layers " << field(summary["layers_per_target"]) << ", ranks "
            << field(summary["layers_per_rank"]) << ", " << summary["parameters"] << " parameters\n";
        if (!summary["base_model_name_or_path"].get<std::string>().empty())
            out << "  base model " << field(summary["base_model_name_or_path"]) << "\n";
    }
}

int run_inspect(const std::vector<std::string>& paths, bool as_json) {
    int status = 0;
    json all = json::array();
    for (const auto& path : paths) {
        try {
            auto summary = inspect_path(path);
            if (as_json) all.push_back(std::move(summary));
            else print_summary(std::cout, summary);
        } catch (const lorahub::error& failure) {
            std::cerr << "error: " << failure.what() << "\n";
            status = 1;
        } catch (const std::exception& failure) {
            std::cerr << "error: " << printable(path) << ": " << printable(failure.what()) << "\n";
            status = 1;
        }
    }
    if (as_json && !all.empty()) std::cout << json_text(paths.size() == 1 ? all[0] : all, 2) << "\n";
    return status;
}

}  // namespace

command add_inspect(CLI::App& app) {
    auto* inspect = app.add_subcommand("inspect", "Summarise a model dir, a PEFT adapter dir, or a .safetensors, torch .bin or .gguf file");
    struct request {
        std::vector<std::string> paths;
        bool as_json = false;
    };
    auto in = std::make_shared<request>();
    inspect->add_option("paths", in->paths, "Paths to inspect")->required();
    inspect->add_flag("--json", in->as_json, "Print the summary as JSON (an array for several paths)");
    return {inspect, [in](const std::string&) { return run_inspect(in->paths, in->as_json); }};
}

}  // namespace lorahub::cli
