#pragma once
// Backward (MATH.md "Backward"): the VJP of the forward map X -> Y (N, K) for an
// upstream gradient G (N, K). With d = x - mu_k and v = Sigma_k^{-1} d:
//   dL/dw_k     = sum_i G_ik / w_k
//   dL/dmu_k    = sum_i G_ik v_ik
//   dL/dSigma_k = 1/2 sum_i G_ik (v_ik v_ik^T - Sigma_k^{-1})
//   dL/dx_i     = - sum_k G_ik v_ik
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

namespace detail {

// Per-chunk sums over samples: sum_i G_ik, sum_i G_ik v_ik, sum_i G_ik v_ik v_ik^T.
template <class T>
struct BackwardSums {
  Vector<T> g;
  RowMatrix<T> gv;
  std::vector<Square<T>> gvv;

  BackwardSums() = default;
  BackwardSums(Index K, Index D) : g(Vector<T>::Zero(K)), gv(RowMatrix<T>::Zero(K, D)), gvv(K, Square<T>::Zero(D, D)) {}
  BackwardSums& operator+=(const BackwardSums& o) {
    g += o.g;
    gv += o.gv;
    for (size_t k = 0; k < gvv.size(); ++k) gvv[k] += o.gvv[k];
    return *this;
  }
};

}  // namespace detail

// Gradients of L = sum(G * forward(X)) for X (N, D) and G (N, K).
template <class T>
Gradients<T> backward(const FactoredParams<T>& f, const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& grad_output) {
  const Index K = f.n_components(), D = f.n_features(), N = x.rows();
  detail::check_n_features(x.cols(), D, "X");
  if (f.diagonal()) throw std::invalid_argument("backward needs full covariances");
  if (grad_output.rows() != N || grad_output.cols() != K) {
    std::ostringstream msg;
    msg << "grad_output has shape (" << grad_output.rows() << ", " << grad_output.cols() << "), expected (" << N
        << ", " << K << ")";
    throw std::invalid_argument(msg.str());
  }
  Gradients<T> out;
  out.input = RowMatrix<T>::Zero(N, D);
  using Sums = detail::BackwardSums<T>;
  const Index partial_bytes = Index(sizeof(T)) * K * (1 + D + D * D);
  Sums sums = detail::reduce_blocks<Sums>(
      N, 2 * detail::row_cost(f), partial_bytes, [&] { return Sums(K, D); },
      [&](Sums& acc, detail::RowRange r) {
        const auto xb = x.middleRows(r.begin, r.size());
        const auto gb = grad_output.middleRows(r.begin, r.size());
        detail::check_block_finite(xb, r.begin, "X");
        detail::check_block_finite(gb, r.begin, "grad_output");
        auto dxb = out.input.middleRows(r.begin, r.size());
        RowMatrix<T> diff(r.size(), D), z(r.size(), D), v(r.size(), D), gv(r.size(), D);
        for (Index k = 0; k < K; ++k) {
          const Square<T>& p = f.precision_cholesky[static_cast<size_t>(k)];
          diff.noalias() = xb.rowwise() - f.means.row(k);
          z.noalias() = diff * p.template triangularView<Eigen::Upper>();
          v.noalias() = z * p.transpose().template triangularView<Eigen::Lower>();
          gv.noalias() = gb.col(k).asDiagonal() * v;
          acc.g(k) += gb.col(k).sum();
          acc.gv.row(k).noalias() += gb.col(k).transpose() * v;
          acc.gvv[static_cast<size_t>(k)].noalias() += v.transpose() * gv;
          dxb -= gv;
        }
      });
  out.weights = sums.g.cwiseQuotient(f.weights);
  out.means = std::move(sums.gv);
  out.covariances.resize(K, D * D);
  for (Index k = 0; k < K; ++k) {
    const Square<T>& p = f.precision_cholesky[k];
    const Square<T> m = sums.gvv[static_cast<size_t>(k)] - sums.g(k) * (p * p.transpose());
    // Round-off leaves m slightly asymmetric; the exact gradient is symmetric.
    Eigen::Map<RowMatrix<T>>(out.covariances.row(k).data(), D, D) = T(0.25) * (m + m.transpose());
  }
  return out;
}

}  // namespace gmmcore
