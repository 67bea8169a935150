#pragma once
// Stable log-sum-exp (docs/math.md#math-logsumexp) and the row softmax built on it.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

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

// exp(t) for packets of t <= 0 (or NaN), with t below kUnderflow clamped
// there. Eigen's double exp is a rational function whose division limits a
// softmax to ~2 cycles per value on AVX-512; this Taylor polynomial of degree
// 13 on |r| <= log(2)/2 (truncation below 1e-17), evaluated by Estrin's scheme
// for a short dependency chain, needs only FMAs. Float keeps Eigen's
// polynomial exp.
template <class P>
EIGEN_ALWAYS_INLINE P exp_nonpositive(const P& t) {
  using namespace Eigen::internal;
  using T = typename unpacket_traits<P>::type;
  if constexpr (!std::is_same_v<T, double>) {
    return pexp(t);
  } else {
    const P x = pmax(t, pset1<P>(kUnderflow<double>));
    const P n = pfloor(pmadd(x, pset1<P>(1.4426950408889634074), pset1<P>(0.5)));
    // r = x - n log 2 in two steps (Cody-Waite): n * 0.693145751953125 is exact.
    P r = psub(x, pmul(n, pset1<P>(0.693145751953125)));
    r = psub(r, pmul(n, pset1<P>(1.42860682030941723212e-6)));
    const P r2 = pmul(r, r), r4 = pmul(r2, r2), r8 = pmul(r4, r4);
    // Pairs c_i + c_{i+1} r with c_i = 1 / i!.
    auto pair = [&](double c0, double c1) { return pmadd(pset1<P>(c1), r, pset1<P>(c0)); };
    const P q0 = pmadd(pair(1.0 / 2, 1.0 / 6), r2, pair(1.0, 1.0));
    const P q1 = pmadd(pair(1.0 / 720, 1.0 / 5040), r2, pair(1.0 / 24, 1.0 / 120));
    const P q2 = pmadd(pair(1.0 / 3628800, 1.0 / 39916800), r2, pair(1.0 / 40320, 1.0 / 362880));
    const P q3 = pair(1.0 / 479001600, 1.0 / 6227020800);
    const P p = pmadd(pmadd(q3, r4, q2), r8, pmadd(q1, r4, q0));
#if defined(__GNUC__)
    // 2^n for the integer n in [-1021, 0]: 2^52 + 1023 + n holds n + 1023 in its
    // low mantissa bits, and shifted into the exponent field it is 2^n
    // (Eigen's pldexp handles any n, at several times the cost).
    typedef std::int64_t Bits __attribute__((vector_size(sizeof(P))));
    const P biased = padd(n, pset1<P>(4503599627370496.0 + 1023.0));
    Bits bits;
    std::memcpy(&bits, &biased, sizeof bits);
    bits <<= 52;
    P scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return pmul(p, scale);
#else
    return pldexp(p, n);
#endif
  }
}

// Over the rows of a column-major (B, K) block y (no NaN or +inf: the kernels
// produce neither), vectorised over rows: lse(i) = lse(y.row(i)), and with
// kNormalise, y.row(i) replaced by softmax(y.row(i)). A row whose every entry
// is -inf gets lse = -inf and uniform responsibilities 1/K. With r_log_r (B
// values, with kEntropy and kNormalise), also r_log_r[i] = sum_k r_ik log r_ik for the
// softmax r: with t_k = y_ik - max_k y_ik, e_k = exp(t_k) and s = sum_k e_k,
// it is sum_k e_k t_k / s - log s, gathered while the e_k are formed (the
// variational lower bound's entropy term, docs/math.md#math-variational).
template <bool kNormalise, bool kEntropy = false, class T>
void logsumexp_cols_impl(ColMatrix<T>& y, VectorRef<T> lse, T* r_log_r = nullptr) {
  using namespace Eigen::internal;
  using P = Packet<T>;
  constexpr Index L = kPacket<T>;
  const Index B = y.rows(), K = y.cols(), packed = B / L * L;
  // Column by column, so every pass streams through memory: a row-by-row walk
  // across the K columns of stride B (often a power of two) thrashes L1 sets.
  // Row maxima m and sums s: on the stack for a kernel block, no allocation.
  alignas(64) T stack[3 * kBlockRows];
  Vector<T> heap;
  T* memory = stack;
  if (B > kBlockRows) {
    heap.resize(3 * B);
    memory = heap.data();
  }
  Eigen::Map<Vector<T>> m(memory, B), s(memory + B, B), h(memory + 2 * B, B);
  m = y.col(0);
  s.setZero();
  if constexpr (kEntropy) h.setZero();
  for (Index k = 1; k < K; ++k) {
    const T* col = y.col(k).data();
    for (Index i = 0; i < packed; i += L) pstoreu(m.data() + i, pmax(ploadu<P>(m.data() + i), ploadu<P>(col + i)));
    for (Index i = packed; i < B; ++i) m(i) = std::max(m(i), col[i]);
  }
  const P under = pset1<P>(kUnderflow<T>);
  for (Index k = 0; k < K; ++k) {
    T* col = y.col(k).data();
    for (Index i = 0; i < packed; i += L) {
      const P t = psub(ploadu<P>(col + i), ploadu<P>(m.data() + i));
      const P small = pcmp_lt(t, under);
      const P e = pandnot(exp_nonpositive(t), small);
      if (kNormalise) pstoreu(col + i, e);
      pstoreu(s.data() + i, padd(ploadu<P>(s.data() + i), e));
      // e t, 0 where e is (t may be -inf there).
      if constexpr (kEntropy) pstoreu(h.data() + i, padd(ploadu<P>(h.data() + i), pandnot(pmul(e, t), small)));
    }
    for (Index i = packed; i < B; ++i) {
      const T t = col[i] - m(i), e = t < kUnderflow<T> ? T(0) : std::exp(t);
      if (kNormalise) col[i] = e;
      s(i) += e;
      if constexpr (kEntropy)
        if (e > T(0)) h(i) += e * t;
    }
  }
  // A row of -inf has m = -inf, which makes lse NaN: fixed below.
  lse = (m.array() + s.array().log()).matrix();
  if constexpr (kEntropy) Eigen::Map<Vector<T>>(r_log_r, B) = (h.array() / s.array() - s.array().log()).matrix();
  if (kNormalise) {
    s = s.cwiseInverse();
    for (Index k = 0; k < K; ++k) y.col(k).array() *= s.array();
  }
  if (!(m.array() == -std::numeric_limits<T>::infinity()).any()) return;
  for (Index i = 0; i < B; ++i) {
    if (m(i) > -std::numeric_limits<T>::infinity()) continue;
    lse(i) = -std::numeric_limits<T>::infinity();
    if (kNormalise) y.row(i).setConstant(T(1) / T(K));
    if constexpr (kEntropy) r_log_r[i] = -std::log(T(K));
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

// softmax_cols_inplace, and r_log_r (B) = sum_k r_ik log r_ik of each row's
// responsibilities (see logsumexp_cols_impl).
template <class T>
void softmax_cols_inplace(ColMatrix<T>& y, VectorRef<T> lse, VectorRef<T> r_log_r) {
  logsumexp_cols_impl<true, true>(y, lse, r_log_r.data());
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
