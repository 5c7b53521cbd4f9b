#include <algorithm>
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include <lorahub/core/truncated_svd.hpp>

using namespace lorahub;

namespace {

/// A weighted sum of `modules` rank-`rank` deltas B A, each magnitude-pruned to half its
/// entries, as a ties_svd or magnitude_prune_svd delta is: full rank, singular values
/// clustered around any k below the modules' total rank.
row_matrix pruned_delta_sum(Eigen::Index rows, Eigen::Index cols, int modules, Eigen::Index rank, std::uint64_t seed) {
    random_source random(seed);
    row_matrix sum = row_matrix::Zero(rows, cols);
    for (int i = 0; i < modules; ++i) {
        row_matrix b(rows, rank), a(rank, cols);
        for (Eigen::Index j = 0; j < b.size(); ++j) b.data()[j] = static_cast<float>(random.normal());
        for (Eigen::Index j = 0; j < a.size(); ++j) a.data()[j] = static_cast<float>(0.02 * random.normal());
        row_matrix delta = b * a;
        std::vector<float> magnitudes(delta.data(), delta.data() + delta.size());
        for (auto& m : magnitudes) m = std::abs(m);
        std::nth_element(magnitudes.begin(), magnitudes.begin() + magnitudes.size() / 2, magnitudes.end());
        const float threshold = magnitudes[magnitudes.size() / 2];
        delta = (delta.array().abs() < threshold).select(0.0f, delta);
        sum += (0.1f + 0.05f * static_cast<float>(i)) * delta;
    }
    return sum;
}

row_matrix gaussian(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
    random_source random(seed);
    row_matrix m(rows, cols);
    for (Eigen::Index j = 0; j < m.size(); ++j) m.data()[j] = static_cast<float>(random.normal());
    return m;
}

/// ||A - us vt||_F^2 against the Eckart-Young optimum, the sum of the trailing s_i^2 (double).
void check_best_rank_k(const row_matrix& a, const truncated_svd& found, std::size_t k) {
    const Eigen::MatrixXd exact = a.cast<double>();
    const Eigen::BDCSVD<Eigen::MatrixXd> svd(exact);
    const auto& s = svd.singularValues();
    const double optimum = s.tail(s.size() - static_cast<Eigen::Index>(k)).squaredNorm();
    const double error = (exact - found.us.cast<double>() * found.vt.cast<double>()).squaredNorm();
    CHECK(error <= optimum + 1e-4 * s.squaredNorm());
    for (Eigen::Index i = 0; i < static_cast<Eigen::Index>(k); ++i) CHECK(found.us.col(i).cast<double>().norm() == Approx(s(i)).epsilon(1e-4).margin(1e-5 * s(0)));
}

}  // namespace

TEST_CASE("the Krylov iteration finds a pruned delta sum's leading triplets despite clustered singular values", "[svd]") {
    for (const std::size_t k : {3, 8, 16}) {
        const row_matrix delta = pruned_delta_sum(520, 480, 20, 8, 11 + k);
        const auto found = leading_triplets(delta, k);
        INFO("k = " << k);
        REQUIRE(found.has_value());
        const Eigen::BDCSVD<row_matrix> svd(delta, Eigen::ComputeThinU | Eigen::ComputeThinV);
        const auto want = static_cast<Eigen::Index>(k);
        const row_matrix exact = svd.matrixU().leftCols(want) * svd.singularValues().head(want).asDiagonal() * svd.matrixV().leftCols(want).transpose();
        const row_matrix mine = found->us * found->vt;
        CHECK((mine - exact).cwiseAbs().maxCoeff() <= 1e-4f * exact.cwiseAbs().maxCoeff());
        check_best_rank_k(delta, *found, k);
    }
}

TEST_CASE("leading_triplets_or_full gives a best rank-k approximation of any matrix", "[svd]") {
    const row_matrix low_rank = gaussian(90, 6, 3) * gaussian(6, 120, 4);  // s_7 on are zero
    for (const auto& [a, k] : std::vector<std::pair<row_matrix, std::size_t>>{
             {gaussian(120, 120, 1), 8}, {gaussian(200, 70, 2), 5}, {gaussian(40, 150, 5), 12}, {low_rank, 4}, {low_rank, 10}, {gaussian(30, 20, 6), 20}}) {
        INFO(a.rows() << " x " << a.cols() << ", k = " << k);
        check_best_rank_k(a, leading_triplets_or_full(a, k), k);
        check_best_rank_k(a, leading_triplets_or_full(a, k, true), k);
    }
}

TEST_CASE("leading_triplets declines matrices too small for three blocks (callers take the full SVD)", "[svd]") {
    CHECK_FALSE(leading_triplets(gaussian(36, 40, 7), 3).has_value());
    CHECK_FALSE(leading_triplets(gaussian(300, 300, 8), 0).has_value());
}
