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
  RowMatrix<T> diff;  // (B, D): x_i - mu_k
  RowMatrix<T> z;     // (B, D): rows (x_i - mu_k)^T P_k
  RowMatrix<T> y;     // (B, K): log-probs, then responsibilities
  Vector<T> lse;      // (B): log p(x_i)

  void resize(Index rows, Index n_features, Index n_components) {
    diff.resize(rows, n_features);
    z.resize(rows, n_features);
    y.resize(rows, n_components);
    lse.resize(rows);
  }
};

inline void check_n_features(Index got, Index expected, const char* name) {
  if (got != expected) {
    std::ostringstream msg;
    msg << name << " has " << got << " features (columns) but the model has n_features = " << expected;
    throw std::invalid_argument(msg.str());
  }
}

// Throws if a block of rows starting at global row `first_row` holds NaN/inf.
template <class Derived>
void check_block_finite(const Eigen::MatrixBase<Derived>& block, Index first_row, const char* name) {
  if (block.allFinite()) return;
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

// y_b (B, K) = component log-probs of the rows x_b (B, D).
template <class T>
void component_log_probs_block(const FactoredParams<T>& f, const ConstMatrixRef<T>& xb, MatrixRef<T> yb,
                               BlockWorkspace<T>& ws) {
  for (Index k = 0; k < f.n_components(); ++k) {
    if (f.diagonal()) {
      ws.diff.noalias() = xb.rowwise() - f.means.row(k);
      yb.col(k) = (f.log_norm(k) - T(0.5) * (ws.diff.array().square().rowwise() *
                                             f.diagonal_precisions.row(k).array()).rowwise().sum())
                      .matrix();
    } else {
      whiten_block(f, k, xb, ws);
      yb.col(k) = (f.log_norm(k) - T(0.5) * ws.z.rowwise().squaredNorm().array()).matrix();
    }
  }
}

// Calls block(range, x_b, ws) on every block of X after checking it is finite.
template <class T, class Block>
void parallel_checked_blocks(const FactoredParams<T>& f, const ConstMatrixRef<T>& x, Block&& block) {
  check_n_features(x.cols(), f.n_features(), "X");
  parallel_blocks(x.rows(), [&](RowRange r) {
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
    detail::component_log_probs_block(f, xb, y.middleRows(r.begin, r.size()), ws);
  });
  return y;
}

}  // namespace gmmcore
