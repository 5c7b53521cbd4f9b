#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/backend/cpu/gemm.hpp>
#include <lorahub/backend/cpu/onednn_gemm.hpp>

using namespace lorahub;

namespace {

std::vector<float> random_values(std::size_t count, unsigned seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> values(count);
    for (auto& value : values) value = uniform(random);
    return values;
}

}  // namespace

TEMPLATE_TEST_CASE("C = alpha A B^T + beta C and C = alpha A B + beta C match a double-precision loop", "[gemm]", cpu::eigen_gemm,
                   cpu::basic_onednn_gemm<0>, cpu::onednn_gemm) {
    for (const auto [m, n, k] : {std::tuple<std::size_t, std::size_t, std::size_t>{1, 1, 1}, {7, 5, 3}, {75, 130, 96}, {200, 16, 300}}) {
        for (const auto [alpha, beta] : {std::pair{1.0f, 0.0f}, {0.5f, 1.0f}, {2.0f, -0.5f}}) {
            INFO("m " << m << " n " << n << " k " << k << " alpha " << alpha << " beta " << beta);
            const std::size_t lda = k + 3, ldb = k + 1, ldc = n + 2, ldb_plain = n + 5;  // strided views, as attention heads use
            const auto a = random_values(m * lda, 1), b = random_values(n * ldb, 2), b_plain = random_values(k * ldb_plain, 3);
            const auto c0 = random_values(m * ldc, 4);
            auto c = c0, c_plain = c0;
            TestType::multiply_transposed({a.data(), m, k, lda}, {b.data(), n, k, ldb}, {c.data(), m, n, ldc}, alpha, beta);
            TestType::multiply({a.data(), m, k, lda}, {b_plain.data(), k, n, ldb_plain}, {c_plain.data(), m, n, ldc}, alpha, beta);
            double worst = 0, worst_plain = 0;
            for (std::size_t i = 0; i < m; ++i)
                for (std::size_t j = 0; j < n; ++j) {
                    double dot = 0, dot_plain = 0;
                    for (std::size_t p = 0; p < k; ++p) {
                        dot += static_cast<double>(a[i * lda + p]) * b[j * ldb + p];
                        dot_plain += static_cast<double>(a[i * lda + p]) * b_plain[p * ldb_plain + j];
                    }
                    const double base = beta == 0.0f ? 0.0 : beta * static_cast<double>(c0[i * ldc + j]);
                    worst = std::max(worst, std::abs(alpha * dot + base - c[i * ldc + j]));
                    worst_plain = std::max(worst_plain, std::abs(alpha * dot_plain + base - c_plain[i * ldc + j]));
                }
            CHECK(worst <= 1e-4 * std::sqrt(static_cast<double>(k)));
            CHECK(worst_plain <= 1e-4 * std::sqrt(static_cast<double>(k)));
            for (std::size_t i = 0; i < m; ++i)  // padding between rows is never written
                for (std::size_t j = n; j < ldc; ++j) CHECK(c[i * ldc + j] == c0[i * ldc + j]);
        }
    }
}
