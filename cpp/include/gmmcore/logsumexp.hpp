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

// out(i) = lse(A.row(i)) for the rows of one block.
template <class T>
void logsumexp_rows(const ConstMatrixRef<T>& a, VectorRef<T> out) {
  for (Index i = 0; i < a.rows(); ++i) out(i) = logsumexp(a.row(i));
}

// Replaces each row y of Y by softmax(y) and writes lse(y) to lse(i). A row
// with lse = -inf (every component -inf) gets uniform responsibilities 1/K so
// rows always sum to 1.
template <class T>
void softmax_rows_inplace(MatrixRef<T> y, VectorRef<T> lse) {
  const T uniform = T(1) / T(y.cols());
  for (Index i = 0; i < y.rows(); ++i) {
    const T l = logsumexp(y.row(i));
    lse(i) = l;
    if (l == -std::numeric_limits<T>::infinity())
      y.row(i).setConstant(uniform);
    else
      y.row(i) = (y.row(i).array() - l).exp();
  }
}

}  // namespace detail

// Row-wise lse of an (M, n) matrix: returns (M).
template <class T>
Vector<T> logsumexp_rows(const ConstMatrixRef<T>& a) {
  Vector<T> out(a.rows());
  detail::parallel_blocks(a.rows(), [&](detail::RowRange r) {
    detail::logsumexp_rows<T>(a.middleRows(r.begin, r.size()), out.segment(r.begin, r.size()));
  });
  return out;
}

}  // namespace gmmcore
