#pragma once
// EM (MATH.md "One EM step"): one pass over X per step. Each block computes the
// component log-probs, the responsibilities r_ik and accumulates, around the
// shift c_k = mu_k (the current mean, so large offsets in X do not cancel):
//   N_k = sum_i r_ik,  s_k = sum_i r_ik (x_i - c_k),  S_k = sum_i r_ik (x_i - c_k)(x_i - c_k)^T.
// The M-step then sets, for N_k > tiny = 10 eps N,
//   w'_k = N_k / N,  mu'_k = c_k + s_k / N_k,
//   Sigma'_k = S_k / N_k - (s_k / N_k)(s_k / N_k)^T + jitter I,
// keeps the old parameters of the other components, and renormalises w'.
#include <cmath>
#include <limits>
#include <vector>

#include "gmmcore/forward.hpp"
#include "gmmcore/logsumexp.hpp"

namespace gmmcore {

template <class T>
struct EMStepResult {
  Params<T> params;       // parameters after the step
  double log_likelihood;  // sum_i log p(x_i) under the parameters before the step
};

namespace detail {

template <class T>
struct EMSums {
  Vector<T> n;                  // N_k
  RowMatrix<T> s;               // s_k (K, D)
  std::vector<Square<T>> ss;    // S_k, lower triangle only
  double log_likelihood = 0;

  EMSums() = default;
  EMSums(Index K, Index D) : n(Vector<T>::Zero(K)), s(RowMatrix<T>::Zero(K, D)), ss(K, Square<T>::Zero(D, D)) {}
  EMSums& operator+=(const EMSums& o) {
    n += o.n;
    s += o.s;
    for (size_t k = 0; k < ss.size(); ++k) ss[k].template triangularView<Eigen::Lower>() += o.ss[k];
    log_likelihood += o.log_likelihood;
    return *this;
  }
};

// E-step and sufficient statistics over X in one deterministic pass.
template <class T>
EMSums<T> em_sums(const FactoredParams<T>& f, const ConstMatrixRef<T>& x) {
  const Index K = f.n_components(), D = f.n_features();
  const Index partial_bytes = Index(sizeof(T)) * K * (1 + D + D * D);
  return reduce_blocks<EMSums<T>>(
      x.rows(), partial_bytes, [&] { return EMSums<T>(K, D); },
      [&](EMSums<T>& acc, RowRange r) {
        const auto xb = x.middleRows(r.begin, r.size());
        check_block_finite(xb, r.begin, "X");
        BlockWorkspace<T> ws;
        ws.resize(r.size(), D, K);
        component_log_probs_block(f, xb, ws.y, ws);
        softmax_rows_inplace<T>(ws.y, ws.lse);
        acc.log_likelihood += ws.lse.template cast<double>().sum();
        for (Index k = 0; k < K; ++k) {
          const auto resp = ws.y.col(k);
          ws.diff.noalias() = xb.rowwise() - f.means.row(k);
          acc.n(k) += resp.sum();
          acc.s.row(k).noalias() += resp.transpose() * ws.diff;
          // sqrt(r) d rows make S_k += sum_i r_i d_i d_i^T a symmetric rank update.
          ws.z.noalias() = resp.cwiseSqrt().asDiagonal() * ws.diff;
          acc.ss[static_cast<size_t>(k)].template selfadjointView<Eigen::Lower>().rankUpdate(ws.z.transpose());
        }
      });
}

template <class T>
Params<T> m_step(const Params<T>& old, const EMSums<T>& sums, Index n_samples, T jitter) {
  const Index K = old.n_components(), D = old.n_features();
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
  const detail::EMSums<T> sums = detail::em_sums(f, x);
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
  for (Index e = 0; e < epochs; ++e) current = em_step(current, x, jitter).params;
  return current;
}

}  // namespace gmmcore
