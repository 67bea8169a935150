#pragma once
// The M-step shared by the spec's em_step and the estimator's fit
// (docs/math.md#math-em and #math-estimator): a mixture from the weighted
// sufficient statistics N_k, s_k, S_k (or q_k) of statistics.hpp, taken
// around shifts c_k (the previous means, in an EM step). The two APIs differ only in how they
// treat a component with little or no responsibility, the rule below:
//   SmallComponents::padded (scikit-learn): every k divides by N'_k = N_k + 10 eps
//     and w_k = N'_k / weight_norm;
//   SmallComponents::kept (the spec): a component with N_k <= 10 eps N, N =
//     weight_norm, keeps its previous w_k, mu_k and Sigma_k; the others divide
//     by N'_k = N_k and take w_k = N_k / N; then w is renormalised to sum 1.
// In both, mu_k = c_k + (s_k - (N'_k - N_k) c_k) / N'_k (= sum_i s_i r_ik x_i / N'_k),
// and with delta_k = mu_k - c_k for the mu_k as rounded and stored,
//   full:      Sigma_k = (S_k - delta_k s_k^T - s_k delta_k^T + N_k delta_k delta_k^T) / N'_k + reg I
//   tied:      Sigma   = sum_k (the same numerator) / sum_k N'_k + reg I
//   diag:      Sigma_k = (q_k - 2 delta_k s_k + N_k delta_k^2) / N'_k + reg     (elementwise)
//   spherical: sigma_k^2 = mean_d of the diag variances,
// that is sum_i s_i r_ik (x_i - mu_k)(x_i - mu_k)^T / N'_k + reg about the
// stored mean: rows equal to mu_k give exactly 0, not the square of a
// rounding error. The precisions are not computed here (see
// compute_precisions_cholesky): the spec's em_step returns covariances only.
#include <limits>
#include <vector>

#include "gmmcore/factorization.hpp"
#include "gmmcore/mixture.hpp"
#include "gmmcore/statistics.hpp"

namespace gmmcore::detail {

enum class SmallComponents { padded, kept };

// The lower triangle of a, mirrored: N_k delta delta^T rounds differently on
// either side of the diagonal, and a covariance must be exactly symmetric.
template <class T>
Square<T> symmetric_from_lower(const Square<T>& a) {
  return a.template selfadjointView<Eigen::Lower>();
}

// `previous` (whose means are st.shifts) is read only by the `kept` rule.
template <class T>
Mixture<T> m_step(const Statistics<T>& st, const Mixture<T>& previous, SmallComponents rule, T reg, T weight_norm) {
  const CovarianceType type = st.covariance_type;
  const RowMatrix<T>& shifts = st.shifts;
  const Index K = shifts.rows(), D = shifts.cols();
  const bool kept = rule == SmallComponents::kept;
  const T pad = kept ? T(0) : T(10) * std::numeric_limits<T>::epsilon();
  const T tiny = T(10) * std::numeric_limits<T>::epsilon() * weight_norm;
  // Components that the `kept` rule leaves as they were.
  std::vector<bool> small(static_cast<size_t>(K), false);
  for (Index k = 0; kept && k < K; ++k) small[static_cast<size_t>(k)] = !(st.weight_sums(k) > tiny);
  const Vector<T> nk = st.weight_sums.array() + pad;
  Mixture<T> m;
  m.covariance_type = type;
  m.weights = nk / weight_norm;
  m.means = shifts + RowMatrix<T>((st.sums - pad * shifts).array().colwise() / nk.array());
  const RowMatrix<T> delta = m.means - shifts;
  switch (type) {
    case CovarianceType::full:
    case CovarianceType::tied: {
      const bool tied = type == CovarianceType::tied;
      m.covariances = RowMatrix<T>::Zero(tied ? 1 : K, D * D);
      Square<T> total = Square<T>::Zero(D, D);
      for (Index k = 0; k < K; ++k) {
        if (small[static_cast<size_t>(k)]) continue;
        const Vector<T> d = delta.row(k).transpose(), s = st.sums.row(k).transpose();
        Square<T> scatter = Eigen::Map<const RowMatrix<T>>(st.scatters.row(k).data(), D, D);
        scatter -= d * s.transpose() + s * d.transpose();
        scatter += st.weight_sums(k) * d * d.transpose();
        if (tied) {
          total += scatter;
          continue;
        }
        scatter /= nk(k);
        scatter.diagonal().array() += reg;
        Eigen::Map<RowMatrix<T>>(m.covariances.row(k).data(), D, D) = symmetric_from_lower(scatter);
      }
      if (tied) {
        total /= nk.sum();
        total.diagonal().array() += reg;
        Eigen::Map<RowMatrix<T>>(m.covariances.data(), D, D) = symmetric_from_lower(total);
      }
      break;
    }
    case CovarianceType::diag:
    case CovarianceType::spherical: {
      RowMatrix<T> var = st.scatters - T(2) * delta.cwiseProduct(st.sums);
      var += (delta.cwiseAbs2().array().colwise() * st.weight_sums.array()).matrix();
      var = (var.array().colwise() / nk.array()) + reg;
      if (type == CovarianceType::diag)
        m.covariances = std::move(var);
      else
        m.covariances = var.rowwise().mean();
      break;
    }
  }
  if (!kept) return m;
  for (Index k = 0; k < K; ++k) {
    if (!small[static_cast<size_t>(k)]) continue;
    m.weights(k) = previous.weights(k);
    m.means.row(k) = previous.means.row(k);
    if (type != CovarianceType::tied) m.covariances.row(k) = previous.covariances.row(k);
  }
  const T total = m.weights.sum();
  if (total > T(0))
    m.weights /= total;
  else
    m.weights.setConstant(T(1) / T(K));
  return m;
}

}  // namespace gmmcore::detail

namespace gmmcore {
namespace detail {

// The estimator's M-step (scikit-learn's rule) followed by the precisions:
// IllDefinedCovarianceError when a covariance is not positive definite.
template <class T>
Mixture<T> estimator_m_step(const Statistics<T>& st, T reg_covar, T weight_norm) {
  Mixture<T> m = m_step(st, Mixture<T>(), SmallComponents::padded, reg_covar, weight_norm);
  compute_precisions_cholesky(m);
  return m;
}

// The weight normaliser of an EM iteration: sum_k (N_k + 10 eps), so that the
// padded weights sum to 1.
template <class T>
T padded_weight_total(const Statistics<T>& st) {
  return st.weight_sums.sum() + T(st.n_components()) * T(10) * std::numeric_limits<T>::epsilon();
}

}  // namespace detail

// The estimator's M-step (docs/math.md#math-estimator) on statistics st with
// sum_k N_k > 0: w_k = N'_k / sum_j N'_j, mu_k, Sigma_k + reg_covar I as above
// with N'_k = N_k + 10 eps, and the precisions' Cholesky factors.
// IllDefinedCovarianceError when a covariance is not positive definite.
template <class T>
Mixture<T> m_step(const Statistics<T>& st, T reg_covar) {
  check_statistics(st);
  detail::require_at_least(double(reg_covar), 0.0, "reg_covar");
  if (!(st.weight_sums.sum() > T(0)))
    throw std::invalid_argument("the statistics hold no weight (sum_k N_k = 0): there is nothing to estimate from");
  return detail::estimator_m_step(st, reg_covar, detail::padded_weight_total(st));
}

}  // namespace gmmcore
