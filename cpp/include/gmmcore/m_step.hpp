#pragma once
// The M-step shared by the spec's em_step and the estimator's fit
// (docs/math.md#math-em and #math-estimator): a mixture from the weighted
// sufficient statistics N_k, s_k, S_k (or q_k) of sufficient_statistics.hpp,
// taken around the previous means c_k. The two APIs differ only in how they
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

#include "gmmcore/mixture.hpp"
#include "gmmcore/sufficient_statistics.hpp"

namespace gmmcore::detail {

enum class SmallComponents { padded, kept };

// The lower triangle of a, mirrored: N_k delta delta^T rounds differently on
// either side of the diagonal, and a covariance must be exactly symmetric.
template <class T>
Square<T> symmetric_from_lower(const Square<T>& a) {
  return a.template selfadjointView<Eigen::Lower>();
}

template <class T>
Mixture<T> m_step(const SufficientStats<T>& st, const Mixture<T>& previous, SmallComponents rule, T reg,
                  T weight_norm) {
  const CovarianceType type = previous.covariance_type;
  const RowMatrix<T>& shifts = previous.means;
  const Index K = shifts.rows(), D = shifts.cols();
  const bool kept = rule == SmallComponents::kept;
  const T pad = kept ? T(0) : T(10) * std::numeric_limits<T>::epsilon();
  const T tiny = T(10) * std::numeric_limits<T>::epsilon() * weight_norm;
  // Components that the `kept` rule leaves as they were.
  std::vector<bool> small(static_cast<size_t>(K), false);
  for (Index k = 0; kept && k < K; ++k) small[static_cast<size_t>(k)] = !(st.n(k) > tiny);
  const Vector<T> nk = st.n.array() + pad;
  Mixture<T> m;
  m.covariance_type = type;
  m.weights = nk / weight_norm;
  m.means = shifts + RowMatrix<T>((st.s - pad * shifts).array().colwise() / nk.array());
  const RowMatrix<T> delta = m.means - shifts;
  switch (type) {
    case CovarianceType::full:
    case CovarianceType::tied: {
      const bool tied = type == CovarianceType::tied;
      m.covariances = RowMatrix<T>::Zero(tied ? 1 : K, D * D);
      Square<T> total = Square<T>::Zero(D, D);
      for (Index k = 0; k < K; ++k) {
        if (small[static_cast<size_t>(k)]) continue;
        const Vector<T> d = delta.row(k).transpose(), s = st.s.row(k).transpose();
        Square<T> scatter = st.ss[static_cast<size_t>(k)].template selfadjointView<Eigen::Lower>();
        scatter -= d * s.transpose() + s * d.transpose();
        scatter += st.n(k) * d * d.transpose();
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
      RowMatrix<T> var = st.q - T(2) * delta.cwiseProduct(st.s);
      var += (delta.cwiseAbs2().array().colwise() * st.n.array()).matrix();
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
