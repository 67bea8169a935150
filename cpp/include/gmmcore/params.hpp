#pragma once
// GMM parameters (w, mu, Sigma) and their validation.
#include <sstream>
#include <stdexcept>
#include <string>

#include "gmmcore/checks.hpp"

namespace gmmcore {

// w (K), mu (K, D) and Sigma stored as (K, D*D): row k is Sigma_k in row-major
// order, which is exactly the memory of a C-contiguous (K, D, D) array.
template <class T>
struct Params {
  Vector<T> weights;
  RowMatrix<T> means;
  RowMatrix<T> covariances;

  Index n_components() const { return weights.size(); }
  Index n_features() const { return means.cols(); }
  // Sigma_k as a D x D matrix view.
  Eigen::Map<const RowMatrix<T>> covariance(Index k) const {
    return {covariances.row(k).data(), n_features(), n_features()};
  }
  Eigen::Map<RowMatrix<T>> covariance(Index k) { return {covariances.row(k).data(), n_features(), n_features()}; }
};

// The default initialisation (docs/math.md#math-parameters): w_k = 1/K, mu_k = 0, Sigma_k = I.
template <class T>
Params<T> init_params(Index n_components, Index n_features) {
  if (n_components < 1) throw std::invalid_argument("n_components must be at least 1");
  if (n_features < 1) throw std::invalid_argument("n_features must be at least 1");
  Params<T> p;
  p.weights = Vector<T>::Constant(n_components, T(1) / T(n_components));
  p.means = RowMatrix<T>::Zero(n_components, n_features);
  p.covariances = RowMatrix<T>::Zero(n_components, n_features * n_features);
  for (Index k = 0; k < n_components; ++k) p.covariance(k).setIdentity();
  return p;
}

// Checks shapes (K >= 1, D >= 1, consistent), finiteness, w_k >= 0 and
// sum_k w_k = 1 within validation_rtol. Symmetry and positive definiteness of
// Sigma_k are checked by factorize(). Throws std::invalid_argument.
template <class T>
void check_params(const Params<T>& p) {
  const Index K = p.weights.size(), D = p.means.cols();
  if (K < 1) throw std::invalid_argument("a GMM needs at least one component (weights is empty)");
  if (D < 1) throw std::invalid_argument("means must have at least one feature");
  if (p.means.rows() != K || p.covariances.rows() != K || p.covariances.cols() != D * D) {
    std::ostringstream msg;
    msg << "inconsistent parameter shapes: weights (" << K << "), means (" << p.means.rows() << ", " << D
        << "), covariances (" << p.covariances.rows() << ", " << p.covariances.cols() << " = D*D expected " << D * D
        << ")";
    throw std::invalid_argument(msg.str());
  }
  detail::check_mixing_weights<T>(p.weights, K, "weights");
  detail::require_finite(p.means, "means");
  detail::require_finite(p.covariances, "covariances");
}

}  // namespace gmmcore
