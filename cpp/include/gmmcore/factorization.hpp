#pragma once
// The Cholesky-factored form of the parameters that every kernel works on.
#include <Eigen/Cholesky>
#include <cmath>
#include <sstream>
#include <vector>

#include "gmmcore/errors.hpp"
#include "gmmcore/micro_kernels.hpp"
#include "gmmcore/mixture.hpp"
#include "gmmcore/params.hpp"

namespace gmmcore {

// With Sigma_k = L_k L_k^T:
//   precision_cholesky[k] = P_k = L_k^{-T} (upper triangular), so that the row
//     z^T = (x - mu_k)^T P_k satisfies |z|^2 = (x - mu_k)^T Sigma_k^{-1} (x - mu_k);
//   log_norm(k) = log w_k - 1/2 (log det Sigma_k + D log 2 pi)  (-inf when w_k = 0).
// Diagonal (and spherical) covariances instead keep diagonal_precisions
// (K, D) = 1 / diag(Sigma_k) and leave precision_cholesky empty: their kernels
// cost O(N K D), not O(N K D^2).
//
// For the micro-kernels (micro_kernels.hpp) the upper triangles of the P_k are
// also stored as `factors`: K blocks of D rows, each of factor_columns(D)
// columns, zero below the diagonal and beyond column D.
template <class T>
struct FactoredParams {
  Vector<T> weights;
  RowMatrix<T> means;
  std::vector<Square<T>> precision_cholesky;
  RowMatrix<T> diagonal_precisions;
  Vector<T> log_norm;
  RowMatrix<T> factors;

  Index n_components() const { return means.rows(); }
  Index n_features() const { return means.cols(); }
  bool diagonal() const { return precision_cholesky.empty(); }
};

namespace detail {
constexpr double kLog2Pi = 1.8378770664093454835606594728112;

// P = L^{-T} for Sigma = L L^T (lower triangle of sigma read); false when
// Sigma is not positive definite.
template <class T, class Out>
bool precision_cholesky_of(const Square<T>& sigma, Out&& p) {
  Eigen::LLT<Square<T>, Eigen::Lower> llt(sigma);
  const auto diag = llt.matrixLLT().diagonal();
  if (llt.info() != Eigen::Success || !(diag.array() > T(0)).all() || !diag.allFinite()) return false;
  Square<T> inv_l = Square<T>::Identity(sigma.rows(), sigma.cols());
  llt.matrixL().solveInPlace(inv_l);
  p = inv_l.transpose();
  return true;
}

// Checks that the arrays of f agree with means (K, D): a FactoredParams made
// by hand, not by factorize, must not send a kernel past an array's end.
template <class T>
void check_factored(const FactoredParams<T>& f) {
  const Index K = f.n_components(), D = f.n_features();
  if (K < 1 || D < 1) invalid_shape("FactoredParams.means", K, D, K < 1 ? 1 : K, D < 1 ? 1 : D, " (K >= 1, D >= 1)");
  require_length(f.weights, "FactoredParams.weights", K);
  require_length(f.log_norm, "FactoredParams.log_norm", K);
  if (f.diagonal()) {
    require_shape(f.diagonal_precisions, "FactoredParams.diagonal_precisions", K, D);
    return;
  }
  if (static_cast<Index>(f.precision_cholesky.size()) != K)
    invalid_shape("FactoredParams.precision_cholesky", static_cast<Index>(f.precision_cholesky.size()), D * D, K,
                  D * D);
  for (const auto& p : f.precision_cholesky) require_shape(p, "FactoredParams.precision_cholesky[k]", D, D);
  require_shape(f.factors, "FactoredParams.factors", K * D, factor_columns(D), " (call pack_factors)");
}

// Fills f.factors from f.precision_cholesky (see FactoredParams).
template <class T>
void pack_factors(FactoredParams<T>& f) {
  if (f.diagonal()) return;
  const Index K = f.n_components(), D = f.n_features();
  f.factors = RowMatrix<T>::Zero(K * D, factor_columns(D));
  for (Index k = 0; k < K; ++k)
    f.factors.block(k * D, 0, D, D).template triangularView<Eigen::Upper>() =
        f.precision_cholesky[static_cast<size_t>(k)].template triangularView<Eigen::Upper>();
}
}  // namespace detail

// Fills m.precisions_cholesky from m.covariances; IllDefinedCovarianceError
// when a covariance is not positive definite.
template <class T>
void compute_precisions_cholesky(Mixture<T>& m) {
  const Index D = m.n_features();
  // Not check_covariance_array: a non-finite M-step result is an ill-defined covariance, below.
  const auto [rows, cols] = covariance_shape(m.covariance_type, m.n_components(), D);
  detail::require_shape(m.covariances, "covariances", rows, cols,
                        detail::mixture_context(m.covariance_type, m.n_components(), D));
  m.precisions_cholesky.resizeLike(m.covariances);
  if (is_diagonal(m.covariance_type)) {
    for (Index k = 0; k < m.covariances.rows(); ++k)
      if (!(m.covariances.row(k).array() > T(0)).all()) throw IllDefinedCovarianceError(k, sizeof(T) == 4);
    m.precisions_cholesky = m.covariances.array().rsqrt();
    return;
  }
  for (Index k = 0; k < m.covariances.rows(); ++k) {
    const Square<T> sigma = Eigen::Map<const RowMatrix<T>>(m.covariances.row(k).data(), D, D);
    Eigen::Map<RowMatrix<T>> p(m.precisions_cholesky.row(k).data(), D, D);
    if (!detail::precision_cholesky_of<T>(sigma, p)) throw IllDefinedCovarianceError(k, sizeof(T) == 4);
  }
}

namespace detail {
// factorize(m) without check_mixture, for the mixtures fit_mixture makes
// itself (right by construction) once per iteration. With log_weights (K),
// log_norm takes them in place of log w_k (the variational E-step's offsets,
// docs/math.md#math-variational).
template <class T>
FactoredParams<T> factorize_unchecked(const Mixture<T>& m, const Vector<T>* log_weights = nullptr) {
  const Index K = m.n_components(), D = m.n_features();
  FactoredParams<T> f;
  f.weights = m.weights;
  f.means = m.means;
  f.log_norm.resize(K);
  const auto& pc = m.precisions_cholesky;
  for (Index k = 0; k < K; ++k) {
    T log_det_p = 0;
    switch (m.covariance_type) {
      case CovarianceType::full:
      case CovarianceType::tied: {
        const Index row = m.covariance_type == CovarianceType::full ? k : 0;
        f.precision_cholesky.push_back(Eigen::Map<const RowMatrix<T>>(pc.row(row).data(), D, D));
        log_det_p = f.precision_cholesky.back().diagonal().array().log().sum();
        break;
      }
      case CovarianceType::diag: log_det_p = pc.row(k).array().log().sum(); break;
      case CovarianceType::spherical: log_det_p = T(D) * std::log(pc(k, 0)); break;
    }
    f.log_norm(k) = (log_weights ? (*log_weights)(k) : std::log(m.weights(k))) - T(0.5 * D * kLog2Pi) + log_det_p;
  }
  if (is_diagonal(m.covariance_type)) {
    f.diagonal_precisions = m.covariance_type == CovarianceType::diag
                                ? RowMatrix<T>(pc.array().square())
                                : RowMatrix<T>(pc.array().square().matrix().replicate(1, D));
  }
  pack_factors(f);
  return f;
}
}  // namespace detail

// The evaluation form of m used by every kernel (see FactoredParams):
// log_norm(k) = log w_k - D/2 log 2 pi + log det P_k, after check_mixture(m).
template <class T>
FactoredParams<T> factorize(const Mixture<T>& m) {
  check_mixture(m);
  return detail::factorize_unchecked(m);
}

// The full-covariance Mixture of the spec's parameters p, the one model type
// every computation works on: validates p (check_params), checks each Sigma_k
// for symmetry (max |Sigma - Sigma^T| <= validation_rtol * max |Sigma|, else
// std::invalid_argument) and factorises its lower triangle (not positive
// definite: NotPositiveDefiniteError naming k).
template <class T>
Mixture<T> mixture_of(const Params<T>& p) {
  check_params(p);
  const Index K = p.n_components(), D = p.n_features();
  Mixture<T> m;
  m.covariance_type = CovarianceType::full;
  m.weights = p.weights;
  m.means = p.means;
  m.covariances = p.covariances;
  m.precisions_cholesky.resize(K, D * D);
  for (Index k = 0; k < K; ++k) {
    const Square<T> sigma = p.covariance(k);
    const T scale = sigma.cwiseAbs().maxCoeff();
    if ((sigma - sigma.transpose()).cwiseAbs().maxCoeff() > validation_rtol<T>() * scale) {
      std::ostringstream msg;
      msg << "covariances[" << k << "] is not symmetric";
      throw std::invalid_argument(msg.str());
    }
    Eigen::Map<RowMatrix<T>> pk(m.precisions_cholesky.row(k).data(), D, D);
    if (!detail::precision_cholesky_of<T>(sigma, pk)) {
      std::ostringstream msg;
      msg << "covariances[" << k << "] is not positive definite";
      throw NotPositiveDefiniteError(k, msg.str());
    }
  }
  return m;
}

// factorize(mixture_of(p)).
template <class T>
FactoredParams<T> factorize(const Params<T>& p) {
  return detail::factorize_unchecked(mixture_of(p));
}

}  // namespace gmmcore
