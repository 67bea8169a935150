#pragma once
// EM (docs/math.md#math-em): one pass over X per step accumulates the
// sufficient statistics N_k, s_k, S_k around c_k = mu_k
// (statistics.hpp); the M-step (m_step.hpp, the estimator's too)
// then applies the spec's rule: for N_k > 10 eps N,
//   w'_k = N_k / N,  mu'_k = c_k + s_k / N_k,
//   Sigma'_k = sum_i r_ik (x_i - mu'_k)(x_i - mu'_k)^T / N_k + jitter I,
// the other components keep their parameters, and w' is renormalised.
#include "gmmcore/m_step.hpp"
#include "gmmcore/sufficient_statistics.hpp"

namespace gmmcore {

template <class T>
struct EMStepResult {
  Params<T> params;       // parameters after the step
  double log_likelihood;  // sum_i log p(x_i) under the parameters before the step
};

namespace detail {

inline void check_jitter(double jitter) {
  if (!(std::isfinite(jitter) && jitter >= 0))
    throw std::invalid_argument("jitter must be a finite non-negative number");
}

// One step from the checked mixture m of the spec's parameters.
template <class T>
EMStepResult<T> em_step_of(const Mixture<T>& m, const ConstMatrixRef<T>& x, T jitter) {
  const Index N = x.rows();
  if (N == 0) return {{m.weights, m.means, m.covariances}, 0.0};
  const Statistics<T> sums = e_step_stats(factorize_unchecked(m), m.covariance_type, x, Vector<T>());
  Mixture<T> next = m_step(sums, m, SmallComponents::kept, jitter, T(N));
  if (!next.means.allFinite() || !next.covariances.allFinite())
    throw std::invalid_argument(
        "the EM step produced non-finite means or covariances: the squared deviations of X overflow the working "
        "dtype; rescale X");
  return {{std::move(next.weights), std::move(next.means), std::move(next.covariances)}, sums.log_likelihood};
}

}  // namespace detail

// One EM step on X (N, D) with covariance jitter eps >= 0. N = 0 returns p
// unchanged (log_likelihood 0).
template <class T>
EMStepResult<T> em_step(const Params<T>& p, const ConstMatrixRef<T>& x, T jitter) {
  detail::check_jitter(jitter);
  const Mixture<T> m = mixture_of(p);
  detail::check_n_features(x.cols(), m.n_features(), "X");
  return detail::em_step_of(m, x, jitter);
}

// `epochs` EM steps (spec gmm_em_train); epochs = 0 returns p.
template <class T>
Params<T> em_train(const Params<T>& p, const ConstMatrixRef<T>& x, Index epochs, T jitter) {
  if (epochs < 0) throw std::invalid_argument("epochs must be non-negative");
  detail::check_jitter(jitter);
  Mixture<T> m = mixture_of(p);
  detail::check_n_features(x.cols(), m.n_features(), "X");
  Params<T> current = p;
  for (Index e = 0; e < epochs; ++e) {
    detail::check_interrupt();
    // Each step's parameters are checked and factorised once, as em_step's
    // input; the last step's result is returned unfactorised, as em_step's.
    if (e > 0) m = mixture_of(current);
    current = detail::em_step_of(m, x, jitter).params;
  }
  return current;
}

}  // namespace gmmcore
