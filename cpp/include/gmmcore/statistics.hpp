#pragma once
// Sufficient statistics of a mixture's E-step as a value
// (docs/math.md#math-statistics). For a block of rows x_i with sample weights
// s_i (1 when none are given) and responsibilities r_ik, taken around shifts
// c_k (any points; the E-step uses the current means, so that large offsets
// in X do not cancel):
//   N_k = sum_i s_i r_ik,   s_k = sum_i s_i r_ik (x_i - c_k),
//   full, tied:      S_k = sum_i s_i r_ik (x_i - c_k)(x_i - c_k)^T  (K, D*D), symmetric
//   diag, spherical: q_k = sum_i s_i r_ik (x_i - c_k)^2             (K, D), elementwise
//   log_likelihood = sum_i s_i log p(x_i),  total_weight = sum_i s_i,  n_samples.
// Statistics of disjoint blocks merge into those of their union; the M-step
// (m_step.hpp) turns them into parameters.
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "gmmcore/checks.hpp"
#include "gmmcore/mixture.hpp"

namespace gmmcore {

template <class T>
struct Statistics {
  CovarianceType covariance_type = CovarianceType::full;
  RowMatrix<T> shifts;    // (K, D): c_k
  Vector<T> weight_sums;  // (K): N_k
  RowMatrix<T> sums;      // (K, D): s_k
  RowMatrix<T> scatters;  // (K, D*D) S_k or (K, D) q_k, as above
  double log_likelihood = 0;
  double total_weight = 0;
  Index n_samples = 0;

  Index n_components() const { return shifts.rows(); }
  Index n_features() const { return shifts.cols(); }
};

// Zero statistics of K components of D features around `shifts` (K, D).
template <class T>
Statistics<T> zero_statistics(CovarianceType type, const RowMatrix<T>& shifts) {
  const Index K = shifts.rows(), D = shifts.cols();
  Statistics<T> st;
  st.covariance_type = type;
  st.shifts = shifts;
  st.weight_sums = Vector<T>::Zero(K);
  st.sums = RowMatrix<T>::Zero(K, D);
  st.scatters = RowMatrix<T>::Zero(K, is_diagonal(type) ? D : D * D);
  return st;
}

// Throws std::invalid_argument, naming `name` and the field, unless st is
// well formed: K, D >= 1, the shapes above, finite values, N_k >= 0,
// total_weight >= 0 and n_samples >= 0. (Statistics made or unpickled by a
// caller pass through here before any arithmetic.)
template <class T>
void check_statistics(const Statistics<T>& st, const std::string& name = "statistics") {
  covariance_type_name(st.covariance_type);
  const Index K = st.n_components(), D = st.n_features();
  if (K < 1 || D < 1) {
    std::ostringstream msg;
    msg << name << ".shifts has shape (" << K << ", " << D << "), expected at least one component and one feature";
    throw std::invalid_argument(msg.str());
  }
  detail::require_length(st.weight_sums, name + ".weight_sums", K);
  detail::require_shape(st.sums, name + ".sums", K, D);
  detail::require_shape(st.scatters, name + ".scatters", K, is_diagonal(st.covariance_type) ? D : D * D,
                        std::string(" for covariance_type '") + covariance_type_name(st.covariance_type) + "'");
  detail::require_finite(st.shifts, name + ".shifts");
  detail::require_finite(st.weight_sums, name + ".weight_sums");
  detail::require_finite(st.sums, name + ".sums");
  detail::require_finite(st.scatters, name + ".scatters");
  if ((st.weight_sums.array() < T(0)).any()) throw std::invalid_argument(name + ".weight_sums must be non-negative");
  if (!std::isfinite(st.log_likelihood)) throw std::invalid_argument(name + ".log_likelihood must be finite");
  if (!(std::isfinite(st.total_weight) && st.total_weight >= 0))
    throw std::invalid_argument(name + ".total_weight must be finite and non-negative");
  if (st.n_samples < 0) throw std::invalid_argument(name + ".n_samples must be non-negative");
}

namespace detail {

// Component k of b folded into component k of a (Chan, Golub and LeVeque's
// pairwise update, with the shifts of each side): around the same shift the
// sums simply add; otherwise, with means m = c + s / N and scatters about
// them M = S - s s^T / N,
//   N = N_a + N_b,  m = m_a + (N_b / N) (m_b - m_a),
//   M = M_a + M_b + (N_a N_b / N) (m_b - m_a)(m_b - m_a)^T,
// stored around the new shift c = m (s = 0). No raw second moment sum_i x x^T
// is ever formed, so nothing cancels but what the data put there. The
// arithmetic runs in double whatever T.
template <class T>
void merge_component(Statistics<T>& a, const Statistics<T>& b, Index k) {
  if (a.shifts.row(k) == b.shifts.row(k)) {
    a.weight_sums(k) += b.weight_sums(k);
    a.sums.row(k) += b.sums.row(k);
    a.scatters.row(k) += b.scatters.row(k);
    return;
  }
  const double nb = double(b.weight_sums(k));
  if (nb == 0) return;  // b holds nothing of component k
  const double na = double(a.weight_sums(k));
  if (na == 0) {
    a.shifts.row(k) = b.shifts.row(k);
    a.weight_sums(k) = b.weight_sums(k);
    a.sums.row(k) = b.sums.row(k);
    a.scatters.row(k) = b.scatters.row(k);
    return;
  }
  const Index D = a.n_features();
  const Eigen::RowVectorXd sa = a.sums.row(k).template cast<double>(), sb = b.sums.row(k).template cast<double>();
  const Eigen::RowVectorXd ma = a.shifts.row(k).template cast<double>() + sa / na;
  const Eigen::RowVectorXd mb = b.shifts.row(k).template cast<double>() + sb / nb;
  const double n = na + nb;
  const Eigen::RowVectorXd d = mb - ma;
  const double cross = na * nb / n;
  if (is_diagonal(a.covariance_type)) {
    const Eigen::RowVectorXd q = a.scatters.row(k).template cast<double>().array() - sa.array().square() / na +
                                 b.scatters.row(k).template cast<double>().array() - sb.array().square() / nb +
                                 cross * d.array().square();
    a.scatters.row(k) = q.template cast<T>();
  } else {
    using Dense = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Dense scatter_a = Eigen::Map<const RowMatrix<T>>(a.scatters.row(k).data(), D, D).template cast<double>();
    const Dense scatter_b = Eigen::Map<const RowMatrix<T>>(b.scatters.row(k).data(), D, D).template cast<double>();
    const Dense s =
        scatter_a - sa.transpose() * sa / na + scatter_b - sb.transpose() * sb / nb + cross * d.transpose() * d;
    Eigen::Map<RowMatrix<T>>(a.scatters.row(k).data(), D, D) = s.template cast<T>();
  }
  a.shifts.row(k) = (ma + (nb / n) * d).template cast<T>();
  a.weight_sums(k) = T(n);
  a.sums.row(k).setZero();
}

}  // namespace detail

namespace detail {

inline void require_compatible(CovarianceType type_a, Index k_a, Index d_a, CovarianceType type_b, Index k_b,
                               Index d_b) {
  if (type_a == type_b && k_a == k_b && d_a == d_b) return;
  std::ostringstream msg;
  msg << "cannot merge statistics of covariance_type '" << covariance_type_name(type_a) << "' with " << k_a
      << " components of " << d_a << " features and statistics of covariance_type '" << covariance_type_name(type_b)
      << "' with " << k_b << " components of " << d_b << " features";
  throw std::invalid_argument(msg.str());
}

// a += b (merge), for checked, compatible statistics.
template <class T>
void merge_into(Statistics<T>& a, const Statistics<T>& b) {
  for (Index k = 0; k < a.n_components(); ++k) merge_component(a, b, k);
  a.log_likelihood += b.log_likelihood;
  a.total_weight += b.total_weight;
  a.n_samples += b.n_samples;
}

// scaled(st, factor) in place, for checked statistics and factor >= 0.
template <class T>
void scale_in_place(Statistics<T>& st, double factor) {
  st.weight_sums *= T(factor);
  st.sums *= T(factor);
  st.scatters *= T(factor);
  st.log_likelihood *= factor;
  st.total_weight *= factor;
}

}  // namespace detail

// The statistics of the union of the blocks behind a and b, which must have
// the same covariance type, K and D. Commutative and associative up to
// rounding; exact (a plain sum) for components taken around the same shift.
template <class T>
Statistics<T> merge(const Statistics<T>& a, const Statistics<T>& b) {
  check_statistics(a, "a");
  check_statistics(b, "b");
  detail::require_compatible(a.covariance_type, a.n_components(), a.n_features(), b.covariance_type, b.n_components(),
                             b.n_features());
  Statistics<T> out = a;
  detail::merge_into(out, b);
  return out;
}

// st with N_k, s_k, S_k (q_k), log_likelihood and total_weight multiplied by
// factor >= 0 (the statistics of the same rows with every sample weight
// scaled); shifts and n_samples are kept. The online EM blends with it.
template <class T>
Statistics<T> scaled(const Statistics<T>& st, double factor) {
  check_statistics(st);
  if (!(std::isfinite(factor) && factor >= 0)) throw std::invalid_argument("factor must be finite and non-negative");
  Statistics<T> out = st;
  detail::scale_in_place(out, factor);
  return out;
}

// Stepwise online EM's update (Cappe and Moulines, 2009): running statistics
// per unit of weight, moved a step eta in (0, 1] toward the batch's,
//   s <- (1 - eta) s + eta s_batch / W_batch   (W_batch = batch.total_weight > 0),
// with the pairwise merge above (the two are taken around different shifts);
// n_samples counts every sample the running statistics have seen. (batch is
// taken by value: a caller done with it moves it in, and nothing is copied.)
template <class T>
Statistics<T> blend(const Statistics<T>& running, Statistics<T> batch, double eta) {
  if (!(eta > 0 && eta <= 1)) throw std::invalid_argument("eta must be in (0, 1]");
  check_statistics(batch, "batch");
  if (!(batch.total_weight > 0)) throw std::invalid_argument("the batch holds no weight (batch.total_weight = 0)");
  Statistics<T> out = scaled(running, 1 - eta);
  detail::require_compatible(out.covariance_type, out.n_components(), out.n_features(), batch.covariance_type,
                             batch.n_components(), batch.n_features());
  detail::scale_in_place(batch, eta / batch.total_weight);
  detail::merge_into(out, batch);
  return out;
}

}  // namespace gmmcore
