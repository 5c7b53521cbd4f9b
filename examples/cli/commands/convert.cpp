#include <filesystem>
#include <iostream>
#include <span>
#include <memory>
#include <string>

#include <lorahub/core/printable.hpp>
#include <lorahub/io/atomic_output.hpp>
#include <lorahub/io/torch_checkpoint.hpp>

#include "../commands.hpp"

namespace lorahub::cli {
namespace {

/// Writes the safetensors equivalent of a torch.save checkpoint: the bytes
/// safetensors.torch.save_file writes for the same state dict.
int run_convert(const std::string& in, const std::string& out) {
    const std::filesystem::path input = in;
    io::check_output_file(out, std::span(&input, 1));
    const auto bytes = io::torch_checkpoint_as_safetensors(in);
    io::atomic_file file(out);
    file.write(bytes);
    file.commit();
    std::cout << "converted: " << printable(out) << "\n";
    return 0;
}

}  // namespace

command add_convert(CLI::App& app) {
    auto* convert = app.add_subcommand("convert", "Write the safetensors file of a torch.save .bin checkpoint (read without running its pickle)");
    auto paths = std::make_shared<std::pair<std::string, std::string>>();
    convert->add_option("input", paths->first, "A torch .bin checkpoint (adapter_model.bin, pytorch_model.bin)")->required();
    convert->add_option("output", paths->second, "The .safetensors file to write")->required();
    return {convert, [paths](const std::string&) { return run_convert(paths->first, paths->second); }};
}

}  // namespace lorahub::cli
