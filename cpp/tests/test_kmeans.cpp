// k-means (kmeans.hpp): the shortcuts change no result. k-means++ seeding
// that skips rows by the triangle inequality gives bitwise the gains,
// distances and rows of reading every row; Lloyd's iterations, which add only
// the rows that moved to the cluster sums, match sums taken afresh; both are
// bitwise independent of the thread count.
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "problems.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

// Everything in a named namespace: the unity build shares one translation
// unit between test files.
namespace kmeans_test {

using namespace gmmcore_test;
using gmmcore::detail::PlusPlusSeeding;

// Rng is NumPy's RandomState stream: values of
// numpy.random.RandomState(seed).random_sample(), printed by NumPy.
GMMCORE_TEST(kmeans, rng_is_numpys_random_state) {
  gmmcore::Rng zero(0);
  CHECK(zero.uniform() == 0.5488135039273248);
  CHECK(zero.uniform() == 0.7151893663724195);
  CHECK(zero.uniform() == 0.6027633760716439);
  CHECK(gmmcore::Rng(4294967295u).uniform() == 0.0976320289940138);
  gmmcore::Rng seven(7);  // RandomState(7).random_sample(501)[-1]
  seven.skip_uniforms(500);
  CHECK(seven.uniform() == 0.9646173192524804);
  // Beyond RandomState's seeds: hashed, not truncated.
  CHECK(gmmcore::Rng(std::uint64_t(1) << 32).uniform() != gmmcore::Rng(0).uniform());
}

template <class T>
struct Data {
  std::string name;
  RowMatrix<T> x;
};

// Clustered rows, the same far from the origin, and integer rows with many
// duplicates and exact ties.
template <class T>
std::vector<Data<T>> seeding_data(Index D) {
  std::vector<Data<T>> out;
  out.push_back({"clustered", make_data<T>(make_centres(9, D, 6.0, 0.0, 1), 3000, 2)});
  out.push_back({"far from the origin", make_data<T>(make_centres(9, D, 6.0, 1e5, 3), 3000, 4)});
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> lattice(-2, 2);
  RowMatrix<T> ints(2000, D);
  for (Index i = 0; i < ints.rows(); ++i)
    for (Index d = 0; d < D; ++d) ints(i, d) = T(lattice(rng));
  out.push_back({"integer lattice", ints});
  return out;
}

// Greedy k-means++ run twice in lockstep, skipping rows and reading every
// row: every sampler total, gain and chosen row must be identical.
// Returns the rows each read.
template <class T>
std::pair<Index, Index> check_seeding_in_lockstep(const RowMatrix<T>& x, const Vector<double>& sw, Index K,
                                                  const std::string& what) {
  const Index n_trials = 2 + static_cast<Index>(std::log(double(K)));
  const gmmcore::ConstMatrixRef<T> xr(x);
  PlusPlusSeeding<T> pruned(xr, sw, K, n_trials), full(xr, sw, K, n_trials, /*prune=*/false);
  gmmcore::Rng rng(11);
  const Index first = gmmcore::detail::IndexSampler(sw)(rng.uniform());
  pruned.add(first);
  full.add(first);
  std::pair<Index, Index> read{0, 0};
  for (Index k = 1; k < K; ++k) {
    CHECK_MSG(pruned.total() == full.total(), what + ": sampler totals differ");
    if (!(full.total() > 0)) break;
    std::vector<Index> trials(static_cast<size_t>(n_trials));
    for (Index& t : trials) {
      const double u = rng.uniform();
      t = full.sample(u);
      CHECK_MSG(pruned.sample(u) == t, what + ": sampled rows differ");
    }
    const std::vector<double> p = pruned.gains(trials), f = full.gains(trials);
    CHECK_MSG(p == f, what + ": gains differ at centre " + std::to_string(k));
    read.first += pruned.rows_read();
    read.second += full.rows_read();
    size_t best = 0;
    for (size_t t = 1; t < f.size(); ++t)
      if (f[t] > f[best]) best = t;
    pruned.add_candidate(static_cast<Index>(best), trials[best]);
    full.add_candidate(static_cast<Index>(best), trials[best]);
  }
  return read;
}

template <class T>
void seeding_skips_rows_without_changing_a_result() {
  for (const Index D : {Index(2), Index(7), Index(40)}) {
    for (const auto& data : seeding_data<T>(D)) {
      for (const bool weighted : {false, true}) {
        const Index N = data.x.rows();
        const Vector<double> sw = weighted ? Vector<double>(make_weights<double>(N, 6)) : Vector<double>::Ones(N);
        const std::string what =
            data.name + ", D=" + std::to_string(D) + (weighted ? ", weighted, " : ", ") + float_name<T>();
        const auto read = check_seeding_in_lockstep<T>(data.x, sw, 12, what);
        CHECK_MSG(read.second == 11 * N, what + ": the definition reads every row");
        if (data.name != "integer lattice")  // far-apart clusters: many rows are skipped
          CHECK_MSG(read.first < 3 * read.second / 4, what + ": read " + std::to_string(read.first) + " rows");
      }
    }
  }
}

GMMCORE_TEST(kmeans, seeding_skips_rows_without_changing_a_result_float64) {
  seeding_skips_rows_without_changing_a_result<double>();
}
GMMCORE_TEST(kmeans, seeding_skips_rows_without_changing_a_result_float32) {
  seeding_skips_rows_without_changing_a_result<float>();
}

// Each candidate's gain is the fall in the potential sum_i s_i min_c |x_i - c|^2
// (over the chosen centres) that adding it brings, computed here from the
// definition in long double, with weights (some zero) and centres chosen by
// the largest gain.
template <class T>
void gains_are_the_fall_in_potential() {
  const RowMatrix<T> x = make_data<T>(make_centres(6, 5, 4.0, 0.0, 21), 900, 22);
  Vector<double> sw = make_weights<double>(x.rows(), 23);
  for (Index i = 0; i < x.rows(); i += 7) sw(i) = 0;
  const gmmcore::ConstMatrixRef<T> xr(x);
  const Index K = 6, n_trials = 4;
  PlusPlusSeeding<T> seeding(xr, sw, K, n_trials);
  std::vector<Index> chosen{3};
  seeding.add(chosen[0]);
  const auto potential = [&](const std::vector<Index>& centres) {
    long double sum = 0;
    for (Index i = 0; i < x.rows(); ++i) {
      long double nearest = std::numeric_limits<long double>::infinity();
      for (const Index c : centres) {
        long double d2 = 0;
        for (Index d = 0; d < x.cols(); ++d) {
          const long double diff = (long double)x(i, d) - (long double)x(c, d);
          d2 += diff * diff;
        }
        nearest = std::min(nearest, d2);
      }
      sum += (long double)sw(i) * nearest;
    }
    return sum;
  };
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-10;  // distances rounded in T
  gmmcore::Rng rng(24);
  for (Index k = 1; k < K; ++k) {
    std::vector<Index> trials(static_cast<size_t>(n_trials));
    for (Index& t : trials) t = seeding.sample(rng.uniform());
    const std::vector<double> gains = seeding.gains(trials);
    const long double before = potential(chosen);
    CHECK_CLOSE(seeding.total(), double(before), tol, 0.0);
    size_t best = 0;
    for (size_t t = 0; t < trials.size(); ++t) {
      std::vector<Index> with = chosen;
      with.push_back(trials[t]);
      const double fall = double(before - potential(with));
      CHECK_CLOSE(gains[t], fall, tol, tol * double(before));
      if (gains[t] > gains[best]) best = t;
    }
    CHECK(gains[best] > 0);
    chosen.push_back(trials[best]);
    seeding.add_candidate(static_cast<Index>(best), trials[best]);
  }
}

GMMCORE_TEST(kmeans, gains_are_the_fall_in_potential_float64) { gains_are_the_fall_in_potential<double>(); }
GMMCORE_TEST(kmeans, gains_are_the_fall_in_potential_float32) { gains_are_the_fall_in_potential<float>(); }

// Distances that overflow to infinity are never skipped on the strength of
// an infinite bound: the lockstep holds for rows 1e300 apart.
GMMCORE_TEST(kmeans, seeding_with_overflowing_distances) {
  RowMatrix<double> x = make_data<double>(make_centres(4, 3, 1.0, 0.0, 7), 400, 8);
  for (Index i = 0; i < x.rows(); i += 3) x.row(i) *= 1e300;
  check_seeding_in_lockstep<double>(x, Vector<double>::Ones(x.rows()), 6, "overflowing");
}

// Lloyd's sums are kept by adding the rows that moved; the centres must be
// the weighted means of their final clusters (summed afresh here, in long
// double) to rounding, with weights over nine orders of magnitude.
template <class T>
void lloyd_centres_are_the_means_of_their_clusters() {
  for (const double offset : {0.0, 1e4}) {
    const RowMatrix<double> c = make_centres(8, 5, 3.0, offset, 9);
    const RowMatrix<T> x = make_data<T>(c, 4000, 10);
    std::mt19937_64 rng(12);
    std::uniform_real_distribution<double> exponent(-3.0, 6.0);
    Vector<T> w(x.rows());
    for (Index i = 0; i < w.size(); ++i) w(i) = T(std::pow(10.0, exponent(rng)));
    RowMatrix<T> start(8, 5);
    for (Index k = 0; k < 8; ++k) start.row(k) = x.row(37 * k);
    // tol = 0 and many iterations: the labels become stable, so the centres
    // are the means of the final clusters.
    const auto result = gmmcore::kmeans_lloyd<T>(x, w, start, 500, 0.0);
    CHECK(result.n_iter < 500);
    LMatrix sums = LMatrix::Zero(8, 5);
    LVector weights = LVector::Zero(8);
    for (Index i = 0; i < x.rows(); ++i) {
      const int k = result.labels[static_cast<size_t>(i)];
      sums.row(k) += (long double)w(i) * x.row(i).template cast<long double>();
      weights(k) += w(i);
    }
    const double rtol = sizeof(T) == 4 ? 1e-6 : 1e-13;
    for (Index k = 0; k < 8; ++k)
      for (Index d = 0; d < 5; ++d) CHECK_CLOSE(double(result.centres(k, d)), double(sums(k, d) / weights(k)), rtol, 0);
  }
}

GMMCORE_TEST(kmeans, lloyd_centres_are_the_means_of_their_clusters_float64) {
  lloyd_centres_are_the_means_of_their_clusters<double>();
}
GMMCORE_TEST(kmeans, lloyd_centres_are_the_means_of_their_clusters_float32) {
  lloyd_centres_are_the_means_of_their_clusters<float>();
}

#ifdef _OPENMP
template <class T>
void kmeans_is_independent_of_the_thread_count() {
  const RowMatrix<T> x = make_data<T>(make_centres(10, 6, 4.0, 0.0, 13), 9000, 14);
  const Vector<T> w = make_weights<T>(x.rows(), 15);
  const int saved = omp_get_max_threads();
  std::vector<std::vector<Index>> rows;
  std::vector<gmmcore::KMeansResult<T>> results;
  for (const int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    gmmcore::Rng rng(16);
    rows.push_back(gmmcore::kmeans_plusplus<T>(x, w, 10, rng));
    RowMatrix<T> start(10, 6);
    for (Index k = 0; k < 10; ++k) start.row(k) = x.row(rows.back()[static_cast<size_t>(k)]);
    results.push_back(gmmcore::kmeans_lloyd<T>(x, w, start, 300, 1e-6));
  }
  omp_set_num_threads(saved);
  for (size_t j = 1; j < rows.size(); ++j) {
    CHECK(rows[j] == rows[0]);
    CHECK(results[j].labels == results[0].labels);
    CHECK((results[j].centres.array() == results[0].centres.array()).all());
  }
}

GMMCORE_TEST(kmeans, independent_of_the_thread_count_float64) { kmeans_is_independent_of_the_thread_count<double>(); }
GMMCORE_TEST(kmeans, independent_of_the_thread_count_float32) { kmeans_is_independent_of_the_thread_count<float>(); }
#endif

}  // namespace kmeans_test
