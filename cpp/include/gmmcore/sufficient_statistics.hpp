#pragma once
// The blocked pass that accumulates the Statistics of statistics.hpp (N_k,
// s_k, S_k or q_k, log-likelihood, total weight) over X in one deterministic
// pass, on the micro-kernels, and the E-step that feeds it.
#include <algorithm>
#include <cstdint>
#include <sstream>
#include <vector>

#include "gmmcore/factorization.hpp"
#include "gmmcore/forward.hpp"
#include "gmmcore/logsumexp.hpp"
#include "gmmcore/random.hpp"
#include "gmmcore/statistics.hpp"

namespace gmmcore::detail {

// The same sums per chunk, in the micro-kernels' layout: s and q as K padded
// rows of ld = padded_length(D) values, the S_k as K blocks of scatter_rows(D)
// rows of ld values (lower triangle meaningful).
template <class T>
struct PaddedStats {
  Vector<T> n;
  RowMatrix<T> s, ss, q;
  double log_likelihood = 0;
  double r_log_r = 0;  // sum_i s_i sum_k r_ik log r_ik, when asked for

  PaddedStats() = default;
  PaddedStats(Index K, Index D, bool diagonal)
      : n(Vector<T>::Zero(K)),
        s(RowMatrix<T>::Zero(K, padded_length<T>(D))),
        ss(RowMatrix<T>::Zero(diagonal ? 0 : K * scatter_rows(D), s.cols())),
        q(RowMatrix<T>::Zero(diagonal ? K : 0, s.cols())) {}
  PaddedStats& operator+=(const PaddedStats& o) {
    n += o.n;
    s += o.s;
    ss += o.ss;
    q += o.q;
    log_likelihood += o.log_likelihood;
    r_log_r += o.r_log_r;
    return *this;
  }
  static Index bytes(Index K, Index D, bool diagonal) {
    const Index ld = padded_length<T>(D);
    return Index(sizeof(T)) * K * (1 + 2 * ld + (diagonal ? 0 : scatter_rows(D) * ld));
  }
  // The sums as Statistics around `shifts` (K, D), S_k made symmetric.
  Statistics<T> unpadded(CovarianceType type, const RowMatrix<T>& shifts) const {
    const Index K = shifts.rows(), D = shifts.cols(), rows = scatter_rows(D);
    Statistics<T> out;
    out.covariance_type = type;
    out.shifts = shifts;
    out.weight_sums = n;
    out.sums = s.leftCols(D);
    out.log_likelihood = log_likelihood;
    if (is_diagonal(type)) {
      out.scatters = q.leftCols(D);
      return out;
    }
    out.scatters.resize(K, D * D);
    for (Index k = 0; k < K; ++k)
      Eigen::Map<RowMatrix<T>>(out.scatters.row(k).data(), D, D) =
          ss.block(k * rows, 0, D, D).template selfadjointView<Eigen::Lower>();
    return out;
  }
};

// Per-chunk scratch of accumulate_stats.
template <class T>
struct StatsWorkspace {
  BlockWorkspace<T> block;
  RowMatrix<T> x;     // (B, ld): the block as padded rows
  RowMatrix<T> d, w;  // (kScatterRows, ld) rows x_i - c_k and r_ik (x_i - c_k), w zero past ld
};

// Rows per call of scatter_full: its operands stay in L1.
constexpr Index kScatterRows = 64;

// sum_i s_i (N without weights), summed in order in double: a vectorised sum
// over the caller's buffer would round differently at another address.
template <class T>
double total_weight(const ConstVectorRef<T>& sample_weight, Index n_samples) {
  if (sample_weight.size() == 0) return double(n_samples);
  double total = 0;
  for (Index i = 0; i < sample_weight.size(); ++i) total += double(sample_weight(i));
  return total;
}

// Scatters weighted padded rows into one component's sums, around the shifts
// padded as the kernels want them; shared by accumulate_stats (rows of a
// block, r_ik) and labelled_stats (rows of one label, s_i).
template <class T>
class ComponentScatter {
 public:
  ComponentScatter(const RowMatrix<T>& shifts, CovarianceType type)
      : diagonal_(is_diagonal(type)),
        D_(shifts.cols()),
        ld_(padded_length<T>(D_)),
        centres_(RowMatrix<T>::Zero(shifts.rows(), ld_)) {
    centres_.leftCols(D_) = shifts;
  }
  Index ld() const { return ld_; }

  // acc's sums for component k += the rows x (padded, ld) weighted by r;
  // d and w are the caller's scratch, sized here once.
  void operator()(PaddedStats<T>& acc, Index k, const RowMatrix<T>& x, Index begin, Index end, const T* r,
                  RowMatrix<T>& d, RowMatrix<T>& w) const {
    acc.n(k) += Eigen::Map<const Vector<T>>(r, end - begin).sum();
    const T* centre = centres_.row(k).data();
    if (diagonal_) {
      scatter_diag<T>(padded_rows(x.middleRows(begin, end - begin), D_), centre, r, acc.s.row(k).data(),
                      acc.q.row(k).data());
      return;
    }
    const Index rows_per_k = scatter_rows(D_), ldw = std::max(ld_, rows_per_k);
    if (w.cols() != ldw) {
      d.resize(kScatterRows, ld_);
      w = RowMatrix<T>::Zero(kScatterRows, ldw);
    }
    for (Index i0 = begin; i0 < end; i0 += kScatterRows) {
      const Index rows = std::min(kScatterRows, end - i0);
      const auto dr = padded_rows(d.topRows(rows), D_), wr = padded_rows(w.topRows(rows), D_);
      centred_weighted_rows<T>(padded_rows(x.middleRows(i0, rows), D_), centre, r + (i0 - begin), dr, wr,
                               acc.s.row(k).data());
      scatter_full<T>(wr, dr, padded_rows(acc.ss.middleRows(k * rows_per_k, rows_per_k), D_));
    }
  }

  // The transposed kernels of few features (D <= kFewFeatures) on a block.
  void transposed(PaddedStats<T>& acc, Index k, TransposedBlock<const T> xt, const T* r) const {
    acc.n(k) += Eigen::Map<const Vector<T>>(r, xt.samples).sum();
    const Index rows_per_k = scatter_rows(D_);
    T* s = acc.s.row(k).data();
    const PaddedRows<T> sq =
        diagonal_ ? padded_rows(acc.q.row(k), D_) : padded_rows(acc.ss.middleRows(k * rows_per_k, rows_per_k), D_);
    with_constant<int(kFewFeatures)>(D_, [&](auto d) {
      if (diagonal_)
        scatter_transposed<T, decltype(d)::value, false>(xt, centres_.row(k).data(), r, s, sq);
      else
        scatter_transposed<T, decltype(d)::value, true>(xt, centres_.row(k).data(), r, s, sq);
    });
  }

 private:
  bool diagonal_;
  Index D_, ld_;
  RowMatrix<T> centres_;  // (K, ld): the shifts, zero past D
};

// The Statistics of a pass's summed chunks over all of X.
template <class T>
Statistics<T> finished_stats(const PaddedStats<T>& total, CovarianceType type, const RowMatrix<T>& shifts,
                             const ConstVectorRef<T>& sample_weight, Index n_samples) {
  Statistics<T> out = total.unpadded(type, shifts);
  out.total_weight = total_weight<T>(sample_weight, n_samples);
  out.n_samples = n_samples;
  return out;
}

// One pass over X (N, D). `responsibilities(range, x_b, ws)` fills ws.y (B, K)
// with r for the rows of the block and ws.lse with log p(x_i) (or zeros); it
// finds the block transposed in ws.xt. sample_weight is empty or (N). Each
// block is checked finite unless the caller has checked all of X
// (x_is_finite). With sum_r_log_r, responsibilities also fills ws.r_log_r (B)
// with sum_k r_ik log r_ik, and *sum_r_log_r gets sum_i s_i ws.r_log_r(i).
template <class T, class Responsibilities>
Statistics<T> accumulate_stats(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                               const RowMatrix<T>& shifts, CovarianceType type, bool x_is_finite,
                               Responsibilities&& responsibilities, double* sum_r_log_r = nullptr) {
  const bool diagonal = is_diagonal(type);
  const Index K = shifts.rows(), D = shifts.cols();
  const bool weighted = sample_weight.size() > 0;
  const ComponentScatter<T> scatter(shifts, type);
  using Stats = PaddedStats<T>;
  const Stats total = reduce_blocks_with<Stats, StatsWorkspace<T>>(
      x.rows(), 2 * K * D * (diagonal ? 1 : D), Stats::bytes(K, D, diagonal), [&] { return Stats(K, D, diagonal); },
      [&](Stats& acc, StatsWorkspace<T>& sw, RowRange r) {
        const Index B = r.size();
        const auto xb = x.middleRows(r.begin, B);
        if (!x_is_finite) check_block_finite(xb, r.begin, "X");
        BlockWorkspace<T>& ws = sw.block;
        ws.resize(B, D, K);
        transpose_rows<T>(row_block(xb), row_block(ws.xt));
        responsibilities(r, xb, ws);
        if (weighted) {
          // A copy in our own (aligned) memory: a vectorised sum over the
          // caller's buffer would round differently at another address.
          ws.quad.head(B) = sample_weight.segment(r.begin, B);
          const auto weights = ws.quad.head(B).array();
          ws.y.array().colwise() *= weights;
          acc.log_likelihood += (weights > T(0)).select(weights * ws.lse.array(), T(0)).template cast<double>().sum();
          if (sum_r_log_r)
            acc.r_log_r += (weights > T(0)).select(weights * ws.r_log_r.array(), T(0)).template cast<double>().sum();
        } else {
          acc.log_likelihood += ws.lse.template cast<double>().sum();
          if (sum_r_log_r) acc.r_log_r += ws.r_log_r.template cast<double>().sum();
        }
        if (D <= kFewFeatures) {
          for (Index k = 0; k < K; ++k) scatter.transposed(acc, k, transposed_block(ws.xt, B), ws.y.col(k).data());
          return;
        }
        if (sw.x.rows() != B || sw.x.cols() != scatter.ld()) sw.x = RowMatrix<T>::Zero(B, scatter.ld());
        sw.x.leftCols(D) = xb;
        for (Index k = 0; k < K; ++k) scatter(acc, k, sw.x, 0, B, ws.y.col(k).data(), sw.d, sw.w);
      });
  if (sum_r_log_r) *sum_r_log_r = total.r_log_r;
  return finished_stats<T>(total, type, shifts, sample_weight, x.rows());
}

// Per-chunk scratch of labelled_stats.
template <class T>
struct LabelledWorkspace {
  RowMatrix<T> x;                  // a block's labelled rows as padded rows, grouped by label
  Vector<T> r;                     // their weights
  RowMatrix<T> d, w;               // as StatsWorkspace's
  std::vector<Index> start, next;  // (K + 1): where each label's rows begin in x; the next free row
};

// accumulate_stats for one-hot responsibilities r_ik = [labels_i = k] (label
// -1: no component), lse = 0: within each block the rows are grouped by
// label, in order, and each is scattered into its own component only,
// instead of K scatters of mostly zero weights.
template <class T>
Statistics<T> labelled_stats(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                             const RowMatrix<T>& shifts, CovarianceType type, bool x_is_finite, const int* labels) {
  const bool diagonal = is_diagonal(type);
  const Index K = shifts.rows(), D = shifts.cols();
  const ComponentScatter<T> scatter(shifts, type);
  using Stats = PaddedStats<T>;
  const Stats total = reduce_blocks_with<Stats, LabelledWorkspace<T>>(
      x.rows(), 2 * D * (diagonal ? 1 : D), Stats::bytes(K, D, diagonal), [&] { return Stats(K, D, diagonal); },
      [&](Stats& acc, LabelledWorkspace<T>& lw, RowRange r) {
        const Index B = r.size();
        const auto xb = x.middleRows(r.begin, B);
        if (!x_is_finite) check_block_finite(xb, r.begin, "X");
        if (lw.x.rows() < B || lw.x.cols() != scatter.ld()) {
          lw.x = RowMatrix<T>::Zero(std::max(B, kBlockRows), scatter.ld());
          lw.r.resize(lw.x.rows());
        }
        lw.start.assign(static_cast<size_t>(K + 1), 0);
        for (Index i = r.begin; i < r.end; ++i)
          if (labels[i] >= 0) ++lw.start[static_cast<size_t>(labels[i] + 1)];
        for (Index k = 0; k < K; ++k) lw.start[static_cast<size_t>(k + 1)] += lw.start[static_cast<size_t>(k)];
        lw.next.assign(lw.start.begin(), lw.start.end());
        for (Index i = r.begin; i < r.end; ++i) {
          if (labels[i] < 0) continue;
          const Index j = lw.next[static_cast<size_t>(labels[i])]++;
          lw.x.row(j).head(D) = xb.row(i - r.begin);
          lw.r(j) = sample_weight.size() ? sample_weight(i) : T(1);
        }
        for (Index k = 0; k < K; ++k) {
          const Index begin = lw.start[static_cast<size_t>(k)], end = lw.start[static_cast<size_t>(k + 1)];
          if (begin < end) scatter(acc, k, lw.x, begin, end, lw.r.data() + begin, lw.d, lw.w);
        }
      });
  return finished_stats<T>(total, type, shifts, sample_weight, x.rows());
}

// Statistics of an E-step under f (of covariance type `type`): r = softmax(y),
// lse = log p(x), around the means of f. With sum_r_log_r, also
// *sum_r_log_r = sum_i s_i sum_k r_ik log r_ik (the variational E-step's
// entropy term; the plain E-step does not compute it).
template <class T>
Statistics<T> e_step_stats(const FactoredParams<T>& f, CovarianceType type, const ConstMatrixRef<T>& x,
                           const ConstVectorRef<T>& sample_weight, bool x_is_finite = false,
                           double* sum_r_log_r = nullptr) {
  check_factored(f);
  check_n_features(x.cols(), f.n_features(), "X");
  if (sum_r_log_r)
    return accumulate_stats<T>(
        x, sample_weight, f.means, type, x_is_finite,
        [&](RowRange, const auto& xb, auto& ws) {
          component_log_probs_block(f, xb, ws, /*transposed=*/true);
          ws.r_log_r.resize(xb.rows());
          softmax_cols_inplace<T>(ws.y, ws.lse, ws.r_log_r);
        },
        sum_r_log_r);
  return accumulate_stats<T>(x, sample_weight, f.means, type, x_is_finite, [&](RowRange, const auto& xb, auto& ws) {
    component_log_probs_block(f, xb, ws, /*transposed=*/true);
    softmax_cols_inplace<T>(ws.y, ws.lse);
  });
}

// Statistics around `shifts` of fixed responsibilities (an initialisation's:
// log p is not known, lse = 0): one-hot r_ik = [labels_i = k] when labels is
// given (label -1: no component), else the 'random' initialisation's
// r_ik = u_ik / sum_j u_ij with u_ik = uniform_at(random_seed, (row_offset + i) K + k),
// which depend on the row's index in the whole data only, not on how the data
// are split.
template <class T>
Statistics<T> fixed_responsibility_stats(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                         const RowMatrix<T>& shifts, CovarianceType type, bool x_is_finite,
                                         const int* labels, std::uint64_t random_seed, Index row_offset) {
  if (labels) return labelled_stats<T>(x, sample_weight, shifts, type, x_is_finite, labels);
  const Index K = shifts.rows();
  return accumulate_stats<T>(x, sample_weight, shifts, type, x_is_finite, [&](RowRange r, const auto&, auto& ws) {
    ws.lse.setZero();
    for (Index i = r.begin; i < r.end; ++i) {
      auto row = ws.y.row(i - r.begin);
      for (Index k = 0; k < K; ++k) row(k) = T(uniform_at(random_seed, std::uint64_t((row_offset + i) * K + k)));
      row /= row.sum();
    }
  });
}

// The checks shared by labelled_statistics and random_statistics.
template <class T>
void check_responsibility_inputs(CovarianceType type, const RowMatrix<T>& shifts, const ConstMatrixRef<T>& x,
                                 const ConstVectorRef<T>& sample_weight) {
  covariance_type_name(type);
  if (shifts.rows() < 1 || shifts.cols() < 1)
    throw std::invalid_argument("shifts must have at least one row (component) and one column (feature)");
  require_finite(shifts, "shifts");
  check_n_features(x.cols(), shifts.cols(), "X");
  check_sample_weight<T>(sample_weight, x.rows());
}

}  // namespace gmmcore::detail

namespace gmmcore {

// The E-step statistics of mixture m on X (N, D) with optional sample weights
// (empty, or N finite non-negative values): responsibilities r = softmax of
// the component log-probabilities, shifts c_k = the means of m. N = 0 gives
// zero statistics.
template <class T>
Statistics<T> statistics(const Mixture<T>& m, const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight) {
  const FactoredParams<T> f = factorize(m);
  detail::check_n_features(x.cols(), f.n_features(), "X");
  detail::check_sample_weight<T>(sample_weight, x.rows());
  return detail::e_step_stats(f, m.covariance_type, x, sample_weight);
}

// The statistics around shifts (K, D) of hard responsibilities on X (N, D):
// r_ik = [labels_i = k], labels in [-1, K) (-1: the row belongs to no
// component but counts in total_weight and n_samples), log_likelihood = 0.
// An initialisation from cluster labels or seed rows, over data in blocks.
template <class T>
Statistics<T> labelled_statistics(CovarianceType type, const RowMatrix<T>& shifts, const ConstMatrixRef<T>& x,
                                  const ConstVectorRef<T>& sample_weight, const std::vector<int>& labels) {
  detail::check_responsibility_inputs<T>(type, shifts, x, sample_weight);
  detail::check_labels(labels, x.rows(), shifts.rows());
  return detail::fixed_responsibility_stats<T>(x, sample_weight, shifts, type, false, labels.data(), 0, 0);
}

// The statistics around shifts (K, D) of the 'random' initialisation's
// responsibilities on rows row_offset, row_offset + 1, ... of the data, given
// as X (N, D): r_ik = u_ik / sum_j u_ij, u_ik = uniform_at(seed, (row_offset + i) K + k);
// log_likelihood = 0. Blocks of the data with their offsets merge into the
// statistics of the whole.
template <class T>
Statistics<T> random_statistics(CovarianceType type, const RowMatrix<T>& shifts, const ConstMatrixRef<T>& x,
                                const ConstVectorRef<T>& sample_weight, std::uint64_t seed, Index row_offset) {
  detail::check_responsibility_inputs<T>(type, shifts, x, sample_weight);
  detail::require_at_least(row_offset, Index(0), "row_offset");
  return detail::fixed_responsibility_stats<T>(x, sample_weight, shifts, type, false, nullptr, seed, row_offset);
}

}  // namespace gmmcore
