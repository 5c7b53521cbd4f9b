#include <charconv>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <lorahub/core/printable.hpp>
#include <lorahub/io/json.hpp>
#include <lorahub/model/families.hpp>

#include "../commands.hpp"
#include "../output.hpp"

namespace lorahub::cli {
namespace {

using io::json;

struct tokenize_request {
    std::string model;
    std::vector<std::string> texts;
    std::string decode;
    bool as_json = false;
};

/// "1,2, 3" or "1 2 3" as ids; anything else is an argument error naming the token.
std::vector<int> parse_ids(const std::string& list) {
    std::vector<int> ids;
    std::size_t at = 0;
    while (at < list.size()) {
        while (at < list.size() && (list[at] == ',' || list[at] == ' ')) ++at;
        if (at == list.size()) break;
        std::size_t end = list.find_first_of(", ", at);
        if (end == std::string::npos) end = list.size();
        int id = 0;
        const auto [stop, problem] = std::from_chars(list.data() + at, list.data() + end, id);
        if (problem != std::errc() || stop != list.data() + end || id < 0)
            throw argument_error("--decode", "\"" + list.substr(at, end - at) + "\" is not a token id (a non-negative integer)");
        ids.push_back(id);
        at = end;
    }
    return ids;
}

void print_ids(const std::vector<int>& ids) {
    for (std::size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
    std::cout << "\n";
}

/// Encodes each text (or decodes --decode's ids) with the model directory's own tokenizer,
/// as its family reads it: ids without special tokens for causal LMs, with T5's eos for T5.
int run_tokenize(const tokenize_request& in) {
    return with_family(in.model, [&]<class Family>() {
        const auto tokens = Family::load_tokenizer(in.model);
        json results = json::array();
        if (!in.decode.empty()) {
            const auto ids = parse_ids(in.decode);
            const auto text = tokens.decode(ids);
            if (in.as_json)
                results.push_back({{"ids", ids}, {"text", text}});
            else
                std::cout << printable(text) << "\n";
        }
        for (const auto& text : in.texts) {
            const auto ids = tokens.encode(text);
            if (in.as_json)
                results.push_back({{"text", text}, {"ids", ids}});
            else
                print_ids(ids);
        }
        if (in.as_json) std::cout << json_text(results, 2) << "\n";
        return 0;
    });
}

}  // namespace

command add_tokenize(CLI::App& app) {
    auto* tokenize = app.add_subcommand("tokenize", "Print the token ids of texts (or the text of ids) with a model directory's tokenizer");
    auto in = std::make_shared<tokenize_request>();
    tokenize->add_option("--model", in->model, "Model directory (its tokenizer.json, tokenizer.model or spiece.model)")->required();
    tokenize->add_option("texts", in->texts, "Texts to encode, one line of ids each");
    tokenize->add_option("--decode", in->decode, "Ids to decode (\"1,2,3\" or \"1 2 3\"), special ids skipped");
    tokenize->add_flag("--json", in->as_json, "Print [{text, ids}] as JSON");
    return {tokenize, [in](const std::string&) {
                if (in->texts.empty() && in->decode.empty()) throw argument_error("lorahub tokenize", "give texts to encode or --decode IDS");
                return run_tokenize(*in);
            }};
}

}  // namespace lorahub::cli
