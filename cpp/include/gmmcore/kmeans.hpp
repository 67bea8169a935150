#pragma once
// k-means for initialising mixtures: scikit-learn's greedy k-means++ seeding
// and Lloyd iterations, with optional sample weights, deterministic for a seed
// and for any thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

#include "gmmcore/forward.hpp"
#include "gmmcore/micro_kernels.hpp"
#include "gmmcore/parallel.hpp"
#include "gmmcore/random.hpp"

namespace gmmcore {

namespace detail {

// Scratch of the squared distances of up to kBlockRows rows to K centres,
// kept by a chunk from block to block: xt holds the rows transposed, with the
// stride of the rows in use (columns past them hold earlier values, which
// only reach outputs past the rows), and y (rows, K) the distances.
template <class T>
struct DistanceWorkspace {
  RowMatrix<T> xt;
  ColMatrix<T> y;
  Vector<T> first, second;  // NearestCentres' per-row minima
  std::vector<int> best;

  // The transposed view for B rows of D features (capacity for K centres).
  RowBlock<T> prepare(Index B, Index D, Index K) {
    const Index ldt = round_up(B, kTransposedAlign<T>);
    const Index capacity = std::max(ldt, round_up(kBlockRows, kTransposedAlign<T>));
    if (xt.rows() != D || xt.cols() < ldt) xt = RowMatrix<T>::Zero(D, capacity);
    if (y.rows() < ldt || y.cols() != K) {
      y.resize(capacity, K);
      first.resize(capacity);
      second.resize(capacity);
      best.resize(static_cast<size_t>(capacity));
    }
    return RowBlock<T>{xt.data(), D, ldt, ldt};
  }
};

// ws.y (B, K) = |x_i - c_k|^2 for the B rows transposed in xt and the rows
// c_k of c (K, D): samples in the SIMD lanes, each sample's sum over d in
// order, of differences (no cancellation), so a distance does not depend on
// the blocking, the gathering or the thread count.
template <class T>
void transposed_distances(RowBlock<T> xt, Index B, const RowMatrix<T>& c, DistanceWorkspace<T>& ws) {
  squared_distances<T>(TransposedBlock<const T>{xt.data, xt.rows, B, xt.ld}, c.data(), c.cols(), c.rows(), ws.y.data(),
                       ws.y.rows());
}

// transposed_distances of the rows of a block.
template <class T>
void block_distances(const ConstMatrixRef<T>& xb, const RowMatrix<T>& c, DistanceWorkspace<T>& ws) {
  const RowBlock<T> xt = ws.prepare(xb.rows(), c.cols(), c.rows());
  transpose_rows<T>(row_block(xb), xt);
  transposed_distances<T>(xt, xb.rows(), c, ws);
}

// transposed_distances of the rows rows[0..B) of x (B at most kBlockRows),
// gathered straight into the transposed block.
template <class T>
void gathered_distances(const ConstMatrixRef<T>& x, const Index* rows, Index B, const RowMatrix<T>& c,
                        DistanceWorkspace<T>& ws) {
  const RowBlock<T> xt = ws.prepare(B, c.cols(), c.rows());
  transpose_gathered_rows<T>(row_block(x), rows, B, xt);
  transposed_distances<T>(xt, B, c, ws);
}

// Index i with probability p_i / sum(p), by inverse transform on prefix
// sums taken in two levels: in order within each chunk of rows (chunks as
// parallel.hpp's, fixed by the number of rows), then over the chunks' totals.
// A draw u in [0, 1) takes the first chunk whose running total exceeds u times
// the total, then the first row in it whose running sum exceeds the rest; when
// rounding carries past the end, the first row that reaches the total. Either
// way p_i > 0 for the row drawn, unless every p_i is 0 (then row 0).
class IndexSampler {
 public:
  IndexSampler() = default;
  explicit IndexSampler(const Vector<double>& p) {
    rebuild(p.size(), [&](Index i) { return p(i); });
  }
  // Takes p_i = p(i) for i < n; p is called once for each i, on the chunks in
  // parallel.
  template <class P>
  void rebuild(Index n, P&& p) {
    rows_ = n;
    prefix_.resize(static_cast<size_t>(n));
    chunks_ = chunk_count(n, 1, Index(sizeof(double)));
    ends_.assign(static_cast<size_t>(chunks_), 0.0);
    for_each_chunk(chunks_, n >= kParallelMinWork, [&](Index c) {
      const RowRange r = chunk_rows(n, chunks_, c);
      double acc = 0;
      for (Index i = r.begin; i < r.end; ++i) prefix_[static_cast<size_t>(i)] = acc += p(i);
      ends_[static_cast<size_t>(c)] = acc;
    });
    double acc = 0;
    for (double& end : ends_) end = acc += end;
  }
  double total() const { return ends_.empty() ? 0.0 : ends_.back(); }
  Index operator()(double u) const {
    if (rows_ == 0) return 0;
    const double target = u * total();
    const Index c = first_above(ends_.begin(), ends_.end(), target);
    const RowRange r = chunk_rows(rows_, chunks_, c);
    const double before = c ? ends_[static_cast<size_t>(c - 1)] : 0.0;
    return r.begin + first_above(prefix_.begin() + r.begin, prefix_.begin() + r.end, target - before);
  }

 private:
  // The position of the first value above `target` in a nondecreasing range,
  // else of the first that equals the last.
  template <class It>
  static Index first_above(It begin, It end, double target) {
    auto it = std::upper_bound(begin, end, target);
    if (it == end) it = std::lower_bound(begin, end, *(end - 1));
    return static_cast<Index>(it - begin);
  }

  Index rows_ = 0, chunks_ = 0;
  std::vector<double> prefix_;  // running sums within each chunk
  std::vector<double> ends_;    // running totals over the chunks
};

// Column sums of x_i - s and of its squares, in double, about the first row
// s (which keeps the sums of squares free of the cancellation of raw moments).
struct ColumnMoments {
  Vector<double> shift, sum, squares;
  ColumnMoments& operator+=(const ColumnMoments& o) {
    sum += o.sum;
    squares += o.squares;
    return *this;
  }
};

template <class T>
ColumnMoments column_moments(const ConstMatrixRef<T>& x) {
  const Index D = x.cols();
  const Vector<double> shift =
      x.rows() ? Vector<double>(x.row(0).transpose().template cast<double>()) : Vector<double>::Zero(D);
  return reduce_blocks<ColumnMoments>(
      x.rows(), D, 2 * Index(sizeof(double)) * D,
      [&] { return ColumnMoments{shift, Vector<double>::Zero(D), Vector<double>::Zero(D)}; },
      [&](ColumnMoments& acc, RowRange r) {
        const double* s = shift.data();
        double* sum = acc.sum.data();
        double* squares = acc.squares.data();
        for (Index i = r.begin; i < r.end; ++i) {
          const T* row = x.row(i).data();
          for (Index d = 0; d < D; ++d) {
            const double v = double(row[d]) - s[d];
            sum[d] += v;
            squares[d] += v * v;
          }
        }
      });
}

template <class T>
Vector<double> column_mean(const ConstMatrixRef<T>& x) {
  const ColumnMoments m = column_moments<T>(x);
  return m.shift + m.sum / double(std::max<Index>(1, x.rows()));
}

// mean_d var(x_d): the mean over features of the (unweighted) column
// variances, in one pass.
template <class T>
double mean_variance(const ConstMatrixRef<T>& x) {
  const Index N = x.rows(), D = x.cols();
  if (N == 0) return 0;
  const ColumnMoments m = column_moments<T>(x);
  const Vector<double> mean = m.sum / double(N);
  return ((m.squares / double(N) - mean.cwiseAbs2()).cwiseMax(0.0)).sum() / double(D);
}

// A bound on the relative rounding error of the squared distances of D
// features computed in T (block_distances', the exact ones of NearestCentres),
// and of NearestCentres' GEMM form relative to |x - m|^2 + max |c - m|^2.
template <class T>
double distance_relative_error(Index D) {
  return 8.0 * double(D + 2) * double(std::numeric_limits<T>::epsilon());
}

// Greedy k-means++'s state: each row's squared distance closest_i to its
// nearest chosen centre, owner_i, the sampler of p_i = s_i closest_i, and the
// candidates' distances of the rows that were computed. A candidate c_t can
// bring x_i closer only if |c_t - c_{owner_i}| < 2 sqrt(closest_i) (triangle
// inequality), so a row for which that fails for every candidate is not read:
// its distances to them would not be below closest_i. The test carries a
// margin above the rounding of the computed distances, so the gains and
// distances are exactly those of computing every distance; as the seeding
// goes on, fewer rows are read. Deterministic for any thread count.
template <class T>
class PlusPlusSeeding {
 public:
  // prune = false reads every row (the definition, for tests).
  PlusPlusSeeding(const ConstMatrixRef<T>& x, const Vector<double>& sw, Index n_clusters, Index n_trials,
                  bool prune = true)
      : x_(x),
        sw_(sw),
        closest_(Vector<double>::Constant(x.rows(), std::numeric_limits<double>::infinity())),
        owner_(static_cast<size_t>(x.rows()), 0),
        centres_(n_clusters, x.cols()),
        trial_dist_(n_trials, n_clusters > 1 ? x.rows() : 0),
        closer_(static_cast<size_t>(x.rows()), 0) {
    const double e = distance_relative_error<T>(x.cols()), r = (1 + e) / (1 - e);
    reach_ = prune ? r * (1 + std::sqrt(r)) * (1 + std::sqrt(r)) : std::numeric_limits<double>::infinity();
  }

  // A row drawn with probability p_i / sum(p) for u in [0, 1), and sum(p).
  Index sample(double u) const { return sampler_(u); }
  double total() const { return sampler_.total(); }

  // Adds row `row` as a centre, computing its distance to every row.
  void add(Index row) {
    const int k = static_cast<int>(chosen_);
    centres_.row(chosen_++) = x_.row(row);
    const RowMatrix<T> centre = x_.row(row);
    parallel_blocks_with<DistanceWorkspace<T>>(x_.rows(), x_.cols(), [&](DistanceWorkspace<T>& ws, RowRange r) {
      block_distances<T>(x_.middleRows(r.begin, r.size()), centre, ws);
      for (Index i = r.begin; i < r.end; ++i) take(i, double(ws.y(i - r.begin, 0)), k);
    });
    sampler_.rebuild(x_.rows(), [&](Index i) { return sw_(i) * closest_(i); });
  }

  // The gain sum_i s_i (closest_i - |x_i - c_t|^2), over the rows x_i that
  // c_t brings closer (s_i > 0), of adding each candidate row c_t as a centre:
  // the potential sum_i s_i min(closest_i, |x_i - c_t|^2) falls by that much,
  // so the best candidate has the largest gain. All candidates in one pass;
  // the distances of the rows each brings closer are kept for add_candidate.
  // (Infinite when c_t brings closer a row whose distance overflowed.)
  std::vector<double> gains(const std::vector<Index>& candidates) {
    const Index n = static_cast<Index>(candidates.size()), D = x_.cols();
    if (n > kMaxTrials) throw std::invalid_argument("k-means++: too many candidates per step");
    trial_.resize(n, D);
    for (Index t = 0; t < n; ++t) trial_.row(t) = x_.row(candidates[static_cast<size_t>(t)]);
    // Row i is read when min_t |c_t - c_{owner_i}|^2 < reach_ closest_i.
    Vector<double> gap = Vector<double>::Constant(chosen_, std::numeric_limits<double>::infinity());
    for (Index j = 0; j < chosen_; ++j)
      for (Index t = 0; t < n; ++t)
        gap(j) = std::min(
            gap(j), (centres_.row(j).template cast<double>() - trial_.row(t).template cast<double>()).squaredNorm());
    struct Gains {
      std::vector<double> v;
      Index read = 0;
      Gains& operator+=(const Gains& o) {
        for (size_t t = 0; t < v.size(); ++t) v[t] += o.v[t];
        read += o.read;
        return *this;
      }
    };
    struct Scratch {
      DistanceWorkspace<T> ws;
      std::vector<Index> rows;
    };
    Gains sums = reduce_blocks_with<Gains, Scratch>(
        x_.rows(), n * D, Index(sizeof(double)) * n,
        [&] { return Gains{std::vector<double>(static_cast<size_t>(n), 0.0)}; },
        [&](Gains& acc, Scratch& s, RowRange r) {
          // Only the rows read are gathered (a row is D values: the memory
          // traffic is the cost of this pass). Local pointers, so that the
          // loop's stores do not make it reload them.
          const double* closest = closest_.data();
          const int* owner = owner_.data();
          const double* gaps = gap.data();
          std::uint32_t* closer = closer_.data();
          const double reach = reach_;
          s.rows.resize(static_cast<size_t>(r.size()));
          Index m = 0;
          for (Index i = r.begin; i < r.end; ++i) {
            closer[i] = 0;
            const double bound = reach * closest[i];
            s.rows[static_cast<size_t>(m)] = i;
            m += !(bound < std::numeric_limits<double>::infinity()) || gaps[owner[i]] < bound;
          }
          if (!m) return;
          gathered_distances<T>(x_, s.rows.data(), m, trial_, s.ws);
          const T* y = s.ws.y.data();
          const Index ldy = s.ws.y.rows(), ldd = trial_dist_.cols();
          T* dist = trial_dist_.data();
          // Branch-free (whether a candidate brings a row closer is as good
          // as random): every distance is stored, adding 0 leaves a sum as is.
          for (Index j = 0; j < m; ++j) {
            const Index i = s.rows[static_cast<size_t>(j)];
            const double c = closest[i], w = sw_(i);
            std::uint32_t mask = 0;
            for (Index t = 0; t < n; ++t) {
              const T d2 = y[t * ldy + j];
              const bool nearer = double(d2) < c;
              dist[t * ldd + i] = d2;
              mask |= std::uint32_t(nearer) << t;
              acc.v[static_cast<size_t>(t)] += nearer && w > 0 ? w * (c - double(d2)) : 0.0;
            }
            closer[i] = mask;
          }
          acc.read += m;
        });
    rows_read_ = sums.read;
    return sums.v;
  }

  // How many rows the last gains() read.
  Index rows_read() const { return rows_read_; }

  // Adds candidate t of the last gains() as a centre.
  void add_candidate(Index t, Index row) {
    const int k = static_cast<int>(chosen_);
    centres_.row(chosen_++) = x_.row(row);
    // One pass: the rows it brings closer take the new distances, the
    // sampler the new p.
    sampler_.rebuild(x_.rows(), [&](Index i) {
      if (closer_[static_cast<size_t>(i)] >> t & 1) take(i, double(trial_dist_(t, i)), k);
      return sw_(i) * closest_(i);
    });
  }

  // The most candidates gains() takes (one bit each in closer_).
  static constexpr Index kMaxTrials = 32;

 private:
  void take(Index i, double d2, int k) {
    if (d2 < closest_(i)) {
      closest_(i) = d2;
      owner_[static_cast<size_t>(i)] = k;
    }
  }

  const ConstMatrixRef<T>& x_;
  const Vector<double>& sw_;
  Vector<double> closest_;
  std::vector<int> owner_;
  RowMatrix<T> centres_, trial_;
  Index chosen_ = 0;
  RowMatrix<T> trial_dist_;           // (n_trials, N): each candidate's distances, of the rows read
  std::vector<std::uint32_t> closer_;  // bit t: candidate t brings the row closer
  IndexSampler sampler_;
  double reach_;  // the margin-carrying 4 of the triangle test
  Index rows_read_ = 0;
};

// The checks shared by kmeans_plusplus and kmeans_lloyd.
template <class T>
void check_kmeans_data(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight) {
  if (x.cols() < 1) throw std::invalid_argument("X must have at least one feature (column)");
  check_sample_weight<T>(sample_weight, x.rows());
  check_finite<T>(x, "X");
}

// Candidates per step of greedy k-means++ (scikit-learn's n_local_trials).
inline Index plusplus_trials(Index n_clusters) { return 2 + static_cast<Index>(std::log(double(n_clusters))); }

// The uniforms kmeans_plusplus draws for n_clusters centres (fewer only when
// every weighted row coincides with a centre).
inline Index plusplus_draws(Index n_clusters) { return 1 + (n_clusters - 1) * plusplus_trials(n_clusters); }

// kmeans_plusplus on arguments already checked (fit_mixture checks them once
// for all its initialisations).
template <class T>
std::vector<Index> kmeans_plusplus_unchecked(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                             Index n_clusters, Rng& rng) {
  const Index N = x.rows();
  const Vector<double> sw =
      sample_weight.size() ? Vector<double>(sample_weight.template cast<double>()) : Vector<double>::Ones(N);
  const Index n_trials = plusplus_trials(n_clusters);
  std::vector<Index> centres{detail::IndexSampler(sw)(rng.uniform())};
  PlusPlusSeeding<T> seeding(x, sw, n_clusters, n_trials);
  seeding.add(centres[0]);
  while (static_cast<Index>(centres.size()) < n_clusters) {
    if (!(seeding.total() > 0)) {
      // Every weighted row coincides with a centre: take the first row not
      // chosen yet (a weighted one if any), so that the K rows are distinct
      // and the starting weights of a k-means++ init sum to at most 1.
      Index next = -1;
      for (Index i = 0; i < N; ++i) {
        if (std::find(centres.begin(), centres.end(), i) != centres.end()) continue;
        if (next < 0 || (sw(next) <= 0 && sw(i) > 0)) next = i;
        if (sw(next) > 0) break;
      }
      centres.push_back(next);
      seeding.add(next);
      continue;
    }
    std::vector<Index> trials(static_cast<size_t>(n_trials));
    for (Index& candidate : trials) candidate = seeding.sample(rng.uniform());
    const std::vector<double> gains = seeding.gains(trials);
    // The first of the largest gains (of the lowest potentials).
    size_t best = 0;
    for (size_t t = 1; t < trials.size(); ++t)
      if (gains[t] > gains[best]) best = t;
    centres.push_back(trials[best]);
    seeding.add_candidate(static_cast<Index>(best), trials[best]);
  }
  return centres;
}
}  // namespace detail

// Greedy k-means++ (as scikit-learn's kmeans_plusplus): each new centre is the
// best, by resulting potential, of 2 + floor(log K) candidates sampled with
// probability proportional to s_i * d2(x_i). Returns K distinct row indices
// (when every weighted row already coincides with a centre, the next unused
// row is taken). It draws from rng as scikit-learn's draws from its
// RandomState (one uniform for the first centre, then one per candidate), so
// with Rng(seed) the rows are those of scikit-learn's kmeans_plusplus with
// random_state=seed, up to ties within rounding, for double data. (For float
// data scikit-learn keeps the draws' running sums in float, whose rounding
// on many rows moves draws; the sums here are in double.)
template <class T>
std::vector<Index> kmeans_plusplus(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight, Index n_clusters,
                                   Rng& rng) {
  detail::check_kmeans_data<T>(x, sample_weight);
  if (n_clusters < 1 || n_clusters > x.rows()) {
    std::ostringstream msg;
    msg << "n_clusters must be between 1 and the number of samples " << x.rows() << ", got " << n_clusters;
    throw std::invalid_argument(msg.str());
  }
  return detail::kmeans_plusplus_unchecked<T>(x, sample_weight, n_clusters, rng);
}

template <class T>
struct KMeansResult {
  std::vector<int> labels;  // (N): cluster of each row
  RowMatrix<T> centres;     // (K, D)
  Index n_iter = 0;
};

namespace detail {

// The nearest of the centres c (K, D) to rows of X: labels_i = argmin_k
// |x_i - c_k|^2 (ties to the lowest k) and, when asked, d2_i = that minimum.
// Up to kGemmFeatures features the distances are block_distances'. Beyond,
// where a transposed block no longer stays in L1 through K passes, they are
// ranked by one GEMM per block in T, |x - m|^2 - 2 (x - m).(c - m) + |c -
// m|^2 about the centres' mean m (rounded to T), and a row whose two nearest
// are closer than that form's rounding in T (distance_relative_error) is ranked
// again by the exact distances; d2 is always exact. Either way the labels are
// those of the exact distances, whatever the blocking.
template <class T>
class NearestCentres {
 public:
  static constexpr Index kGemmFeatures = 32;

  explicit NearestCentres(const RowMatrix<T>& c)
      : c_(c),
        m_(c.template cast<double>().colwise().mean().template cast<T>()),
        cc_(c.rowwise() - m_),
        cn_(cc_.rowwise().squaredNorm().template cast<double>()),
        cn_max_(cn_.maxCoeff()),
        rel_(distance_relative_error<T>(c.cols())) {}

  // Labels (and d2, if not null) of the rows r of x; next_d2, if not null,
  // receives a lower bound on each row's second smallest squared distance
  // (the computed one, or less; infinity when K = 1).
  void assign(const ConstMatrixRef<T>& x, RowRange r, std::vector<int>& labels, Vector<double>* d2,
              DistanceWorkspace<T>& ws, Vector<double>* next_d2 = nullptr) const {
    assign_rows(x, r.size(), r.begin, nullptr, labels.data() + r.begin, d2 ? d2->data() + r.begin : nullptr, ws,
                next_d2 ? next_d2->data() + r.begin : nullptr);
  }

  // The same for the rows rows[j] of x (at most kBlockRows), into
  // labels[j], d2[j] and next_d2[j].
  void assign(const ConstMatrixRef<T>& x, const std::vector<Index>& rows, int* labels, double* d2,
              DistanceWorkspace<T>& ws, double* next_d2) const {
    assign_rows(x, static_cast<Index>(rows.size()), 0, rows.data(), labels, d2, ws, next_d2);
  }

 private:
  // Rows index[j] of x, or first + j when index is null, for j < B.
  void assign_rows(const ConstMatrixRef<T>& x, Index B, Index first, const Index* index, int* labels, double* d2,
                   DistanceWorkspace<T>& ws, double* next_d2) const {
    const auto row = [&](Index j) { return x.row(index ? index[j] : first + j).data(); };
    if (c_.cols() <= kGemmFeatures) {
      if (index)
        gathered_distances<T>(x, index, B, c_, ws);
      else
        block_distances<T>(x.middleRows(first, B), c_, ws);
      // The smallest and second smallest of each row over k in order, ties
      // to the lowest k; branch-free, a column at a time, so the rows run in
      // the SIMD lanes.
      T* first = ws.first.data();
      T* second = ws.second.data();
      int* best = ws.best.data();
      for (Index i = 0; i < B; ++i) {
        first[i] = ws.y(i, 0);
        second[i] = std::numeric_limits<T>::infinity();
        best[i] = 0;
      }
      for (Index k = 1; k < c_.rows(); ++k) {
        const T* y = ws.y.col(k).data();
        for (Index i = 0; i < B; ++i) {
          const bool closer = y[i] < first[i];
          second[i] = std::min(second[i], closer ? first[i] : y[i]);
          best[i] = closer ? int(k) : best[i];
          first[i] = closer ? y[i] : first[i];
        }
      }
      for (Index i = 0; i < B; ++i) {
        labels[i] = best[i];
        if (d2) d2[i] = double(first[i]);
        if (next_d2) next_d2[i] = double(second[i]);
      }
      return;
    }
    RowMatrix<T> xc(B, c_.cols());
    for (Index i = 0; i < B; ++i)
      xc.row(i) = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(row(i), c_.cols()) - m_;
    const Vector<double> xn = xc.rowwise().squaredNorm().template cast<double>();
    const RowMatrix<T> g = xc * cc_.transpose();
    for (Index i = 0; i < B; ++i) {
      Index best = 0;
      double first_d = std::numeric_limits<double>::infinity(), second = first_d;
      for (Index k = 0; k < c_.rows(); ++k) {
        const double dist = xn(i) - 2.0 * g(i, k) + cn_(k);
        if (dist < first_d) {
          second = first_d;
          first_d = dist;
          best = k;
        } else if (dist < second) {
          second = dist;
        }
      }
      double nearest = -1;
      if (!(second - first_d > rel_ * (xn(i) + cn_max_))) {  // a near tie (or non-finite values): exact ranking
        for (Index k = 0; k < c_.rows(); ++k) {
          const double dist = exact(row(i), k);
          if (k == 0 || dist < nearest) {
            nearest = dist;
            best = k;
          }
        }
      }
      labels[i] = static_cast<int>(best);
      if (d2) d2[i] = nearest >= 0 ? nearest : exact(row(i), best);
      if (next_d2) {  // the GEMM form's second smallest, less its rounding: a lower bound
        double next = std::numeric_limits<double>::infinity();
        for (Index k = 0; k < c_.rows(); ++k)
          if (k != best) next = std::min(next, xn(i) - 2.0 * g(i, k) + cn_(k));
        next_d2[i] = std::max(0.0, next - rel_ * (xn(i) + cn_max_));
      }
    }
  }

  // |x_i - c_k|^2 in T for the D values at `row`: eight partial sums over d
  // in order (d mod 8), then added in order; the same for every row.
  double exact(const T* row, Index k) const {
    constexpr int S = 8;
    const T* c = c_.row(k).data();
    const Index D = c_.cols();
    T part[S] = {};
    Index d0 = 0;
    for (; d0 + S <= D; d0 += S)
      for (int j = 0; j < S; ++j) {
        const T diff = row[d0 + j] - c[d0 + j];
        part[j] += diff * diff;
      }
    for (int j = 0; d0 + j < D; ++j) {
      const T diff = row[d0 + j] - c[d0 + j];
      part[j] += diff * diff;
    }
    T sum(0);
    for (const T p : part) sum += p;
    return double(sum);
  }

  const RowMatrix<T>& c_;
  Eigen::Matrix<T, 1, Eigen::Dynamic> m_;
  RowMatrix<T> cc_;
  Vector<double> cn_;
  double cn_max_, rel_;
};

// NearestCentres over all rows of X, in parallel.
template <class T>
void assign_nearest(const ConstMatrixRef<T>& x, const RowMatrix<T>& c, std::vector<int>& labels,
                    Vector<double>* d2 = nullptr) {
  const NearestCentres<T> nearest(c);
  parallel_blocks_with<DistanceWorkspace<T>>(x.rows(), c.rows() * c.cols(), [&](DistanceWorkspace<T>& ws, RowRange r) {
    nearest.assign(x, r, labels, d2, ws);
  });
}

// Per-cluster weighted sums of the rows and of their weights, in double.
struct ClusterSums {
  RowMatrix<double> sums;  // (K, D): sum_{i: label_i = k} s_i x_i
  Vector<double> weights;  // (K): sum_{i: label_i = k} s_i

  static ClusterSums zero(Index K, Index D) { return {RowMatrix<double>::Zero(K, D), Vector<double>::Zero(K)}; }
  ClusterSums& operator+=(const ClusterSums& o) {
    sums += o.sums;
    weights += o.weights;
    return *this;
  }
};

// acc += the rows r of X under labels (-1: none), in order; with `only`, the
// rows of the clusters k with only[k] set.
template <class T>
void add_cluster_rows(ClusterSums& acc, const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                      const std::vector<int>& labels, RowRange r, const std::vector<char>* only = nullptr) {
  for (Index i = r.begin; i < r.end; ++i) {
    const int k = labels[static_cast<size_t>(i)];
    if (k < 0 || (only && !(*only)[static_cast<size_t>(k)])) continue;
    const double s = sample_weight.size() ? double(sample_weight(i)) : 1.0;
    acc.sums.row(k) += s * x.row(i).template cast<double>();
    acc.weights(k) += s;
  }
}

inline Index cluster_sums_bytes(Index K, Index D) { return Index(sizeof(double)) * K * (D + 1); }

// ClusterSums of X under labels in [0, K) (or -1: no cluster), of the clusters
// set in `only` if given (the others zero), deterministic for any thread count.
template <class T>
ClusterSums cluster_sums_unchecked(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                   const std::vector<int>& labels, Index K, const std::vector<char>* only = nullptr) {
  const Index D = x.cols();
  return reduce_blocks<ClusterSums>(
      x.rows(), D, cluster_sums_bytes(K, D), [&] { return ClusterSums::zero(K, D); },
      [&](ClusterSums& acc, RowRange r) { add_cluster_rows<T>(acc, x, sample_weight, labels, r, only); });
}

// Per-chunk scratch of Lloyd's pass: the rows whose label is in doubt and
// what NearestCentres makes of them.
template <class T>
struct LloydScratch {
  DistanceWorkspace<T> ws;
  std::vector<Index> rows;
  std::vector<int> labels;
  Vector<double> d2, second;
};

// What one Lloyd pass's relabelling does to the clusters: the sums of the
// rows that moved (+s x into the new cluster, -s x out of the old), the
// change in each cluster's number of positive-weight rows, the weight moved
// in or out of each, and the number of rows that moved.
struct LabelMoves {
  ClusterSums delta;
  Eigen::Matrix<Index, Eigen::Dynamic, 1> weighted;
  Vector<double> moved;
  Index count = 0;

  static LabelMoves zero(Index K, Index D) {
    return {ClusterSums::zero(K, D), Eigen::Matrix<Index, Eigen::Dynamic, 1>::Zero(K), Vector<double>::Zero(K), 0};
  }
  LabelMoves& operator+=(const LabelMoves& o) {
    delta += o.delta;
    weighted += o.weighted;
    moved += o.moved;
    count += o.count;
    return *this;
  }
  // Row x_i of weight s >= 0 leaves cluster `from` (-1: none) for cluster `to`.
  template <class Row>
  void move(const Row& x_i, double s, int from, int to) {
    if (from >= 0) change(from, x_i, -s);
    change(to, x_i, s);
    ++count;
  }

 private:
  template <class Row>
  void change(int k, const Row& x_i, double signed_s) {
    delta.sums.row(k) += signed_s * x_i.template cast<double>();
    delta.weights(k) += signed_s;
    weighted(k) += (signed_s > 0) - (signed_s < 0);
    moved(k) += std::abs(signed_s);
  }
};

// How far a cluster's sums, kept by adding each pass's moves, may drift from
// a fresh sum: once the weight moved in and out of a cluster since its last
// fresh sum exceeds this many times its weight, its sums are summed afresh.
inline constexpr double kMovedWeightLimit = 64;

// kmeans_lloyd on arguments already checked. The assignment keeps Hamerly's
// bounds (2010) per row: upper_i >= |x_i - c_a| for its label a and lower_i
// <= min_{k != a} |x_i - c_k|, moved each iteration by the centres' shifts
// (triangle inequality). A row with upper_i < max(lower_i, half the distance
// from c_a to the nearest other centre) keeps its label without computing
// a distance. A row in doubt first gets the distance to c_a alone, which
// tightens upper_i and settles most of them; the rest are gathered and every
// distance of each is computed in a batch, which resets both bounds. The
// bounds carry a relative margin above the rounding of the computed
// distances, so the labels are exactly those that computing every distance
// gives. The cluster sums of the first pass are summed in full; later passes
// add only the rows that moved (a row that keeps its label and its bounds is
// not read at all), and a cluster whose moved weight passes kMovedWeightLimit
// times its own, or that loses its last positive-weight row, is summed afresh
// (so an empty cluster's sums are exactly zero).
template <class T>
KMeansResult<T> kmeans_lloyd_unchecked(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                       RowMatrix<T> centres, Index max_iter, double tol) {
  const Index N = x.rows(), K = centres.rows(), D = centres.cols();
  const double threshold = tol * detail::mean_variance<T>(x);
  const double margin = distance_relative_error<T>(D);
  const double up = 1 + margin, down = 1 - margin;
  const auto weight = [&](Index i) { return sample_weight.size() ? double(sample_weight(i)) : 1.0; };

  KMeansResult<T> result;
  result.labels.assign(static_cast<size_t>(N), -1);
  Vector<double> upper(N), lower(N);
  Vector<double> moved_by = Vector<double>::Zero(K);  // |c_k - c_k(previous iteration)|
  bool bounded = false;
  // Relabel every row for the current centres; returns what moved.
  const auto assign = [&] {
    const NearestCentres<T> nearest(centres);
    const RowMatrix<double> c = centres.template cast<double>();
    Vector<double> half_gap = Vector<double>::Constant(K, std::numeric_limits<double>::infinity());
    for (Index k = 0; k < K; ++k)
      for (Index j = 0; j < K; ++j)
        if (j != k) half_gap(k) = std::min(half_gap(k), 0.5 * (c.row(k) - c.row(j)).norm() * down);
    Index fastest = 0;
    moved_by.maxCoeff(&fastest);
    double others = 0;  // the largest shift but the fastest centre's
    for (Index k = 0; k < K; ++k)
      if (k != fastest) others = std::max(others, moved_by(k));
    LabelMoves moves = reduce_blocks_with<LabelMoves, LloydScratch<T>>(
        N, K * D, cluster_sums_bytes(K, D), [&] { return LabelMoves::zero(K, D); },
        [&](LabelMoves& acc, LloydScratch<T>& s, RowRange r) {
          s.rows.clear();
          if (!bounded) {  // every distance, straight into the bounds
            nearest.assign(x, r, result.labels, &upper, s.ws, &lower);
            for (Index i = r.begin; i < r.end; ++i) {
              upper(i) = std::sqrt(upper(i)) * up;
              lower(i) = std::sqrt(lower(i)) * down;
              acc.move(x.row(i), weight(i), -1, result.labels[static_cast<size_t>(i)]);
            }
            return;
          }
          {
            // Local pointers: the loop's stores must not make it reload them.
            const int* labels = result.labels.data();
            double* u = upper.data();
            double* l = lower.data();
            const double* shift = moved_by.data();
            const double* gaps = half_gap.data();
            const double shift_others = others * up, shift_fastest = moved_by(fastest) * up;
            s.rows.resize(static_cast<size_t>(r.size()));
            Index n = 0;
            for (Index i = r.begin; i < r.end; ++i) {
              const int a = labels[i];
              u[i] += shift[a] * up;
              l[i] -= a == fastest ? shift_others : shift_fastest;
              s.rows[static_cast<size_t>(n)] = i;
              n += !(u[i] < std::max(l[i], gaps[a]));
            }
            // The distance to its own centre alone settles most rows in
            // doubt (u_i was only loosened by the shifts); the rest get all.
            Index m = 0;
            constexpr Index ahead = 8;  // rows prefetched ahead (gains ~8% at 1e6 x 32)
            for (Index j = 0; j < n; ++j) {
              if (j + ahead < n) prefetch(x.row(s.rows[static_cast<size_t>(j + ahead)]).data(), D);
              const Index i = s.rows[static_cast<size_t>(j)];
              const int a = labels[i];
              u[i] = std::sqrt(double((x.row(i) - centres.row(a)).squaredNorm())) * up;
              s.rows[static_cast<size_t>(m)] = i;
              m += !(u[i] < std::max(l[i], gaps[a]));
            }
            s.rows.resize(static_cast<size_t>(m));
          }
          const Index n = static_cast<Index>(s.rows.size());
          if (!n) return;
          s.labels.resize(static_cast<size_t>(n));
          s.d2.resize(n);
          s.second.resize(n);
          nearest.assign(x, s.rows, s.labels.data(), s.d2.data(), s.ws, s.second.data());
          for (Index j = 0; j < n; ++j) {
            const Index i = s.rows[static_cast<size_t>(j)];
            int& label = result.labels[static_cast<size_t>(i)];
            const int to = s.labels[static_cast<size_t>(j)];
            if (to != label) acc.move(x.row(i), weight(i), label, to);
            label = to;
            upper(i) = std::sqrt(s.d2(j)) * up;
            lower(i) = std::sqrt(s.second(j)) * down;
          }
        });
    bounded = true;
    return moves;
  };

  ClusterSums sums = ClusterSums::zero(K, D);
  Eigen::Matrix<Index, Eigen::Dynamic, 1> weighted = Eigen::Matrix<Index, Eigen::Dynamic, 1>::Zero(K);
  Vector<double> moved = Vector<double>::Zero(K);  // weight moved in or out since the last fresh sum
  bool labels_stable = false;
  for (result.n_iter = 1; result.n_iter <= max_iter; ++result.n_iter) {
    const bool first = !bounded;
    const LabelMoves moves = assign();
    if ((labels_stable = moves.count == 0)) break;
    sums += moves.delta;
    weighted += moves.weighted;
    moved = first ? Vector<double>::Zero(K) : Vector<double>(moved + moves.moved);
    std::vector<char> afresh(static_cast<size_t>(K), 0);
    bool any = false;
    for (Index k = 0; k < K; ++k) {
      if (moves.moved(k) > 0 && (weighted(k) == 0 || !(moved(k) <= kMovedWeightLimit * sums.weights(k)))) {
        afresh[static_cast<size_t>(k)] = 1;
        any = true;
      }
    }
    if (any) {
      const ClusterSums fresh = cluster_sums_unchecked<T>(x, sample_weight, result.labels, K, &afresh);
      for (Index k = 0; k < K; ++k) {
        if (!afresh[static_cast<size_t>(k)]) continue;
        sums.sums.row(k) = fresh.sums.row(k);
        sums.weights(k) = fresh.weights(k);
        moved(k) = 0;
      }
    }
    double shift = 0;
    for (Index k = 0; k < K; ++k) {
      moved_by(k) = 0;
      if (!(sums.weights(k) > 0)) continue;
      const Vector<T> to = (sums.sums.row(k) / sums.weights(k)).transpose().template cast<T>();
      const double squared = (to.transpose() - centres.row(k)).template cast<double>().squaredNorm();
      shift += squared;
      moved_by(k) = std::sqrt(squared);
      centres.row(k) = to.transpose();
    }
    if (shift <= threshold) break;
  }
  // As scikit-learn: unless the labels were stable, relabel with the final centres.
  if (!labels_stable) assign();
  result.n_iter = std::min(result.n_iter, max_iter);
  result.centres = std::move(centres);
  return result;
}
}  // namespace detail

// Lloyd iterations from `centres` (K, D): assign each row to its nearest
// centre (ties to the lowest index), move each centre to the weighted mean of
// its rows (an empty cluster keeps its centre); stop when the labels no longer
// change or the total squared centre shift is <= tol * mean_d var(x_d)
// (scikit-learn's relative tolerance). Returns the final labels and centres.
template <class T>
KMeansResult<T> kmeans_lloyd(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight, RowMatrix<T> centres,
                             Index max_iter, double tol) {
  detail::check_kmeans_data<T>(x, sample_weight);
  if (centres.rows() < 1) throw std::invalid_argument("centres must have at least one row");
  detail::require_shape(centres, "centres", centres.rows(), x.cols(),
                        " (one row per cluster, one column per feature of X)");
  detail::require_finite(centres, "centres");
  detail::require_at_least(max_iter, Index(0), "max_iter");
  detail::require_at_least(tol, 0.0, "tol");
  return detail::kmeans_lloyd_unchecked<T>(x, sample_weight, std::move(centres), max_iter, tol);
}

// Nearest centre of each row of X (N, D) among centres (K, D), ties to the
// lowest index, and its squared distance d2_i = min_k |x_i - c_k|^2 (in T,
// returned as double): the assignment step of Lloyd and the costs of
// k-means|| seeding, for callers that hold the data in blocks.
template <class T>
std::pair<std::vector<int>, Vector<double>> nearest_centres(const ConstMatrixRef<T>& x,
                                                            const ConstMatrixRef<T>& centres) {
  if (x.cols() < 1) throw std::invalid_argument("X must have at least one feature (column)");
  detail::check_finite<T>(x, "X");
  if (centres.rows() < 1) throw std::invalid_argument("centres must have at least one row");
  detail::require_shape(centres, "centres", centres.rows(), x.cols(),
                        " (one row per cluster, one column per feature of X)");
  detail::require_finite(centres, "centres");
  std::pair<std::vector<int>, Vector<double>> out{std::vector<int>(static_cast<size_t>(x.rows())),
                                                  Vector<double>(x.rows())};
  detail::assign_nearest<T>(x, RowMatrix<T>(centres), out.first, &out.second);
  return out;
}

// Weighted sums of the rows of X (N, D) in each of K clusters given by labels
// (N values in [0, K), or -1 for none): sums_k = sum_{label_i = k} s_i x_i and
// weights_k = sum_{label_i = k} s_i, in double, deterministic for any thread
// count; the update step of Lloyd over data held in blocks.
template <class T>
detail::ClusterSums cluster_sums(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                 const std::vector<int>& labels, Index n_clusters) {
  detail::check_kmeans_data<T>(x, sample_weight);
  detail::require_at_least(n_clusters, Index(1), "n_clusters");
  detail::check_labels(labels, x.rows(), n_clusters);
  return detail::cluster_sums_unchecked<T>(x, sample_weight, labels, n_clusters);
}

}  // namespace gmmcore
