// Backward (the VJP of forward) against central finite differences of
// L = sum(G * forward(w, mu, Sigma, X)) in double.
#include <functional>

#include "check.hpp"
#include "problems.hpp"

namespace {

using namespace gmmcore_test;

double loss(const Params<double>& p, const RowMatrix<double>& x, const RowMatrix<double>& g) {
  return (g.array() * gmmcore::forward(gmmcore::factorize(p), x).array()).sum();
}

// (L(a + h e) - L(a - h e)) / 2h after `perturb(p, x, step)` applies the step.
double central(const Params<double>& p, const RowMatrix<double>& x, const RowMatrix<double>& g, double h,
               const std::function<void(Params<double>&, RowMatrix<double>&, double)>& perturb) {
  Params<double> pp = p, pm = p;
  RowMatrix<double> xp = x, xm = x;
  perturb(pp, xp, h);
  perturb(pm, xm, -h);
  return (loss(pp, xp, g) - loss(pm, xm, g)) / (2 * h);
}

}  // namespace

GMMCORE_TEST(backward, matches_finite_differences) {
  const Index N = 7, D = 3, K = 3;
  const auto prob = make_problem<double>(N, D, K, 5);
  const Params<double>& p = prob.params;
  const RowMatrix<double>& x = prob.x;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  RowMatrix<double> g(N, K);
  for (Index i = 0; i < N; ++i)
    for (Index k = 0; k < K; ++k) g(i, k) = normal(rng);

  const auto grads = gmmcore::backward(gmmcore::factorize(p), x, g);
  CHECK(grads.weights.size() == K);
  CHECK(grads.means.rows() == K && grads.means.cols() == D);
  CHECK(grads.covariances.rows() == K && grads.covariances.cols() == D * D);
  CHECK(grads.input.rows() == N && grads.input.cols() == D);
  const double h = 1e-6, rtol = 1e-6, atol = 1e-6;

  for (Index k = 0; k < K; ++k) {
    // A relative step keeps sum(w) = 1 within the validation tolerance.
    const double hw = 1e-7 * p.weights(k);
    CHECK_CLOSE(grads.weights(k),
                central(p, x, g, hw, [k](Params<double>& q, RowMatrix<double>&, double s) { q.weights(k) += s; }), rtol,
                atol);
    for (Index d = 0; d < D; ++d)
      CHECK_CLOSE(grads.means(k, d),
                  central(p, x, g, h, [k, d](Params<double>& q, RowMatrix<double>&, double s) { q.means(k, d) += s; }),
                  rtol, atol);
    // Sigma_k only moves along symmetric directions E_ij + E_ji (i < j) and E_ii.
    for (Index i = 0; i < D; ++i)
      for (Index j = i; j < D; ++j) {
        const double fd = central(p, x, g, h, [k, i, j](Params<double>& q, RowMatrix<double>&, double s) {
          q.covariance(k)(i, j) += s;
          if (i != j) q.covariance(k)(j, i) += s;
        });
        const double analytic = i == j ? grads.covariances(k, i * D + i)
                                       : grads.covariances(k, i * D + j) + grads.covariances(k, j * D + i);
        CHECK_CLOSE(analytic, fd, rtol, atol);
        CHECK(grads.covariances(k, i * D + j) == grads.covariances(k, j * D + i));
      }
  }
  for (Index n = 0; n < N; ++n)
    for (Index d = 0; d < D; ++d)
      CHECK_CLOSE(grads.input(n, d),
                  central(p, x, g, h, [n, d](Params<double>&, RowMatrix<double>& y, double s) { y(n, d) += s; }), rtol,
                  atol);
}

GMMCORE_TEST(backward, float32_matches_float64) {
  const auto prob = make_problem<double>(300, 4, 3, 2);
  RowMatrix<double> g = RowMatrix<double>::Ones(300, 3);
  const auto want = gmmcore::backward(gmmcore::factorize(prob.params), prob.x, g);
  Params<float> pf{prob.params.weights.cast<float>(), prob.params.means.cast<float>(),
                   prob.params.covariances.cast<float>()};
  const RowMatrix<float> xf = prob.x.cast<float>(), gf = g.cast<float>();
  const auto got = gmmcore::backward(gmmcore::factorize(pf), xf, gf);
  const double scale = want.covariances.cwiseAbs().maxCoeff();
  for (Index k = 0; k < 3; ++k) {
    CHECK_CLOSE(got.weights(k), want.weights(k), 1e-4, 1e-4 * want.weights.cwiseAbs().maxCoeff());
    for (Index j = 0; j < 16; ++j) CHECK_CLOSE(got.covariances(k, j), want.covariances(k, j), 1e-3, 1e-3 * scale);
  }
}

GMMCORE_TEST(backward, options_leave_out_covariances_and_input) {
  // Leaving a gradient out returns it empty and changes no other output by a bit
  // (the same sums, in the same order, are formed for the outputs that remain).
  const Index N = 700, D = 5, K = 3;
  const auto prob = make_problem<double>(N, D, K, 9);
  const auto f = gmmcore::factorize(prob.params);
  const RowMatrix<double> g = RowMatrix<double>::Constant(N, K, 0.5);
  const auto full = gmmcore::backward(f, prob.x, g);
  for (const bool covariances : {false, true})
    for (const bool input : {false, true}) {
      const auto got = gmmcore::backward(f, prob.x, g, gmmcore::BackwardOptions{covariances, input});
      CHECK(got.weights == full.weights);
      CHECK(got.means == full.means);
      if (covariances)
        CHECK(got.covariances == full.covariances);
      else
        CHECK(got.covariances.rows() == 0);
      if (input)
        CHECK(got.input == full.input);
      else
        CHECK(got.input.rows() == 0);
    }
}

namespace fused_backward {

// The fused VJP of sum_i g_i log p(x_i) equals backward with G_ik = g_i gamma_ik
// formed from expectation(), to rounding.
void check_against_backward(Index N, Index D, Index K) {
  const auto prob = make_problem<double>(N, D, K, 21);
  const auto f = gmmcore::factorize(prob.params);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  Vector<double> g(N);
  for (Index i = 0; i < N; ++i) g(i) = normal(rng);
  const RowMatrix<double> G = g.asDiagonal() * gmmcore::expectation(f, prob.x);
  const auto want = gmmcore::backward(f, prob.x, G);
  const auto got = gmmcore::log_likelihood_backward(f, prob.x, g);
  const auto close = [](const auto& a, const auto& b) {
    CHECK(a.rows() == b.rows() && a.cols() == b.cols());
    const double scale = b.cwiseAbs().maxCoeff();
    for (Index i = 0; i < a.rows(); ++i)
      for (Index j = 0; j < a.cols(); ++j) CHECK_CLOSE(a(i, j), b(i, j), 1e-10, 1e-12 * scale);
  };
  close(got.weights, want.weights);
  close(got.means, want.means);
  close(got.covariances, want.covariances);
  close(got.input, want.input);
  for (const bool covariances : {false, true})
    for (const bool input : {false, true}) {
      const auto part = gmmcore::log_likelihood_backward(f, prob.x, g, gmmcore::BackwardOptions{covariances, input});
      CHECK(part.weights == got.weights && part.means == got.means);
      CHECK(covariances ? part.covariances == got.covariances : part.covariances.rows() == 0);
      CHECK(input ? part.input == got.input : part.input.rows() == 0);
    }
}

}  // namespace fused_backward

GMMCORE_TEST(backward, log_likelihood_backward_is_backward_of_g_times_responsibilities) {
  // D = 13 and 300 rows cross tile and block edges; K = 40 components of D = 128 are past
  // kWhitenedBlockBytes, so each component is whitened again for its sums.
  CHECK(gmmcore::detail::keep_whitened_block<double>(4, 13));
  fused_backward::check_against_backward(300, 13, 4);
  CHECK(!gmmcore::detail::keep_whitened_block<double>(40, 128));
  fused_backward::check_against_backward(300, 128, 40);
}

GMMCORE_TEST(backward, log_likelihood_backward_matches_finite_differences) {
  const Index N = 9, D = 3, K = 2;
  const auto prob = make_problem<double>(N, D, K, 8);
  Vector<double> g(N);
  for (Index i = 0; i < N; ++i) g(i) = 0.5 + 0.25 * double(i % 3) - 0.6 * double(i == 4);
  const auto loss = [&](const Params<double>& p, const RowMatrix<double>& x) {
    return g.dot(gmmcore::log_likelihood(gmmcore::factorize(p), x));
  };
  const auto grads = gmmcore::log_likelihood_backward(gmmcore::factorize(prob.params), prob.x, g);
  const double h = 1e-6, tol = 1e-6;
  const auto fd = [&](const std::function<void(Params<double>&, RowMatrix<double>&, double)>& perturb) {
    Params<double> pp = prob.params, pm = prob.params;
    RowMatrix<double> xp = prob.x, xm = prob.x;
    perturb(pp, xp, h);
    perturb(pm, xm, -h);
    return (loss(pp, xp) - loss(pm, xm)) / (2 * h);
  };
  for (Index k = 0; k < K; ++k) {
    for (Index d = 0; d < D; ++d)
      CHECK_CLOSE(grads.means(k, d),
                  fd([k, d](Params<double>& q, RowMatrix<double>&, double s) { q.means(k, d) += s; }), tol, tol);
    for (Index i = 0; i < D; ++i)
      for (Index j = i; j < D; ++j) {
        const double numeric = fd([k, i, j](Params<double>& q, RowMatrix<double>&, double s) {
          q.covariance(k)(i, j) += s;
          if (i != j) q.covariance(k)(j, i) += s;
        });
        const double analytic = i == j ? grads.covariances(k, i * D + i) : 2 * grads.covariances(k, i * D + j);
        CHECK_CLOSE(analytic, numeric, tol, tol);
      }
  }
  for (Index n = 0; n < N; ++n)
    for (Index d = 0; d < D; ++d)
      CHECK_CLOSE(grads.input(n, d), fd([n, d](Params<double>&, RowMatrix<double>& y, double s) { y(n, d) += s; }), tol,
                  tol);
  // The weight gradient is sum_i g_i gamma_ik / w_k: its finite difference needs sum(w) = 1 kept, so it is
  // checked through the identity sum_k w_k dL/dw_k = sum_i g_i.
  CHECK_CLOSE(grads.weights.dot(prob.params.weights), g.sum(), 1e-12, 1e-12);
}
