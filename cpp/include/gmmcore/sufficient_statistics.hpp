#pragma once
// Weighted sufficient statistics of a mixture, accumulated in one
// deterministic pass over X around per-component shifts c_k (the current
// means, so that large offsets in X do not cancel). With responsibilities r_ik
// and sample weights s_i (1 when none are given):
//   N_k = sum_i s_i r_ik,   s_k = sum_i s_i r_ik (x_i - c_k),
//   full:     S_k = sum_i s_i r_ik (x_i - c_k)(x_i - c_k)^T  (lower triangle)
//   diagonal: q_k = sum_i s_i r_ik (x_i - c_k)^2             (elementwise)
//   log_likelihood = sum_i s_i log p(x_i)  (E-step passes only).
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
  SufficientStats& operator+=(const SufficientStats& o) {
    n += o.n;
    s += o.s;
    for (size_t k = 0; k < ss.size(); ++k) ss[k].template triangularView<Eigen::Lower>() += o.ss[k];
    q += o.q;
    log_likelihood += o.log_likelihood;
    return *this;
  }
  static Index partial_bytes(Index K, Index D, bool diagonal) {
    return Index(sizeof(T)) * K * (1 + D + (diagonal ? D : D * D));
  }
};

// One pass over X (N, D). `responsibilities(range, x_b, ws)` fills ws.y (B, K)
// with r for the rows of the block and ws.lse with log p(x_i) (or zeros).
// sample_weight is empty or (N).
template <class T, class Responsibilities>
SufficientStats<T> accumulate_stats(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                    const RowMatrix<T>& shifts, bool diagonal, Responsibilities&& responsibilities) {
  const Index K = shifts.rows(), D = shifts.cols();
  const bool weighted = sample_weight.size() > 0;
  using Stats = SufficientStats<T>;
  return reduce_blocks<Stats>(
      x.rows(), 2 * K * D * (diagonal ? 1 : D), Stats::partial_bytes(K, D, diagonal), [&] { return Stats(K, D, diagonal); },
      [&](Stats& acc, RowRange r) {
        const auto xb = x.middleRows(r.begin, r.size());
        check_block_finite(xb, r.begin, "X");
        BlockWorkspace<T> ws;
        ws.resize(r.size(), D, K);
        responsibilities(r, xb, ws);
        if (weighted) {
          // A copy in our own (aligned) memory: a vectorised sum over the
          // caller's buffer would round differently at another address.
          ws.quad = sample_weight.segment(r.begin, r.size());
          ws.y.array().colwise() *= ws.quad.array();
          acc.log_likelihood +=
              (ws.quad.array() > T(0)).select(ws.quad.array() * ws.lse.array(), T(0)).template cast<double>().sum();
        } else {
          acc.log_likelihood += ws.lse.template cast<double>().sum();
        }
        for (Index k = 0; k < K; ++k) {
          const auto resp = ws.y.col(k);
          acc.n(k) += resp.sum();
          if (diagonal) {
            // One fused pass per component, vectorised over features.
            auto s = acc.s.row(k).array();
            auto q = acc.q.row(k).array();
            for (Index i = 0; i < xb.rows(); ++i) {
              const auto d = (xb.row(i) - shifts.row(k)).array();
              const T r = resp(i);
              s += r * d;
              q += r * d.square();
            }
          } else {
            // Rows sqrt(r_i) d_i make s_k = sqrt(r)^T Z and S_k += Z^T Z a symmetric rank update.
            ws.quad = resp.cwiseSqrt();
            ws.z.noalias() = ws.quad.asDiagonal() * (xb.rowwise() - shifts.row(k));
            acc.s.row(k).noalias() += ws.quad.transpose() * ws.z;
            acc.ss[static_cast<size_t>(k)].template selfadjointView<Eigen::Lower>().rankUpdate(ws.z.transpose());
          }
        }
      });
}

// Statistics of an E-step under f: r = softmax(y), lse = log p(x).
template <class T>
SufficientStats<T> e_step_stats(const FactoredParams<T>& f, const ConstMatrixRef<T>& x,
                                const ConstVectorRef<T>& sample_weight) {
  check_n_features(x.cols(), f.n_features(), "X");
  return accumulate_stats<T>(x, sample_weight, f.means, f.diagonal(), [&](RowRange, const auto& xb, auto& ws) {
    component_log_probs_block(f, xb, ws);
    softmax_cols_inplace<T>(ws.y, ws.lse);
  });
}

}  // namespace gmmcore::detail
