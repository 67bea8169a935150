#pragma once
// Forward map (docs/math.md#math-forward): per-component log-probabilities
//   y_k(x) = log w_k - 1/2 ((x - mu_k)^T Sigma_k^{-1} (x - mu_k) + log det Sigma_k + D log 2 pi).
#include <sstream>
#include <stdexcept>

#include "gmmcore/factorization.hpp"
#include "gmmcore/parallel.hpp"

namespace gmmcore {
namespace detail {

// Per-chunk scratch for one block of B rows, reused from block to block.
template <class T>
struct BlockWorkspace {
  RowMatrix<T> xt;       // (D, ldt): the block's samples transposed, zero past B
  Vector<T> quad;        // (ldt): one component's quadratic forms
  RowMatrix<T> scratch;  // of quadratic_forms_full
  ColMatrix<T> y;        // (B, K): log-probs, then responsibilities
  Vector<T> lse;         // (B): log p(x_i)
  Vector<T> r_log_r;     // (B): sum_k r_ik log r_ik, only for the variational E-step

  void resize(Index rows, Index n_features, Index n_components) {
    const Index ldt = round_up(rows, kTransposedAlign<T>);
    if (xt.rows() != n_features || xt.cols() != ldt) xt = RowMatrix<T>::Zero(n_features, ldt);
    quad.resize(ldt);
    scratch.resize(n_features, kRowPackets * kPacket<T>);
    y.resize(rows, n_components);
    lse.resize(rows);
  }
};

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

// Throws as check_block_finite does if X (N, D) holds NaN/inf, in one
// parallel pass: for callers that then make several passes over X.
template <class T>
void check_finite(const ConstMatrixRef<T>& x, const char* name) {
  parallel_blocks(x.rows(), x.cols(),
                  [&](RowRange r) { check_block_finite(x.middleRows(r.begin, r.size()), r.begin, name); });
}

// ws.y (B, K) = component log-probs of the rows x_b (B, D), ws sized by
// resize(B, D, K). Each component's quadratic forms come from a micro-kernel
// over the transposed block (already in ws.xt when `transposed`), with the
// samples in the SIMD lanes.
template <class T>
void component_log_probs_block(const FactoredParams<T>& f, const ConstMatrixRef<T>& xb, BlockWorkspace<T>& ws,
                               bool transposed = false) {
  const Index K = f.n_components(), D = f.n_features(), B = xb.rows();
  if (!transposed) transpose_rows<T>(row_block(xb), row_block(ws.xt));
  const auto xt = transposed_block(ws.xt, B);
  for (Index k = 0; k < K; ++k) {
    const T* mu = f.means.row(k).data();
    if (f.diagonal())
      quadratic_forms_diag<T>(xt, mu, f.diagonal_precisions.row(k).data(), ws.quad.data());
    else
      quadratic_forms_full<T>(xt, mu, factor_rows<true>(f.factors, k, D), ws.scratch.data(), ws.quad.data());
    ws.y.col(k) = (f.log_norm(k) - T(0.5) * ws.quad.head(B).array()).matrix();
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
  check_factored(f);
  check_n_features(x.cols(), f.n_features(), "X");
  parallel_blocks_with<BlockWorkspace<T>>(x.rows(), row_cost(f), [&](BlockWorkspace<T>& ws, RowRange r) {
    const auto xb = x.middleRows(r.begin, r.size());
    check_block_finite(xb, r.begin, "X");
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
