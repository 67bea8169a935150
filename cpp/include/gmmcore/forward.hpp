#pragma once
// Forward map (MATH.md "Forward"): per-component log-probabilities
//   y_k(x) = log w_k - 1/2 ((x - mu_k)^T Sigma_k^{-1} (x - mu_k) + log det Sigma_k + D log 2 pi).
#include <sstream>
#include <stdexcept>

#include "gmmcore/factorization.hpp"
#include "gmmcore/parallel.hpp"

namespace gmmcore {
namespace detail {

// Per-thread scratch for one block of rows.
template <class T>
struct BlockWorkspace {
  RowMatrix<T> diff;      // (B, D): x_i - mu_k or x_i - c
  RowMatrix<T> z;         // (B, D): rows (x_i - mu_k)^T P_k
  ColMatrix<T> stacked;   // (B, G*D): z for a group of G components
  Vector<T> quad;         // (B): |z_k|^2
  ColMatrix<T> y;         // (B, K): log-probs, then responsibilities
  Vector<T> lse;          // (B): log p(x_i)

  void resize(Index rows, Index n_features, Index n_components) {
    diff.resize(rows, n_features);
    z.resize(rows, n_features);
    y.resize(rows, n_components);
    lse.resize(rows);
    quad.resize(rows);
  }
};

// Components whose z are computed by one GEMM: about kStackedColumns columns,
// so the (B, G*D) result stays in L2.
constexpr Index kStackedColumns = 256;

inline void check_n_features(Index got, Index expected, const char* name) {
  if (got != expected) {
    std::ostringstream msg;
    msg << name << " has " << got << " features (columns) but the model has n_features = " << expected;
    throw std::invalid_argument(msg.str());
  }
}

// Throws if a block of rows starting at global row `first_row` holds NaN/inf.
// The sum is a cheap screen (non-finite whenever an entry is, and finite
// values that overflow it only cost the exact scan).
template <class Derived>
void check_block_finite(const Eigen::MatrixBase<Derived>& block, Index first_row, const char* name) {
  using std::isfinite;
  if (isfinite(block.sum()) || block.allFinite()) return;
  Index i = 0;
  while (block.row(i).allFinite()) ++i;
  std::ostringstream msg;
  msg << name << " contains NaN or infinity (first at row " << first_row + i << ")";
  throw std::invalid_argument(msg.str());
}

// z rows for component k: ws.z = (X_b - mu_k) P_k.
template <class T>
void whiten_block(const FactoredParams<T>& f, Index k, const ConstMatrixRef<T>& xb, BlockWorkspace<T>& ws) {
  ws.diff.noalias() = xb.rowwise() - f.means.row(k);
  ws.z.noalias() = ws.diff * f.precision_cholesky[k].template triangularView<Eigen::Upper>();
}

// ws.y (B, K) = component log-probs of the rows x_b (B, D). The z of several
// components come from one GEMM (see FactoredParams), column-major so that the
// squared norms below are vectorised over rows.
template <class T>
void component_log_probs_block(const FactoredParams<T>& f, const ConstMatrixRef<T>& xb, BlockWorkspace<T>& ws) {
  const Index K = f.n_components(), D = f.n_features(), B = xb.rows();
  ws.diff.noalias() = xb.rowwise() - f.shift.transpose();
  if (f.diagonal()) {
    ws.stacked.resize(B, 2 * K);
    ws.stacked.leftCols(K).noalias() = ws.diff.cwiseAbs2() * f.stacked_precision.leftCols(K);
    ws.stacked.rightCols(K).noalias() = ws.diff * f.stacked_precision.rightCols(K);
    for (Index k = 0; k < K; ++k)
      ws.y.col(k) = (f.log_norm(k) - T(0.5) * (ws.stacked.col(k).array() + ws.stacked.col(K + k).array() +
                                               f.stacked_offset(k)))
                        .matrix();
    return;
  }
  const Index group = std::max<Index>(1, kStackedColumns / D);
  for (Index k0 = 0; k0 < K; k0 += group) {
    const Index g = std::min(group, K - k0);
    ws.stacked.resize(B, g * D);
    ws.stacked.noalias() = ws.diff * f.stacked_precision.middleCols(k0 * D, g * D);
    for (Index j = 0; j < g; ++j) {
      const Index k = k0 + j;
      ws.quad.setZero();
      for (Index d = 0; d < D; ++d)
        ws.quad.array() += (ws.stacked.col(j * D + d).array() - f.stacked_offset(k * D + d)).square();
      ws.y.col(k) = (f.log_norm(k) - T(0.5) * ws.quad.array()).matrix();
    }
  }
}

// Flops per sample of evaluating f, roughly: what decides whether a pass is
// worth running in parallel.
template <class T>
Index row_cost(const FactoredParams<T>& f) {
  return f.n_components() * f.n_features() * (f.diagonal() ? 1 : f.n_features());
}

// Calls block(range, x_b, ws) on every block of X after checking it is finite.
template <class T, class Block>
void parallel_checked_blocks(const FactoredParams<T>& f, const ConstMatrixRef<T>& x, Block&& block) {
  check_n_features(x.cols(), f.n_features(), "X");
  parallel_blocks(x.rows(), row_cost(f), [&](RowRange r) {
    const auto xb = x.middleRows(r.begin, r.size());
    check_block_finite(xb, r.begin, "X");
    BlockWorkspace<T> ws;
    ws.resize(r.size(), f.n_features(), f.n_components());
    block(r, xb, ws);
  });
}

}  // namespace detail

// Y (N, K) with Y(i, k) = y_k(x_i) for X (N, D).
template <class T>
RowMatrix<T> forward(const FactoredParams<T>& f, const ConstMatrixRef<T>& x) {
  RowMatrix<T> y(x.rows(), f.n_components());
  detail::parallel_checked_blocks(f, x, [&](detail::RowRange r, const auto& xb, auto& ws) {
    detail::component_log_probs_block(f, xb, ws);
    y.middleRows(r.begin, r.size()) = ws.y;
  });
  return y;
}

}  // namespace gmmcore
