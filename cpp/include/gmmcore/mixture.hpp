#pragma once
// A Gaussian mixture with one of scikit-learn's four covariance types, stored
// as scikit-learn stores it (shapes below, row-major):
//   covariance_type  covariances / precisions_cholesky
//   full             (K, D*D): row k is Sigma_k / P_k = L_k^{-T}
//   tied             (1, D*D): one Sigma shared by all components
//   diag             (K, D):   diag(Sigma_k) / 1 / sqrt(diag(Sigma_k))
//   spherical        (K, 1):   sigma_k^2 / 1 / sigma_k
#include <cmath>
#include <stdexcept>
#include <string>

#include "gmmcore/factorization.hpp"

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

// Raised when an M-step produces a covariance that cannot be factorised
// (scikit-learn raises ValueError with this text).
class IllDefinedCovarianceError : public std::invalid_argument {
 public:
  explicit IllDefinedCovarianceError(bool single_precision)
      : std::invalid_argument(std::string(
                                  "Fitting the mixture model failed because some components have ill-defined "
                                  "empirical covariance (for instance caused by singleton or collapsed samples). "
                                  "Try to decrease the number of components, increase reg_covar, or scale the "
                                  "input data.") +
                              (single_precision ? " The numerical accuracy can also be improved by passing "
                                                  "float64 data instead of float32."
                                                : "")) {}
};

// Fills m.precisions_cholesky from m.covariances; IllDefinedCovarianceError
// when a covariance is not positive definite.
template <class T>
void compute_precisions_cholesky(Mixture<T>& m) {
  const Index D = m.n_features();
  m.precisions_cholesky.resizeLike(m.covariances);
  if (is_diagonal(m.covariance_type)) {
    if (!(m.covariances.array() > T(0)).all()) throw IllDefinedCovarianceError(sizeof(T) == 4);
    m.precisions_cholesky = m.covariances.array().rsqrt();
    return;
  }
  for (Index k = 0; k < m.covariances.rows(); ++k) {
    const Square<T> sigma = Eigen::Map<const RowMatrix<T>>(m.covariances.row(k).data(), D, D);
    Eigen::Map<RowMatrix<T>> p(m.precisions_cholesky.row(k).data(), D, D);
    if (!detail::precision_cholesky_of<T>(sigma, p)) throw IllDefinedCovarianceError(sizeof(T) == 4);
  }
}

// The evaluation form of m used by every kernel (see FactoredParams):
// log_norm(k) = log w_k - D/2 log 2 pi + log det P_k.
template <class T>
FactoredParams<T> factorize(const Mixture<T>& m) {
  const Index K = m.n_components(), D = m.n_features();
  FactoredParams<T> f;
  f.weights = m.weights;
  f.means = m.means;
  f.log_norm.resize(K);
  const auto& pc = m.precisions_cholesky;
  for (Index k = 0; k < K; ++k) {
    T log_det_p;
    switch (m.covariance_type) {
      case CovarianceType::full:
      case CovarianceType::tied: {
        const Index row = m.covariance_type == CovarianceType::full ? k : 0;
        f.precision_cholesky.push_back(Eigen::Map<const RowMatrix<T>>(pc.row(row).data(), D, D));
        log_det_p = f.precision_cholesky.back().diagonal().array().log().sum();
        break;
      }
      case CovarianceType::diag:
        log_det_p = pc.row(k).array().log().sum();
        break;
      case CovarianceType::spherical:
        log_det_p = T(D) * std::log(pc(k, 0));
        break;
    }
    f.log_norm(k) = std::log(m.weights(k)) - T(0.5 * D * detail::kLog2Pi) + log_det_p;
  }
  if (is_diagonal(m.covariance_type)) {
    f.diagonal_precisions = m.covariance_type == CovarianceType::diag
                                ? RowMatrix<T>(pc.array().square())
                                : RowMatrix<T>(pc.array().square().matrix().replicate(1, D));
  }
  detail::pack_factors(f);
  return f;
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
