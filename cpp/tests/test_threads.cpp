// Results are bitwise identical for any OpenMP thread count (parallel.hpp's
// chunking depends on the problem size only). Skipped without OpenMP.
#ifdef _OPENMP
#include <omp.h>

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
  const auto e1 = gmmcore::em_train(prob.params, prob.x, 3, T(1e-6));
  for (int threads : {2, 3, 7}) {
    omp_set_num_threads(threads);
    CHECK(identical(gmmcore::forward(f, prob.x), y1));
    CHECK(identical(gmmcore::expectation(f, prob.x), r1));
    CHECK(gmmcore::negative_log_likelihood(f, prob.x) == nll1);
    const auto b = gmmcore::backward(f, prob.x, g);
    CHECK(identical(b.weights, b1.weights) && identical(b.means, b1.means));
    CHECK(identical(b.covariances, b1.covariances) && identical(b.input, b1.input));
    const auto e = gmmcore::em_train(prob.params, prob.x, 3, T(1e-6));
    CHECK(identical(e.weights, e1.weights) && identical(e.means, e1.means));
    CHECK(identical(e.covariances, e1.covariances));
  }
  omp_set_num_threads(saved);
}

}  // namespace

GMMCORE_TEST(threads, results_identical_for_any_thread_count_float64) { check_thread_independence<double>(); }

GMMCORE_TEST(threads, results_identical_for_any_thread_count_float32) { check_thread_independence<float>(); }
#endif
