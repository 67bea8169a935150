#pragma once
// Responsibilities (MATH.md "Responsibilities"): gamma_k(x) = softmax_k(y(x)).
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

}  // namespace gmmcore
