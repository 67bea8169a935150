#pragma once
// A Gaussian mixture with one of scikit-learn's four covariance types, stored
// as scikit-learn stores it (shapes below, row-major):
//   covariance_type  covariances / precisions_cholesky
//   full             (K, D*D): row k is Sigma_k / P_k = L_k^{-T}
//   tied             (1, D*D): one Sigma shared by all components
//   diag             (K, D):   diag(Sigma_k) / 1 / sqrt(diag(Sigma_k))
//   spherical        (K, 1):   sigma_k^2 / 1 / sigma_k
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "gmmcore/checks.hpp"
#include "gmmcore/errors.hpp"

namespace gmmcore {

enum class CovarianceType { full, tied, diag, spherical };

inline CovarianceType parse_covariance_type(const std::string& name) {
  if (name == "full") return CovarianceType::full;
  if (name == "tied") return CovarianceType::tied;
  if (name == "diag") return CovarianceType::diag;
  if (name == "spherical") return CovarianceType::spherical;
  throw std::invalid_argument("covariance_type must be 'full', 'tied', 'diag' or 'spherical', got '" + name + "'");
}

inline bool is_diagonal(CovarianceType type) {
  return type == CovarianceType::diag || type == CovarianceType::spherical;
}

inline const char* covariance_type_name(CovarianceType type) {
  switch (type) {
    case CovarianceType::full: return "full";
    case CovarianceType::tied: return "tied";
    case CovarianceType::diag: return "diag";
    case CovarianceType::spherical: return "spherical";
  }
  throw std::invalid_argument("covariance_type is not one of CovarianceType's values");
}

// (rows, cols) of covariances and precisions_cholesky for the table above.
inline std::pair<Index, Index> covariance_shape(CovarianceType type, Index n_components, Index n_features) {
  switch (type) {
    case CovarianceType::full: return {n_components, n_features * n_features};
    case CovarianceType::tied: return {1, n_features * n_features};
    case CovarianceType::diag: return {n_components, n_features};
    case CovarianceType::spherical: return {n_components, 1};
  }
  throw std::invalid_argument("covariance_type is not one of CovarianceType's values");
}

template <class T>
struct Mixture {
  CovarianceType covariance_type = CovarianceType::full;
  Vector<T> weights;               // (K)
  RowMatrix<T> means;              // (K, D)
  RowMatrix<T> covariances;        // see the table above
  RowMatrix<T> precisions_cholesky;  // same shape as covariances

  Index n_components() const { return means.rows(); }
  Index n_features() const { return means.cols(); }
};

namespace detail {

// " for covariance_type 'full' with n_components = K, n_features = D": the
// context of a shape error.
inline std::string mixture_context(CovarianceType type, Index K, Index D) {
  std::ostringstream msg;
  msg << " for covariance_type '" << covariance_type_name(type) << "' with n_components = " << K
      << ", n_features = " << D;
  return msg.str();
}

// An array shaped as covariances / precisions_cholesky for (type, K, D), finite.
template <class T>
void check_covariance_array(const RowMatrix<T>& a, const std::string& name, CovarianceType type, Index K, Index D) {
  const auto [rows, cols] = covariance_shape(type, K, D);
  require_shape(a, name, rows, cols, mixture_context(type, K, D));
  require_finite(a, name);
}

// precisions_cholesky as every kernel reads it: shaped for (type, K, D),
// finite, P_k upper triangular with a positive diagonal (full, tied) or all
// entries positive (diag, spherical).
template <class T>
void check_precisions_cholesky(const RowMatrix<T>& pc, const std::string& name, CovarianceType type, Index K, Index D) {
  check_covariance_array<T>(pc, name, type, K, D);
  for (Index r = 0; r < pc.rows(); ++r) {
    bool valid;
    if (is_diagonal(type)) {
      valid = (pc.row(r).array() > T(0)).all();
    } else {
      const Eigen::Map<const RowMatrix<T>> p(pc.row(r).data(), D, D);
      valid = (p.diagonal().array() > T(0)).all();
      for (Index i = 1; i < D && valid; ++i) valid = (p.row(i).head(i).array() == T(0)).all();
    }
    if (!valid) {
      std::ostringstream msg;
      msg << name << "[" << r << "] must be "
          << (is_diagonal(type) ? "positive" : "upper triangular with a positive diagonal")
          << mixture_context(type, K, D);
      throw std::invalid_argument(msg.str());
    }
  }
}

}  // namespace detail

// Checks that every array of m agrees with means (K, D) and covariance_type
// (the table above; covariances may be empty where only evaluation follows),
// that all are finite, the weights non-negative with a sum in (0, 1] (see
// check_mixing_weights) and precisions_cholesky a valid factor. Throws
// std::invalid_argument naming the array.
template <class T>
void check_mixture(const Mixture<T>& m) {
  const Index K = m.means.rows(), D = m.means.cols();
  if (K < 1 || D < 1) {
    std::ostringstream msg;
    msg << "means has shape (" << K << ", " << D << "): a mixture needs at least one component and one feature";
    throw std::invalid_argument(msg.str());
  }
  detail::require_finite(m.means, "means");
  detail::check_mixing_weights<T>(m.weights, K, "weights", /*allow_deficit=*/true);
  detail::check_precisions_cholesky<T>(m.precisions_cholesky, "precisions_cholesky", m.covariance_type, K, D);
  if (m.covariances.size()) detail::check_covariance_array<T>(m.covariances, "covariances", m.covariance_type, K, D);
}

// Free parameters: covariances + means + (K - 1) weights.
inline Index n_parameters(CovarianceType type, Index K, Index D) {
  Index cov = 0;
  switch (type) {
    case CovarianceType::full: cov = K * D * (D + 1) / 2; break;
    case CovarianceType::tied: cov = D * (D + 1) / 2; break;
    case CovarianceType::diag: cov = K * D; break;
    case CovarianceType::spherical: cov = K; break;
  }
  return cov + K * D + K - 1;
}

}  // namespace gmmcore
