// The include graph follows the layering of the design, one way only:
// core <- io <- lora <- model <- hub, text (tokenizer.json) on core and io below model,
// backend beside model, optim on core alone, and
// concepts.hpp on core alone (the model families reach the hub only through Model / Backend).
// Read from the headers' own #include lines, transitively.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <vector>
#include <string>

#include <catch2/catch.hpp>

namespace {

const std::filesystem::path include_root = std::filesystem::path(LORAHUB_SOURCE_DIR) / "include";

/// Every include of a header: "lorahub/..." ones by path, others by their spelling.
std::set<std::string> direct_includes(const std::string& header) {
    std::ifstream in(include_root / header);
    REQUIRE(in);
    static const std::regex directive("^\\s*#\\s*include\\s*[<\"]([^>\"]+)[>\"]");
    std::set<std::string> found;
    std::smatch match;
    for (std::string line; std::getline(in, line);)
        if (std::regex_search(line, match, directive)) found.insert(match[1]);
    return found;
}

std::set<std::string> closure(const std::string& header) {
    std::set<std::string> seen;
    std::vector<std::string> pending{header};
    while (!pending.empty()) {
        const auto next = pending.back();
        pending.pop_back();
        for (const auto& included : direct_includes(next))
            if (seen.insert(included).second && included.starts_with("lorahub/")) pending.push_back(included);
    }
    return seen;
}

std::string area(const std::string& header) {
    const auto rest = header.substr(std::string("lorahub/").size());
    const auto slash = rest.find('/');
    return slash == std::string::npos ? rest : rest.substr(0, slash);
}

}  // namespace

TEST_CASE("no include runs upward", "[layering]") {
    const std::map<std::string, std::set<std::string>> allowed{
        {"core", {"core"}},
        {"io", {"core", "io"}},
        {"lora", {"core", "io", "lora"}},
        {"optim", {"core", "optim", "concepts.hpp"}},
        {"backend", {"core", "backend"}},
        {"text", {"core", "io", "text"}},
        {"model", {"core", "io", "lora", "text", "backend", "model"}},
        {"concepts.hpp", {"core"}},
        {"hub", {"core", "io", "lora", "optim", "concepts.hpp", "hub"}},
    };
    std::size_t checked = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(include_root / "lorahub")) {
        if (entry.path().extension() != ".hpp") continue;
        const auto header = std::filesystem::relative(entry.path(), include_root).string();
        if (header == "lorahub/lorahub.hpp") continue;
        const auto rules = allowed.find(area(header));
        REQUIRE(rules != allowed.end());
        for (const auto& included : closure(header)) {
            if (!included.starts_with("lorahub/")) continue;
            INFO(header << " includes " << included);
            CHECK(rules->second.contains(area(included)));
        }
        ++checked;
    }
    CHECK(checked > 30);
}

TEST_CASE("optimizers, composers and the pool compile without oneDNN, SentencePiece or a model", "[layering]") {
    for (const char* header : {"lorahub/optim/cma_es.hpp", "lorahub/optim/cobyla.hpp", "lorahub/lora/weighted_ab.hpp",
                               "lorahub/lora/delta_sum.hpp", "lorahub/lora/pool.hpp", "lorahub/concepts.hpp", "lorahub/hub/learn.hpp"}) {
        INFO(header);
        for (const auto& included : closure(header)) {
            INFO("includes " << included);
            CHECK(included.find("dnnl") == std::string::npos);
            CHECK(included.find("sentencepiece") == std::string::npos);
            CHECK(!included.starts_with("lorahub/model/"));
            CHECK(!included.starts_with("lorahub/backend/"));
        }
    }
}

TEST_CASE("no .hpp header includes CUDA: the CUDA backend is .cuh, for files nvcc compiles", "[layering]") {
    std::size_t cuda_headers = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(include_root / "lorahub")) {
        const auto header = std::filesystem::relative(entry.path(), include_root).string();
        if (entry.path().extension() == ".cuh") {
            ++cuda_headers;
            CHECK(header.starts_with("lorahub/backend/cuda/"));
            continue;
        }
        if (entry.path().extension() != ".hpp") continue;
        INFO(header);
        for (const auto& included : closure(header)) {
            INFO("includes " << included);
            CHECK(!included.ends_with(".cuh"));
            CHECK(!included.starts_with("cuda"));
            CHECK(!included.starts_with("cublas"));
        }
    }
    CHECK(cuda_headers >= 4);
}

TEST_CASE("lorahub.hpp reaches every public header but the opt-in CUDA backend", "[layering]") {
    const auto reached = closure("lorahub/lorahub.hpp");
    std::size_t checked = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(include_root / "lorahub")) {
        if (!entry.is_regular_file()) continue;
        const auto header = std::filesystem::relative(entry.path(), include_root).string();
        if (header == "lorahub/lorahub.hpp" || header.starts_with("lorahub/backend/cuda/")) continue;
        INFO(header);
        CHECK(reached.contains(header));
        ++checked;
    }
    CHECK(checked > 60);
}
