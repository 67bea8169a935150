// Sufficient statistics as a value (statistics.hpp: merge, scaled, blend,
// check_statistics; sufficient_statistics.hpp: statistics(); m_step.hpp:
// m_step(stats, reg)) and fit_mixture over a ChunkSource (mixture_fit.hpp),
// against long double references built from the raw data, for the four
// covariance types in float64 and float32.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "check.hpp"
#include "problems.hpp"

// Everything in a named namespace: the unity build shares one translation
// unit between test files.
namespace statistics_test {

using namespace gmmcore_test;
using gmmcore::CovarianceType;
using gmmcore::FitOptions;
using gmmcore::FitResult;
using gmmcore::InitialParams;
using gmmcore::Mixture;
using gmmcore::Statistics;

std::string label(const char* what, CovarianceType type, const char* t) {
  return std::string(what) + " [" + gmmcore::covariance_type_name(type) + ", " + t + "]";
}

// ---------------------------------------------------------------------------
// Data and mixtures

// A mixture of `type` with the given means: weights in [0.5, 1.5]
// normalised; covariances A A^T / D + 0.5 I (full, tied) or variances in
// [0.5, 2] (diag, spherical); precisions from compute_precisions_cholesky.
template <class T>
Mixture<T> make_mixture(CovarianceType type, const RowMatrix<double>& means, unsigned seed) {
  const Index K = means.rows(), D = means.cols();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.5, 1.5), variance(0.5, 2.0);
  Mixture<T> m;
  m.covariance_type = type;
  Vector<double> w(K);
  for (Index k = 0; k < K; ++k) w(k) = uniform(rng);
  m.weights = (w / w.sum()).cast<T>();
  m.means = means.cast<T>();
  const auto [rows, cols] = gmmcore::covariance_shape(type, K, D);
  m.covariances.resize(rows, cols);
  for (Index k = 0; k < rows; ++k) {
    if (gmmcore::is_diagonal(type)) {
      for (Index j = 0; j < cols; ++j) m.covariances(k, j) = T(variance(rng));
      continue;
    }
    Square<double> a(D, D);
    for (Index r = 0; r < D; ++r)
      for (Index c = 0; c < D; ++c) a(r, c) = normal(rng);
    Square<double> s = a * a.transpose() / double(D) + 0.5 * Square<double>::Identity(D, D);
    s = 0.5 * (s + s.transpose()).eval();
    Eigen::Map<RowMatrix<T>>(m.covariances.row(k).data(), D, D) = s.cast<T>();
  }
  gmmcore::compute_precisions_cholesky(m);
  return m;
}

template <class T>
Statistics<T> stats_of(const Mixture<T>& m, const RowMatrix<T>& x, const Vector<T>& w, Index begin, Index n) {
  const Vector<T> wb = w.size() ? Vector<T>(w.segment(begin, n)) : Vector<T>();
  return gmmcore::statistics<T>(m, x.middleRows(begin, n), wb);
}

// ---------------------------------------------------------------------------
// Canonical form: what statistics mean independently of their shifts.

struct Canonical {
  bool diagonal = false;
  LVector n;          // N_k
  LMatrix means;      // c_k + s_k / N_k (rows with N_k = 0 unused)
  LMatrix scatters;   // S_k - s_k s_k^T / N_k (K, D*D) or q_k - s_k^2 / N_k (K, D)
  // max |S_k| as stored, around its shift: the scale of the rounding in the
  // scatters (centring a component whose shift is far from its mean cancels
  // digits, e.g. N_k = 0.14 with S_k ~ 2 but a centred scatter ~ 1e-4).
  LVector scatter_scale;
  long double log_likelihood = 0, total_weight = 0;
  Index n_samples = 0;
};

template <class T>
Canonical canonical(const Statistics<T>& st) {
  const Index K = st.n_components(), D = st.n_features();
  Canonical c;
  c.diagonal = gmmcore::is_diagonal(st.covariance_type);
  c.n = st.weight_sums.template cast<long double>();
  c.means = st.shifts.template cast<long double>();
  c.scatters = st.scatters.template cast<long double>();
  c.scatter_scale = c.scatters.cwiseAbs().rowwise().maxCoeff();
  for (Index k = 0; k < K; ++k) {
    const long double n = c.n(k);
    if (n == 0) continue;
    const LVector s = st.sums.row(k).transpose().template cast<long double>();
    c.means.row(k) += s.transpose() / n;
    if (c.diagonal) {
      c.scatters.row(k) -= s.array().square().matrix().transpose() / n;
    } else {
      const LMatrix ss = s * s.transpose() / n;
      for (Index i = 0; i < D; ++i)
        for (Index j = 0; j < D; ++j) c.scatters(k, i * D + j) -= ss(i, j);
    }
  }
  c.log_likelihood = st.log_likelihood;
  c.total_weight = st.total_weight;
  c.n_samples = st.n_samples;
  return c;
}

// The canonical statistics of rows x (weights w, or 1) with hard
// responsibilities r_ik = [labels(i) == k], in long double, two-pass (mean
// first, then the scatter about it). log_likelihood is left 0.
template <class T>
Canonical reference(const RowMatrix<T>& x, const Vector<T>& w, const std::vector<int>& labels, Index K, bool diagonal) {
  const Index N = x.rows(), D = x.cols();
  Canonical c;
  c.diagonal = diagonal;
  c.n = LVector::Zero(K);
  c.means = LMatrix::Zero(K, D);
  c.scatters = LMatrix::Zero(K, diagonal ? D : D * D);
  auto weight = [&](Index i) { return w.size() ? (long double)w(i) : 1.0L; };
  for (Index i = 0; i < N; ++i) {
    const int k = labels[size_t(i)];
    c.n(k) += weight(i);
    c.means.row(k) += weight(i) * x.row(i).template cast<long double>();
    c.total_weight += weight(i);
  }
  for (Index k = 0; k < K; ++k)
    if (c.n(k) > 0) c.means.row(k) /= c.n(k);
  for (Index i = 0; i < N; ++i) {
    const int k = labels[size_t(i)];
    const LVector d = (x.row(i).template cast<long double>() - c.means.row(k)).transpose();
    for (Index a = 0; a < D; ++a) {
      if (diagonal) {
        c.scatters(k, a) += weight(i) * d(a) * d(a);
        continue;
      }
      for (Index b = 0; b < D; ++b) c.scatters(k, a * D + b) += weight(i) * d(a) * d(b);
    }
  }
  c.scatter_scale = c.scatters.cwiseAbs().rowwise().maxCoeff();
  c.n_samples = N;
  return c;
}

// Relative discrepancies of got from want, each on its field's scale: N_k on
// the total weight, means on |mean| + spread (sqrt of the largest centred
// variance), scatters on the largest entry of either side's scatters as
// stored (Canonical::scatter_scale), per component (skipped where want's
// N_k = 0). mean_spread: the means on the spread alone.
struct Errors {
  double n = 0, mean = 0, mean_spread = 0, scatter = 0, log_likelihood = 0, total_weight = 0;
  bool same_shape = true, same_n_samples = true;
  double max() const { return std::max({n, mean, scatter, log_likelihood, total_weight}); }
  bool within(double rtol) const { return same_shape && same_n_samples && max() <= rtol; }
  std::string str() const {
    std::ostringstream o;
    o.precision(3);
    o << "N " << n << ", mean " << mean << " (on the spread " << mean_spread << "), scatter " << scatter << ", log_lik "
      << log_likelihood << ", total_weight " << total_weight << (same_shape ? "" : ", SHAPES DIFFER")
      << (same_n_samples ? "" : ", n_samples differ");
    return o.str();
  }
};

Errors compare(const Canonical& got, const Canonical& want) {
  Errors e;
  if (got.n.size() != want.n.size() || got.means.cols() != want.means.cols() ||
      got.scatters.cols() != want.scatters.cols() || got.diagonal != want.diagonal) {
    e.same_shape = false;
    return e;
  }
  const Index K = want.n.size(), D = want.means.cols();
  const long double total = std::max(std::abs(want.n.sum()), 1e-300L);
  auto worse = [](double& field, long double value) { field = std::max(field, double(value)); };
  for (Index k = 0; k < K; ++k) {
    worse(e.n, std::abs(got.n(k) - want.n(k)) / total);
    if (want.n(k) == 0) continue;
    long double variance = 0;
    for (Index d = 0; d < D; ++d)
      variance = std::max(variance, want.scatters(k, want.diagonal ? d : d * D + d) / want.n(k));
    const long double spread = std::sqrt(std::max(variance, 0.0L)) + 1e-300L;
    const long double mean_scale = want.means.row(k).cwiseAbs().maxCoeff() + spread;
    const long double mean_diff = (got.means.row(k) - want.means.row(k)).cwiseAbs().maxCoeff();
    worse(e.mean, mean_diff / mean_scale);
    worse(e.mean_spread, mean_diff / spread);
    const long double scatter_scale =
        std::max({want.scatters.row(k).cwiseAbs().maxCoeff(), want.scatter_scale(k), got.scatter_scale(k)}) + 1e-300L;
    worse(e.scatter, (got.scatters.row(k) - want.scatters.row(k)).cwiseAbs().maxCoeff() / scatter_scale);
  }
  worse(e.log_likelihood,
        std::abs(got.log_likelihood - want.log_likelihood) / std::max(std::abs(want.log_likelihood), 1.0L));
  worse(e.total_weight,
        std::abs(got.total_weight - want.total_weight) / std::max(std::abs(want.total_weight), 1e-300L));
  e.same_n_samples = got.n_samples == want.n_samples;
  return e;
}

#define CHECK_STATS_CLOSE(what, got, want, rtol)                                  \
  do {                                                                            \
    const Errors check_e_ = compare(canonical(got), (want));                      \
    if (!check_e_.within(rtol)) {                                                 \
      std::ostringstream check_m_;                                                \
      check_m_ << (what) << ": " << check_e_.str() << " (rtol " << (rtol) << ")"; \
      gmmcore_test::fail(__FILE__, __LINE__, check_m_.str());                     \
    }                                                                             \
  } while (0)

// Every numeric field bitwise equal.
template <class T>
bool identical(const Statistics<T>& a, const Statistics<T>& b) {
  auto same = [](const auto& x, const auto& y) {
    return x.rows() == y.rows() && x.cols() == y.cols() && (x.array() == y.array()).all();
  };
  return a.covariance_type == b.covariance_type && same(a.shifts, b.shifts) && same(a.weight_sums, b.weight_sums) &&
         same(a.sums, b.sums) && same(a.scatters, b.scatters) && a.log_likelihood == b.log_likelihood &&
         a.total_weight == b.total_weight && a.n_samples == b.n_samples;
}

template <class T>
bool identical(const Mixture<T>& a, const Mixture<T>& b) {
  auto same = [](const auto& x, const auto& y) {
    return x.rows() == y.rows() && x.cols() == y.cols() && (x.array() == y.array()).all();
  };
  return a.covariance_type == b.covariance_type && same(a.weights, b.weights) && same(a.means, b.means) &&
         same(a.covariances, b.covariances) && same(a.precisions_cholesky, b.precisions_cholesky);
}

// ---------------------------------------------------------------------------
// Merge orders over a list of statistics

template <class T>
Statistics<T> merge_left(const std::vector<Statistics<T>>& parts) {
  Statistics<T> acc = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) acc = gmmcore::merge(acc, parts[i]);
  return acc;
}

template <class T>
Statistics<T> merge_right(const std::vector<Statistics<T>>& parts) {
  Statistics<T> acc = parts.back();
  for (size_t i = parts.size() - 1; i-- > 0;) acc = gmmcore::merge(parts[i], acc);
  return acc;
}

template <class T>
Statistics<T> merge_tree(const std::vector<Statistics<T>>& parts, size_t begin, size_t end) {
  if (end - begin == 1) return parts[begin];
  const size_t mid = begin + (end - begin) / 2;
  return gmmcore::merge(merge_tree(parts, begin, mid), merge_tree(parts, mid, end));
}

// Chunk boundaries for N rows: several splits, with empty and 1-row chunks.
std::vector<std::vector<Index>> splits(Index N) {
  std::vector<std::vector<Index>> out;
  out.push_back({0, N});
  out.push_back({0, 0, N / 2, N / 2, N});                  // empty chunks
  out.push_back({0, 1, 2, 3, N - 1, N});                   // 1-row chunks around a large one
  std::vector<Index> ones;                                 // 40 one-row chunks, then the rest
  for (Index i = 0; i <= 40; ++i) ones.push_back(i);
  ones.push_back(N);
  out.push_back(ones);
  std::vector<Index> uneven{0};                            // 1, 2, 4, ... rows
  for (Index step = 1; uneven.back() + step < N; step *= 2) uneven.push_back(uneven.back() + step);
  uneven.push_back(N);
  out.push_back(uneven);
  std::vector<Index> fixed;                                // chunks of 97 rows
  for (Index b = 0; b < N; b += 97) fixed.push_back(b);
  fixed.push_back(N);
  out.push_back(fixed);
  return out;
}

// ---------------------------------------------------------------------------
// Whole X versus chunks merged

// float32: the chunks' sums and the whole's round differently in float32
// (measured worst 9.3e-7 relative, on the scatters); float64: 1e-12.
template <class T>
double chunk_rtol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-12;
}

template <class T>
void check_chunks_merge(Index D, double offset, bool weighted) {
  const Index N = 700, K = 3;
  const RowMatrix<double> centres = make_centres(K, D, 2.0, offset, 11);
  const RowMatrix<T> x = make_data<T>(centres, N, 12);
  const Vector<T> w = weighted ? make_weights<T>(N, 13) : Vector<T>();
  for (CovarianceType type : kTypes) {
    const Mixture<T> m = make_mixture<T>(type, make_centres(K, D, 2.0, offset, 14), 15);
    const Statistics<T> whole = stats_of(m, x, w, 0, N);
    const Canonical want = canonical(whole);
    CHECK(whole.n_samples == N);
    for (Index k = 0; k < K; ++k) CHECK(whole.weight_sums(k) > T(0));
    for (const auto& bounds : splits(N)) {
      std::vector<Statistics<T>> parts;
      for (size_t c = 0; c + 1 < bounds.size(); ++c)
        parts.push_back(stats_of(m, x, w, bounds[c], bounds[c + 1] - bounds[c]));
      std::ostringstream what;
      what << label("chunks merged", type, float_name<T>()) << " D=" << D << " offset=" << offset
           << (weighted ? " weighted" : "") << ", " << parts.size() << " chunks";
      const double rtol = chunk_rtol<T>();
      CHECK_STATS_CLOSE(what.str() + " left to right", merge_left(parts), want, rtol);
      CHECK_STATS_CLOSE(what.str() + " right to left", merge_right(parts), want, rtol);
      CHECK_STATS_CLOSE(what.str() + " as a tree", merge_tree(parts, 0, parts.size()), want, rtol);
    }
  }
}

GMMCORE_TEST(statistics, chunks_merge_to_the_whole_float64) {
  for (Index D : {3, 6})
    for (bool weighted : {false, true}) check_chunks_merge<double>(D, 0.0, weighted);
  check_chunks_merge<double>(3, 50.0, true);
}

GMMCORE_TEST(statistics, chunks_merge_to_the_whole_float32) {
  for (Index D : {3, 6})
    for (bool weighted : {false, true}) check_chunks_merge<float>(D, 0.0, weighted);
}

// An empty block gives zero statistics around the mixture's means.
GMMCORE_TEST(statistics, empty_block) {
  for (CovarianceType type : kTypes) {
    const Mixture<double> m = make_mixture<double>(type, make_centres(2, 3, 2.0, 0.0, 1), 2);
    const Statistics<double> st = gmmcore::statistics<double>(m, RowMatrix<double>(0, 3), Vector<double>());
    CHECK(identical(st, gmmcore::zero_statistics(type, m.means)));
  }
}

// ---------------------------------------------------------------------------
// Statistics taken around different shifts

// K clusters 1000 apart (plus `offset`), so that every mixture near them
// gives responsibilities exactly 0 or 1 (the log-probabilities differ by
// more than 745) and label i % K is the responsibility a long double
// reference needs.
struct Separated {
  RowMatrix<double> centres;
  RowMatrix<double> x;
  std::vector<int> labels;
};

Separated make_separated(Index N, Index K, Index D, double offset, unsigned seed) {
  Separated s;
  s.centres = make_centres(K, D, 1000.0, offset, seed);
  s.x = make_data<double>(s.centres, N, seed + 1);
  for (Index i = 0; i < N; ++i) s.labels.push_back(int(i % K));
  return s;
}

// Means of a mixture near the clusters: each centre moved by N(0, shift^2).
RowMatrix<double> moved(const RowMatrix<double>& centres, double shift, unsigned seed) {
  return centres + make_centres(centres.rows(), centres.cols(), shift, 0.0, seed);
}

template <class T>
Canonical reference_rows(const Separated& s, const Vector<T>& w, Index begin, Index n, bool diagonal) {
  const RowMatrix<T> xb = s.x.middleRows(begin, n).template cast<T>();
  const Vector<T> wb = w.size() ? Vector<T>(w.segment(begin, n)) : Vector<T>();
  return reference(xb, wb, std::vector<int>(s.labels.begin() + begin, s.labels.begin() + begin + n), s.centres.rows(),
                   diagonal);
}

// Three blocks, each taken by a mixture with other means (so other shifts),
// merged in every order, against the long double statistics of all the rows
// around the true means. With offset 1e6 a raw second moment (~1e12 per row)
// would leave nothing of the unit variances in double.
void check_different_shifts(double offset, bool weighted) {
  const Index N = 900, K = 3, D = 3;
  const Separated s = make_separated(N, K, D, offset, 21);
  const Vector<double> w = weighted ? make_weights<double>(N, 22) : Vector<double>();
  for (CovarianceType type : kTypes) {
    const Mixture<double> m1 = make_mixture<double>(type, moved(s.centres, 0.5, 23), 24);
    const Mixture<double> m2 = make_mixture<double>(type, moved(s.centres, 2.0, 25), 26);
    const Mixture<double> m3 = make_mixture<double>(type, moved(s.centres, 0.1, 27), 28);
    const Statistics<double> a = stats_of(m1, s.x, w, 0, 250);
    const Statistics<double> b = stats_of(m2, s.x, w, 250, 400);
    const Statistics<double> c = stats_of(m3, s.x, w, 650, 250);
    // The E-step's responsibilities are the hard labels: each part as the
    // reference says (the premise of the comparison below).
    const bool diagonal = gmmcore::is_diagonal(type);
    Canonical part = reference_rows(s, w, 0, 250, diagonal);
    part.log_likelihood = a.log_likelihood;
    CHECK_STATS_CLOSE(label("one part", type, "float64"), a, part, 1e-9);
    Canonical want = reference_rows(s, w, 0, N, diagonal);
    want.log_likelihood = (long double)a.log_likelihood + b.log_likelihood + c.log_likelihood;
    const std::string what = label("different shifts", type, "float64") + " offset " + std::to_string(offset) +
                             (weighted ? " weighted" : "");
    const Statistics<double> orders[] = {
        gmmcore::merge(gmmcore::merge(a, b), c), gmmcore::merge(a, gmmcore::merge(b, c)),
        gmmcore::merge(gmmcore::merge(c, b), a), gmmcore::merge(b, gmmcore::merge(c, a))};
    for (const auto& merged : orders) {
      CHECK_STATS_CLOSE(what, merged, want, 1e-9);
      const Errors e = compare(canonical(merged), want);
      if (!(e.mean_spread <= 1e-9)) CHECK_CLOSE(e.mean_spread, 0.0, 0.0, 1e-9);
    }
    // And the same blocks around one mixture's means: the plain sum.
    const Statistics<double> same = gmmcore::merge(
        gmmcore::merge(stats_of(m1, s.x, w, 0, 250), stats_of(m1, s.x, w, 250, 400)), stats_of(m1, s.x, w, 650, 250));
    Canonical want_one = want;
    want_one.log_likelihood = (long double)same.log_likelihood;  // m1's, not m1, m2, m3's
    CHECK_STATS_CLOSE(what + " (one shift)", same, want_one, 1e-9);
    CHECK(same.log_likelihood == stats_of(m1, s.x, w, 0, 250).log_likelihood +
                                     stats_of(m1, s.x, w, 250, 400).log_likelihood +
                                     stats_of(m1, s.x, w, 650, 250).log_likelihood);
  }
}

GMMCORE_TEST(statistics, merge_across_shifts_float64) {
  for (bool weighted : {false, true}) {
    check_different_shifts(0.0, weighted);
    check_different_shifts(1e6, weighted);
  }
}

// Statistics built by hand around arbitrary shifts (the first row of each
// block, a point far off, the true mean), in long double from the raw data,
// merge to the reference; float32 parts too (the merge runs in double).
template <class T>
Statistics<T> by_hand(CovarianceType type, const RowMatrix<double>& x, const std::vector<int>& labels, Index K,
                      const RowMatrix<double>& shifts) {
  const Index D = x.cols();
  // The sums around the shifts as T stores them.
  const RowMatrix<double> shifts_t = shifts.cast<T>().template cast<double>();
  LMatrix sums = LMatrix::Zero(K, D), scatters = LMatrix::Zero(K, gmmcore::is_diagonal(type) ? D : D * D);
  LVector n = LVector::Zero(K);
  for (Index i = 0; i < x.rows(); ++i) {
    const int k = labels[size_t(i)];
    const LVector d = (x.row(i).cast<long double>() - shifts_t.row(k).cast<long double>()).transpose();
    n(k) += 1;
    sums.row(k) += d.transpose();
    for (Index a = 0; a < D; ++a) {
      if (gmmcore::is_diagonal(type)) {
        scatters(k, a) += d(a) * d(a);
        continue;
      }
      for (Index b = 0; b < D; ++b) scatters(k, a * D + b) += d(a) * d(b);
    }
  }
  Statistics<T> st = gmmcore::zero_statistics<T>(type, shifts_t.cast<T>());
  st.weight_sums = n.cast<T>();
  st.sums = sums.cast<T>();
  st.scatters = scatters.cast<T>();
  st.total_weight = double(x.rows());
  st.n_samples = x.rows();
  return st;
}

template <class T>
void check_by_hand(double offset, double rtol) {
  const Index N = 600, K = 3, D = 4;
  const Separated s = make_separated(N, K, D, offset, 31);
  for (CovarianceType type : kTypes) {
    const Canonical want = reference(s.x, Vector<double>(), s.labels, K, gmmcore::is_diagonal(type));
    std::vector<Statistics<T>> parts;
    const Index bounds[] = {0, 100, 101, 350, 600};
    for (int c = 0; c < 4; ++c) {
      const Index b = bounds[c], n = bounds[c + 1] - b;
      RowMatrix<double> shifts(K, D);
      for (Index k = 0; k < K; ++k) {
        switch (c) {
          case 0: shifts.row(k) = s.x.row(b + k); break;  // a row of component k (rows 0..2)
          case 1: shifts.row(k) = s.centres.row(k).array() + 3.0; break;  // 3 sd off (a 1-row block)
          case 2: shifts.row(k) = s.x.row(b + 1 + k); break;  // rows 102..104: of components 0..2
          default: shifts.row(k) = s.centres.row(k); break;  // the true centre
        }
      }
      parts.push_back(by_hand<T>(type, s.x.middleRows(b, n),
                                 std::vector<int>(s.labels.begin() + b, s.labels.begin() + b + n), K, shifts));
    }
    const std::string what =
        label("by hand, different shifts", type, float_name<T>()) + " offset " + std::to_string(offset);
    CHECK_STATS_CLOSE(what + " left to right", merge_left(parts), want, rtol);
    CHECK_STATS_CLOSE(what + " right to left", merge_right(parts), want, rtol);
    CHECK_STATS_CLOSE(what + " as a tree", merge_tree(parts, 0, parts.size()), want, rtol);
  }
}

GMMCORE_TEST(statistics, merge_across_shifts_by_hand) {
  check_by_hand<double>(0.0, 1e-12);
  check_by_hand<double>(1e6, 1e-9);
  check_by_hand<float>(0.0, 1e-5);
}

// ---------------------------------------------------------------------------
// Algebra: commutativity, associativity, empty components, errors

GMMCORE_TEST(statistics, merge_commutes_and_associates) {
  const Index N = 600, K = 3, D = 3;
  for (CovarianceType type : kTypes) {
    const RowMatrix<double> centres = make_centres(K, D, 2.0, 5.0, 41);
    const RowMatrix<double> x = make_data<double>(centres, N, 42);
    const Vector<double> w = make_weights<double>(N, 43);
    const Statistics<double> a = stats_of(make_mixture<double>(type, moved(centres, 1.0, 44), 45), x, w, 0, 200);
    const Statistics<double> b = stats_of(make_mixture<double>(type, moved(centres, 1.0, 46), 47), x, w, 200, 150);
    const Statistics<double> c = stats_of(make_mixture<double>(type, moved(centres, 1.0, 48), 49), x, w, 350, 250);
    const Canonical ab = canonical(gmmcore::merge(a, b));
    CHECK_STATS_CLOSE(label("a + b = b + a", type, "float64"), gmmcore::merge(b, a), ab, 1e-13);
    const Canonical ab_c = canonical(gmmcore::merge(gmmcore::merge(a, b), c));
    CHECK_STATS_CLOSE(label("(a + b) + c = a + (b + c)", type, "float64"), gmmcore::merge(a, gmmcore::merge(b, c)),
                      ab_c, 1e-13);
    CHECK_STATS_CLOSE(label("(a + b) + c = (a + c) + b", type, "float64"), gmmcore::merge(gmmcore::merge(a, c), b),
                      ab_c, 1e-13);
    // Zero statistics are the identity, around any shifts.
    const Statistics<double> zero = gmmcore::zero_statistics(type, RowMatrix<double>(moved(centres, 3.0, 50)));
    CHECK_STATS_CLOSE(label("a + 0", type, "float64"), gmmcore::merge(a, zero), canonical(a), 1e-15);
    CHECK_STATS_CLOSE(label("0 + a", type, "float64"), gmmcore::merge(zero, a), canonical(a), 1e-15);
    // Around the same shifts the merge is the plain sum.
    const Statistics<double> a2 = stats_of(make_mixture<double>(type, moved(centres, 1.0, 44), 45), x, w, 200, 400);
    const Statistics<double> sum = gmmcore::merge(a, a2);
    CHECK(sum.shifts == a.shifts);
    CHECK(sum.weight_sums == a.weight_sums + a2.weight_sums);
    CHECK(sum.sums == a.sums + a2.sums);
    CHECK(sum.scatters == a.scatters + a2.scatters);
  }
}

// Blocks holding no row of a component (N_k = 0 exactly): the merge takes
// that component from the other side, whichever order.
GMMCORE_TEST(statistics, component_empty_on_one_side) {
  const Index N = 300, K = 3, D = 3;
  const Separated s = make_separated(N, K, D, 0.0, 51);
  // Rows of components 0 and 1 only in the first block, all three in the second.
  std::vector<Index> first_rows, second_rows;
  for (Index i = 0; i < N; ++i) (i < 150 && s.labels[size_t(i)] != 2 ? first_rows : second_rows).push_back(i);
  RowMatrix<double> x1(Index(first_rows.size()), D), x2(Index(second_rows.size()), D);
  std::vector<int> labels;
  for (size_t i = 0; i < first_rows.size(); ++i) {
    x1.row(Index(i)) = s.x.row(first_rows[i]);
    labels.push_back(s.labels[size_t(first_rows[i])]);
  }
  for (size_t i = 0; i < second_rows.size(); ++i) {
    x2.row(Index(i)) = s.x.row(second_rows[i]);
    labels.push_back(s.labels[size_t(second_rows[i])]);
  }
  RowMatrix<double> all(N, D);
  all << x1, x2;
  for (CovarianceType type : kTypes) {
    const Statistics<double> a =
        gmmcore::statistics<double>(make_mixture<double>(type, moved(s.centres, 0.5, 52), 53), x1, Vector<double>());
    const Statistics<double> b =
        gmmcore::statistics<double>(make_mixture<double>(type, moved(s.centres, 0.5, 54), 55), x2, Vector<double>());
    CHECK(a.weight_sums(2) == 0);
    Canonical want = reference(all, Vector<double>(), labels, K, gmmcore::is_diagonal(type));
    want.log_likelihood = (long double)a.log_likelihood + b.log_likelihood;
    for (const auto& merged : {gmmcore::merge(a, b), gmmcore::merge(b, a)}) {
      CHECK_STATS_CLOSE(label("N_k = 0 on one side", type, "float64"), merged, want, 1e-12);
      // Component 2 is b's, exactly.
      CHECK(merged.shifts.row(2) == b.shifts.row(2));
      CHECK(merged.weight_sums(2) == b.weight_sums(2));
      CHECK(merged.sums.row(2) == b.sums.row(2));
      CHECK(merged.scatters.row(2) == b.scatters.row(2));
    }
    // Empty on both sides: stays empty.
    const Statistics<double> z = gmmcore::merge(a, a);
    CHECK(z.weight_sums(2) == 0);
  }
}

GMMCORE_TEST(statistics, merge_rejects_incompatible) {
  const RowMatrix<double> shifts = make_centres(3, 2, 1.0, 0.0, 61);
  const Statistics<double> full = gmmcore::zero_statistics(CovarianceType::full, shifts);
  CHECK_THROWS(gmmcore::merge(full, gmmcore::zero_statistics(CovarianceType::tied, shifts)), std::invalid_argument);
  CHECK_THROWS(gmmcore::merge(full, gmmcore::zero_statistics(CovarianceType::diag, shifts)), std::invalid_argument);
  CHECK_THROWS(gmmcore::merge(gmmcore::zero_statistics(CovarianceType::diag, shifts),
                              gmmcore::zero_statistics(CovarianceType::spherical, shifts)),
               std::invalid_argument);
  CHECK_THROWS(
      gmmcore::merge(full, gmmcore::zero_statistics(CovarianceType::full, RowMatrix<double>(shifts.topRows(2)))),
      std::invalid_argument);
  CHECK_THROWS(
      gmmcore::merge(full, gmmcore::zero_statistics(CovarianceType::full, RowMatrix<double>(shifts.leftCols(1)))),
      std::invalid_argument);
  CHECK_THROWS_WITH(gmmcore::merge(full, gmmcore::zero_statistics(CovarianceType::diag, shifts)), std::invalid_argument,
                    CHECK(std::string(check_error_.what()).find("cannot merge") != std::string::npos));
  CHECK(gmmcore::merge(full, full).n_components() == 3);
}

GMMCORE_TEST(statistics, check_statistics_rejects) {
  const RowMatrix<double> shifts = make_centres(3, 2, 1.0, 0.0, 62);
  for (CovarianceType type : kTypes) {
    const Mixture<double> m = make_mixture<double>(type, shifts, 63);
    const Statistics<double> good = gmmcore::statistics<double>(m, make_data<double>(shifts, 30, 64), Vector<double>());
    gmmcore::check_statistics(good);
    auto broken = [&](auto&& edit) {
      Statistics<double> st = good;
      edit(st);
      return st;
    };
    const double nan = kNaN;
    const Index D = 2, K = 3, cols = gmmcore::is_diagonal(type) ? D : D * D;
    // Shapes.
    CHECK_THROWS(gmmcore::check_statistics(broken([](auto& st) {
                   st.shifts.resize(0, 2);
                   st.weight_sums.resize(0);
                   st.sums.resize(0, 2);
                   st.scatters.resize(0, 2);
                 })),
                 std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([](auto& st) { st.weight_sums.resize(2); })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.sums.resize(K, D + 1); })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.sums.resize(K - 1, D); })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.scatters.setZero(K, cols + 1); })),
                 std::invalid_argument);
    // The other family's scatter shape ((K, D) for full, (K, D*D) for diag).
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.scatters.setZero(K, cols == D ? D * D : D); })),
                 std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([](auto& st) { st.covariance_type = CovarianceType(17); })),
                 std::invalid_argument);
    // Values.
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.shifts(1, 0) = nan; })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.weight_sums(2) = nan; })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.sums(0, 1) = nan; })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.scatters(2, 0) = nan; })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.scatters(2, 0) = kInf; })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.log_likelihood = nan; })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([&](auto& st) { st.total_weight = nan; })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([](auto& st) { st.weight_sums(1) = -1e-3; })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([](auto& st) { st.total_weight = -1; })), std::invalid_argument);
    CHECK_THROWS(gmmcore::check_statistics(broken([](auto& st) { st.n_samples = -1; })), std::invalid_argument);
    CHECK_THROWS_WITH(gmmcore::check_statistics(broken([](auto& st) { st.weight_sums(1) = -1; }), "running"),
                      std::invalid_argument,
                      CHECK(std::string(check_error_.what()).find("running.weight_sums") != std::string::npos));
    // Everything that takes statistics checks them first.
    const Statistics<double> bad = broken([&](auto& st) { st.sums(0, 0) = nan; });
    CHECK_THROWS(gmmcore::merge(good, bad), std::invalid_argument);
    CHECK_THROWS(gmmcore::merge(bad, good), std::invalid_argument);
    CHECK_THROWS(gmmcore::scaled(bad, 0.5), std::invalid_argument);
    CHECK_THROWS(gmmcore::blend(good, bad, 0.5), std::invalid_argument);
    CHECK_THROWS(gmmcore::blend(bad, good, 0.5), std::invalid_argument);
    CHECK_THROWS(gmmcore::m_step(bad, 1e-6), std::invalid_argument);
    CHECK_THROWS(gmmcore::scaled(good, -1.0), std::invalid_argument);
    CHECK_THROWS(gmmcore::scaled(good, nan), std::invalid_argument);
  }
}

// ---------------------------------------------------------------------------
// m_step and blend

template <class T>
void check_m_step(bool weighted) {
  const Index N = 500, K = 3, D = 3;
  const RowMatrix<double> centres = make_centres(K, D, 2.0, 3.0, 71);
  const RowMatrix<T> x = make_data<T>(centres, N, 72);
  const Vector<T> w = weighted ? make_weights<T>(N, 73) : Vector<T>();
  for (CovarianceType type : kTypes) {
    const Mixture<T> m0 = make_mixture<T>(type, moved(centres, 0.7, 74), 75);
    FitOptions opt;
    opt.covariance_type = type;
    opt.n_components = K;
    opt.max_iter = 1;
    opt.reg_covar = 1e-3;
    const FitResult<T> fit = gmmcore::fit_mixture<T>(x, w, opt, given_from(m0), false, 0.0);
    const Statistics<T> st = gmmcore::statistics<T>(m0, x, w);
    const Mixture<T> stepped = gmmcore::m_step(st, T(opt.reg_covar));
    const std::string what = label("m_step = fit(max_iter = 1)", type, float_name<T>()) + (weighted ? " weighted" : "");
    if (!identical(stepped, fit.mixture)) gmmcore_test::fail(__FILE__, __LINE__, what + ": mixtures differ");
    CHECK(fit.n_iter == 1);
    CHECK(fit.lower_bound == st.log_likelihood / st.total_weight);
    // The means are the responsibility-weighted means of X, the weights N_k / N.
    const Canonical c = canonical(st);
    for (Index k = 0; k < K; ++k) {
      CHECK_CLOSE(stepped.weights(k), double(c.n(k) / c.n.sum()), sizeof(T) == 4 ? 1e-5 : 1e-13, 0.0);
      for (Index d = 0; d < D; ++d)
        CHECK_CLOSE(stepped.means(k, d), double(c.means(k, d)), sizeof(T) == 4 ? 1e-5 : 1e-13, 1e-12);
    }
    // Nothing to estimate from.
    CHECK_THROWS(gmmcore::m_step(gmmcore::zero_statistics(type, m0.means), T(1e-6)), std::invalid_argument);
    CHECK_THROWS(gmmcore::m_step(gmmcore::statistics<T>(m0, x, Vector<T>(Vector<T>::Zero(N))), T(1e-6)),
                 std::invalid_argument);
    CHECK_THROWS(gmmcore::m_step(st, T(-1)), std::invalid_argument);
  }
}

GMMCORE_TEST(statistics, m_step_is_the_fits_m_step) {
  for (bool weighted : {false, true}) {
    check_m_step<double>(weighted);
    check_m_step<float>(weighted);
  }
}

template <class T>
void check_blend() {
  const Index N = 400, K = 3, D = 3;
  const RowMatrix<double> centres = make_centres(K, D, 2.0, 1.0, 81);
  const RowMatrix<T> x = make_data<T>(centres, N, 82);
  const Vector<T> w = make_weights<T>(N, 83);
  const double rtol = sizeof(T) == 4 ? 1e-5 : 1e-13;
  for (CovarianceType type : kTypes) {
    const Statistics<T> running =
        gmmcore::scaled(stats_of(make_mixture<T>(type, moved(centres, 1.0, 84), 85), x, w, 0, 250), 1.0 / 170);
    const Statistics<T> batch = stats_of(make_mixture<T>(type, moved(centres, 1.0, 86), 87), x, w, 250, 150);
    const Statistics<T> per_unit = gmmcore::scaled(batch, 1.0 / batch.total_weight);
    const std::string what = label("blend", type, float_name<T>());
    // eta = 1 forgets the running statistics.
    const Statistics<T> full_step = gmmcore::blend(running, batch, 1.0);
    Canonical want = canonical(per_unit);
    want.n_samples = running.n_samples + batch.n_samples;  // n_samples counts every row seen (scaled keeps it)
    CHECK_STATS_CLOSE(what + " eta = 1", full_step, want, rtol);
    CHECK_CLOSE(full_step.total_weight, 1.0, 1e-15, 0.0);
    // A step eta: (1 - eta) running + eta batch / W, in canonical form.
    const double eta = 0.3;
    const long double e = eta;
    const Statistics<T> step = gmmcore::blend(running, batch, eta);
    const Canonical r = canonical(running), b = canonical(per_unit);
    Canonical mix = r;
    for (Index k = 0; k < K; ++k) {
      const long double na = (1 - e) * r.n(k), nb = e * b.n(k), n = na + nb;
      const LMatrix ma = r.means.row(k), mb = b.means.row(k), delta = mb - ma;
      mix.n(k) = n;
      mix.means.row(k) = ma + (nb / n) * delta;
      if (gmmcore::is_diagonal(type)) {
        mix.scatters.row(k) =
            (1 - e) * r.scatters.row(k) + e * b.scatters.row(k) + (na * nb / n) * delta.array().square().matrix();
      } else {
        const LMatrix outer = delta.transpose() * delta;
        for (Index i = 0; i < D; ++i)
          for (Index j = 0; j < D; ++j)
            mix.scatters(k, i * D + j) =
                (1 - e) * r.scatters(k, i * D + j) + e * b.scatters(k, i * D + j) + (na * nb / n) * outer(i, j);
      }
    }
    mix.log_likelihood = (1 - e) * r.log_likelihood + e * b.log_likelihood;
    mix.total_weight = (1 - e) * r.total_weight + e * b.total_weight;
    mix.n_samples = running.n_samples + batch.n_samples;
    CHECK_STATS_CLOSE(what + " eta = 0.3", step, mix, rtol * 10);
    // eta outside (0, 1], or a batch without weight.
    for (double bad : {0.0, -0.5, 1.0 + 1e-12, 2.0, kNaN, kInf})
      CHECK_THROWS(gmmcore::blend(running, batch, bad), std::invalid_argument);
    const Statistics<T> empty = gmmcore::scaled(batch, 0.0);
    CHECK_THROWS(gmmcore::blend(running, empty, 0.5), std::invalid_argument);
  }
}

GMMCORE_TEST(statistics, blend_float64) { check_blend<double>(); }
GMMCORE_TEST(statistics, blend_float32) { check_blend<float>(); }

// ---------------------------------------------------------------------------
// fit_mixture over a ChunkSource

// X (and w) in chunks of `size` rows; calls counts the passes.
template <class T>
gmmcore::ChunkSource<T> chunks_of(const RowMatrix<T>& x, const Vector<T>& w, Index size, int* calls = nullptr) {
  return [&x, &w, size, calls](const gmmcore::ChunkVisitor<T>& visit) {
    if (calls) ++*calls;
    for (Index b = 0; b < x.rows(); b += size) {
      const Index n = std::min(size, x.rows() - b);
      visit(x.middleRows(b, n), w.size() ? Vector<T>(w.segment(b, n)) : Vector<T>());
    }
  };
}

template <class T>
void check_chunked_fit(bool weighted) {
  const Index N = 1200, K = 3, D = 3;
  const RowMatrix<double> centres = make_centres(K, D, 2.5, -4.0, 91);
  const RowMatrix<T> x = make_data<T>(centres, N, 92);
  const Vector<T> w = weighted ? make_weights<T>(N, 93) : Vector<T>();
  // float32: the chunks' float32 sums round differently from the whole's,
  // and EM carries the difference on; fixed iterations instead of tol.
  const bool f32 = sizeof(T) == 4;
  const double rtol = f32 ? 1e-3 : 1e-10;
  for (CovarianceType type : kTypes) {
    const Mixture<T> m0 = make_mixture<T>(type, moved(centres, 1.0, 94), 95);
    FitOptions opt;
    opt.covariance_type = type;
    opt.n_components = K;
    opt.max_iter = f32 ? 8 : 200;
    opt.tol = f32 ? 0.0 : 1e-7;
    const FitResult<T> want = gmmcore::fit_mixture<T>(x, w, opt, given_from(m0), false, 0.0);
    if (!f32) CHECK(want.converged && want.n_iter > 3);
    for (Index size : {Index(1), Index(64), Index(333), Index(500), N}) {
      if (size == 1 && opt.max_iter > 50) opt.max_iter = want.n_iter;  // 1-row chunks: no further than needed
      int calls = 0;
      const FitResult<T> got = gmmcore::fit_mixture<T>(chunks_of(x, w, size, &calls), D, RowMatrix<T>(0, D),
                                                       Vector<T>(), opt, given_from(m0), false, 0.0);
      const std::string what = label("chunked fit", type, float_name<T>()) + " chunks of " + std::to_string(size) +
                               (weighted ? " weighted" : "");
      if (got.n_iter != want.n_iter || got.converged != want.converged) {
        gmmcore_test::fail(__FILE__, __LINE__,
                           what + ": n_iter " + std::to_string(got.n_iter) + " vs " + std::to_string(want.n_iter));
        continue;
      }
      CHECK(calls == got.n_iter);
      CHECK_CLOSE(got.lower_bound, want.lower_bound, rtol, 0.0);
      const Mixture<T>& a = got.mixture;
      const Mixture<T>& b = want.mixture;
      auto close_all = [&](const char* field, const auto& p, const auto& q) {
        const double scale = q.cwiseAbs().maxCoeff();
        const double diff = (p - q).cwiseAbs().maxCoeff();
        if (!(diff <= rtol * scale))
          gmmcore_test::fail(__FILE__, __LINE__, what + ": " + field + " differ by " + std::to_string(diff / scale));
      };
      close_all("weights", a.weights.template cast<double>(), b.weights.template cast<double>());
      close_all("means", a.means.template cast<double>(), b.means.template cast<double>());
      close_all("covariances", a.covariances.template cast<double>(), b.covariances.template cast<double>());
      close_all("precisions_cholesky", a.precisions_cholesky.template cast<double>(),
                b.precisions_cholesky.template cast<double>());
      if (size == N && !identical(a, b))
        gmmcore_test::fail(__FILE__, __LINE__, what + ": one chunk is not bitwise the in-memory fit");
    }
  }
}

GMMCORE_TEST(statistics, chunked_fit_equals_in_memory_float64) {
  check_chunked_fit<double>(false);
  check_chunked_fit<double>(true);
}

GMMCORE_TEST(statistics, chunked_fit_equals_in_memory_float32) {
  check_chunked_fit<float>(false);
  check_chunked_fit<float>(true);
}

// With incomplete `given` the initialisation runs on the init sample; with
// all of X as that sample the chunked fit is the in-memory one.
GMMCORE_TEST(statistics, chunked_fit_initialises_from_the_sample) {
  const Index N = 900, K = 3, D = 2;
  const RowMatrix<double> centres = make_centres(K, D, 4.0, 0.0, 96);
  const RowMatrix<double> x = make_data<double>(centres, N, 97);
  for (CovarianceType type : kTypes) {
    FitOptions opt;
    opt.covariance_type = type;
    opt.n_components = K;
    opt.seed = 5;
    const FitResult<double> want = gmmcore::fit_mixture<double>(x, Vector<double>(), opt, {}, false, 0.0);
    const FitResult<double> got =
        gmmcore::fit_mixture<double>(chunks_of(x, Vector<double>(), 128), D, x, Vector<double>(), opt, {}, false, 0.0);
    CHECK(got.n_iter == want.n_iter);
    CHECK_CLOSE(got.lower_bound, want.lower_bound, 1e-10, 0.0);
    CHECK_CLOSE((got.mixture.means - want.mixture.means).cwiseAbs().maxCoeff(), 0.0, 0.0, 1e-9);
    // An init sample that is too small, or of other features.
    CHECK_THROWS(gmmcore::fit_mixture<double>(chunks_of(x, Vector<double>(), 128), D, RowMatrix<double>(x.topRows(2)),
                                              Vector<double>(), opt, {}, false, 0.0),
                 std::invalid_argument);
    CHECK_THROWS(gmmcore::fit_mixture<double>(chunks_of(x, Vector<double>(), 128), D + 1, x, Vector<double>(), opt, {},
                                              false, 0.0),
                 std::invalid_argument);
  }
}

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(did not throw)";
}

GMMCORE_TEST(statistics, chunked_fit_rejects_bad_sources) {
  const Index N = 600, K = 2, D = 3;
  const RowMatrix<double> centres = make_centres(K, D, 3.0, 0.0, 101);
  const RowMatrix<double> x = make_data<double>(centres, N, 102);
  const Vector<double> none;
  for (CovarianceType type : kTypes) {
    const Mixture<double> m0 = make_mixture<double>(type, moved(centres, 0.5, 103), 104);
    FitOptions opt;
    opt.covariance_type = type;
    opt.n_components = K;
    opt.max_iter = 5;
    opt.tol = 0;  // every pass runs
    const RowMatrix<double> no_init(0, D);
    auto fit = [&](const gmmcore::ChunkSource<double>& source) {
      return gmmcore::fit_mixture<double>(source, D, no_init, none, opt, given_from(m0), false, 0.0);
    };
    // A second pass with one row fewer.
    int pass = 0;
    const gmmcore::ChunkSource<double> shrinking = [&](const gmmcore::ChunkVisitor<double>& visit) {
      const Index n = ++pass == 1 ? N : N - 1;
      for (Index b = 0; b < n; b += 100) visit(x.middleRows(b, std::min<Index>(100, n - b)), none);
    };
    std::string msg = what_of([&] { fit(shrinking); });
    CHECK(msg.find("600") != std::string::npos && msg.find("599") != std::string::npos);
    CHECK(pass == 2);
    // NaN in row 250: the error names the chunk of rows 200 to 299.
    RowMatrix<double> x_nan = x;
    x_nan(250, 1) = kNaN;
    msg = what_of([&] { fit(chunks_of(x_nan, none, 100)); });
    CHECK(msg.find("rows 200 to 299") != std::string::npos);
    if (msg.find("rows 200 to 299") == std::string::npos) gmmcore_test::fail(__FILE__, __LINE__, "message: " + msg);
    // Infinity too.
    x_nan(250, 1) = -kInf;
    CHECK(what_of([&] { fit(chunks_of(x_nan, none, 100)); }).find("rows 200 to 299") != std::string::npos);
    // A chunk with another number of columns.
    const RowMatrix<double> wide = RowMatrix<double>::Ones(50, D + 1);
    const gmmcore::ChunkSource<double> wrong_columns = [&](const gmmcore::ChunkVisitor<double>& visit) {
      visit(x.topRows(300), none);
      visit(wide, none);
    };
    msg = what_of([&] { fit(wrong_columns); });
    CHECK(msg.find("rows 300 to 349") != std::string::npos);
    CHECK_THROWS(fit(wrong_columns), std::invalid_argument);
    // Sample weights of the wrong length, or negative.
    const gmmcore::ChunkSource<double> short_weights = [&](const gmmcore::ChunkVisitor<double>& visit) {
      visit(x, Vector<double>(Vector<double>::Ones(N - 1)));
    };
    CHECK_THROWS(fit(short_weights), std::invalid_argument);
    const gmmcore::ChunkSource<double> negative_weights = [&](const gmmcore::ChunkVisitor<double>& visit) {
      Vector<double> w = Vector<double>::Ones(N);
      w(7) = -1;
      visit(x, w);
    };
    CHECK_THROWS(fit(negative_weights), std::invalid_argument);
    // No data, fewer samples than components, no weight, an empty source.
    CHECK_THROWS(fit([](const gmmcore::ChunkVisitor<double>&) {}), std::invalid_argument);
    CHECK_THROWS(fit([&](const gmmcore::ChunkVisitor<double>& visit) { visit(x.topRows(1), none); }),
                 std::invalid_argument);
    CHECK_THROWS(
        fit([&](const gmmcore::ChunkVisitor<double>& visit) { visit(x, Vector<double>(Vector<double>::Zero(N))); }),
        std::invalid_argument);
    CHECK_THROWS(fit(gmmcore::ChunkSource<double>()), std::invalid_argument);
  }
}

}  // namespace statistics_test
