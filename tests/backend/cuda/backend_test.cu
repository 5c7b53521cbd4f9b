// Every CUDA primitive against the CPU kernels (core/ and backend/cpu/ops.hpp) or a direct
// double-precision evaluation of its definition, on the same random inputs, for each CUDA
// precision. Tolerances per precision: fp32 1e-5 relative to the operands' scale, tf32 and
// bf16 2e-2. Without a visible CUDA device the program prints why and exits 77, which CTest
// reports as skipped.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <lorahub/backend/cpu/ops.hpp>
#include <lorahub/backend/cuda/backend.cuh>
#include <lorahub/concepts.hpp>
#include <lorahub/lora/kernels.hpp>

using namespace lorahub;

static_assert(Backend<cuda::backend> && Backend<cuda::tf32_backend> && Backend<cuda::bf16_backend>);

namespace {

std::vector<float> random_values(std::size_t n, unsigned seed, float scale = 1.0f) {
    std::mt19937 random(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> values(n);
    for (auto& v : values) v = normal(random);
    return values;
}

template <class T>
cuda::device_buffer<T> device(const std::vector<T>& host) {
    return cuda::to_device(std::span<const T>(host));
}
template <class T>
std::vector<T> host(const cuda::device_buffer<T>& buffer) {
    return cuda::to_host(buffer.data(), buffer.size());
}

template <class B>
double tolerance() {
    return std::is_same_v<B, cuda::backend> ? 1e-5 : 2e-2;
}

/// max |ours - reference| / max(1, max |reference|).
double relative_error(const std::vector<float>& ours, const std::vector<double>& reference) {
    REQUIRE(ours.size() == reference.size());
    double worst = 0, largest = 1;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - reference[i]));
        largest = std::max(largest, std::abs(reference[i]));
    }
    return worst / largest;
}

}  // namespace

TEMPLATE_TEST_CASE("linear, gemm_nt and gemm_nn equal the products they define", "[cuda][gemm]", cuda::backend, cuda::tf32_backend,
                   cuda::bf16_backend) {
    const std::size_t m = 37, n = 53, k = 70;  // odd shapes; strides wider than the rows
    const auto x = random_values(m * (k + 3), 1), w = random_values(n * k, 2), b = random_values(k * n, 3);
    auto y0 = random_values(m * n, 4);
    const auto dx = device(x), dw = device(w), db = device(b);
    auto dy = device(y0);
    const auto prepared = TestType::prepare(w.data(), n, k);
    TestType::linear({dx.data(), m, k, k + 3}, prepared, {dy.data(), m, n, n}, 0.5f, 1.0f);
    std::vector<double> expected(m * n);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double dot = 0;
            for (std::size_t l = 0; l < k; ++l) dot += static_cast<double>(x[i * (k + 3) + l]) * w[j * k + l];
            expected[i * n + j] = 0.5 * dot + y0[i * n + j];
        }
    CHECK(relative_error(host(dy), expected) <= tolerance<TestType>());

    // gemm_nt and gemm_nn keep fp32 in every mode (they carry LoRA and the head)
    cuda::device_buffer<float> c(m * n);
    TestType::gemm_nt({dx.data(), m, k, k + 3}, {dw.data(), n, k, k}, {c.data(), m, n, n});
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) expected[i * n + j] = (expected[i * n + j] - y0[i * n + j]) * 2.0;
    CHECK(relative_error(host(c), expected) <= 1e-5);
    TestType::gemm_nn({dx.data(), m, k, k + 3}, {db.data(), k, n, n}, {c.data(), m, n, n}, 2.0f, 0.0f);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double dot = 0;
            for (std::size_t l = 0; l < k; ++l) dot += static_cast<double>(x[i * (k + 3) + l]) * b[l * n + j];
            expected[i * n + j] = 2.0 * dot;
        }
    CHECK(relative_error(host(c), expected) <= 1e-5);
}

TEST_CASE("strided-batched products equal one product per candidate (a population's LoRA)", "[cuda][gemm]") {
    const std::size_t p = 5, rows = 19, in = 48, rank = 8;
    const auto x = random_values(p * rows * in, 5), a = random_values(p * rank * in, 6);
    const auto dx = device(x), da = device(a);
    cuda::device_buffer<float> t(p * rows * rank);
    cuda::gemm_nt_batched({dx.data(), rows, in, in}, rows * in, {da.data(), rank, in, in}, rank * in, {t.data(), rows, rank, rank},
                          rows * rank, p, 1.0f, 0.0f);
    std::vector<double> expected(p * rows * rank);
    for (std::size_t c = 0; c < p; ++c)
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t r = 0; r < rank; ++r) {
                double dot = 0;
                for (std::size_t l = 0; l < in; ++l) dot += static_cast<double>(x[(c * rows + i) * in + l]) * a[(c * rank + r) * in + l];
                expected[(c * rows + i) * rank + r] = dot;
            }
    CHECK(relative_error(host(t), expected) <= 1e-5);
}

TEST_CASE("weighted_sum composes a pool stack as lora::weighted_sum does", "[cuda][compose]") {
    for (std::size_t length : {std::size_t{4096}, std::size_t{1027}}) {  // vector path and scalar fallback
        const std::size_t modules = 20;
        const auto stack = random_values(modules * length, 7);
        std::vector<double> w(modules);
        for (std::size_t i = 0; i < modules; ++i) w[i] = 0.1 * static_cast<double>(i) - 0.7;
        std::vector<float> expected(length), wf(w.begin(), w.end());
        lora::weighted_sum(stack, w, expected);
        const auto dstack = device(stack), dw = device(wf);
        cuda::device_buffer<float> out(length);
        cuda::weighted_sum(dstack.data(), modules, length, dw.data(), out.data());
        CHECK(relative_error(host(out), std::vector<double>(expected.begin(), expected.end())) <= 1e-6);
    }
}

TEMPLATE_TEST_CASE("rms_norm, activations, bias, scale and gather equal the CPU kernels", "[cuda][ops]", cuda::backend, cuda::tf32_backend,
                   cuda::bf16_backend) {
    const std::size_t rows = 9, width = 1000;
    const auto x = random_values(rows * width, 8), weight = random_values(width, 9);
    const auto dx = device(x), dweight = device(weight);
    cuda::device_buffer<float> out(rows * width);
    TestType::rms_norm(dx.data(), rows, width, dweight.data(), 1e-6f, out.data());
    std::vector<float> expected(rows * width);
    cpu::rms_norm(x.data(), rows, width, weight.data(), 1e-6f, expected.data());
    CHECK(relative_error(host(out), std::vector<double>(expected.begin(), expected.end())) <= 1e-5);

    for (auto kind : {activation::relu, activation::gelu_tanh, activation::gelu_erf, activation::silu})
        for (bool gated : {false, true}) {
            INFO("activation " << static_cast<int>(kind) << (gated ? " gated" : ""));
            auto a = random_values(rows * width, 10, 3.0f);
            const auto gate = random_values(rows * width, 11);
            auto da = device(a);
            const auto dgate = device(gate);
            TestType::activate(kind, da.data(), gated ? dgate.data() : nullptr, a.size());
            cpu::activate_in_place(kind, a.data(), gated ? gate.data() : nullptr, a.size());
            CHECK(relative_error(host(da), std::vector<double>(a.begin(), a.end())) <= 1e-6);
        }

    auto biased = device(x);
    TestType::add_bias(biased.data(), rows, width, dweight.data());
    std::vector<double> plus_bias(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) plus_bias[i] = static_cast<double>(x[i] + weight[i % width]);
    CHECK(relative_error(host(biased), plus_bias) == 0.0);

    auto scaled = device(x);
    TestType::scale(scaled.data(), x.size(), 0.25f);
    std::vector<double> quarter(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) quarter[i] = 0.25 * x[i];
    CHECK(relative_error(host(scaled), quarter) == 0.0);

    const std::vector<int> ids{3, 0, 8, 3, 5};
    cuda::device_buffer<float> gathered(ids.size() * width);
    TestType::gather_rows(dx.data(), width, ids, gathered.data());
    std::vector<double> rows_expected;
    for (int id : ids)
        for (std::size_t i = 0; i < width; ++i) rows_expected.push_back(x[static_cast<std::size_t>(id) * width + i]);
    CHECK(relative_error(host(gathered), rows_expected) == 0.0);
}

TEMPLATE_TEST_CASE("attention over ragged spans with relative bias, causal masks and sliding windows equals its definition", "[cuda][attention]",
                   cuda::backend, cuda::bf16_backend) {
    const std::size_t heads = 3, dk = 16, inner = heads * dk;
    // an encoder-like span, a causal span, and a generation step (one query at position 6 over 7 cached keys)
    const std::vector<attention_span> host_spans{{0, 11, 0, 0, 11}, {11, 7, 0, 11, 7}, {18, 1, 6, 18, 7}};
    const std::vector<bool> causal_of{false, true, true};
    const std::size_t rows = 25;
    const auto q = random_values(rows * inner, 12), k = random_values(rows * inner, 13), v = random_values(rows * inner, 14);
    for (const auto [causal, window] : {std::pair<bool, std::size_t>{false, 0}, {true, 0}, {true, 3}}) {
        std::vector<float> bias_host;
        std::vector<std::size_t> bias_offsets;
        for (const auto& span : host_spans) {
            bias_offsets.push_back(bias_host.size());
            const auto table = random_values(heads * span.bias_width(), 15 + static_cast<unsigned>(bias_host.size()));
            bias_host.insert(bias_host.end(), table.begin(), table.end());
        }
        const auto dq = device(q), dk_ = device(k), dv = device(v), dbias = device(bias_host);
        auto spans = host_spans;
        for (std::size_t s = 0; s < spans.size(); ++s) spans[s].relative_bias = dbias.data() + bias_offsets[s];
        cuda::device_buffer<float> context(rows * inner);
        TestType::attention({dq.data(), dk_.data(), dv.data(), context.data(), heads, dk, inner, inner, 0.5f, causal, spans, 0, window});
        std::vector<double> expected(rows * inner, 0.0);
        for (std::size_t s = 0; s < host_spans.size(); ++s) {
            const auto& span = host_spans[s];
            const float* table = bias_host.data() + bias_offsets[s];
            for (std::size_t h = 0; h < heads; ++h)
                for (std::size_t i = 0; i < span.query_count; ++i) {
                    const std::size_t position = span.query_position + i;
                    const std::size_t visible = causal ? std::min(position + 1, span.key_count) : span.key_count;
                    // a sliding window of w: the keys at positions position - w + 1 .. position (HF's mask)
                    const std::size_t first = window != 0 && position + 1 > window ? position + 1 - window : 0;
                    std::vector<double> p(visible, 0.0);
                    double peak = -1e300, total = 0;
                    for (std::size_t j = first; j < visible; ++j) {
                        double dot = 0;
                        for (std::size_t d = 0; d < dk; ++d)
                            dot += static_cast<double>(q[(span.query_row + i) * inner + h * dk + d]) * k[(span.key_row + j) * inner + h * dk + d];
                        const auto relative = static_cast<std::ptrdiff_t>(j) - static_cast<std::ptrdiff_t>(position);
                        p[j] = 0.5 * dot + table[h * span.bias_width() + static_cast<std::size_t>(relative + static_cast<std::ptrdiff_t>(span.query_position + span.query_count - 1))];
                        peak = std::max(peak, p[j]);
                    }
                    for (std::size_t j = first; j < visible; ++j) total += p[j] = std::exp(p[j] - peak);
                    for (std::size_t d = 0; d < dk; ++d) {
                        double acc = 0;
                        for (std::size_t j = first; j < visible; ++j) acc += p[j] * v[(span.key_row + j) * inner + h * dk + d];
                        expected[(span.query_row + i) * inner + h * dk + d] = acc / total;
                    }
                }
        }
        INFO((causal ? "causal" : "bidirectional") << ", window " << window);
        CHECK(relative_error(host(context), expected) <= 1e-5);
    }
}

TEST_CASE("rotary embeddings equal the CPU kernel", "[cuda][rotary]") {
    const std::size_t rows = 9, heads = 3, head_dim = 10, stride = heads * head_dim + 4, half = head_dim / 2;
    const auto x = random_values(rows * stride, 31), angles = random_values(rows * half, 32, 3.0f);
    std::vector<float> cos(angles.size()), sin(angles.size());
    for (std::size_t i = 0; i < angles.size(); ++i) {
        cos[i] = std::cos(angles[i]);
        sin[i] = std::sin(angles[i]);
    }
    auto expected_values = x;
    cpu::rotary(expected_values.data(), rows, heads, head_dim, stride, cos.data(), sin.data());
    auto dx = device(x);
    const auto dcos = device(cos), dsin = device(sin);
    cuda::backend::rotary(dx.data(), rows, heads, head_dim, stride, dcos.data(), dsin.data());
    CHECK(relative_error(host(dx), std::vector<double>(expected_values.begin(), expected_values.end())) <= 1e-6);
}

TEMPLATE_TEST_CASE("grouped-query attention reads key head h / (heads / key_heads)", "[cuda][attention]", cuda::backend, cuda::bf16_backend) {
    const std::size_t heads = 6, key_heads = 2, dk = 8, q_dim = heads * dk, kv_dim = key_heads * dk, rows = 12;
    const std::vector<attention_span> spans{{0, 5, 0, 0, 5}, {5, 7, 0, 5, 7}};
    const auto q = random_values(rows * q_dim, 41), k = random_values(rows * kv_dim, 42), v = random_values(rows * kv_dim, 43);
    const auto dq = device(q), dk_ = device(k), dv = device(v);
    cuda::device_buffer<float> context(rows * q_dim);
    const float scale = 1.0f / std::sqrt(static_cast<float>(dk));
    TestType::attention({dq.data(), dk_.data(), dv.data(), context.data(), heads, dk, q_dim, kv_dim, scale, true, spans, key_heads});
    std::vector<double> expected(rows * q_dim, 0.0);
    for (const auto& span : spans)
        for (std::size_t h = 0; h < heads; ++h) {
            const std::size_t kh = h / (heads / key_heads);
            for (std::size_t i = 0; i < span.query_count; ++i) {
                std::vector<double> p(i + 1);
                double peak = -1e300, total = 0;
                for (std::size_t j = 0; j <= i; ++j) {
                    double dot = 0;
                    for (std::size_t d = 0; d < dk; ++d)
                        dot += static_cast<double>(q[(span.query_row + i) * q_dim + h * dk + d]) * k[(span.key_row + j) * kv_dim + kh * dk + d];
                    p[j] = scale * dot;
                    peak = std::max(peak, p[j]);
                }
                for (auto& value : p) total += value = std::exp(value - peak);
                for (std::size_t d = 0; d < dk; ++d) {
                    double acc = 0;
                    for (std::size_t j = 0; j <= i; ++j) acc += p[j] * v[(span.key_row + j) * kv_dim + kh * dk + d];
                    expected[(span.query_row + i) * q_dim + h * dk + d] = acc / total;
                }
            }
        }
    CHECK(relative_error(host(context), expected) <= 1e-5);
}

TEST_CASE("cross-entropy per labeled row and argmax per row equal the CPU kernels", "[cuda][loss]") {
    const std::size_t rows = 6, vocab = 32128;
    auto logits = random_values(rows * vocab, 16, 4.0f);
    logits[2 * vocab + 17] = logits[2 * vocab + 900] = 1000.0f;  // a tie: the first index wins
    const auto dlogits = device(logits);
    const std::vector<int> labeled{0, 2, 5}, targets{5, 900, 32127};
    const auto drows = device(labeled), dtargets = device(targets);
    cuda::device_buffer<double> losses(labeled.size());
    cuda::cross_entropy_rows(dlogits.data(), vocab, drows.data(), dtargets.data(), labeled.size(), losses.data());
    const auto ours = host(losses);
    for (std::size_t i = 0; i < labeled.size(); ++i) {
        const double expected = cpu::cross_entropy(logits.data() + static_cast<std::size_t>(labeled[i]) * vocab, vocab, static_cast<std::size_t>(targets[i]));
        CHECK(std::abs(ours[i] - expected) <= 1e-9 * std::max(1.0, expected));
        CHECK(std::abs(cuda::backend::cross_entropy(dlogits.data() + static_cast<std::size_t>(labeled[i]) * vocab, vocab,
                                                    static_cast<std::size_t>(targets[i])) -
                       expected) <= 1e-9 * std::max(1.0, expected));
    }
    cuda::device_buffer<int> best(rows);
    cuda::argmax_rows(dlogits.data(), rows, vocab, best.data());
    const auto indices = host(best);
    for (std::size_t r = 0; r < rows; ++r) CHECK(static_cast<std::size_t>(indices[r]) == cpu::argmax(logits.data() + r * vocab, vocab));
    CHECK(indices[2] == 17);
}

TEST_CASE("merging W += s B A on the device equals the product it defines", "[cuda][merge]") {
    const std::size_t out = 64, in = 96, rank = 16;
    const auto w = random_values(out * in, 17), b = random_values(out * rank, 18), a = random_values(rank * in, 19);
    auto dw = device(w);
    const auto db = device(b), da = device(a);
    cuda::backend::gemm_nn({db.data(), out, rank, rank}, {da.data(), rank, in, in}, {dw.data(), out, in, in}, 2.0f, 1.0f);
    std::vector<double> expected(out * in);
    for (std::size_t o = 0; o < out; ++o)
        for (std::size_t i = 0; i < in; ++i) {
            double dot = 0;
            for (std::size_t r = 0; r < rank; ++r) dot += static_cast<double>(b[o * rank + r]) * a[r * in + i];
            expected[o * in + i] = w[o * in + i] + 2.0 * dot;
        }
    CHECK(relative_error(host(dw), expected) <= 1e-5);
}

int main(int argc, char** argv) {
    if (cuda::device_count() == 0) {
        std::puts("skipped: no CUDA device is visible to this process");
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
