// The core's entry points for data held in blocks elsewhere (as by
// gmmcore.dask): labelled_statistics and random_statistics
// (sufficient_statistics.hpp) against a long double brute force of the
// definition in statistics.hpp, blocks merged against the whole and against
// the in-memory 'random' initialisation; nearest_centres and cluster_sums
// (kmeans.hpp) against brute force; fit_mixture over a StatisticsPass and
// InitialStatistics (mixture_fit.hpp) against the in-memory fit; their
// argument checks and their independence of the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"
#include "problems.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

// Everything in a named namespace: the unity build shares one translation
// unit between test files.
namespace distributed_test {

using namespace gmmcore_test;
using gmmcore::CovarianceType;
using gmmcore::FitOptions;
using gmmcore::FitResult;
using gmmcore::InitialParams;
using gmmcore::InitMethod;
using gmmcore::Mixture;
using gmmcore::Statistics;

std::string label(const std::string& what, CovarianceType type, const char* t) {
  return what + " [" + gmmcore::covariance_type_name(type) + ", " + t + "]";
}

// ---------------------------------------------------------------------------
// Data

// n labels: -1 for about one row in ten, else uniform in [0, used).
std::vector<int> make_labels(Index n, int used, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pick(0, used - 1), tenth(0, 9);
  std::vector<int> labels(static_cast<size_t>(n));
  for (auto& l : labels) l = tenth(rng) == 0 ? -1 : pick(rng);
  return labels;
}

template <class T>
Vector<T> segment_of(const Vector<T>& w, Index begin, Index n) {
  return w.size() ? Vector<T>(w.segment(begin, n)) : Vector<T>();
}

// ---------------------------------------------------------------------------
// Brute force of statistics.hpp's definition, in long double: for rows x_i
// with weights s_i (1 when w is empty) and responsibilities resp(i, k),
//   N_k = sum_i s_i r_ik,  s_k = sum_i s_i r_ik (x_i - c_k),
//   S_k = sum_i s_i r_ik (x_i - c_k)(x_i - c_k)^T  or  q_k = sum_i s_i r_ik (x_i - c_k)^2,
// with the sums of absolute values of the same terms: the scale of their
// rounding.
struct Expected {
  LVector n;
  LMatrix sums, sums_scale, scatters, scatters_scale;
  long double total_weight = 0;
  Index n_samples = 0;
};

template <class T>
Expected brute_force(CovarianceType type, const RowMatrix<T>& shifts, const RowMatrix<T>& x, const Vector<T>& w,
                     const LMatrix& resp) {
  const Index N = x.rows(), K = shifts.rows(), D = shifts.cols();
  const bool diagonal = gmmcore::is_diagonal(type);
  Expected e;
  e.n = LVector::Zero(K);
  e.sums = e.sums_scale = LMatrix::Zero(K, D);
  e.scatters = e.scatters_scale = LMatrix::Zero(K, diagonal ? D : D * D);
  for (Index i = 0; i < N; ++i) {
    const long double s = w.size() ? (long double)w(i) : 1.0L;
    e.total_weight += s;
    for (Index k = 0; k < K; ++k) {
      const long double sr = s * resp(i, k);
      if (sr == 0) continue;
      e.n(k) += sr;
      for (Index a = 0; a < D; ++a) {
        const long double da = (long double)x(i, a) - (long double)shifts(k, a);
        e.sums(k, a) += sr * da;
        e.sums_scale(k, a) += std::abs(sr * da);
        if (diagonal) {
          e.scatters(k, a) += sr * da * da;
          e.scatters_scale(k, a) += sr * da * da;
          continue;
        }
        for (Index b = 0; b < D; ++b) {
          const long double db = (long double)x(i, b) - (long double)shifts(k, b);
          e.scatters(k, a * D + b) += sr * da * db;
          e.scatters_scale(k, a * D + b) += std::abs(sr * da * db);
        }
      }
    }
  }
  e.n_samples = N;
  return e;
}

// One-hot responsibilities r_ik = [labels_i == k] (label -1: a zero row).
LMatrix one_hot(const std::vector<int>& labels, Index K) {
  LMatrix r = LMatrix::Zero(Index(labels.size()), K);
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0) r(Index(i), labels[i]) = 1;
  return r;
}

// The 'random' initialisation's responsibilities of rows first, first + 1,
// ..., first + n - 1: r_ik = u_ik / sum_j u_ij with
// u_ik = uniform_at(seed, (first + i) K + k) (sufficient_statistics.hpp).
LMatrix random_responsibilities(std::uint64_t seed, Index first, Index n, Index K) {
  LMatrix r(n, K);
  for (Index i = 0; i < n; ++i) {
    for (Index k = 0; k < K; ++k) r(i, k) = gmmcore::uniform_at(seed, std::uint64_t((first + i) * K + k));
    r.row(i) /= r.row(i).sum();
  }
  return r;
}

// Fails unless got is want's statistics: the same type and shifts (exactly),
// N_k, s_k and S_k (q_k) within rtol of their scale (the sum of the absolute
// values of their terms), S_k exactly symmetric, log_likelihood 0, the total
// weight and n_samples. Returns the worst error over its scale.
template <class T>
double check_expected(const std::string& what, const Statistics<T>& got, const Expected& want, CovarianceType type,
                      const RowMatrix<T>& shifts, double rtol, const char* file, int line) {
  const Index K = shifts.rows(), D = shifts.cols();
  const Index cols = gmmcore::is_diagonal(type) ? D : D * D;
  if (got.covariance_type != type || got.shifts.rows() != K || got.shifts.cols() != D || got.weight_sums.size() != K ||
      got.sums.rows() != K || got.sums.cols() != D || got.scatters.rows() != K || got.scatters.cols() != cols) {
    gmmcore_test::fail(file, line, what + ": wrong covariance type or shapes");
    return kInf;
  }
  double worst = 0;
  std::ostringstream msg;
  msg.precision(17);
  auto field = [&](const char* name, Index k, Index j, long double g, long double v, long double scale) {
    const long double err = std::abs(g - v);
    if (scale > 0) worst = std::max(worst, double(err / scale));
    if (!(err <= rtol * scale)) {
      msg << " " << name << "(" << k << ", " << j << ") = " << double(g) << " vs " << double(v) << " (scale "
          << double(scale) << ");";
      return false;
    }
    return true;
  };
  int bad = 0;
  for (Index k = 0; k < K; ++k) {
    bad += !field("N", k, 0, got.weight_sums(k), want.n(k), want.n(k));
    for (Index d = 0; d < D; ++d) bad += !field("s", k, d, got.sums(k, d), want.sums(k, d), want.sums_scale(k, d));
    for (Index j = 0; j < cols; ++j)
      bad += !field("S", k, j, got.scatters(k, j), want.scatters(k, j), want.scatters_scale(k, j));
    if (!gmmcore::is_diagonal(type))
      for (Index a = 0; a < D; ++a)
        for (Index b = 0; b < a; ++b)
          if (got.scatters(k, a * D + b) != got.scatters(k, b * D + a)) {
            ++bad;
            msg << " S(" << k << ") not symmetric at (" << a << ", " << b << ");";
          }
  }
  if (!(got.shifts.array() == shifts.array()).all()) ++bad, msg << " shifts differ;";
  if (got.log_likelihood != 0) ++bad, msg << " log_likelihood " << got.log_likelihood << " != 0;";
  if (!(std::abs(got.total_weight - want.total_weight) <= 1e-14L * want.total_weight))
    ++bad, msg << " total_weight " << got.total_weight << " vs " << double(want.total_weight) << ";";
  if (got.n_samples != want.n_samples) ++bad, msg << " n_samples " << got.n_samples << " vs " << want.n_samples << ";";
  if (bad) {
    std::ostringstream head;
    head << what << ": " << bad << " fields differ (rtol " << rtol << "):";
    gmmcore_test::fail(file, line, head.str() + msg.str().substr(0, 1500));
  }
  return worst;
}
#define CHECK_EXPECTED(what, got, want, type, shifts, rtol) \
  check_expected((what), (got), (want), (type), (shifts), (rtol), __FILE__, __LINE__)

// Every numeric field of got and want equal, N_k, s_k and S_k (q_k) within
// rtol of their scale in `scale` (statistics around the same shifts merge as
// a plain sum and keep them, so the fields compare directly).
template <class T>
double check_same_statistics(const std::string& what, const Statistics<T>& got, const Statistics<T>& want,
                             const Expected& scale, double rtol, const char* file, int line) {
  if (got.covariance_type != want.covariance_type || got.scatters.cols() != want.scatters.cols() ||
      got.shifts.rows() != want.shifts.rows() || got.shifts.cols() != want.shifts.cols()) {
    gmmcore_test::fail(file, line, what + ": wrong covariance type or shapes");
    return kInf;
  }
  double worst = 0;
  int bad = 0;
  auto field = [&](long double g, long double v, long double s) {
    const long double err = std::abs(g - v);
    if (s > 0) worst = std::max(worst, double(err / s));
    bad += !(err <= rtol * s);
  };
  for (Index k = 0; k < want.n_components(); ++k) {
    field(got.weight_sums(k), want.weight_sums(k), scale.n(k));
    for (Index d = 0; d < want.n_features(); ++d) field(got.sums(k, d), want.sums(k, d), scale.sums_scale(k, d));
    for (Index j = 0; j < want.scatters.cols(); ++j)
      field(got.scatters(k, j), want.scatters(k, j), scale.scatters_scale(k, j));
  }
  bad += !(got.shifts.array() == want.shifts.array()).all();
  bad += got.log_likelihood != want.log_likelihood;
  bad += !(std::abs(got.total_weight - want.total_weight) <= 1e-14 * want.total_weight);
  bad += got.n_samples != want.n_samples;
  if (bad) {
    std::ostringstream msg;
    msg << what << ": " << bad << " fields differ (worst " << worst << " of its scale, rtol " << rtol << ")";
    gmmcore_test::fail(file, line, msg.str());
  }
  return worst;
}
#define CHECK_SAME_STATISTICS(what, got, want, scale, rtol) \
  check_same_statistics((what), (got), (want), (scale), (rtol), __FILE__, __LINE__)

// float32: sums of a few hundred float32 terms (measured worst 5e-7 of the
// scale); float64: 1e-12 (measured worst 1.3e-15).
template <class T>
double stats_rtol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-12;
}

// ---------------------------------------------------------------------------
// 1. labelled_statistics

template <class T>
void check_labelled(Index D, double offset, bool weighted) {
  // K = 4 with label 3 never used (N_3 = 0): 700 rows are three blocks of 256.
  const Index N = 700, K = 4;
  const RowMatrix<double> centres = make_centres(K, D, 3.0, offset, unsigned(100 + D));
  const RowMatrix<T> x = make_data<T>(centres, N, unsigned(101 + D));
  const Vector<T> w = weighted ? make_weights<T>(N, 102) : Vector<T>();
  const std::vector<int> labels = make_labels(N, int(K) - 1, 103);
  // Shifts near, not at, the centres (and one far off).
  RowMatrix<T> shifts = (centres + make_centres(K, D, 1.0, 0.0, 104)).cast<T>();
  shifts.row(1).array() += T(40);
  for (CovarianceType type : kTypes) {
    std::ostringstream what;
    what << label("labelled_statistics", type, float_name<T>()) << " D=" << D << " offset=" << offset
         << (weighted ? " weighted" : "");
    const Statistics<T> got = gmmcore::labelled_statistics<T>(type, shifts, x, w, labels);
    const Expected want = brute_force<T>(type, shifts, x, w, one_hot(labels, K));
    CHECK_EXPECTED(what.str(), got, want, type, shifts, stats_rtol<T>());
    // The premises: rows labelled -1 count in the total weight only, and
    // component 3 holds nothing, exactly.
    CHECK(want.n.sum() < want.total_weight);
    CHECK(got.weight_sums(3) == T(0) && got.sums.row(3).isZero(0) && got.scatters.row(3).isZero(0));
    // Another shift gives other sums of the same rows: the shifts are used.
    RowMatrix<T> other = shifts;
    other.row(0).array() += T(1);
    const Statistics<T> moved = gmmcore::labelled_statistics<T>(type, other, x, w, labels);
    CHECK(moved.weight_sums(0) == got.weight_sums(0));
    CHECK(std::abs(double(moved.sums(0, 0) - got.sums(0, 0))) > 0.5 * double(got.weight_sums(0)));
  }
}

GMMCORE_TEST(distributed, labelled_statistics_match_brute_force_float64) {
  for (Index D : {Index(1), Index(3), Index(6)})  // D <= 4 and D > 4: both scatter paths
    for (bool weighted : {false, true}) check_labelled<double>(D, 0.0, weighted);
  check_labelled<double>(3, 100.0, true);
}

GMMCORE_TEST(distributed, labelled_statistics_match_brute_force_float32) {
  for (Index D : {Index(1), Index(3), Index(6)})
    for (bool weighted : {false, true}) check_labelled<float>(D, 0.0, weighted);
}

// No rows, or every row labelled -1: zero sums around the shifts; the
// unlabelled rows still count in total_weight and n_samples.
GMMCORE_TEST(distributed, labelled_statistics_of_no_labelled_rows) {
  const RowMatrix<double> shifts = make_centres(3, 2, 1.0, 0.0, 110);
  const RowMatrix<double> x = make_data<double>(shifts, 20, 111);
  const Vector<double> w = make_weights<double>(20, 112);
  for (CovarianceType type : kTypes) {
    const Statistics<double> zero = gmmcore::zero_statistics(type, shifts);
    const Statistics<double> empty =
        gmmcore::labelled_statistics<double>(type, shifts, RowMatrix<double>(0, 2), Vector<double>(), {});
    CHECK(empty.weight_sums == zero.weight_sums && empty.sums == zero.sums && empty.scatters == zero.scatters);
    CHECK(empty.shifts == shifts && empty.total_weight == 0 && empty.n_samples == 0 && empty.log_likelihood == 0);
    const Statistics<double> none = gmmcore::labelled_statistics<double>(type, shifts, x, w, std::vector<int>(20, -1));
    CHECK(none.weight_sums == zero.weight_sums && none.sums == zero.sums && none.scatters == zero.scatters);
    CHECK_CLOSE(none.total_weight, w.sum(), 1e-15, 0.0);
    CHECK(none.total_weight > 0 && none.n_samples == 20);
  }
}

// ---------------------------------------------------------------------------
// 2. random_statistics

template <class T>
void check_random_blocks(Index D, bool weighted) {
  const Index N = 900, K = 3;
  const RowMatrix<double> centres = make_centres(K, D, 3.0, 2.0, unsigned(120 + D));
  const RowMatrix<T> x = make_data<T>(centres, N, unsigned(121 + D));
  const Vector<T> w = weighted ? make_weights<T>(N, 122) : Vector<T>();
  const RowMatrix<T> shifts = (centres + make_centres(K, D, 1.0, 0.0, 123)).cast<T>();
  const std::uint64_t seed = 0x5eedULL;
  const std::vector<std::vector<Index>> splits = {
      {0, 300, 301, 900}, {0, 1, 257, 612, 900}, {0, 0, 450, 899, 900}};  // uneven, 1-row and empty blocks
  for (CovarianceType type : kTypes) {
    std::ostringstream what;
    what << label("random_statistics", type, float_name<T>()) << " D=" << D << (weighted ? " weighted" : "");
    const Statistics<T> whole = gmmcore::random_statistics<T>(type, shifts, x, w, seed, 0);
    const Expected want = brute_force<T>(type, shifts, x, w, random_responsibilities(seed, 0, N, K));
    CHECK_EXPECTED(what.str() + " whole", whole, want, type, shifts, stats_rtol<T>());
    for (const auto& bounds : splits) {
      Statistics<T> merged;
      for (size_t b = 0; b + 1 < bounds.size(); ++b) {
        const Index first = bounds[b], n = bounds[b + 1] - first;
        const RowMatrix<T> xb = x.middleRows(first, n);
        const Vector<T> wb = segment_of(w, first, n);
        const Statistics<T> part = gmmcore::random_statistics<T>(type, shifts, xb, wb, seed, first);
        // Each block's responsibilities are those of its rows in the whole.
        if (n > 0) {
          const Expected block = brute_force<T>(type, shifts, xb, wb, random_responsibilities(seed, first, n, K));
          CHECK_EXPECTED(what.str() + " block at " + std::to_string(first), part, block, type, shifts, stats_rtol<T>());
        }
        if (first > 0 && part.total_weight > 0) {
          // Taken at offset 0 the same rows get other responsibilities.
          const Statistics<T> wrong = gmmcore::random_statistics<T>(type, shifts, xb, wb, seed, 0);
          CHECK(std::abs(double(wrong.weight_sums(0) - part.weight_sums(0))) > 1e-6 * double(part.weight_sums(0)));
        }
        merged = b == 0 ? part : gmmcore::merge(merged, part);
      }
      CHECK_SAME_STATISTICS(what.str() + " blocks merged", merged, whole, want, stats_rtol<T>());
    }
    // Another seed, other responsibilities.
    const Statistics<T> reseeded = gmmcore::random_statistics<T>(type, shifts, x, w, seed + 1, 0);
    CHECK(std::abs(double(reseeded.weight_sums(0) - whole.weight_sums(0))) > 1e-6 * double(whole.weight_sums(0)));
  }
}

GMMCORE_TEST(distributed, random_statistics_blocks_merge_to_the_whole_float64) {
  for (Index D : {Index(2), Index(5)})
    for (bool weighted : {false, true}) check_random_blocks<double>(D, weighted);
}

GMMCORE_TEST(distributed, random_statistics_blocks_merge_to_the_whole_float32) {
  for (Index D : {Index(2), Index(5)})
    for (bool weighted : {false, true}) check_random_blocks<float>(D, weighted);
}

// Every entry of got within rtol of want, with atol = rtol * max |want| (the
// field's scale). Returns the worst |got - want| / (|want| + max |want|).
template <class A, class B>
double all_close(const std::string& what, const Eigen::MatrixBase<A>& got, const Eigen::MatrixBase<B>& want,
                 double rtol, const char* file, int line) {
  if (got.rows() != want.rows() || got.cols() != want.cols()) {
    gmmcore_test::fail(file, line, what + ": shapes differ");
    return kInf;
  }
  const double scale = want.template cast<double>().cwiseAbs().maxCoeff();
  double worst = 0;
  Index bad = 0;
  for (Index i = 0; i < want.rows(); ++i)
    for (Index j = 0; j < want.cols(); ++j) {
      const double g = double(got(i, j)), v = double(want(i, j));
      worst = std::max(worst, std::abs(g - v) / (std::abs(v) + scale));
      bad += !gmmcore_test::close(g, v, rtol, rtol * scale);
    }
  if (bad) {
    std::ostringstream msg;
    msg << what << ": " << bad << " entries differ (worst " << worst << ", rtol " << rtol << ")";
    gmmcore_test::fail(file, line, msg.str());
  }
  return worst;
}
#define CHECK_ENTRIES_CLOSE(what, got, want, rtol) all_close((what), (got), (want), (rtol), __FILE__, __LINE__)

template <class T>
double check_same_mixture(const std::string& what, const Mixture<T>& got, const Mixture<T>& want, double rtol,
                          const char* file, int line) {
  if (got.covariance_type != want.covariance_type) gmmcore_test::fail(file, line, what + ": covariance types differ");
  return std::max(
      {all_close(what + " weights", got.weights, want.weights, rtol, file, line),
       all_close(what + " means", got.means, want.means, rtol, file, line),
       all_close(what + " covariances", got.covariances, want.covariances, rtol, file, line),
       all_close(what + " precisions_cholesky", got.precisions_cholesky, want.precisions_cholesky, rtol, file, line)});
}
#define CHECK_SAME_MIXTURE(what, got, want, rtol) check_same_mixture((what), (got), (want), (rtol), __FILE__, __LINE__)

// The in-memory 'random' initialisation (detail::initial_statistics with
// init = random, restart `init` of opt.seed) starts from the M-step of
// random_statistics around the column means with the stream's first draw as
// seed, weights normalised by the total weight; so do the statistics of
// blocks with their offsets, merged.
template <class T>
void check_random_initialisation(bool weighted) {
  const Index N = 800, K = 3, D = 3;
  const RowMatrix<double> centres = make_centres(K, D, 3.0, 5.0, 130);
  const RowMatrix<T> x = make_data<T>(centres, N, 131);
  const Vector<T> w = weighted ? make_weights<T>(N, 132) : Vector<T>();
  // The column means, computed here (in long double), replicated.
  const RowMatrix<T> shifts = x.template cast<long double>().colwise().mean().template cast<T>().replicate(K, 1);
  const double rtol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  for (CovarianceType type : kTypes)
    for (std::uint64_t seed : {std::uint64_t(0), std::uint64_t(41)})
      for (std::uint64_t init : {std::uint64_t(0), std::uint64_t(1)}) {
        std::ostringstream what;
        what << label("random initialisation", type, float_name<T>()) << " seed " << seed << " restart " << init
             << (weighted ? " weighted" : "");
        FitOptions opt;
        opt.covariance_type = type;
        opt.n_components = K;
        opt.init = InitMethod::random;
        opt.seed = seed;
        opt.reg_covar = 1e-4;
        gmmcore::Rng rng = gmmcore::detail::start_rng(seed, Index(init), K);
        const Mixture<T> start = gmmcore::detail::starting_mixture<T>(
            [&] { return gmmcore::detail::initial_statistics<T>(x, w, opt, rng); }, opt, InitialParams<T>{});
        const std::uint64_t random_seed = gmmcore::detail::start_rng(seed, Index(init), K).next();
        const Statistics<T> st = gmmcore::random_statistics<T>(type, shifts, x, w, random_seed, 0);
        CHECK(st.total_weight > 0);
        const Mixture<T> want = gmmcore::detail::estimator_m_step<T>(st, T(opt.reg_covar), T(st.total_weight));
        CHECK_SAME_MIXTURE(what.str(), start, want, rtol);
        // Blocks with their offsets, merged.
        Statistics<T> merged;
        const Index bounds[] = {0, 211, 212, 640, N};
        for (int b = 0; b < 4; ++b) {
          const Index first = bounds[b], n = bounds[b + 1] - first;
          const Statistics<T> part = gmmcore::random_statistics<T>(type, shifts, x.middleRows(first, n),
                                                                   segment_of(w, first, n), random_seed, first);
          merged = b == 0 ? part : gmmcore::merge(merged, part);
        }
        const Mixture<T> from_blocks =
            gmmcore::detail::estimator_m_step<T>(merged, T(opt.reg_covar), T(merged.total_weight));
        CHECK_SAME_MIXTURE(what.str() + " from blocks", from_blocks, start, rtol);
        // fit_mixture with max_iter = 0 returns restart 0's start.
        if (init == 0) {
          opt.max_iter = 0;
          const FitResult<T> r = gmmcore::fit_mixture<T>(x, w, opt, InitialParams<T>{}, false, 0.0);
          CHECK_SAME_MIXTURE(what.str() + " fit_mixture(max_iter = 0)", r.mixture, want, rtol);
        }
        // The premise: another restart starts elsewhere.
        gmmcore::Rng other = gmmcore::detail::start_rng(seed, Index(init + 1), K);
        const Mixture<T> elsewhere = gmmcore::detail::starting_mixture<T>(
            [&] { return gmmcore::detail::initial_statistics<T>(x, w, opt, other); }, opt, InitialParams<T>{});
        CHECK((elsewhere.means - start.means).cwiseAbs().maxCoeff() > T(1e-3));
      }
}

GMMCORE_TEST(distributed, random_statistics_are_the_random_initialisation_float64) {
  check_random_initialisation<double>(false);
  check_random_initialisation<double>(true);
}

GMMCORE_TEST(distributed, random_statistics_are_the_random_initialisation_float32) {
  check_random_initialisation<float>(false);
  check_random_initialisation<float>(true);
}

GMMCORE_TEST(distributed, responsibility_statistics_reject_bad_input) {
  const Index N = 40, K = 3, D = 2;
  const RowMatrix<double> shifts = make_centres(K, D, 2.0, 0.0, 140);
  const RowMatrix<double> x = make_data<double>(shifts, N, 141);
  const Vector<double> w = make_weights<double>(N, 142);
  const std::vector<int> labels = make_labels(N, int(K), 143);
  for (CovarianceType type : kTypes) {
    auto labelled = [&](const RowMatrix<double>& s, const RowMatrix<double>& xx, const Vector<double>& ww,
                        const std::vector<int>& ll) {
      return gmmcore::labelled_statistics<double>(type, s, xx, ww, ll);
    };
    auto random = [&](const RowMatrix<double>& s, const RowMatrix<double>& xx, const Vector<double>& ww, Index offset) {
      return gmmcore::random_statistics<double>(type, s, xx, ww, 7, offset);
    };
    // The valid calls (the baseline of the bad ones).
    CHECK(labelled(shifts, x, w, labels).n_samples == N);
    CHECK(random(shifts, x, w, 5).n_samples == N);
    // Labels out of [-1, K), or not one per row.
    for (int bad : {-2, int(K), int(K) + 5, std::numeric_limits<int>::min()}) {
      std::vector<int> l = labels;
      l[17] = bad;
      CHECK_THROWS_WITH(labelled(shifts, x, w, l), std::invalid_argument,
                        CHECK(std::string(check_error_.what()).find("labels must lie in") != std::string::npos));
    }
    CHECK_THROWS(labelled(shifts, x, w, std::vector<int>(labels.begin(), labels.end() - 1)), std::invalid_argument);
    std::vector<int> longer = labels;
    longer.push_back(0);
    CHECK_THROWS(labelled(shifts, x, w, longer), std::invalid_argument);
    CHECK_THROWS(labelled(shifts, x, w, {}), std::invalid_argument);
    // X with another number of features than the shifts.
    const RowMatrix<double> wide = RowMatrix<double>::Ones(N, D + 1);
    CHECK_THROWS(labelled(shifts, wide, w, labels), std::invalid_argument);
    CHECK_THROWS(random(shifts, wide, w, 0), std::invalid_argument);
    CHECK_THROWS(labelled(RowMatrix<double>(shifts.leftCols(1)), x, w, labels), std::invalid_argument);
    // No shifts (no component or no feature).
    CHECK_THROWS(labelled(RowMatrix<double>(0, D), x, w, labels), std::invalid_argument);
    CHECK_THROWS(random(RowMatrix<double>(0, D), x, w, 0), std::invalid_argument);
    CHECK_THROWS(random(RowMatrix<double>(K, 0), RowMatrix<double>(N, 0), w, 0), std::invalid_argument);
    // Sample weights negative, non-finite or of the wrong length.
    for (double bad : {-1e-9, -1.0, kNaN, kInf}) {
      Vector<double> b = w;
      b(11) = bad;
      CHECK_THROWS(labelled(shifts, x, b, labels), std::invalid_argument);
      CHECK_THROWS(random(shifts, x, b, 0), std::invalid_argument);
    }
    for (Index n : {N - 1, N + 1}) {
      const Vector<double> b = Vector<double>::Ones(n);
      CHECK_THROWS(labelled(shifts, x, b, labels), std::invalid_argument);
      CHECK_THROWS(random(shifts, x, b, 0), std::invalid_argument);
    }
    // Non-finite shifts.
    for (double bad : {kNaN, kInf, -kInf}) {
      RowMatrix<double> s = shifts;
      s(2, 1) = bad;
      CHECK_THROWS(labelled(s, x, w, labels), std::invalid_argument);
      CHECK_THROWS(random(s, x, w, 0), std::invalid_argument);
    }
    // Non-finite X (past the first block too).
    RowMatrix<double> big = make_data<double>(shifts, 600, 144);
    const std::vector<int> big_labels = make_labels(600, int(K), 145);
    big(517, 0) = kNaN;
    CHECK_THROWS(labelled(shifts, big, Vector<double>(), big_labels), std::invalid_argument);
    CHECK_THROWS(random(shifts, big, Vector<double>(), 0), std::invalid_argument);
    big(517, 0) = -kInf;
    CHECK_THROWS(random(shifts, big, Vector<double>(), 0), std::invalid_argument);
    // A negative row offset.
    CHECK_THROWS(random(shifts, x, w, -1), std::invalid_argument);
    CHECK_THROWS(random(shifts, x, w, std::numeric_limits<Index>::min()), std::invalid_argument);
  }
  // A covariance type that is none of the four.
  CHECK_THROWS(gmmcore::labelled_statistics<double>(CovarianceType(17), shifts, x, w, labels), std::invalid_argument);
  CHECK_THROWS(gmmcore::random_statistics<double>(CovarianceType(17), shifts, x, w, 7, 0), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// 3. nearest_centres and cluster_sums

// Brute force of nearest_centres in long double: the first k of least
// |x_i - c_k|^2, and `gap`, the least difference between that and another
// centre's distance relative to it (a near tie that rounding may break
// either way when gap is ~ eps).
struct Nearest {
  std::vector<int> labels;
  LVector d2;
  std::vector<long double> gap;
};

template <class T>
Nearest brute_nearest(const RowMatrix<T>& x, const RowMatrix<T>& c) {
  Nearest out;
  out.d2.resize(x.rows());
  for (Index i = 0; i < x.rows(); ++i) {
    LVector d(c.rows());
    for (Index k = 0; k < c.rows(); ++k) {
      d(k) = 0;
      for (Index j = 0; j < x.cols(); ++j) d(k) += std::pow((long double)x(i, j) - (long double)c(k, j), 2);
    }
    int best = 0;
    for (Index k = 1; k < c.rows(); ++k)
      if (d(k) < d(best)) best = int(k);
    long double gap = std::numeric_limits<long double>::infinity();
    for (Index k = 0; k < c.rows(); ++k)
      if (k != best) gap = std::min(gap, (d(k) - d(best)) / std::max(d(best), 1e-300L));
    out.labels.push_back(best);
    out.d2(i) = d(best);
    out.gap.push_back(gap);
  }
  return out;
}

template <class T>
void check_nearest_centres() {
  const Index N = 1500, K = 5;
  const double rtol = sizeof(T) == 4 ? 1e-6 : 1e-14;
  for (Index D : {Index(1), Index(3), Index(7)}) {
    const RowMatrix<double> centres = make_centres(K, D, 2.0, 1.0, unsigned(150 + D));
    const RowMatrix<T> x = make_data<T>(centres, N, unsigned(151 + D));
    // Centres near the data's, so that many rows sit between two.
    const RowMatrix<T> c = (centres + make_centres(K, D, 1.5, 0.0, unsigned(152 + D))).cast<T>();
    const auto [labels, d2] = gmmcore::nearest_centres<T>(x, c);
    const Nearest want = brute_nearest(x, c);
    CHECK(labels.size() == size_t(N) && d2.size() == N);
    Index wrong = 0, close_calls = 0, distinct = 0;
    double worst = 0;
    std::vector<bool> seen(size_t(K), false);
    for (Index i = 0; i < N && size_t(i) < labels.size(); ++i) {
      const int l = labels[size_t(i)];
      if (l < 0 || l >= K) {
        ++wrong;
        continue;
      }
      distinct += !seen[size_t(l)];
      seen[size_t(l)] = true;
      // A near tie (the distances equal to rounding): either label, the same distance.
      const bool near_tie = want.gap[size_t(i)] < (sizeof(T) == 4 ? 1e-5L : 1e-12L);
      close_calls += near_tie;
      if (l != want.labels[size_t(i)] && !near_tie) ++wrong;
      worst = std::max(worst, double(std::abs(d2(i) - want.d2(i)) / want.d2(i)));
    }
    CHECK(wrong == 0);
    CHECK(close_calls <= 2);  // the premise: labels decided, not a coin toss
    CHECK(distinct == K);
    if (!(worst <= rtol)) CHECK_CLOSE(worst, 0.0, 0.0, rtol);
  }
}

GMMCORE_TEST(distributed, nearest_centres_match_brute_force_float64) { check_nearest_centres<double>(); }

GMMCORE_TEST(distributed, nearest_centres_match_brute_force_float32) { check_nearest_centres<float>(); }

// Exact ties (integer coordinates: every distance exact in any order) go to
// the lowest index, duplicated centres included.
template <class T>
void check_nearest_ties() {
  RowMatrix<T> c(5, 2);
  c << T(5), T(5), T(2), T(0), T(0), T(0), T(2), T(0), T(0), T(0);  // 1 = 3 and 2 = 4 duplicated
  RowMatrix<T> x(7, 2);
  x << T(1), T(0),  // 1 from centres 1, 2, 3, 4: 1
      T(0), T(0),   // on centres 2 and 4: 2
      T(2), T(0),   // on centres 1 and 3: 1
      T(1), T(3),   // 10 from 1, 2, 3, 4 (and 20 from 0): 1
      T(3.5), T(2.5),  // 8.5 from 0 and 1 (and 3): 0
      T(6), T(6),   // 2 from 0: 0
      T(-1), T(0);  // 1 from 2 and 4: 2
  const std::vector<int> want_labels = {1, 2, 1, 1, 0, 0, 2};
  const double want_d2[] = {1, 0, 0, 10, 8.5, 2, 1};
  const auto [labels, d2] = gmmcore::nearest_centres<T>(x, c);
  CHECK(labels == want_labels);
  for (Index i = 0; i < 7; ++i) CHECK(d2(i) == want_d2[i]);
  // The brute force agrees (its ties go to the lowest index too).
  CHECK(brute_nearest(x, c).labels == want_labels);
}

GMMCORE_TEST(distributed, nearest_centres_ties_go_to_the_lowest_index) {
  check_nearest_ties<double>();
  check_nearest_ties<float>();
}

template <class T>
void check_cluster_sums(bool weighted) {
  const Index N = 1300, K = 5, D = 4;
  const RowMatrix<double> centres = make_centres(K, D, 3.0, -2.0, 160);
  const RowMatrix<T> x = make_data<T>(centres, N, 161);
  const Vector<T> w = weighted ? make_weights<T>(N, 162) : Vector<T>();
  const std::vector<int> labels = make_labels(N, int(K) - 1, 163);  // cluster 4 empty, some rows -1
  const gmmcore::detail::ClusterSums got = gmmcore::cluster_sums<T>(x, w, labels, K);
  LMatrix sums = LMatrix::Zero(K, D), scale = LMatrix::Zero(K, D);
  LVector weights = LVector::Zero(K);
  long double unlabelled = 0;
  for (Index i = 0; i < N; ++i) {
    const long double s = weighted ? (long double)w(i) : 1.0L;
    const int k = labels[size_t(i)];
    if (k < 0) {
      unlabelled += s;
      continue;
    }
    weights(k) += s;
    for (Index d = 0; d < D; ++d) {
      sums(k, d) += s * (long double)x(i, d);
      scale(k, d) += std::abs(s * (long double)x(i, d));
    }
  }
  CHECK(unlabelled > 0);
  CHECK(got.sums.rows() == K && got.sums.cols() == D && got.weights.size() == K);
  if (got.sums.rows() != K || got.sums.cols() != D || got.weights.size() != K) return;
  // Sums of double values in double: 1e-13 of the sum of absolute values.
  for (Index k = 0; k < K; ++k) {
    CHECK_CLOSE(got.weights(k), double(weights(k)), 1e-13, 0.0);
    for (Index d = 0; d < D; ++d) CHECK_CLOSE(got.sums(k, d), double(sums(k, d)), 0.0, 1e-13 * double(scale(k, d)));
  }
  CHECK(got.weights(4) == 0 && got.sums.row(4).isZero(0));
  // Blocks' sums add up to the whole's: Lloyd's update over data in blocks.
  gmmcore::detail::ClusterSums total{RowMatrix<double>::Zero(K, D), Vector<double>::Zero(K)};
  const Index bounds[] = {0, 1, 400, 1299, N};
  for (int b = 0; b < 4; ++b) {
    const Index first = bounds[b], n = bounds[b + 1] - first;
    total += gmmcore::cluster_sums<T>(x.middleRows(first, n), segment_of(w, first, n),
                                      std::vector<int>(labels.begin() + first, labels.begin() + first + n), K);
  }
  CHECK_ENTRIES_CLOSE(std::string("cluster sums of blocks ") + float_name<T>(), total.sums, got.sums, 1e-13);
  CHECK_ENTRIES_CLOSE(std::string("cluster weights of blocks ") + float_name<T>(), total.weights, got.weights, 1e-13);
}

GMMCORE_TEST(distributed, cluster_sums_match_brute_force) {
  for (bool weighted : {false, true}) {
    check_cluster_sums<double>(weighted);
    check_cluster_sums<float>(weighted);
  }
}

GMMCORE_TEST(distributed, kmeans_block_functions_reject_bad_input) {
  const Index N = 600, K = 3, D = 2;
  const RowMatrix<double> c = make_centres(K, D, 2.0, 0.0, 170);
  const RowMatrix<double> x = make_data<double>(c, N, 171);
  const Vector<double> w = make_weights<double>(N, 172);
  const std::vector<int> labels = make_labels(N, int(K), 173);
  // The valid calls.
  CHECK(gmmcore::nearest_centres<double>(x, c).first.size() == size_t(N));
  CHECK(gmmcore::cluster_sums<double>(x, w, labels, K).weights.sum() > 0);
  // Non-finite X (past the first block).
  for (double bad : {kNaN, kInf, -kInf}) {
    RowMatrix<double> b = x;
    b(433, 1) = bad;
    CHECK_THROWS(gmmcore::nearest_centres<double>(b, c), std::invalid_argument);
    CHECK_THROWS(gmmcore::cluster_sums<double>(b, w, labels, K), std::invalid_argument);
    RowMatrix<double> bc = c;
    bc(1, 0) = bad;
    CHECK_THROWS(gmmcore::nearest_centres<double>(x, bc), std::invalid_argument);
  }
  // Centres of another number of columns, or none; X without columns.
  CHECK_THROWS(gmmcore::nearest_centres<double>(x, RowMatrix<double>::Zero(K, D + 1)), std::invalid_argument);
  CHECK_THROWS(gmmcore::nearest_centres<double>(x, RowMatrix<double>::Zero(K, D - 1)), std::invalid_argument);
  CHECK_THROWS(gmmcore::nearest_centres<double>(x, RowMatrix<double>(0, D)), std::invalid_argument);
  CHECK_THROWS(gmmcore::nearest_centres<double>(RowMatrix<double>(N, 0), RowMatrix<double>(K, 0)),
               std::invalid_argument);
  // Labels out of [-1, K), or not one per row; no cluster.
  for (int bad : {-2, int(K), int(K) + 1}) {
    std::vector<int> l = labels;
    l[599] = bad;
    CHECK_THROWS_WITH(gmmcore::cluster_sums<double>(x, w, l, K), std::invalid_argument,
                      CHECK(std::string(check_error_.what()).find("labels must lie in") != std::string::npos));
  }
  CHECK_THROWS(gmmcore::cluster_sums<double>(x, w, std::vector<int>(labels.begin() + 1, labels.end()), K),
               std::invalid_argument);
  CHECK_THROWS(gmmcore::cluster_sums<double>(x, w, std::vector<int>(size_t(N + 1), 0), K), std::invalid_argument);
  CHECK_THROWS(gmmcore::cluster_sums<double>(x, w, std::vector<int>(size_t(N), -1), 0), std::invalid_argument);
  // Sample weights negative, non-finite, of the wrong length.
  for (double bad : {-1.0, kNaN}) {
    Vector<double> b = w;
    b(5) = bad;
    CHECK_THROWS(gmmcore::cluster_sums<double>(x, b, labels, K), std::invalid_argument);
  }
  CHECK_THROWS(gmmcore::cluster_sums<double>(x, Vector<double>(Vector<double>::Ones(N - 1)), labels, K),
               std::invalid_argument);
}

// ---------------------------------------------------------------------------
// 4. Independence of the thread count (as test_threads.cpp)

#ifdef _OPENMP
template <class A, class B>
bool identical(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array()).all();
}

template <class T>
bool identical(const Statistics<T>& a, const Statistics<T>& b) {
  return a.covariance_type == b.covariance_type && identical(a.shifts, b.shifts) &&
         identical(a.weight_sums, b.weight_sums) && identical(a.sums, b.sums) && identical(a.scatters, b.scatters) &&
         a.log_likelihood == b.log_likelihood && a.total_weight == b.total_weight && a.n_samples == b.n_samples;
}

template <class T>
void check_thread_independence() {
  // 60000 rows x D = 5: every pass is above kParallelMinWork (cluster_sums'
  // row cost is D) and splits into many chunks.
  const Index N = 60000, K = 4, D = 5;
  const RowMatrix<double> centres = make_centres(K, D, 2.0, 1.0, 180);
  const RowMatrix<T> x = make_data<T>(centres, N, 181);
  const Vector<T> w = make_weights<T>(N, 182);
  const RowMatrix<T> c = (centres + make_centres(K, D, 1.0, 0.0, 183)).cast<T>();
  const std::vector<int> labels = make_labels(N, int(K), 184);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto nearest1 = gmmcore::nearest_centres<T>(x, c);
  const auto sums1 = gmmcore::cluster_sums<T>(x, w, nearest1.first, K);
  const auto labelled1 = gmmcore::labelled_statistics<T>(CovarianceType::full, c, x, w, labels);
  const auto random1 = gmmcore::random_statistics<T>(CovarianceType::diag, c, x, w, 9, 1000);
  for (int threads : {2, 3, 7}) {
    omp_set_num_threads(threads);
    const auto nearest = gmmcore::nearest_centres<T>(x, c);
    CHECK(nearest.first == nearest1.first && identical(nearest.second, nearest1.second));
    const auto sums = gmmcore::cluster_sums<T>(x, w, nearest1.first, K);
    CHECK(identical(sums.sums, sums1.sums) && identical(sums.weights, sums1.weights));
    CHECK(identical(gmmcore::labelled_statistics<T>(CovarianceType::full, c, x, w, labels), labelled1));
    CHECK(identical(gmmcore::random_statistics<T>(CovarianceType::diag, c, x, w, 9, 1000), random1));
  }
  omp_set_num_threads(saved);
}

GMMCORE_TEST(distributed, results_identical_for_any_thread_count_float64) { check_thread_independence<double>(); }

GMMCORE_TEST(distributed, results_identical_for_any_thread_count_float32) { check_thread_independence<float>(); }
#endif

// ---------------------------------------------------------------------------
// 5. fit_mixture over a StatisticsPass and InitialStatistics

// The E-step statistics under m of X in blocks [bounds[b], bounds[b + 1]),
// merged left to right; calls counts the passes.
template <class T>
gmmcore::StatisticsPass<T> pass_over_blocks(const RowMatrix<T>& x, const Vector<T>& w, std::vector<Index> bounds,
                                            int* calls = nullptr) {
  return [&x, &w, bounds, calls](const Mixture<T>& m) {
    if (calls) ++*calls;
    Statistics<T> total;
    for (size_t b = 0; b + 1 < bounds.size(); ++b) {
      const Index first = bounds[b], n = bounds[b + 1] - first;
      const Statistics<T> part = gmmcore::statistics<T>(m, x.middleRows(first, n), segment_of(w, first, n));
      total = b == 0 ? part : gmmcore::merge(total, part);
    }
    return total;
  };
}

// The in-memory initialisation's statistics; calls counts them.
template <class T>
gmmcore::InitialStatistics<T> initial_in_memory(const RowMatrix<T>& x, const Vector<T>& w, const FitOptions& opt,
                                                int* calls = nullptr) {
  return [&x, &w, opt, calls](Index, gmmcore::Rng& rng) {
    if (calls) ++*calls;
    return gmmcore::detail::initial_statistics<T>(x, w, opt, rng);
  };
}

// A complete starting point for K components of `type` near the centres.
template <class T>
InitialParams<T> make_given(CovarianceType type, const RowMatrix<double>& centres, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Mixture<T> m;
  m.covariance_type = type;
  const Index K = centres.rows(), D = centres.cols();
  m.weights = Vector<T>::Constant(K, T(1) / T(K));
  m.means = (centres + make_centres(K, D, 0.7, 0.0, seed)).cast<T>();
  const auto [rows, cols] = gmmcore::covariance_shape(type, K, D);
  m.covariances.resize(rows, cols);
  for (Index k = 0; k < rows; ++k) {
    if (gmmcore::is_diagonal(type)) {
      for (Index j = 0; j < cols; ++j) m.covariances(k, j) = T(0.8 + 0.4 * std::abs(normal(rng)));
      continue;
    }
    Square<double> a(D, D);
    for (Index r = 0; r < D; ++r)
      for (Index s = 0; s < D; ++s) a(r, s) = normal(rng);
    Square<double> s = a * a.transpose() / double(D) + 0.5 * Square<double>::Identity(D, D);
    s = 0.5 * (s + s.transpose()).eval();
    Eigen::Map<RowMatrix<T>>(m.covariances.row(k).data(), D, D) = s.cast<T>();
  }
  gmmcore::compute_precisions_cholesky(m);
  return given_from(m);
}

// got equals want: the same iterations, the same convergence, the bounds and
// every parameter within rtol. Returns the worst relative difference.
template <class T>
double check_same_fit(const std::string& what, const FitResult<T>& got, const FitResult<T>& want, double rtol,
                      const char* file, int line) {
  if (got.n_iter != want.n_iter || got.converged != want.converged ||
      got.lower_bounds.size() != want.lower_bounds.size()) {
    std::ostringstream msg;
    msg << what << ": n_iter " << got.n_iter << " vs " << want.n_iter << ", converged " << got.converged << " vs "
        << want.converged;
    gmmcore_test::fail(file, line, msg.str());
    return kInf;
  }
  double worst = 0;
  for (size_t j = 0; j < want.lower_bounds.size(); ++j) {
    worst = std::max(worst, std::abs(got.lower_bounds[j] - want.lower_bounds[j]) / std::abs(want.lower_bounds[j]));
    if (!gmmcore_test::close(got.lower_bounds[j], want.lower_bounds[j], rtol, 0.0))
      gmmcore_test::fail(file, line, what + ": lower_bounds[" + std::to_string(j) + "] differ");
  }
  if (!gmmcore_test::close(got.lower_bound, want.lower_bound, rtol, 0.0))
    gmmcore_test::fail(file, line, what + ": lower_bound differs");
  return std::max(worst, check_same_mixture(what, got.mixture, want.mixture, rtol, file, line));
}
#define CHECK_SAME_FIT(what, got, want, rtol) check_same_fit((what), (got), (want), (rtol), __FILE__, __LINE__)

// fit with its components in the order of `like`'s, each matched by the
// nearest mean.
template <class T>
FitResult<T> in_order_of(FitResult<T> fit, const FitResult<T>& like) {
  const Mixture<T>& m = fit.mixture;
  Mixture<T> out = m;
  const Index K = m.weights.size();
  for (Index k = 0; k < K; ++k) {
    Index j = 0;
    (m.means.rowwise() - like.mixture.means.row(k)).rowwise().squaredNorm().minCoeff(&j);
    out.weights(k) = m.weights(j);
    out.means.row(k) = m.means.row(j);
    if (m.covariances.rows() == K) {
      out.covariances.row(k) = m.covariances.row(j);
      out.precisions_cholesky.row(k) = m.precisions_cholesky.row(j);
    }
  }
  fit.mixture = out;
  return fit;
}

// Three uneven blocks merged, and the in-memory initialisation, give the
// in-memory fit: every initialisation with n_init = 2, and from complete
// given parameters (then `initial` is never called, and may be empty).
template <class T>
void check_fit_over_statistics(bool weighted) {
  const Index N = 900, K = 3, D = 3;
  const RowMatrix<double> centres = make_centres(K, D, 2.0, 3.0, 190);
  const RowMatrix<T> x = make_data<T>(centres, N, 191);
  const Vector<T> w = weighted ? make_weights<T>(N, 192) : Vector<T>();
  const std::vector<Index> bounds = {0, 157, 611, N};
  // float32: the blocks' float32 sums round differently from the whole's and
  // EM carries the difference on; a few fixed iterations instead of tol, and
  // one restart (two restarts' bounds may lie closer than float32 resolves,
  // and then either may be kept).
  const bool f32 = sizeof(T) == 4;
  const double rtol = f32 ? 1e-4 : 1e-10;  // measured worst 1.2e-6 and 5e-15
  const Index n_init = f32 ? 1 : 2;
  bool second_kept = false;  // some case where restart 1 beats restart 0
  for (CovarianceType type : kTypes) {
    for (InitMethod init : kInits) {
      FitOptions opt;
      opt.covariance_type = type;
      opt.n_components = K;
      opt.init = init;
      opt.n_init = n_init;
      opt.seed = 3;
      opt.tol = f32 ? 0.0 : 1e-6;
      opt.max_iter = f32 ? 8 : 300;
      std::ostringstream what;
      what << label(std::string("fit over statistics, init ") + std::to_string(int(init)), type, float_name<T>())
           << (weighted ? " weighted" : "");
      std::vector<double> final_bounds(2, kNaN);
      bool tied = false;
      const FitResult<T> want =
          gmmcore::fit_mixture<T>(x, w, opt, InitialParams<T>{}, false, 0.0,
                                  [&](Index i, Index, double lb, double) { final_bounds[size_t(i)] = lb; });
      if (!f32) {
        // (tied from 'random' stops at iteration 2, as scikit-learn does.)
        CHECK(want.converged && want.n_iter >= 2);
        // The premise of comparing the kept restarts: their bounds are
        // equal (the same k-means result) or apart, far beyond rounding.
        // Equal bounds: the same partition, maybe in another order, and then
        // the rounding of the blocks' sums may keep the other restart.
        const double apart = std::abs(final_bounds[0] - final_bounds[1]);
        tied = apart == 0;
        CHECK(tied || apart > 1e-11 * std::abs(want.lower_bound));
        second_kept |= final_bounds[1] > final_bounds[0];
      }
      int passes = 0, initials = 0, iterations = 0;
      const FitResult<T> got = gmmcore::fit_mixture<T>(
          pass_over_blocks(x, w, bounds, &passes), initial_in_memory(x, w, opt, &initials), D, opt, InitialParams<T>{},
          false, 0.0, [&](Index, Index, double, double) { ++iterations; });
      CHECK_SAME_FIT(what.str(), tied ? in_order_of(got, want) : got, want, rtol);
      CHECK(initials == n_init && passes == iterations && iterations >= 2 * n_init);
    }
    // From complete given parameters.
    FitOptions opt;
    opt.covariance_type = type;
    opt.n_components = K;
    opt.n_init = 2;
    opt.tol = f32 ? 0.0 : 1e-6;
    opt.max_iter = f32 ? 8 : 300;
    const InitialParams<T> given = make_given<T>(type, centres, 193);
    const FitResult<T> want = gmmcore::fit_mixture<T>(x, w, opt, given, false, 0.0);
    int passes = 0, initials = 0;
    const FitResult<T> got = gmmcore::fit_mixture<T>(
        pass_over_blocks(x, w, bounds, &passes), initial_in_memory(x, w, opt, &initials), D, opt, given, false, 0.0);
    const std::string what = label("fit over statistics, given", type, float_name<T>()) + (weighted ? " weighted" : "");
    CHECK_SAME_FIT(what, got, want, rtol);
    CHECK(initials == 0 && passes == 2 * want.n_iter);  // both restarts start from `given`
    const FitResult<T> no_initial = gmmcore::fit_mixture<T>(pass_over_blocks(x, w, bounds),
                                                            gmmcore::InitialStatistics<T>(), D, opt, given, false, 0.0);
    CHECK_SAME_FIT(what + " (no initial statistics)", no_initial, want, rtol);
    // Warm start from a fit stopped early continues as in memory.
    opt.max_iter = 2;
    const FitResult<T> first = gmmcore::fit_mixture<T>(x, w, opt, given, false, 0.0);
    opt.max_iter = f32 ? 4 : 300;
    const FitResult<T> warm = gmmcore::fit_mixture<T>(x, w, opt, given_from(first.mixture), true, first.lower_bound);
    const FitResult<T> warm_got =
        gmmcore::fit_mixture<T>(pass_over_blocks(x, w, bounds), gmmcore::InitialStatistics<T>(), D, opt,
                                given_from(first.mixture), true, first.lower_bound);
    CHECK_SAME_FIT(what + " warm start", warm_got, warm, rtol);
  }
  if (!f32) CHECK(second_kept);
}

GMMCORE_TEST(distributed, fit_over_statistics_equals_in_memory_float64) {
  check_fit_over_statistics<double>(false);
  check_fit_over_statistics<double>(true);
}

GMMCORE_TEST(distributed, fit_over_statistics_equals_in_memory_float32) {
  check_fit_over_statistics<float>(false);
  check_fit_over_statistics<float>(true);
}

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(another exception: ") + e.what() + ")";
  }
  return "(did not throw)";
}

#define CHECK_REJECTS(expr, fragment)                                                                              \
  do {                                                                                                             \
    const std::string check_msg_ = what_of([&] { (void)(expr); });                                                 \
    if (check_msg_.find(fragment) == std::string::npos)                                                            \
      gmmcore_test::fail(                                                                                          \
          __FILE__, __LINE__,                                                                                      \
          std::string(#expr " should throw std::invalid_argument with '") + (fragment) + "', got: " + check_msg_); \
  } while (0)

// The covariance type whose statistics have the same shape as `type`'s.
CovarianceType sibling(CovarianceType type) {
  switch (type) {
    case CovarianceType::full: return CovarianceType::tied;
    case CovarianceType::tied: return CovarianceType::full;
    case CovarianceType::diag: return CovarianceType::spherical;
    case CovarianceType::spherical: return CovarianceType::diag;
  }
  return type;
}

GMMCORE_TEST(distributed, fit_over_statistics_rejects_bad_statistics) {
  const Index N = 300, K = 3, D = 2;
  const RowMatrix<double> centres = make_centres(K, D, 3.0, 0.0, 200);
  const RowMatrix<double> x = make_data<double>(centres, N, 201);
  const Vector<double> w;
  const std::vector<Index> bounds = {0, 100, 300};
  for (CovarianceType type : kTypes) {
    FitOptions opt;
    opt.covariance_type = type;
    opt.n_components = K;
    opt.max_iter = 3;
    opt.tol = 0;  // every pass runs
    const InitialParams<double> given = make_given<double>(type, centres, 202);
    const auto good_pass = pass_over_blocks(x, w, bounds);
    const auto good_initial = initial_in_memory(x, w, opt);
    // The edited pass's / initial statistics (otherwise the good ones).
    auto pass_with = [&](std::function<void(Statistics<double>&)> edit) -> gmmcore::StatisticsPass<double> {
      return [&, edit](const Mixture<double>& m) {
        Statistics<double> st = good_pass(m);
        edit(st);
        return st;
      };
    };
    auto initial_with = [&](std::function<void(Statistics<double>&)> edit) -> gmmcore::InitialStatistics<double> {
      return [&, edit](Index init, gmmcore::Rng& rng) {
        Statistics<double> st = good_initial(init, rng);
        edit(st);
        return st;
      };
    };
    auto fit_given = [&](const gmmcore::StatisticsPass<double>& pass) {
      return gmmcore::fit_mixture<double>(pass, good_initial, D, opt, given, false, 0.0);
    };
    auto fit_initial = [&](const gmmcore::InitialStatistics<double>& initial) {
      return gmmcore::fit_mixture<double>(good_pass, initial, D, opt, InitialParams<double>{}, false, 0.0);
    };
    // The baselines: both run.
    CHECK(fit_given(good_pass).n_iter == 3);
    CHECK(fit_initial(good_initial).n_iter == 3);
    // Well-formed statistics of K + 1 or K - 1 components, D + 1 features, or
    // the other covariance type of the same shape (full/tied, diag/spherical).
    auto resized = [](Statistics<double>& st, Index k, Index d) {
      Statistics<double> out = gmmcore::zero_statistics<double>(st.covariance_type, RowMatrix<double>::Zero(k, d));
      out.weight_sums.setOnes();
      out.total_weight = st.total_weight;
      out.n_samples = st.n_samples;
      st = out;
    };
    const std::function<void(Statistics<double>&)> wrong[] = {
        [&](Statistics<double>& st) { resized(st, K + 1, D); }, [&](Statistics<double>& st) { resized(st, K - 1, D); },
        [&](Statistics<double>& st) { resized(st, K, D + 1); },
        [&](Statistics<double>& st) { st.covariance_type = sibling(st.covariance_type); }};
    for (const auto& edit : wrong) {
      CHECK_REJECTS(fit_given(pass_with(edit)), "the pass's statistics have covariance_type");
      CHECK_REJECTS(fit_initial(initial_with(edit)), "the initial statistics have covariance_type");
    }
    // Initial statistics without weight: none at all, none in any component
    // (every row unlabelled), or a zero total weight.
    CHECK_REJECTS(fit_initial(initial_with([](Statistics<double>& st) { st = gmmcore::scaled(st, 0.0); })),
                  "hold no weight");
    CHECK_REJECTS(fit_initial([&](Index, gmmcore::Rng&) {
                    return gmmcore::labelled_statistics<double>(type, RowMatrix<double>(centres), x, w,
                                                                std::vector<int>(size_t(N), -1));
                  }),
                  "hold no weight");
    CHECK_REJECTS(fit_initial(initial_with([](Statistics<double>& st) { st.total_weight = 0; })), "hold no weight");
    // Statistics that check_statistics refuses, from either side.
    const std::function<void(Statistics<double>&)> broken[] = {
        [](Statistics<double>& st) { st.weight_sums(1) = -1; },
        [](Statistics<double>& st) { st.scatters(0, 0) = kNaN; },
        [](Statistics<double>& st) { st.sums(2, 1) = kInf; },
        [](Statistics<double>& st) { st.log_likelihood = kNaN; },
        [](Statistics<double>& st) { st.total_weight = -1; },
        [](Statistics<double>& st) { st.n_samples = -1; },
        [](Statistics<double>& st) { st.scatters.resize(K, 1 + st.scatters.cols()); }};
    for (const auto& edit : broken) {
      CHECK_REJECTS(fit_given(pass_with(edit)), "the pass's statistics");
      CHECK_REJECTS(fit_initial(initial_with(edit)), "the initial statistics");
    }
    CHECK_REJECTS(fit_initial(initial_with([](Statistics<double>& st) { st.weight_sums(0) = -1e-3; })),
                  "the initial statistics.weight_sums must be non-negative");
    // No pass, or no initial statistics where they are needed.
    CHECK_REJECTS(fit_given(gmmcore::StatisticsPass<double>()), "the statistics pass is empty");
    CHECK_REJECTS(fit_initial(gmmcore::InitialStatistics<double>()), "the initial statistics are empty");
  }
}

}  // namespace distributed_test
