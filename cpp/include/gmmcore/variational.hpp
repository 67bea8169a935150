#pragma once
// Variational inference for a Gaussian mixture (scikit-learn's
// BayesianGaussianMixture, docs/math.md#math-variational): the priors, the
// posterior held as a VariationalMixture, the variational M-step on the
// E-step statistics of statistics.hpp, the expected log-weights that turn
// the forward kernels into the variational E-step, and the lower bound.
// Everything here is O(K D^2) or O(K D^3) per iteration; the passes over the
// data are sufficient_statistics.hpp's, shared with the maximum-likelihood fit.
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include <Eigen/Eigenvalues>

#include "gmmcore/checks.hpp"
#include "gmmcore/factorization.hpp"
#include "gmmcore/m_step.hpp"
#include "gmmcore/mixture.hpp"
#include "gmmcore/special.hpp"
#include "gmmcore/statistics.hpp"

namespace gmmcore {

// The prior on the mixing weights: a stick-breaking Dirichlet process (K
// Beta(1, gamma_0) sticks) or a symmetric Dirichlet(gamma_0, ..., gamma_0).
enum class WeightPrior { dirichlet_process, dirichlet_distribution };

inline WeightPrior parse_weight_prior(const std::string& name) {
  if (name == "dirichlet_process") return WeightPrior::dirichlet_process;
  if (name == "dirichlet_distribution") return WeightPrior::dirichlet_distribution;
  throw std::invalid_argument(
      "weight_concentration_prior_type must be 'dirichlet_process' or 'dirichlet_distribution', got '" + name + "'");
}

// The priors: weights as above with concentration gamma_0; mean_k given
// Lambda_k Normal(m_0, (beta_0 Lambda_k)^{-1}); Lambda_k Wishart(nu_0, W_0)
// with W_0^{-1} = covariance: (D, D) for full and tied, (1, D) for diag (its
// diagonal), (1, 1) for spherical (one variance).
struct VariationalPriors {
  WeightPrior weight_prior = WeightPrior::dirichlet_process;
  double weight_concentration = 1;  // gamma_0 > 0
  double mean_precision = 1;        // beta_0 > 0
  Eigen::VectorXd mean;             // m_0 (D)
  double degrees_of_freedom = 1;    // nu_0 > D - 1
  Eigen::MatrixXd covariance;       // W_0^{-1}, shaped as above
};

// The posterior, scikit-learn's fitted attributes: the Mixture part holds
// weights_ (the posterior mean weights), means_ (m_k), covariances_ (W_k^{-1}
// / nu_k) and their precisions_cholesky_; besides them
//   weight_concentration: (2, K) rows (alpha_k, beta_k) of the sticks'
//     Beta posteriors (dirichlet_process) or (1, K) alpha_k (dirichlet_distribution);
//   mean_precision: (K) beta_k;  degrees_of_freedom: (K) nu_k, (1) for tied.
template <class T>
struct VariationalMixture : Mixture<T> {
  WeightPrior weight_prior = WeightPrior::dirichlet_process;
  RowMatrix<T> weight_concentration;
  Vector<T> mean_precision;
  Vector<T> degrees_of_freedom;
};

namespace detail {

// The covariance prior's shape for a covariance type.
inline std::pair<Index, Index> covariance_prior_shape(CovarianceType type, Index D) {
  switch (type) {
    case CovarianceType::full:
    case CovarianceType::tied: return {D, D};
    case CovarianceType::diag: return {1, D};
    case CovarianceType::spherical: return {1, 1};
  }
  throw std::invalid_argument("covariance_type is not one of CovarianceType's values");
}

inline void require_positive_finite(double value, const char* name) {
  if (!(std::isfinite(value) && value > 0)) {
    std::ostringstream msg;
    msg << name << " must be positive and finite, got " << value;
    throw std::invalid_argument(msg.str());
  }
}

}  // namespace detail

// Throws std::invalid_argument unless the priors are valid for D features and
// the covariance type: gamma_0, beta_0 > 0 and finite, m_0 finite of length D,
// nu_0 finite and > D - 1, the covariance prior shaped as above, finite and
// symmetric positive semi-definite (full, tied) or non-negative (diag,
// spherical). Semi-definite, not definite: scikit-learn's default prior, the
// data's covariance, is singular for data in a subspace, and the M-step adds
// N_k (S_k + reg_covar I) to it (a covariance that is still singular is an
// IllDefinedCovarianceError there, as for GaussianMixture).
inline void check_priors(const VariationalPriors& p, CovarianceType type, Index D) {
  covariance_type_name(type);
  if (p.weight_prior != WeightPrior::dirichlet_process && p.weight_prior != WeightPrior::dirichlet_distribution)
    throw std::invalid_argument("weight_prior is not one of WeightPrior's values");
  detail::require_positive_finite(p.weight_concentration, "weight_concentration_prior");
  detail::require_positive_finite(p.mean_precision, "mean_precision_prior");
  detail::require_length(p.mean, "mean_prior", D);
  detail::require_finite(p.mean, "mean_prior");
  if (!(std::isfinite(p.degrees_of_freedom) && p.degrees_of_freedom > double(D) - 1)) {
    std::ostringstream msg;
    msg << "degrees_of_freedom_prior must be finite and greater than n_features - 1 = " << D - 1 << ", got "
        << p.degrees_of_freedom;
    throw std::invalid_argument(msg.str());
  }
  const auto [rows, cols] = detail::covariance_prior_shape(type, D);
  detail::require_shape(p.covariance, "covariance_prior", rows, cols,
                        std::string(" for covariance_type '") + covariance_type_name(type) + "'");
  detail::require_finite(p.covariance, "covariance_prior");
  if (is_diagonal(type)) {
    if ((p.covariance.array() < 0).any()) throw std::invalid_argument("covariance_prior must be non-negative");
    return;
  }
  const double scale = std::max(1.0, p.covariance.cwiseAbs().maxCoeff());
  const bool symmetric = (p.covariance - p.covariance.transpose()).cwiseAbs().maxCoeff() <= 1e-10 * scale;
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(p.covariance, Eigen::EigenvaluesOnly);
  if (!symmetric || eigen.info() != Eigen::Success || eigen.eigenvalues().minCoeff() < -1e-10 * scale)
    throw std::invalid_argument("covariance_prior must be symmetric, positive semi-definite");
}

// E[log pi_k] under the weight posterior of vm:
//   dirichlet_process:      psi(alpha_k) - psi(alpha_k + beta_k) + sum_{j<k} (psi(beta_j) - psi(alpha_j + beta_j));
//   dirichlet_distribution: psi(alpha_k) - psi(sum_j alpha_j).
template <class T>
Eigen::VectorXd expected_log_weights(const VariationalMixture<T>& vm) {
  const Index K = vm.weight_concentration.cols();
  Eigen::VectorXd out(K);
  if (vm.weight_prior == WeightPrior::dirichlet_process) {
    double tail = 0;  // sum_{j<k} (psi(beta_j) - psi(alpha_j + beta_j)), in order
    for (Index k = 0; k < K; ++k) {
      const double a = double(vm.weight_concentration(0, k)), b = double(vm.weight_concentration(1, k));
      const double sum = digamma(a + b);
      out(k) = digamma(a) - sum + tail;
      tail += digamma(b) - sum;
    }
    return out;
  }
  const double total = digamma(vm.weight_concentration.row(0).template cast<double>().sum());
  for (Index k = 0; k < K; ++k) out(k) = digamma(double(vm.weight_concentration(0, k))) - total;
  return out;
}

// The offsets c_k of the variational E-step (docs/math.md#math-variational):
// its log rho_ik = log N(x_i | m_k, covariances_k) + c_k with
//   c_k = E[log pi_k] - D/2 log nu_k + 1/2 (D log 2 + sum_{i<D} psi((nu_k - i)/2) - D / beta_k),
// the forward pass with log w_k replaced by c_k.
template <class T>
Eigen::VectorXd variational_log_weights(const VariationalMixture<T>& vm) {
  const Index K = vm.n_components(), D = vm.n_features();
  const Eigen::VectorXd log_weights = expected_log_weights(vm);
  Eigen::VectorXd out(K);
  for (Index k = 0; k < K; ++k) {
    const double nu = double(vm.degrees_of_freedom(vm.degrees_of_freedom.size() == 1 ? 0 : k));
    double log_lambda = double(D) * std::log(2.0);
    for (Index i = 0; i < D; ++i) log_lambda += digamma(0.5 * (nu - double(i)));
    out(k) =
        log_weights(k) - 0.5 * double(D) * std::log(nu) + 0.5 * (log_lambda - double(D) / double(vm.mean_precision(k)));
  }
  return out;
}

namespace detail {

// The weights_ scikit-learn reports: the stick-breaking or Dirichlet
// posterior means, normalised to sum 1.
template <class T>
Vector<T> posterior_weights(const VariationalMixture<T>& vm) {
  const Index K = vm.weight_concentration.cols();
  Eigen::VectorXd w(K);
  if (vm.weight_prior == WeightPrior::dirichlet_process) {
    double remaining = 1;  // prod_{j<k} beta_j / (alpha_j + beta_j)
    for (Index k = 0; k < K; ++k) {
      const double a = double(vm.weight_concentration(0, k)), b = double(vm.weight_concentration(1, k));
      w(k) = a / (a + b) * remaining;
      remaining *= b / (a + b);
    }
  } else {
    w = vm.weight_concentration.row(0).transpose().template cast<double>();
  }
  return (w / w.sum()).template cast<T>();
}

// The variational M-step on checked statistics st (docs/math.md#math-variational),
// as scikit-learn's: N_k = st.weight_sums + 10 eps, x_k and S_k (with
// reg_covar) the maximum-likelihood means and covariances of m_step.hpp, then
// the weight posterior, beta_k = beta_0 + N_k, m_k = (beta_0 m_0 + N_k x_k) / beta_k,
// nu_k = nu_0 + N_k (tied: nu_0 + sum_k N_k / K) and the Normal-Wishart
// covariances W_k^{-1} / nu_k; then the precisions' Cholesky factors
// (IllDefinedCovarianceError when a covariance is not positive definite).
template <class T>
VariationalMixture<T> variational_m_step_unchecked(const Statistics<T>& st, const VariationalPriors& p, T reg_covar) {
  const CovarianceType type = st.covariance_type;
  const Index K = st.n_components(), D = st.n_features();
  const Mixture<T> ml = m_step(st, Mixture<T>(), SmallComponents::padded, reg_covar, T(1));
  const Eigen::VectorXd nk =
      (st.weight_sums.array() + T(10) * std::numeric_limits<T>::epsilon()).template cast<double>();
  const Eigen::MatrixXd xk = ml.means.template cast<double>();
  VariationalMixture<T> vm;
  vm.covariance_type = type;
  vm.weight_prior = p.weight_prior;
  const double gamma0 = p.weight_concentration, beta0 = p.mean_precision, nu0 = p.degrees_of_freedom;
  if (p.weight_prior == WeightPrior::dirichlet_process) {
    vm.weight_concentration.resize(2, K);
    double tail = 0;  // sum_{j>k} N_j, accumulated from the last component
    for (Index k = K - 1; k >= 0; --k) {
      vm.weight_concentration(0, k) = T(1 + nk(k));
      vm.weight_concentration(1, k) = T(gamma0 + tail);
      tail += nk(k);
    }
  } else {
    vm.weight_concentration = (gamma0 + nk.array()).transpose().template cast<T>().matrix();
  }
  const Eigen::VectorXd beta = beta0 + nk.array();
  vm.mean_precision = beta.template cast<T>();
  Eigen::MatrixXd means(K, D);
  for (Index k = 0; k < K; ++k) means.row(k) = (beta0 * p.mean.transpose() + nk(k) * xk.row(k)) / beta(k);
  vm.means = means.template cast<T>();
  const Eigen::MatrixXd diff = xk.rowwise() - p.mean.transpose();
  const RowMatrix<double> sk = ml.covariances.template cast<double>();
  RowMatrix<double> cov(sk.rows(), sk.cols());
  switch (type) {
    case CovarianceType::full: {
      const Eigen::VectorXd nu = nu0 + nk.array();
      vm.degrees_of_freedom = nu.template cast<T>();
      for (Index k = 0; k < K; ++k) {
        Eigen::MatrixXd c = p.covariance + nk(k) * Eigen::Map<const RowMatrix<double>>(sk.row(k).data(), D, D);
        c += nk(k) * beta0 / beta(k) * diff.row(k).transpose() * diff.row(k);
        c /= nu(k);
        Eigen::Map<RowMatrix<double>>(cov.row(k).data(), D, D) = c;
      }
      break;
    }
    case CovarianceType::tied: {
      const double n_total = nk.sum(), nu = nu0 + n_total / double(K);
      vm.degrees_of_freedom = Vector<T>::Constant(1, T(nu));
      const Eigen::MatrixXd weighted = diff.array().colwise() * (nk.array() / beta.array());
      Eigen::MatrixXd c = p.covariance + Eigen::Map<const RowMatrix<double>>(sk.data(), D, D) * (n_total / double(K)) +
                          beta0 / double(K) * (weighted.transpose() * diff);
      c /= nu;
      Eigen::Map<RowMatrix<double>>(cov.data(), D, D) = c;
      break;
    }
    case CovarianceType::diag: {
      const Eigen::VectorXd nu = nu0 + nk.array();
      vm.degrees_of_freedom = nu.template cast<T>();
      for (Index k = 0; k < K; ++k)
        cov.row(k) = (p.covariance.row(0).array() +
                      nk(k) * (sk.row(k).array() + beta0 / beta(k) * diff.row(k).array().square())) /
                     nu(k);
      break;
    }
    case CovarianceType::spherical: {
      const Eigen::VectorXd nu = nu0 + nk.array();
      vm.degrees_of_freedom = nu.template cast<T>();
      for (Index k = 0; k < K; ++k)
        cov(k, 0) =
            (p.covariance(0, 0) + nk(k) * (sk(k, 0) + beta0 / beta(k) * diff.row(k).array().square().mean())) / nu(k);
      break;
    }
  }
  vm.covariances = cov.template cast<T>();
  compute_precisions_cholesky(vm);
  vm.weights = posterior_weights(vm);
  return vm;
}

// log det P_k of the precisions' Cholesky factors (one value for tied).
template <class T>
Eigen::VectorXd log_det_precisions_cholesky(const Mixture<T>& m) {
  const Index D = m.n_features();
  const RowMatrix<T>& pc = m.precisions_cholesky;
  Eigen::VectorXd out(pc.rows());
  for (Index k = 0; k < pc.rows(); ++k) {
    switch (m.covariance_type) {
      case CovarianceType::full:
      case CovarianceType::tied: {
        double total = 0;
        for (Index i = 0; i < D; ++i) total += std::log(double(pc(k, i * D + i)));
        out(k) = total;
        break;
      }
      case CovarianceType::diag: out(k) = pc.row(k).template cast<double>().array().log().sum(); break;
      case CovarianceType::spherical: out(k) = double(D) * std::log(double(pc(k, 0))); break;
    }
  }
  return out;
}

}  // namespace detail

// The lower bound of scikit-learn's BayesianGaussianMixture (a total over the
// samples, up to constants; docs/math.md#math-variational) after an M-step
// that produced vm from an E-step whose responsibilities had
// sum_i s_i sum_k r_ik log r_ik = sum_r_log_r:
//   L = -sum_r_log_r - sum_k log B(nu_k) - log C(weights) - D/2 sum_k log beta_k,
// with log B(nu) = -(nu log det P' + nu D/2 log 2 + sum_{i<D} log Gamma((nu - i)/2)),
// log det P' = log det P_k - D/2 log nu_k (tied: K times its one term), and
// log C = -sum_k log Beta(alpha_k, beta_k) (dirichlet_process) or
// log Gamma(sum_k alpha_k) - sum_k log Gamma(alpha_k) (dirichlet_distribution).
template <class T>
double variational_lower_bound(const VariationalMixture<T>& vm, double sum_r_log_r) {
  const Index K = vm.n_components(), D = vm.n_features();
  const Eigen::VectorXd log_det = detail::log_det_precisions_cholesky(vm);
  double log_wishart = 0;
  for (Index k = 0; k < log_det.size(); ++k) {
    const double nu = double(vm.degrees_of_freedom(k));
    const double log_det_k = log_det(k) - 0.5 * double(D) * std::log(nu);
    double norm = nu * log_det_k + nu * double(D) * 0.5 * std::log(2.0);
    for (Index i = 0; i < D; ++i) norm += std::lgamma(0.5 * (nu - double(i)));
    log_wishart -= norm;
  }
  if (vm.covariance_type == CovarianceType::tied) log_wishart *= double(K);
  double log_norm_weight = 0;
  if (vm.weight_prior == WeightPrior::dirichlet_process) {
    for (Index k = 0; k < K; ++k) {
      const double a = double(vm.weight_concentration(0, k)), b = double(vm.weight_concentration(1, k));
      log_norm_weight -= std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
    }
  } else {
    const Eigen::VectorXd alpha = vm.weight_concentration.row(0).transpose().template cast<double>();
    log_norm_weight = std::lgamma(alpha.sum());
    for (Index k = 0; k < K; ++k) log_norm_weight -= std::lgamma(alpha(k));
  }
  const double log_beta = vm.mean_precision.template cast<double>().array().log().sum();
  return -sum_r_log_r - log_wishart - log_norm_weight - 0.5 * double(D) * log_beta;
}

// Throws std::invalid_argument unless vm is a well-formed posterior of the
// given weight prior: a valid Mixture (check_mixture, covariances included),
// weight_concentration (2, K) or (1, K), mean_precision (K) and
// degrees_of_freedom (K; tied: 1), all finite and positive.
template <class T>
void check_variational_mixture(const VariationalMixture<T>& vm) {
  check_mixture(vm);
  const Index K = vm.n_components(), D = vm.n_features();
  detail::check_covariance_array<T>(vm.covariances, "covariances", vm.covariance_type, K, D);
  detail::require_shape(vm.weight_concentration, "weight_concentration",
                        vm.weight_prior == WeightPrior::dirichlet_process ? 2 : 1, K);
  detail::require_length(vm.mean_precision, "mean_precision", K);
  detail::require_length(vm.degrees_of_freedom, "degrees_of_freedom",
                         vm.covariance_type == CovarianceType::tied ? 1 : K);
  const auto positive = [](const auto& a, const char* name) {
    detail::require_finite(a, name);
    if (!(a.array() > T(0)).all()) throw std::invalid_argument(std::string(name) + " must be positive");
  };
  positive(vm.weight_concentration, "weight_concentration");
  positive(vm.mean_precision, "mean_precision");
  positive(vm.degrees_of_freedom, "degrees_of_freedom");
  if ((vm.degrees_of_freedom.array() <= T(D - 1)).any())
    throw std::invalid_argument("degrees_of_freedom must be greater than n_features - 1");
}

// The variational M-step on statistics st (see detail::variational_m_step_unchecked)
// with the priors p and reg_covar >= 0; sum_k N_k must be positive.
template <class T>
VariationalMixture<T> variational_m_step(const Statistics<T>& st, const VariationalPriors& p, T reg_covar) {
  check_statistics(st);
  check_priors(p, st.covariance_type, st.n_features());
  detail::require_at_least(double(reg_covar), 0.0, "reg_covar");
  return detail::variational_m_step_unchecked(st, p, reg_covar);
}

// The evaluation form (factorize) of a mixture m whose mixing weights are
// replaced by arbitrary finite log-weights (K): log_norm(k) = log_weights(k)
// - D/2 log 2 pi + log det P_k. m.weights is not read.
template <class T>
FactoredParams<T> factorize_log_weights(Mixture<T> m, const Vector<T>& log_weights) {
  const Index K = m.means.rows();
  detail::require_length(log_weights, "log_weights", K);
  detail::require_finite(log_weights, "log_weights");
  m.weights = Vector<T>::Constant(K, T(1) / T(std::max(K, Index(1))));  // what check_mixture accepts; unused
  check_mixture(m);
  return detail::factorize_unchecked(m, &log_weights);
}

// The evaluation form of vm for the forward kernels: log_norm(k) built on the
// offsets c_k of variational_log_weights, so that forward, expectation,
// log_likelihood and predict give scikit-learn's variational
// _estimate_weighted_log_prob, predict_proba, score_samples and predict.
template <class T>
FactoredParams<T> factorize_variational(const VariationalMixture<T>& vm) {
  check_variational_mixture(vm);
  const Vector<T> offsets = variational_log_weights(vm).template cast<T>();
  return detail::factorize_unchecked<T>(vm, &offsets);
}

}  // namespace gmmcore
