#pragma once
// The Cholesky-factored form of the parameters that every kernel works on.
#include <Eigen/Cholesky>
#include <cmath>
#include <sstream>
#include <vector>

#include "gmmcore/errors.hpp"
#include "gmmcore/micro_kernels.hpp"
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
    invalid_shape("FactoredParams.precision_cholesky", static_cast<Index>(f.precision_cholesky.size()), D * D, K, D * D);
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

// Validates p (check_params), checks each Sigma_k for symmetry
// (max |Sigma - Sigma^T| <= validation_rtol * max |Sigma|, else
// std::invalid_argument) and factorises its lower triangle (not positive
// definite: NotPositiveDefiniteError naming k).
template <class T>
FactoredParams<T> factorize(const Params<T>& p) {
  check_params(p);
  const Index K = p.n_components(), D = p.n_features();
  FactoredParams<T> f;
  f.weights = p.weights;
  f.means = p.means;
  f.precision_cholesky.resize(K);
  f.log_norm.resize(K);
  for (Index k = 0; k < K; ++k) {
    const Square<T> sigma = p.covariance(k);
    const T scale = sigma.cwiseAbs().maxCoeff();
    if ((sigma - sigma.transpose()).cwiseAbs().maxCoeff() > validation_rtol<T>() * scale) {
      std::ostringstream msg;
      msg << "covariances[" << k << "] is not symmetric";
      throw std::invalid_argument(msg.str());
    }
    Square<T>& pk = f.precision_cholesky[static_cast<size_t>(k)];
    if (!detail::precision_cholesky_of<T>(sigma, pk)) {
      std::ostringstream msg;
      msg << "covariances[" << k << "] is not positive definite";
      throw NotPositiveDefiniteError(k, msg.str());
    }
    // log det Sigma = -2 log det P, as for the estimator's mixtures (mixture.hpp).
    const T log_det = T(-2) * pk.diagonal().array().log().sum();
    f.log_norm(k) = std::log(p.weights(k)) - T(0.5) * (log_det + T(D * detail::kLog2Pi));
  }
  detail::pack_factors(f);
  return f;
}

}  // namespace gmmcore
