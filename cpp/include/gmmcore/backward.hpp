#pragma once
// Backward (docs/math.md#math-backward): the VJP of the forward map X -> Y (N, K) for an
// upstream gradient G (N, K). With d = x - mu_k and v = Sigma_k^{-1} d:
//   dL/dw_k     = sum_i G_ik / w_k
//   dL/dmu_k    = sum_i G_ik v_ik
//   dL/dSigma_k = 1/2 sum_i G_ik (v_ik v_ik^T - Sigma_k^{-1})
//   dL/dx_i     = - sum_k G_ik v_ik
// and, fused, the VJP of the log-likelihood: G_ik = g_i gamma_ik for an upstream
// gradient g (N) of log p(x_i) (docs/math.md#math-log-likelihood).
// The sums run in whitened coordinates z = P_k^T d (Sigma_k^{-1} = P_k P_k^T, so
// v = P_k z): sum_i G_ik z_ik and sum_i G_ik z_ik z_ik^T, mapped back once per
// component (dL/dmu_k = P_k sum G z, dL/dSigma_k = 1/2 P_k (sum G z z^T - sum G I) P_k^T).
// z is the forward pass's own triangular product, so a sample and component
// cost one triangular product and one scatter, and the log-likelihood's
// responsibilities come from the same z.
// BackwardOptions leaves out the two costly outputs a caller may not need: the
// covariance gradient (the D x D scatter per sample and component) and the
// input gradient (N x D). The weight and mean gradients are always computed.
#include <algorithm>
#include <sstream>
#include <vector>

#include "gmmcore/forward.hpp"
#include "gmmcore/logsumexp.hpp"

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
// PaddedStats): sum_i G_ik, sum_i G_ik z_ik (K rows of ld), and the lower
// triangles of sum_i G_ik z_ik z_ik^T (K blocks of scatter_rows(D) rows of ld).
template <class T>
struct BackwardSums {
  Vector<T> g;
  RowMatrix<T> gz, gzz;

  BackwardSums() = default;
  // scatter_k: the components whose scatter is summed (K, or 0 without the covariance gradient).
  BackwardSums(Index K, Index D, Index scatter_k)
      : g(Vector<T>::Zero(K)),
        gz(RowMatrix<T>::Zero(K, padded_length<T>(D))),
        gzz(RowMatrix<T>::Zero(scatter_k * scatter_rows(D), gz.cols())) {}
  BackwardSums& operator+=(const BackwardSums& o) {
    g += o.g;
    gz += o.gz;
    gzz += o.gzz;
    return *this;
  }
};

// Up to kGramFeatures features in double, the sums over a block are formed
// on the transposed z (samples in the SIMD lanes, no transposition); past
// them each lane sum's horizontal reduction costs more than transposing z to
// rows for weighted_rows and scatter_full. In float, responsibilities near
// the underflow cut-off (e^-87) make G z subnormal, and with samples in the
// lanes one such sample slows a whole packet (microcode assists), where the
// rows' kernels meet it once per sample: float keeps the rows (measured at
// 1e5 x 16, K = 8, separated clusters: 4.4 ms on rows, 9.4 ms on lanes). The
// choice depends on T and D only, so leaving a gradient out changes no other.
inline constexpr Index kGramFeatures = 32;
template <class T>
bool transposed_sums(Index D) {
  return sizeof(T) == sizeof(double) && D <= kGramFeatures;
}

// Per-chunk scratch of backward: the forward's block workspace (ws.y holds G)
// and the whitened samples.
template <class T>
struct BackwardWorkspace {
  BlockWorkspace<T> block;
  RowMatrix<T> zt;     // (slots * factor_columns(D), ldt): z_ik transposed, per component slot
  RowMatrix<T> wt;     // (D, ldt): G_ik z_ik transposed, for one component
  RowMatrix<T> zp, w;  // (B, ld), (B, ldw): z_ik as padded rows, G_ik z_ik

  void resize(Index B, Index D, Index K, Index slots) {
    block.resize(B, D, K);
    const Index ld = padded_length<T>(D), ldw = std::max(ld, scatter_rows(D));
    if (zp.rows() != B || zp.cols() != ld) {
      zp = RowMatrix<T>::Zero(B, ld);
      w = RowMatrix<T>::Zero(B, ldw);
    }
    zt.resize(slots * factor_columns(D), block.xt.cols());
    if (transposed_sums<T>(D)) wt.resize(D, block.xt.cols());
  }
  auto slot(Index s, Index D) { return zt.middleRows(s * factor_columns(D), factor_columns(D)); }
};

// The whitened samples z_ik of component k for the block in ws.block.xt, into
// `slot`, and if quad is not null their |z_ik|^2 (as the forward pass's).
template <class T>
void whiten_block(const FactoredParams<T>& f, Index k, Index B, BackwardWorkspace<T>& ws, Index slot,
                  T* quad = nullptr) {
  const Index D = f.n_features();
  upper_products_transposed<T>(transposed_block(ws.block.xt, B), f.means.row(k).data(),
                               factor_rows<true>(f.factors, k, D), ws.block.scratch.data(),
                               transposed_block(ws.slot(slot, D), B), quad);
}

// acc += component k's sums over the block's rows from the z_ik in `slot` and
// G_ik = ws.block.y.col(k); with `input`, its rows r -= G_ik P_k z_ik.
template <class T>
void accumulate_component(const FactoredParams<T>& f, Index k, RowRange r, BackwardWorkspace<T>& ws, Index slot,
                          BackwardSums<T>& acc, bool scatter, RowMatrix<T>* input) {
  const Index B = r.size();
  const Index D = f.n_features();
  const T* g = ws.block.y.col(k).data();
  acc.g(k) += ws.block.y.col(k).sum();
  const Index rows_per_k = scatter_rows(D);
  // Component k's scatter (acc.gzz has no rows without the covariance gradient).
  const auto scatter_of = [&] { return padded_rows(acc.gzz.middleRows(k * rows_per_k, rows_per_k), D); };
  if (transposed_sums<T>(D)) {
    auto s = scatter ? scatter_of() : PaddedRows<T>{nullptr, 0, D, 0};
    weighted_gram_transposed<T>(transposed_block(ws.slot(slot, D), B), D, g, transposed_block(ws.wt, B),
                                acc.gz.row(k).data(), scatter ? &s : nullptr);
    if (!input) return;
    // The rows w_ik = G_ik z_ik of the input gradient.
    transpose_rows<T>(row_block(ws.wt.topLeftCorner(D, B)), row_block(ws.w));
  } else {
    transpose_rows<T>(row_block(ws.slot(slot, D).topLeftCorner(D, B)), row_block(ws.zp));
    weighted_rows<T>(padded_rows(ws.zp, D), g, padded_rows(ws.w, D), acc.gz.row(k).data());
    if (scatter) scatter_full<T>(padded_rows(ws.w, D), padded_rows(ws.zp, D), scatter_of());
  }
  if (input)
    input->middleRows(r.begin, B).noalias() -=
        ws.w.topLeftCorner(B, D) *
        f.precision_cholesky[static_cast<size_t>(k)].transpose().template triangularView<Eigen::Lower>();
}

template <class T>
void check_backward_params(const FactoredParams<T>& f, const ConstMatrixRef<T>& x) {
  check_factored(f);
  check_n_features(x.cols(), f.n_features(), "X");
  if (f.diagonal()) throw std::invalid_argument("backward needs full covariances");
}

// The gradients from the sums over all samples; fills `out` but its input gradient.
template <class T>
void gradients_from_sums(const FactoredParams<T>& f, const BackwardSums<T>& sums, bool covariances, Gradients<T>& out) {
  const Index K = f.n_components(), D = f.n_features();
  out.weights = sums.g.cwiseQuotient(f.weights);
  out.means.resize(K, D);
  out.covariances.resize(covariances ? K : 0, D * D);
  const Index rows_per_k = scatter_rows(D);
  for (Index k = 0; k < K; ++k) {
    const auto p = f.precision_cholesky[static_cast<size_t>(k)].template triangularView<Eigen::Upper>();
    out.means.row(k).transpose().noalias() = p * sums.gz.row(k).head(D).transpose();
    if (!covariances) continue;
    Square<T> s = sums.gzz.block(k * rows_per_k, 0, D, D).template selfadjointView<Eigen::Lower>();
    s.diagonal().array() -= sums.g(k);
    Square<T> m = p * s;
    m = (p * m.transpose()).eval();  // P (S - g I) P^T, as P (P (S - g I))^T with S symmetric
    // The products round slightly asymmetrically; the exact gradient is symmetric.
    Eigen::Map<RowMatrix<T>>(out.covariances.row(k).data(), D, D) = T(0.25) * (m + m.transpose());
  }
}

// Gradients of sum(G * forward(X)) with G_ik given per block by fill_g(r, ws)
// (the block transposed in ws.block.xt), which leaves G (B, K) in ws.block.y.
// `slots` is K when fill_g whitens every component into its slot (and says so
// by returning true), 1 otherwise.
template <class T, class FillG>
Gradients<T> backward_blocks(const FactoredParams<T>& f, const ConstMatrixRef<T>& x, const BackwardOptions& options,
                             Index slots, FillG&& fill_g) {
  const Index K = f.n_components(), D = f.n_features(), N = x.rows();
  Gradients<T> out;
  if (options.input) out.input.resize(N, D);
  const Index scatter_k = options.covariances ? K : 0;
  using Sums = BackwardSums<T>;
  using Workspace = BackwardWorkspace<T>;
  const Index ld = padded_length<T>(D);
  const Index partial_bytes = Index(sizeof(T)) * K * (1 + ld) + Index(sizeof(T)) * scatter_k * scatter_rows(D) * ld;
  const Sums sums = reduce_blocks_with<Sums, Workspace>(
      N, 2 * row_cost(f), partial_bytes, [&] { return Sums(K, D, scatter_k); },
      [&](Sums& acc, Workspace& ws, RowRange r) {
        const Index B = r.size();
        const auto xb = x.middleRows(r.begin, B);
        check_block_finite(xb, r.begin, "X");
        ws.resize(B, D, K, slots);
        transpose_rows<T>(row_block(xb), row_block(ws.block.xt));
        const bool whitened = fill_g(r, ws);
        if (options.input) out.input.middleRows(r.begin, B).setZero();
        for (Index k = 0; k < K; ++k) {
          const Index slot = whitened ? k : 0;
          if (!whitened) whiten_block(f, k, B, ws, slot);
          accumulate_component(f, k, r, ws, slot, acc, options.covariances, options.input ? &out.input : nullptr);
        }
      });
  gradients_from_sums(f, sums, options.covariances, out);
  return out;
}

}  // namespace detail

// Gradients of L = sum(G * forward(X)) for X (N, D) and G (N, K).
template <class T>
Gradients<T> backward(const FactoredParams<T>& f, const ConstMatrixRef<T>& x, const ConstMatrixRef<T>& grad_output,
                      const BackwardOptions& options = {}) {
  detail::check_backward_params(f, x);
  const Index K = f.n_components(), N = x.rows();
  if (grad_output.rows() != N || grad_output.cols() != K) {
    std::ostringstream msg;
    msg << "grad_output has shape (" << grad_output.rows() << ", " << grad_output.cols() << "), expected (" << N << ", "
        << K << ")";
    throw std::invalid_argument(msg.str());
  }
  return detail::backward_blocks(f, x, options, 1, [&](detail::RowRange r, detail::BackwardWorkspace<T>& ws) {
    const auto gb = grad_output.middleRows(r.begin, r.size());
    detail::check_block_finite(gb, r.begin, "grad_output");
    ws.block.y = gb;
    return false;
  });
}

namespace detail {

// A thread's whitened samples of every component for one block are kept (so
// that each is computed once) up to this size; past it, the log-probabilities
// come from the forward kernel and each component is whitened again for its
// sums. The choice depends on K, D and T only, never on the blocking.
inline constexpr Index kWhitenedBlockBytes = Index(8) << 20;

template <class T>
bool keep_whitened_block(Index K, Index D) {
  return K * factor_columns(D) * round_up(kBlockRows, kTransposedAlign<T>) * Index(sizeof(T)) <= kWhitenedBlockBytes;
}

}  // namespace detail

// Gradients of L = sum_i g_i log p(x_i) for X (N, D) and g (N): backward with
// G_ik = g_i gamma_ik, the responsibilities formed block by block from the
// same whitened samples (exactly 0 below the underflow cut-off, uniform in a
// row whose log-probabilities are all -inf; docs/math.md#math-responsibilities).
template <class T>
Gradients<T> log_likelihood_backward(const FactoredParams<T>& f, const ConstMatrixRef<T>& x,
                                     const ConstVectorRef<T>& grad_output, const BackwardOptions& options = {}) {
  detail::check_backward_params(f, x);
  const Index K = f.n_components(), D = f.n_features(), N = x.rows();
  if (grad_output.size() != N) {
    std::ostringstream msg;
    msg << "grad_output has length " << grad_output.size() << ", expected " << N << " (one per row of X)";
    throw std::invalid_argument(msg.str());
  }
  const bool keep = detail::keep_whitened_block<T>(K, D);
  return detail::backward_blocks(
      f, x, options, keep ? K : 1, [&](detail::RowRange r, detail::BackwardWorkspace<T>& ws) {
        const Index B = r.size();
        const auto gb = grad_output.segment(r.begin, B);
        detail::check_block_finite(gb, r.begin, "grad_output");
        if (keep) {
          for (Index k = 0; k < K; ++k) {
            detail::whiten_block(f, k, B, ws, k, ws.block.quad.data());
            ws.block.y.col(k) = (f.log_norm(k) - T(0.5) * ws.block.quad.head(B).array()).matrix();
          }
        } else {
          detail::component_log_probs_block(f, x.middleRows(r.begin, B), ws.block, /*transposed=*/true);
        }
        detail::softmax_cols_inplace<T>(ws.block.y, ws.block.lse);
        ws.block.y = ws.block.y.array().colwise() * gb.array();
        return keep;
      });
}

}  // namespace gmmcore
