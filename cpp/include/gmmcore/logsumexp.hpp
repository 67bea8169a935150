#pragma once
// Stable log-sum-exp (MATH.md "logsumexp") and the row softmax built on it.
#include <cmath>
#include <limits>

#include "gmmcore/parallel.hpp"
#include "gmmcore/simd.hpp"
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

// exp(t), and exactly 0 where t < kUnderflow<T>. Eigen's vectorised exp clamps
// its argument (near -709.8 in double, -88.4 in float) and would give a
// zero-weight (-inf) component a denormal responsibility; everything it
// returns below this point is below the smallest normal number anyway.
template <class T>
inline constexpr T kUnderflow = std::numeric_limits<T>::digits > 30 ? T(-708) : T(-87);

// Over the rows of a column-major (B, K) block y (no NaN or +inf: the kernels
// produce neither), vectorised over rows: lse(i) = lse(y.row(i)), and with
// kNormalise, y.row(i) replaced by softmax(y.row(i)). A row whose every entry
// is -inf gets lse = -inf and uniform responsibilities 1/K.
template <bool kNormalise, class T>
void logsumexp_cols_impl(ColMatrix<T>& y, VectorRef<T> lse) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>;
  const Index B = y.rows(), K = y.cols();
  T* const base = y.data();
  const P under = pset1<P>(kUnderflow<T>);
  Index i = 0;
  for (; i + L <= B; i += L) {
    P m = ploadu<P>(base + i);
    for (Index k = 1; k < K; ++k) m = pmax(m, ploadu<P>(base + k * B + i));
    P s = pset1<P>(T(0));
    for (Index k = 0; k < K; ++k) {
      const P t = psub(ploadu<P>(base + k * B + i), m);
      const P e = pandnot(pexp(t), pcmp_lt(t, under));
      if (kNormalise) pstoreu(base + k * B + i, e);
      s = padd(s, e);
    }
    if (kNormalise) {
      const P inv = pdiv(pset1<P>(T(1)), s);
      for (Index k = 0; k < K; ++k) pstoreu(base + k * B + i, pmul(ploadu<P>(base + k * B + i), inv));
    }
    // All -inf: m = -inf makes t, s and this NaN, fixed below.
    pstoreu(lse.data() + i, padd(m, plog(s)));
  }
  for (; i < B; ++i) {
    const T m = y.row(i).maxCoeff();
    T s = 0;
    for (Index k = 0; k < K; ++k) {
      const T t = y(i, k) - m, e = t < kUnderflow<T> ? T(0) : std::exp(t);
      if (kNormalise) y(i, k) = e;
      s += e;
    }
    if (kNormalise) y.row(i) /= s;
    lse(i) = m + std::log(s);
  }
  for (i = 0; i < B; ++i) {
    if (!std::isnan(lse(i))) continue;
    lse(i) = -std::numeric_limits<T>::infinity();
    if (kNormalise) y.row(i).setConstant(T(1) / T(K));
  }
}

// lse(i) = lse(y.row(i)) for a column-major (B, K) block of log-probs.
template <class T>
void logsumexp_cols(ColMatrix<T>& y, VectorRef<T> lse) {
  logsumexp_cols_impl<false>(y, lse);
}

// Replaces each row y of a column-major (B, K) block by softmax(y) and writes
// lse(y) to lse (see logsumexp_cols_impl).
template <class T>
void softmax_cols_inplace(ColMatrix<T>& y, VectorRef<T> lse) {
  logsumexp_cols_impl<true>(y, lse);
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
