#pragma once
// Stable log-sum-exp (MATH.md "logsumexp") and the row softmax built on it.
#include <cmath>
#include <limits>

#include "gmmcore/parallel.hpp"
#include "gmmcore/types.hpp"

namespace gmmcore {

// lse(a) = m + log sum_i exp(a_i - m), m = max_i a_i. All -inf (or empty) gives
// -inf, any +inf gives +inf, any NaN gives NaN; never NaN otherwise.
template <class Derived>
typename Derived::Scalar logsumexp(const Eigen::DenseBase<Derived>& a) {
  using T = typename Derived::Scalar;
  if (a.size() == 0) return -std::numeric_limits<T>::infinity();
  if (a.hasNaN()) return std::numeric_limits<T>::quiet_NaN();
  const T m = a.maxCoeff();
  if (!std::isfinite(m)) return m;
  return m + std::log((a.derived().array() - m).exp().sum());
}

namespace detail {

// Row maxima of a column-major (B, K) block, vectorised over rows.
template <class T>
Vector<T> row_max(const ColMatrix<T>& y) {
  Vector<T> m = y.col(0);
  for (Index k = 1; k < y.cols(); ++k) m = m.cwiseMax(y.col(k));
  return m;
}

// out = exp(col - m), and exactly 0 where that underflows. Eigen's vectorised
// exp clamps its argument (near -709.8 in double, -88.4 in float) and would
// give a zero-weight (-inf) component a denormal responsibility; everything it
// returns below that point is below the smallest normal number anyway.
template <class T, class Col>
void exp_shifted(const Col& col, const Vector<T>& m, Vector<T>& out) {
  constexpr T kUnderflow = std::numeric_limits<T>::digits > 30 ? T(-708) : T(-87);
  out = (col - m).array().exp().matrix();
  for (Index i = 0; i < out.size(); ++i) out(i) = col(i) - m(i) < kUnderflow ? T(0) : out(i);
}

// lse(i) = lse(y.row(i)) for a column-major (B, K) block of log-probs (no NaN
// or +inf: the kernels produce neither), vectorised over rows.
template <class T>
void logsumexp_cols(const ColMatrix<T>& y, VectorRef<T> lse) {
  const Vector<T> m = row_max(y);
  Vector<T> s = Vector<T>::Zero(y.rows());
  // Terms that exp clamps are below 1e-307 next to the largest, which is 1.
  for (Index k = 0; k < y.cols(); ++k) s.array() += (y.col(k) - m).array().exp();
  lse = (m.array() + s.array().log()).matrix();
  for (Index i = 0; i < lse.size(); ++i)
    if (m(i) == -std::numeric_limits<T>::infinity()) lse(i) = m(i);
}

// Replaces each row y of a column-major (B, K) block by softmax(y) and writes
// lse(y) to lse. A row with lse = -inf (every component -inf) gets uniform
// responsibilities 1/K so rows always sum to 1.
template <class T>
void softmax_cols_inplace(ColMatrix<T>& y, VectorRef<T> lse) {
  const Vector<T> m = row_max(y);
  Vector<T> s = Vector<T>::Zero(y.rows()), e(y.rows());
  for (Index k = 0; k < y.cols(); ++k) {
    exp_shifted<T>(y.col(k), m, e);
    y.col(k) = e;
    s += e;
  }
  lse = (m.array() + s.array().log()).matrix();
  const Vector<T> inv = s.cwiseInverse();
  for (Index k = 0; k < y.cols(); ++k) y.col(k).array() *= inv.array();
  const T uniform = T(1) / T(y.cols());
  for (Index i = 0; i < y.rows(); ++i) {
    if (m(i) == -std::numeric_limits<T>::infinity()) {
      lse(i) = m(i);
      y.row(i).setConstant(uniform);
    }
  }
}

}  // namespace detail

// Row-wise lse of an (M, n) matrix: returns (M).
template <class T>
Vector<T> logsumexp_rows(const ConstMatrixRef<T>& a) {
  Vector<T> out(a.rows());
  // Each row goes through an aligned copy: the rounding must not depend on the caller's address.
  detail::parallel_blocks_with<Vector<T>>(a.rows(), a.cols(), [&](Vector<T>& row, detail::RowRange r) {
    for (Index i = r.begin; i < r.end; ++i) {
      row = a.row(i).transpose();
      out(i) = logsumexp(row);
    }
  });
  return out;
}

}  // namespace gmmcore
