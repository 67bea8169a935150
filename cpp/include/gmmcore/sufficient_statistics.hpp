#pragma once
// Weighted sufficient statistics of a mixture, accumulated in one
// deterministic pass over X around per-component shifts c_k (the current
// means, so that large offsets in X do not cancel). With responsibilities r_ik
// and sample weights s_i (1 when none are given):
//   N_k = sum_i s_i r_ik,   s_k = sum_i s_i r_ik (x_i - c_k),
//   full:     S_k = sum_i s_i r_ik (x_i - c_k)(x_i - c_k)^T  (lower triangle)
//   diagonal: q_k = sum_i s_i r_ik (x_i - c_k)^2             (elementwise)
//   log_likelihood = sum_i s_i log p(x_i)  (E-step passes only).
#include <algorithm>
#include <vector>

#include "gmmcore/forward.hpp"
#include "gmmcore/logsumexp.hpp"

namespace gmmcore::detail {

template <class T>
struct SufficientStats {
  Vector<T> n;
  RowMatrix<T> s;
  std::vector<Square<T>> ss;  // full covariances
  RowMatrix<T> q;             // diagonal covariances
  double log_likelihood = 0;

  SufficientStats() = default;
  SufficientStats(Index K, Index D, bool diagonal)
      : n(Vector<T>::Zero(K)),
        s(RowMatrix<T>::Zero(K, D)),
        ss(diagonal ? 0 : K, Square<T>::Zero(D, D)),
        q(RowMatrix<T>::Zero(diagonal ? K : 0, D)) {}
  bool diagonal() const { return ss.empty(); }
};

// The same sums per chunk, in the micro-kernels' layout: s and q as K padded
// rows of ld = padded_length(D) values, the S_k as K blocks of scatter_rows(D)
// rows of ld values (lower triangle meaningful).
template <class T>
struct PaddedStats {
  Vector<T> n;
  RowMatrix<T> s, ss, q;
  double log_likelihood = 0;

  PaddedStats() = default;
  PaddedStats(Index K, Index D, bool diagonal)
      : n(Vector<T>::Zero(K)),
        s(RowMatrix<T>::Zero(K, padded_length<T>(D))),
        ss(RowMatrix<T>::Zero(diagonal ? 0 : K * scatter_rows(D), s.cols())),
        q(RowMatrix<T>::Zero(diagonal ? K : 0, s.cols())) {}
  PaddedStats& operator+=(const PaddedStats& o) {
    n += o.n;
    s += o.s;
    ss += o.ss;
    q += o.q;
    log_likelihood += o.log_likelihood;
    return *this;
  }
  static Index bytes(Index K, Index D, bool diagonal) {
    const Index ld = padded_length<T>(D);
    return Index(sizeof(T)) * K * (1 + 2 * ld + (diagonal ? 0 : scatter_rows(D) * ld));
  }
  SufficientStats<T> unpadded(Index D) const {
    const Index K = n.size(), rows = scatter_rows(D);
    SufficientStats<T> out(K, D, q.rows() > 0);
    out.n = n;
    out.s = s.leftCols(D);
    out.log_likelihood = log_likelihood;
    if (out.diagonal()) out.q = q.leftCols(D);
    for (Index k = 0; k < static_cast<Index>(out.ss.size()); ++k)
      out.ss[static_cast<size_t>(k)].template triangularView<Eigen::Lower>() = ss.block(k * rows, 0, D, D);
    return out;
  }
};

// Per-chunk scratch of accumulate_stats.
template <class T>
struct StatsWorkspace {
  BlockWorkspace<T> block;
  RowMatrix<T> x;     // (B, ld): the block as padded rows
  RowMatrix<T> d, w;  // (kScatterRows, ld) rows x_i - c_k and r_ik (x_i - c_k), w zero past ld
};

// Rows per call of scatter_full: its operands stay in L1.
constexpr Index kScatterRows = 64;

// One pass over X (N, D). `responsibilities(range, x_b, ws)` fills ws.y (B, K)
// with r for the rows of the block and ws.lse with log p(x_i) (or zeros); it
// finds the block transposed in ws.xt. sample_weight is empty or (N). Each
// block is checked finite unless the caller has checked all of X
// (x_is_finite).
template <class T, class Responsibilities>
SufficientStats<T> accumulate_stats(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                    const RowMatrix<T>& shifts, bool diagonal, bool x_is_finite,
                                    Responsibilities&& responsibilities) {
  const Index K = shifts.rows(), D = shifts.cols(), ld = padded_length<T>(D);
  const Index ldw = std::max(ld, scatter_rows(D)), rows_per_k = scatter_rows(D);
  const bool weighted = sample_weight.size() > 0;
  RowMatrix<T> centres = RowMatrix<T>::Zero(K, ld);
  centres.leftCols(D) = shifts;
  using Stats = PaddedStats<T>;
  const Stats total = reduce_blocks_with<Stats, StatsWorkspace<T>>(
      x.rows(), 2 * K * D * (diagonal ? 1 : D), Stats::bytes(K, D, diagonal), [&] { return Stats(K, D, diagonal); },
      [&](Stats& acc, StatsWorkspace<T>& sw, RowRange r) {
        const Index B = r.size();
        const auto xb = x.middleRows(r.begin, B);
        if (!x_is_finite) check_block_finite(xb, r.begin, "X");
        BlockWorkspace<T>& ws = sw.block;
        ws.resize(B, D, K);
        transpose_rows<T>(row_block(xb), row_block(ws.xt));
        responsibilities(r, xb, ws);
        if (weighted) {
          // A copy in our own (aligned) memory: a vectorised sum over the
          // caller's buffer would round differently at another address.
          ws.quad.head(B) = sample_weight.segment(r.begin, B);
          const auto weights = ws.quad.head(B).array();
          ws.y.array().colwise() *= weights;
          acc.log_likelihood += (weights > T(0)).select(weights * ws.lse.array(), T(0)).template cast<double>().sum();
        } else {
          acc.log_likelihood += ws.lse.template cast<double>().sum();
        }
        if (D <= kFewFeatures) {
          for (Index k = 0; k < K; ++k) {
            const auto resp = ws.y.col(k);
            acc.n(k) += resp.sum();
            T* s = acc.s.row(k).data();
            const PaddedRows<T> sq =
                diagonal ? padded_rows(acc.q.row(k), D) : padded_rows(acc.ss.middleRows(k * rows_per_k, rows_per_k), D);
            const auto xt = transposed_block(ws.xt, B);
            with_constant<int(kFewFeatures)>(D, [&](auto d) {
              if (diagonal)
                scatter_transposed<T, decltype(d)::value, false>(xt, centres.row(k).data(), resp.data(), s, sq);
              else
                scatter_transposed<T, decltype(d)::value, true>(xt, centres.row(k).data(), resp.data(), s, sq);
            });
          }
          return;
        }
        if (sw.x.rows() != B || sw.x.cols() != ld) sw.x = RowMatrix<T>::Zero(B, ld);
        sw.x.leftCols(D) = xb;
        if (!diagonal && sw.w.cols() != ldw) {
          sw.d.resize(kScatterRows, ld);
          sw.w = RowMatrix<T>::Zero(kScatterRows, ldw);
        }
        for (Index k = 0; k < K; ++k) {
          const auto resp = ws.y.col(k);
          acc.n(k) += resp.sum();
          const auto centre = centres.row(k);
          if (diagonal) {
            scatter_diag<T>(padded_rows(sw.x, D), centre.data(), resp.data(), acc.s.row(k).data(), acc.q.row(k).data());
            continue;
          }
          for (Index i0 = 0; i0 < B; i0 += kScatterRows) {
            const Index rows = std::min(kScatterRows, B - i0);
            const auto d = padded_rows(sw.d.topRows(rows), D), w = padded_rows(sw.w.topRows(rows), D);
            centred_weighted_rows<T>(padded_rows(sw.x.middleRows(i0, rows), D), centre.data(), resp.data() + i0, d, w,
                                     acc.s.row(k).data());
            scatter_full<T>(w, d, padded_rows(acc.ss.middleRows(k * rows_per_k, rows_per_k), D));
          }
        }
      });
  return total.unpadded(D);
}

// Statistics of an E-step under f: r = softmax(y), lse = log p(x).
template <class T>
SufficientStats<T> e_step_stats(const FactoredParams<T>& f, const ConstMatrixRef<T>& x,
                                const ConstVectorRef<T>& sample_weight, bool x_is_finite = false) {
  check_factored(f);
  check_n_features(x.cols(), f.n_features(), "X");
  return accumulate_stats<T>(x, sample_weight, f.means, f.diagonal(), x_is_finite,
                             [&](RowRange, const auto& xb, auto& ws) {
                               component_log_probs_block(f, xb, ws, /*transposed=*/true);
                               softmax_cols_inplace<T>(ws.y, ws.lse);
                             });
}

}  // namespace gmmcore::detail
