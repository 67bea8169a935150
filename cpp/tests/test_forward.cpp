// Forward, responsibilities and log-likelihoods against the textbook formula
//   y_k(x) = log w_k - 1/2 ((x - mu_k)^T Sigma_k^{-1} (x - mu_k) + log det Sigma_k + D log 2 pi)
// computed directly (LU inverse and determinant) in double.
#include <Eigen/LU>
#include <cmath>

#include "check.hpp"
#include "problems.hpp"

namespace {

using namespace gmmcore_test;

// Y (N, K) by the direct formula, in double whatever T is.
template <class T>
RowMatrix<double> direct_forward(const Params<T>& p, const RowMatrix<T>& x) {
  const Index K = p.n_components(), D = p.n_features();
  RowMatrix<double> y(x.rows(), K);
  for (Index k = 0; k < K; ++k) {
    const Square<double> sigma = p.covariance(k).template cast<double>();
    const Square<double> inv = sigma.inverse();
    const double log_det = std::log(sigma.determinant());
    for (Index i = 0; i < x.rows(); ++i) {
      const Vector<double> d = (x.row(i) - p.means.row(k)).transpose().template cast<double>();
      y(i, k) = std::log(double(p.weights(k))) -
                0.5 * (d.dot(inv * d) + log_det + double(D) * std::log(2 * 3.14159265358979323846));
    }
  }
  return y;
}

template <class T>
void check_against_direct_formula(double rtol) {
  for (unsigned seed = 0; seed < 3; ++seed) {
    const auto prob = make_problem<T>(40, 3, 4, seed);
    const auto f = gmmcore::factorize(prob.params);
    const RowMatrix<T> y = gmmcore::forward(f, prob.x);
    const RowMatrix<double> want = direct_forward(prob.params, prob.x);
    CHECK(y.rows() == 40 && y.cols() == 4);
    const double scale = want.cwiseAbs().maxCoeff();
    for (Index i = 0; i < y.rows(); ++i)
      for (Index k = 0; k < y.cols(); ++k) CHECK_CLOSE(y(i, k), want(i, k), rtol, rtol * scale);

    // log p(x) = lse_k y_k, responsibilities = softmax, NLL = -sum log p.
    const Vector<T> ll = gmmcore::log_likelihood(f, prob.x);
    const RowMatrix<T> r = gmmcore::expectation(f, prob.x);
    double nll = 0;
    for (Index i = 0; i < y.rows(); ++i) {
      const double lse = gmmcore::logsumexp(want.row(i));
      nll -= lse;
      CHECK_CLOSE(ll(i), lse, rtol, rtol * scale);
      CHECK_CLOSE(r.row(i).template cast<double>().sum(), 1.0, rtol, 0);
      for (Index k = 0; k < y.cols(); ++k) CHECK_CLOSE(r(i, k), std::exp(want(i, k) - lse), rtol, rtol);
    }
    CHECK_CLOSE(gmmcore::negative_log_likelihood(f, prob.x), nll, rtol, 0);
  }
}

}  // namespace

GMMCORE_TEST(forward, matches_direct_formula_float64) { check_against_direct_formula<double>(1e-12); }

GMMCORE_TEST(forward, matches_direct_formula_float32) { check_against_direct_formula<float>(2e-5); }

GMMCORE_TEST(forward, one_dimensional_closed_form) {
  // One component, N(x | 1, 4) at x = 3: log w - 1/2 ((3-1)^2/4 + log 4 + log 2 pi).
  Params<double> p = gmmcore::init_params<double>(2, 1);
  p.means << 1.0, 0.0;
  p.covariances << 4.0, 1.0;
  p.weights << 0.25, 0.75;
  RowMatrix<double> x(1, 1);
  x << 3.0;
  const RowMatrix<double> y = gmmcore::forward(gmmcore::factorize(p), x);
  CHECK_CLOSE(y(0, 0), std::log(0.25) - 0.5 * (1.0 + std::log(4.0) + std::log(2 * 3.14159265358979323846)), 1e-15, 0);
  CHECK_CLOSE(y(0, 1), std::log(0.75) - 0.5 * (9.0 + std::log(2 * 3.14159265358979323846)), 1e-15, 0);
}

GMMCORE_TEST(forward, empty_input) {
  const auto prob = make_problem<double>(1, 2, 3);
  const auto f = gmmcore::factorize(prob.params);
  const RowMatrix<double> x(0, 2);
  CHECK(gmmcore::forward(f, x).rows() == 0);
  CHECK(gmmcore::forward(f, x).cols() == 3);
  CHECK(gmmcore::log_likelihood(f, x).size() == 0);
  CHECK(gmmcore::negative_log_likelihood(f, x) == 0.0);
}

GMMCORE_TEST(forward, zero_weight_component_is_minus_infinity) {
  auto prob = make_problem<double>(10, 2, 3);
  prob.params.weights << 0.5, 0.0, 0.5;
  const RowMatrix<double> y = gmmcore::forward(gmmcore::factorize(prob.params), prob.x);
  CHECK((y.col(1).array() == -std::numeric_limits<double>::infinity()).all());
  CHECK(y.col(0).allFinite() && y.col(2).allFinite());
}

namespace {

// Responsibilities at the edges (docs/math.md#math-responsibilities): a zero-weight component gets exactly
// 0, a sample whose every log-probability is -inf (its quadratic form
// overflows) gets 1/K, and rows sum to 1. K = 16 makes rows long enough for
// Eigen's vectorised exp at every ISA level.
template <class T>
void check_responsibility_edges(T huge) {
  auto prob = make_problem<T>(300, 2, 16, 4);
  prob.params.weights(3) += prob.params.weights(5);
  prob.params.weights(5) = 0;
  prob.x(7, 0) = huge;
  const RowMatrix<T> r = gmmcore::expectation(gmmcore::factorize(prob.params), prob.x);
  for (Index i = 0; i < r.rows(); ++i) {
    CHECK_CLOSE(r.row(i).template cast<double>().sum(), 1.0, 1e-5, 0);
    CHECK(r(i, 5) == T(0) || i == 7);
  }
  CHECK((r.row(7).array() == T(1) / T(16)).all());
  const gmmcore::Vector<T> ll = gmmcore::log_likelihood(gmmcore::factorize(prob.params), prob.x);
  CHECK(ll(7) == -std::numeric_limits<T>::infinity());
}

}  // namespace

GMMCORE_TEST(forward, responsibility_edge_cases_float64) { check_responsibility_edges<double>(1e200); }

GMMCORE_TEST(forward, responsibility_edge_cases_float32) { check_responsibility_edges<float>(1e30f); }
