#pragma once
// EM (MATH.md "One EM step"): one pass over X per step accumulates the
// sufficient statistics N_k, s_k, S_k around c_k = mu_k (sufficient_statistics.hpp).
// The M-step then sets, for N_k > tiny = 10 eps N,
//   w'_k = N_k / N,  mu'_k = c_k + s_k / N_k,
//   Sigma'_k = S_k / N_k - (s_k / N_k)(s_k / N_k)^T + jitter I,
// keeps the old parameters of the other components, and renormalises w'.
#include <cmath>
#include <limits>
#include <vector>

#include "gmmcore/sufficient_statistics.hpp"

namespace gmmcore {

template <class T>
struct EMStepResult {
  Params<T> params;       // parameters after the step
  double log_likelihood;  // sum_i log p(x_i) under the parameters before the step
};

namespace detail {

template <class T>
Params<T> m_step(const Params<T>& old, const SufficientStats<T>& sums, Index n_samples, T jitter) {
  const Index K = old.n_components();
  const T tiny = T(10) * std::numeric_limits<T>::epsilon() * T(n_samples);
  Params<T> p = old;
  for (Index k = 0; k < K; ++k) {
    const T nk = sums.n(k);
    if (!(nk > tiny)) continue;
    p.weights(k) = nk / T(n_samples);
    const Vector<T> delta = sums.s.row(k).transpose() / nk;
    p.means.row(k) += delta.transpose();
    Square<T> cov = sums.ss[static_cast<size_t>(k)] / nk;
    cov.template triangularView<Eigen::Lower>() -= delta * delta.transpose();
    cov.diagonal().array() += jitter;
    cov.template triangularView<Eigen::StrictlyUpper>() = cov.transpose();
    p.covariance(k) = cov;
  }
  if (!p.means.allFinite() || !p.covariances.allFinite())
    throw std::invalid_argument(
        "the EM step produced non-finite means or covariances: the squared deviations of X overflow the working "
        "dtype; rescale X");
  const T total = p.weights.sum();
  if (total > T(0))
    p.weights /= total;
  else
    p.weights.setConstant(T(1) / T(K));
  return p;
}

inline void check_jitter(double jitter) {
  if (!(std::isfinite(jitter) && jitter >= 0))
    throw std::invalid_argument("jitter must be a finite non-negative number");
}

}  // namespace detail

// One EM step on X (N, D) with covariance jitter eps >= 0. N = 0 returns p
// unchanged (log_likelihood 0).
template <class T>
EMStepResult<T> em_step(const Params<T>& p, const ConstMatrixRef<T>& x, T jitter) {
  detail::check_jitter(jitter);
  const FactoredParams<T> f = factorize(p);
  detail::check_n_features(x.cols(), f.n_features(), "X");
  if (x.rows() == 0) return {p, 0.0};
  const detail::SufficientStats<T> sums = detail::e_step_stats(f, x, Vector<T>());
  return {detail::m_step(p, sums, x.rows(), jitter), sums.log_likelihood};
}

// `epochs` EM steps (spec gmm_em_train); epochs = 0 returns p.
template <class T>
Params<T> em_train(const Params<T>& p, const ConstMatrixRef<T>& x, Index epochs, T jitter) {
  if (epochs < 0) throw std::invalid_argument("epochs must be non-negative");
  detail::check_jitter(jitter);
  factorize(p);
  detail::check_n_features(x.cols(), p.n_features(), "X");
  Params<T> current = p;
  for (Index e = 0; e < epochs; ++e) {
    detail::check_interrupt();
    current = em_step(current, x, jitter).params;
  }
  return current;
}

}  // namespace gmmcore
