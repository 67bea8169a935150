// logsumexp (docs/math.md#math-logsumexp) and the row softmax: edge cases.
#include <algorithm>
#include <cmath>
#include <limits>

#include "check.hpp"
#include "problems.hpp"

namespace {

using gmmcore::Index;
using gmmcore::logsumexp;
using gmmcore_test::kInf;
using gmmcore_test::kNaN;

Eigen::ArrayXd values(std::initializer_list<double> v) {
  Eigen::ArrayXd a(static_cast<Index>(v.size()));
  Index i = 0;
  for (double x : v) a(i++) = x;
  return a;
}

}  // namespace

GMMCORE_TEST(logsumexp, ordinary_values) {
  CHECK_CLOSE(logsumexp(values({0.0, 0.0})), std::log(2.0), 1e-15, 0);
  CHECK_CLOSE(logsumexp(values({1.0, 2.0, 3.0})), std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)), 1e-15, 0);
  CHECK(logsumexp(values({-3.5})) == -3.5);
}

GMMCORE_TEST(logsumexp, no_overflow_or_underflow) {
  CHECK_CLOSE(logsumexp(values({1000.0, 1000.0})), 1000.0 + std::log(2.0), 1e-15, 0);
  CHECK_CLOSE(logsumexp(values({-1000.0, -1000.0})), -1000.0 + std::log(2.0), 1e-15, 0);
  CHECK_CLOSE(logsumexp(values({1e308, 1e308})), 1e308, 1e-15, 0);
  CHECK(std::isfinite(logsumexp(values({1e308, 1e308}))));
}

GMMCORE_TEST(logsumexp, infinities_and_nan) {
  CHECK(logsumexp(Eigen::ArrayXd(0)) == -kInf);
  CHECK(logsumexp(values({-kInf, -kInf})) == -kInf);
  CHECK(logsumexp(values({-kInf, 2.0})) == 2.0);
  CHECK(logsumexp(values({-kInf, kInf})) == kInf);
  CHECK(logsumexp(values({1.0, kInf})) == kInf);
  CHECK(std::isnan(logsumexp(values({1.0, kNaN}))));
  CHECK(std::isnan(logsumexp(values({kInf, kNaN}))));
  CHECK(std::isnan(logsumexp(values({-kInf, kNaN}))));
}

GMMCORE_TEST(logsumexp, float32) {
  Eigen::ArrayXf a(2);
  a << 80.0f, 80.0f;  // exp(80) overflows float
  CHECK_CLOSE(logsumexp(a), 80.0 + std::log(2.0), 1e-6, 0);
  a << -std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity();
  CHECK(logsumexp(a) == -std::numeric_limits<float>::infinity());
}

GMMCORE_TEST(logsumexp, rows_match_scalar_version) {
  gmmcore::RowMatrix<double> a(5, 3);
  a << 0, 0, 0,  //
      1000, 1000, -kInf,  //
      -kInf, -kInf, -kInf,  //
      1, kInf, 2,  //
      1, kNaN, 2;
  const gmmcore::Vector<double> out = gmmcore::logsumexp_rows<double>(a);
  CHECK(out.size() == 5);
  CHECK_CLOSE(out(0), std::log(3.0), 1e-15, 0);
  CHECK_CLOSE(out(1), 1000.0 + std::log(2.0), 1e-15, 0);
  CHECK(out(2) == -kInf);
  CHECK(out(3) == kInf);
  CHECK(std::isnan(out(4)));
}

GMMCORE_TEST(logsumexp, softmax_rows_sum_to_one_and_all_minus_inf_row_is_uniform) {
  gmmcore::ColMatrix<double> y(3, 4);
  y << 0, 1, 2, 3,  //
      -kInf, -kInf, -kInf, -kInf,  //
      -1e6, -1e6 + 1, -kInf, -1e6;
  gmmcore::Vector<double> lse(3);
  gmmcore::detail::softmax_cols_inplace<double>(y, lse);
  // exp(y - lse) inherits lse's rounding error, about eps |lse| (1e-10 for row 2).
  for (Index i = 0; i < 3; ++i) CHECK_CLOSE(y.row(i).sum(), 1.0, 1e-14 * std::max(1.0, std::abs(lse(i))), 0);
  CHECK(lse(1) == -kInf);
  CHECK((y.row(1).array() == 0.25).all());
  CHECK(y(2, 2) == 0.0);  // exp(-inf) is exactly 0, not the clamped denormal
  CHECK_CLOSE(y(0, 3) / y(0, 2), std::exp(1.0), 1e-14, 0);
}
