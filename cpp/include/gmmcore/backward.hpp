#pragma once
// Backward (docs/math.md#math-backward): the VJP of the forward map X -> Y (N, K) for an
// upstream gradient G (N, K). With d = x - mu_k and v = Sigma_k^{-1} d:
//   dL/dw_k     = sum_i G_ik / w_k
//   dL/dmu_k    = sum_i G_ik v_ik
//   dL/dSigma_k = 1/2 sum_i G_ik (v_ik v_ik^T - Sigma_k^{-1})
//   dL/dx_i     = - sum_k G_ik v_ik
// BackwardOptions leaves out the two costly outputs a caller may not need: the
// covariance gradient (the D x D scatter per sample and component) and the
// input gradient (N x D). The weight and mean gradients are always computed.
#include <algorithm>
#include <vector>

#include "gmmcore/forward.hpp"

namespace gmmcore {

template <class T>
struct Gradients {
  Vector<T> weights;         // (K)
  RowMatrix<T> means;        // (K, D)
  RowMatrix<T> covariances;  // (K, D*D), row k is dL/dSigma_k row-major
  RowMatrix<T> input;        // (N, D)
};

// Which of the costly gradients backward computes; one left out is returned empty (0 rows).
struct BackwardOptions {
  bool covariances = true;
  bool input = true;
};

namespace detail {

// Per-chunk sums over samples, in the micro-kernels' padded layout (as
// PaddedStats): sum_i G_ik, sum_i G_ik v_ik (K rows of ld), and the lower
// triangles of sum_i G_ik v_ik v_ik^T (K blocks of scatter_rows(D) rows of ld).
template <class T>
struct BackwardSums {
  Vector<T> g;
  RowMatrix<T> gv, gvv;

  BackwardSums() = default;
  // scatter_k: the components whose scatter is summed (K, or 0 without the covariance gradient).
  BackwardSums(Index K, Index D, Index scatter_k)
      : g(Vector<T>::Zero(K)),
        gv(RowMatrix<T>::Zero(K, padded_length<T>(D))),
        gvv(RowMatrix<T>::Zero(scatter_k * scatter_rows(D), gv.cols())) {}
  BackwardSums& operator+=(const BackwardSums& o) {
    g += o.g;
    gv += o.gv;
    gvv += o.gvv;
    return *this;
  }
};

// Per-chunk scratch of backward.
template <class T>
struct BackwardWorkspace {
  RowMatrix<T> xt, vt;   // (D, ldt), (factor_columns(D), ldt): x_i and v_ik, transposed
  RowMatrix<T> scratch;  // of dense_products_transposed
  RowMatrix<T> vp, w;    // (B, ld), (B, ldw): v_ik as padded rows, G_ik v_ik
  Vector<T> g;           // (B): G_ik, contiguous
};

}  // namespace detail

// Gradients of L = sum(G * forward(X)) for X (N, D) and G (N, K).
template <class T>
Gradients<T> backward(const FactoredParams<T>& f, const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& grad_output,
                      const BackwardOptions& options = {}) {
  detail::check_factored(f);
  const Index K = f.n_components(), D = f.n_features(), N = x.rows();
  detail::check_n_features(x.cols(), D, "X");
  if (f.diagonal()) throw std::invalid_argument("backward needs full covariances");
  if (grad_output.rows() != N || grad_output.cols() != K) {
    std::ostringstream msg;
    msg << "grad_output has shape (" << grad_output.rows() << ", " << grad_output.cols() << "), expected (" << N << ", "
        << K << ")";
    throw std::invalid_argument(msg.str());
  }
  Gradients<T> out;
  if (options.input) out.input.resize(N, D);  // every row is written by its block (component 0 assigns)
  const Index scatter_k = options.covariances ? K : 0;
  const Index ld = detail::padded_length<T>(D), ldw = std::max(ld, detail::scatter_rows(D)),
              rows_per_k = detail::scatter_rows(D);
  // Lambda_k = Sigma_k^{-1} = P_k P_k^T, so that v = Lambda_k d is one dense product per component,
  // stored for the kernel as D rows of factor_columns(D) (zero-padded).
  RowMatrix<T> lambda_rows = RowMatrix<T>::Zero(K * D, detail::factor_columns(D));
  auto lambda = [&](Index k) { return lambda_rows.block(k * D, 0, D, D); };
  for (Index k = 0; k < K; ++k) {
    const Square<T>& p = f.precision_cholesky[static_cast<size_t>(k)];
    lambda(k).noalias() = p.template triangularView<Eigen::Upper>() * p.transpose();
  }
  using Sums = detail::BackwardSums<T>;
  using Workspace = detail::BackwardWorkspace<T>;
  const Index partial_bytes = Index(sizeof(T)) * K * (1 + ld) + Index(sizeof(T)) * scatter_k * rows_per_k * ld;
  Sums sums = detail::reduce_blocks_with<Sums, Workspace>(
      N, 2 * detail::row_cost(f), partial_bytes, [&] { return Sums(K, D, scatter_k); },
      [&](Sums& acc, Workspace& ws, detail::RowRange r) {
        const Index B = r.size();
        const auto xb = x.middleRows(r.begin, B);
        const auto gb = grad_output.middleRows(r.begin, B);
        detail::check_block_finite(xb, r.begin, "X");
        detail::check_block_finite(gb, r.begin, "grad_output");
        if (ws.vp.rows() != B || ws.vp.cols() != ld) {
          ws.vp = RowMatrix<T>::Zero(B, ld);
          ws.w = RowMatrix<T>::Zero(B, ldw);
          ws.xt = RowMatrix<T>::Zero(D, detail::round_up(B, detail::kTransposedAlign<T>));
          ws.vt.resize(detail::factor_columns(D), ws.xt.cols());
          ws.scratch.resize(D, detail::kRowPackets * detail::kPacket<T>);
        }
        detail::transpose_rows<T>(detail::row_block(xb), detail::row_block(ws.xt));
        const auto xt = detail::transposed_block(ws.xt, B);
        const auto vp = detail::padded_rows(ws.vp, D), w = detail::padded_rows(ws.w, D);
        for (Index k = 0; k < K; ++k) {
          // v_i = Lambda_k (x_i - mu_k) with the samples in the SIMD lanes, then back to rows.
          detail::dense_products_transposed<T>(xt, f.means.row(k).data(), detail::factor_rows<false>(lambda_rows, k, D),
                                               ws.scratch.data(), detail::transposed_block(ws.vt, B));
          detail::transpose_rows<T>(detail::row_block(ws.vt.topLeftCorner(D, B)), detail::row_block(ws.vp));
          ws.g = gb.col(k);
          acc.g(k) += ws.g.sum();
          // w = G v, gv += sum_i G_ik v_ik; then the scatter sum of w_i v_i^T.
          detail::weighted_rows<T>(vp, ws.g.data(), w, acc.gv.row(k).data());
          if (options.covariances)
            detail::scatter_full<T>(w, vp, detail::padded_rows(acc.gvv.middleRows(k * rows_per_k, rows_per_k), D));
          if (!options.input) continue;
          auto dxb = out.input.middleRows(r.begin, B);
          if (k == 0)
            dxb = -ws.w.leftCols(D);
          else
            dxb -= ws.w.leftCols(D);
        }
      });
  out.weights = sums.g.cwiseQuotient(f.weights);
  out.means = sums.gv.leftCols(D);
  out.covariances.resize(scatter_k, D * D);
  for (Index k = 0; k < scatter_k; ++k) {
    Square<T> m = sums.gvv.block(k * rows_per_k, 0, D, D).template selfadjointView<Eigen::Lower>();
    m -= sums.g(k) * lambda(k);
    // Lambda_k's product rounds slightly asymmetrically; the exact gradient is symmetric.
    Eigen::Map<RowMatrix<T>>(out.covariances.row(k).data(), D, D) = T(0.25) * (m + m.transpose());
  }
  return out;
}

}  // namespace gmmcore
