// A model that is not T5 plugged into learn / score / infer: the hub layer is written
// against the Model concept only. The model is a bag-of-words classifier, logits =
// mean(embedding of the input words) W^T with LoRA on W, loss = cross-entropy of the one
// label word, generation = the argmax word.
#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/backend/cpu/backend.hpp>
#include <lorahub/concepts.hpp>
#include <lorahub/hub/infer.hpp>
#include <lorahub/hub/learn.hpp>
#include <lorahub/hub/score.hpp>
#include <lorahub/optim/cma_es.hpp>

using namespace lorahub;

namespace {

/// Words to ids and back, a fixed vocabulary.
struct word_tokenizer {
    std::vector<std::string> words;
    std::vector<int> encode(std::string_view text) const {
        std::vector<int> ids;
        std::istringstream in{std::string(text)};
        for (std::string word; in >> word;)
            for (std::size_t i = 0; i < words.size(); ++i)
                if (words[i] == word) ids.push_back(static_cast<int>(i));
        return ids;
    }
};

class bag_of_words_model {
public:
    using backend = cpu::eigen_backend;
    using tokenizer = word_tokenizer;
    using lora_binding = lorahub::lora_binding;
    struct batch {
        std::vector<std::vector<int>> inputs;
        std::vector<int> labels;
    };
    struct context {
        std::vector<float> features, logits, shrunk;
    };

    bag_of_words_model(std::size_t width, unsigned seed) : width_(width) {
        for (int i = 0; i < 12; ++i) tokens_.words.push_back("w" + std::to_string(i));
        std::mt19937 random(seed);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        embedding_.resize(vocab() * width_);
        head_.resize(vocab() * width_);
        for (auto& v : embedding_) v = normal(random);
        for (auto& v : head_) v = 0.1f * normal(random);
    }

    std::size_t vocab() const { return tokens_.words.size(); }
    const tokenizer& tokens() const { return tokens_; }
    context make_context() const { return {}; }
    std::vector<lora_target> lora_targets() const { return {{"head", width_, vocab()}}; }
    lora_binding bind(std::span<const lora_layer> layers, const std::string& subject) const {
        lora_binding binding(1);
        for (const auto& layer : layers) {
            if (layer.module != "head" || layer.in_features != width_ || layer.out_features != vocab())
                throw shape_error(subject, "LoRA module \"" + layer.module + "\" does not fit");
            binding[0] = {layer.a.data(), layer.b.data(), layer.rank, layer.scaling};
        }
        return binding;
    }
    void add_example(batch& b, std::string_view input, std::string_view output) const {
        b.inputs.push_back(tokens_.encode(input));
        b.labels.push_back(tokens_.encode(output).at(0));
    }
    std::size_t label_tokens(const batch& b) const { return b.labels.size(); }
    std::vector<int> encode_input(std::string_view input) const { return tokens_.encode(input); }
    std::string decode_output(std::span<const int> ids) const { return tokens_.words.at(static_cast<std::size_t>(ids.front())); }

    double loss(const batch& b, const lora_binding* lora, context& c) const {
        forward(b.inputs, lora, c);
        double total = 0;
        for (std::size_t s = 0; s < b.labels.size(); ++s)
            total += backend::cross_entropy(c.logits.data() + s * vocab(), vocab(), static_cast<std::size_t>(b.labels[s]));
        return total / static_cast<double>(b.labels.size());
    }
    std::vector<std::vector<int>> generate(const std::vector<std::vector<int>>& inputs, const lora_binding* lora, std::size_t, context& c) const {
        forward(inputs, lora, c);
        std::vector<std::vector<int>> out;
        for (std::size_t s = 0; s < inputs.size(); ++s)
            out.push_back({static_cast<int>(backend::argmax(c.logits.data() + s * vocab(), vocab()))});
        return out;
    }

private:
    void forward(const std::vector<std::vector<int>>& inputs, const lora_binding* lora, context& c) const {
        const std::size_t rows = inputs.size();
        c.features.assign(rows * width_, 0.0f);
        for (std::size_t s = 0; s < rows; ++s)
            for (int id : inputs[s])
                for (std::size_t k = 0; k < width_; ++k)
                    c.features[s * width_ + k] += embedding_[static_cast<std::size_t>(id) * width_ + k] / static_cast<float>(inputs[s].size());
        c.logits.resize(rows * vocab());
        backend::gemm_nt({c.features.data(), rows, width_, width_}, {head_.data(), vocab(), width_, width_}, {c.logits.data(), rows, vocab(), vocab()});
        if (lora == nullptr || (*lora)[0].rank == 0) return;
        const auto& view = (*lora)[0];
        c.shrunk.resize(rows * view.rank);
        backend::gemm_nt({c.features.data(), rows, width_, width_}, {view.a, view.rank, width_, width_}, {c.shrunk.data(), rows, view.rank, view.rank});
        backend::gemm_nt({c.shrunk.data(), rows, view.rank, view.rank}, {view.b, vocab(), view.rank, view.rank},
                         {c.logits.data(), rows, vocab(), vocab()}, view.scaling, 1.0f);
    }

    std::size_t width_;
    word_tokenizer tokens_;
    std::vector<float> embedding_, head_;
};

static_assert(Model<bag_of_words_model>);

}  // namespace

TEST_CASE("learn, score and infer run a model that is not T5", "[hub][model]") {
    const bag_of_words_model model(8, 3);
    auto pool = lora_pool::with_shapes(3, model.lora_targets(), 2, 2.0f);
    std::mt19937 random(4);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& stack : pool.stacks()) {
        for (auto& v : stack.a) v = normal(random);
        for (auto& v : stack.b) v = normal(random);
    }
    // examples labelled by the planted composition's own predictions
    const std::vector<double> planted{0.9, -0.6, 0.3};
    std::vector<io::example> examples;
    for (int i = 0; i < 40; ++i) {
        std::string input;
        for (int k = 0; k < 3; ++k) input.append("w").append(std::to_string((i * 7 + k * 5) % 12)).append(" ");
        examples.push_back({input, std::nullopt});
    }
    const auto labelled = infer(model, examples, pool, planted);
    for (std::size_t i = 0; i < examples.size(); ++i) examples[i].output = labelled.predictions[i];
    const std::span<const io::example> few_shot(examples.data(), 10), held_out(examples.data() + 10, 30);

    const auto batches = tokenize_examples(model, few_shot, 0, "few-shot");
    learn_options<bag_of_words_model> options;
    options.budget = 400;
    options.seed = 2;
    const auto learned = learn<optim::cma_es>(model, pool, batches, options);
    const auto planted_score = score(model, pool, batches, planted);
    CHECK(learned.objective <= planted_score.objective + 1e-3);
    CHECK(score(model, pool, batches, learned.weights).objective == learned.objective);
    CHECK(*infer(model, held_out, learned).accuracy >= 80.0);
    CHECK(*infer(model, held_out, infer_options{}).accuracy < *infer(model, held_out, learned).accuracy);
}
