// Results are bitwise identical for any OpenMP thread count (parallel.hpp's
// chunking depends on the problem size only). Skipped without OpenMP.
#ifdef _OPENMP
#include <omp.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "check.hpp"
#include "problems.hpp"

namespace {

using namespace gmmcore_test;

template <class A, class B>
bool identical(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array()).all();
}

template <class T>
void check_thread_independence() {
  // 6000 rows: 24 blocks of 256, so every thread count splits the work differently.
  const Index n = 6000;
  const auto prob = make_problem<T>(n, 5, 4, 3);
  std::mt19937_64 rng(4);
  std::normal_distribution<double> normal;
  RowMatrix<T> g(n, 4);
  for (Index i = 0; i < g.rows(); ++i)
    for (Index k = 0; k < 4; ++k) g(i, k) = T(normal(rng));
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto f = gmmcore::factorize(prob.params);
  const RowMatrix<T> y1 = gmmcore::forward(f, prob.x);
  const RowMatrix<T> r1 = gmmcore::expectation(f, prob.x);
  const double nll1 = gmmcore::negative_log_likelihood(f, prob.x);
  const auto b1 = gmmcore::backward(f, prob.x, g);
  const auto l1 = gmmcore::log_likelihood_backward(f, prob.x, Vector<T>(g.col(0)));
  const auto e1 = gmmcore::em_train(prob.params, prob.x, 3, T(1e-6));
  for (int threads : {2, 3, 7}) {
    omp_set_num_threads(threads);
    CHECK(identical(gmmcore::forward(f, prob.x), y1));
    CHECK(identical(gmmcore::expectation(f, prob.x), r1));
    CHECK(gmmcore::negative_log_likelihood(f, prob.x) == nll1);
    const auto b = gmmcore::backward(f, prob.x, g);
    CHECK(identical(b.weights, b1.weights) && identical(b.means, b1.means));
    CHECK(identical(b.covariances, b1.covariances) && identical(b.input, b1.input));
    const auto l = gmmcore::log_likelihood_backward(f, prob.x, Vector<T>(g.col(0)));
    CHECK(identical(l.weights, l1.weights) && identical(l.means, l1.means));
    CHECK(identical(l.covariances, l1.covariances) && identical(l.input, l1.input));
    const auto e = gmmcore::em_train(prob.params, prob.x, 3, T(1e-6));
    CHECK(identical(e.weights, e1.weights) && identical(e.means, e1.means));
    CHECK(identical(e.covariances, e1.covariances));
  }
  omp_set_num_threads(saved);
}

template <class T>
bool same_fit(const gmmcore::FitResult<T>& a, const gmmcore::FitResult<T>& b) {
  return identical(a.mixture.weights, b.mixture.weights) && identical(a.mixture.means, b.mixture.means) &&
         identical(a.mixture.precisions_cholesky, b.mixture.precisions_cholesky) && a.lower_bound == b.lower_bound &&
         a.lower_bounds == b.lower_bounds && a.n_iter == b.n_iter && a.converged == b.converged;
}

// A small in-memory fit runs its n_init starts at once, one per thread; with a
// callback they run one after another. The fit is bitwise the same either way
// and for any thread count.
template <class T>
void n_init_starts_spread_over_threads() {
  const auto prob = make_problem<T>(3000, 3, 4, 21);
  const Vector<T> none;
  for (const auto init : kInits) {
    gmmcore::FitOptions opt;
    opt.n_components = 4;
    opt.n_init = 5;
    opt.init = init;
    opt.seed = 22;
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    const auto reference = gmmcore::fit_mixture<T>(prob.x, none, opt, {}, false, 0.0);
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      CHECK(same_fit(gmmcore::fit_mixture<T>(prob.x, none, opt, {}, false, 0.0), reference));
      Index calls = 0;
      const auto counted =
          gmmcore::fit_mixture<T>(prob.x, none, opt, {}, false, 0.0, [&](Index, Index, double, double) { ++calls; });
      CHECK(same_fit(counted, reference));
      CHECK(calls >= opt.n_init);
    }
    omp_set_num_threads(saved);
  }
  // The starts do run on several threads (fit_em's spread_inits).
  if (omp_get_num_procs() > 1) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(2);
    gmmcore::FitOptions opt;
    opt.n_components = 4;
    opt.n_init = 8;
    opt.seed = 23;
    const gmmcore::ConstMatrixRef<T> x(prob.x);
    const gmmcore::ConstVectorRef<T> w(none);
    const gmmcore::ChunkSource<T> whole = [&](const gmmcore::ChunkVisitor<T>& visit) { visit(x, w); };
    // Each pass marks its thread; while only one thread has been seen, a pass
    // waits for another (for 10 s in all), so that a fast thread cannot take every
    // start before the other is scheduled on a busy machine.
    std::atomic<unsigned> seen{0};
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    (void)gmmcore::detail::fit_em<T>(
        [&](const gmmcore::Mixture<T>& m) {
          seen |= 1u << (omp_get_thread_num() % 32);
          while ((seen.load() & (seen.load() - 1)) == 0 && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          return gmmcore::detail::pass_statistics<T>(whole, m, true);
        },
        [&](Index, gmmcore::Rng& rng) { return gmmcore::detail::initial_statistics<T>(x, w, opt, rng); }, opt, {},
        false, 0.0, {}, /*spread_inits=*/true);
    omp_set_num_threads(saved);
    CHECK((seen.load() & 3u) == 3u);
  }
}

}  // namespace

GMMCORE_TEST(threads, n_init_starts_spread_over_threads_float64) { n_init_starts_spread_over_threads<double>(); }

GMMCORE_TEST(threads, n_init_starts_spread_over_threads_float32) { n_init_starts_spread_over_threads<float>(); }

GMMCORE_TEST(threads, results_identical_for_any_thread_count_float64) { check_thread_independence<double>(); }

GMMCORE_TEST(threads, results_identical_for_any_thread_count_float32) { check_thread_independence<float>(); }
#endif
