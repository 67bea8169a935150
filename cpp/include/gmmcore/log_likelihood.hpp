#pragma once
// Log-likelihood (docs/math.md#math-log-likelihood): log p(x) = lse_k y_k(x).
#include "gmmcore/forward.hpp"
#include "gmmcore/logsumexp.hpp"

namespace gmmcore {

// (N) vector of log p(x_i) for X (N, D).
template <class T>
Vector<T> log_likelihood(const FactoredParams<T>& f, const ConstMatrixRef<T>& x) {
  Vector<T> out(x.rows());
  detail::parallel_checked_blocks(f, x, [&](detail::RowRange r, const auto& xb, auto& ws) {
    detail::component_log_probs_block(f, xb, ws);
    detail::logsumexp_cols<T>(ws.y, out.segment(r.begin, r.size()));
  });
  return out;
}

// NLL = -sum_i log p(x_i) (a sum, not a mean), reduced deterministically and
// accumulated in double whatever T is. N = 0 gives 0.
template <class T>
double negative_log_likelihood(const FactoredParams<T>& f, const ConstMatrixRef<T>& x) {
  detail::check_factored(f);
  detail::check_n_features(x.cols(), f.n_features(), "X");
  struct Sum {
    double value = 0;
    Sum& operator+=(const Sum& o) {
      value += o.value;
      return *this;
    }
  };
  const Sum total = detail::reduce_blocks_with<Sum, detail::BlockWorkspace<T>>(
      x.rows(), detail::row_cost(f), sizeof(Sum), [] { return Sum{}; },
      [&](Sum& acc, detail::BlockWorkspace<T>& ws, detail::RowRange r) {
        const auto xb = x.middleRows(r.begin, r.size());
        detail::check_block_finite(xb, r.begin, "X");
        ws.resize(r.size(), f.n_features(), f.n_components());
        detail::component_log_probs_block(f, xb, ws);
        detail::logsumexp_cols<T>(ws.y, ws.lse);
        acc.value -= ws.lse.template cast<double>().sum();
      });
  return total.value;
}

}  // namespace gmmcore
