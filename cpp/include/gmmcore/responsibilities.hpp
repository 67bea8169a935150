#pragma once
// Responsibilities (docs/math.md#math-responsibilities): gamma_k(x) = softmax_k(y(x)).
#include <cstdint>

#include "gmmcore/forward.hpp"
#include "gmmcore/logsumexp.hpp"

namespace gmmcore {

// R (N, K) with rows summing to 1, for X (N, D).
template <class T>
RowMatrix<T> expectation(const FactoredParams<T>& f, const ConstMatrixRef<T>& x) {
  RowMatrix<T> resp(x.rows(), f.n_components());
  detail::parallel_checked_blocks(f, x, [&](detail::RowRange r, const auto& xb, auto& ws) {
    detail::component_log_probs_block(f, xb, ws);
    detail::softmax_cols_inplace<T>(ws.y, ws.lse);
    resp.middleRows(r.begin, r.size()) = ws.y;
  });
  return resp;
}

// argmax_k y_k(x_i) for X (N, D): the most probable component of each sample
// (ties to the lowest k), without materialising the (N, K) log-probs.
template <class T>
Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> predict(const FactoredParams<T>& f, const ConstMatrixRef<T>& x) {
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> labels(x.rows());
  detail::parallel_checked_blocks(f, x, [&](detail::RowRange r, const auto& xb, auto& ws) {
    detail::component_log_probs_block(f, xb, ws);
    for (Index i = 0; i < r.size(); ++i) {
      Index best;
      ws.y.row(i).maxCoeff(&best);
      labels(r.begin + i) = best;
    }
  });
  return labels;
}

}  // namespace gmmcore
