#pragma once
// Small, well-posed random GMM problems for the unit tests (deterministic seeds).
#include <gmmcore/gmmcore.hpp>

#include <limits>
#include <random>

namespace gmmcore_test {

using gmmcore::Index;
using gmmcore::Params;
using gmmcore::RowMatrix;
using gmmcore::Square;
using gmmcore::Vector;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class T>
struct Problem {
  Params<T> params;
  RowMatrix<T> x;
};

// K components in D dimensions: Dirichlet-like weights, means spread by 2,
// Sigma_k = A A^T / D + 0.5 I (exactly symmetric), and N samples near the means.
template <class T>
Problem<T> make_problem(Index n, Index d, Index k, unsigned seed = 0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.5, 1.5);
  Problem<T> p;
  Vector<double> w(k);
  for (Index j = 0; j < k; ++j) w(j) = uniform(rng);
  w /= w.sum();
  p.params.weights = w.cast<T>();
  p.params.means.resize(k, d);
  p.params.covariances.resize(k, d * d);
  for (Index j = 0; j < k; ++j) {
    for (Index i = 0; i < d; ++i) p.params.means(j, i) = T(2 * normal(rng));
    Square<double> a(d, d);
    for (Index r = 0; r < d; ++r)
      for (Index c = 0; c < d; ++c) a(r, c) = normal(rng);
    Square<double> s = a * a.transpose() / double(d) + 0.5 * Square<double>::Identity(d, d);
    s = 0.5 * (s + s.transpose()).eval();
    p.params.covariance(j) = s.cast<T>();
  }
  p.x.resize(n, d);
  for (Index i = 0; i < n; ++i) {
    const Index j = Index(i % k);
    for (Index c = 0; c < d; ++c) p.x(i, c) = p.params.means(j, c) + T(normal(rng));
  }
  return p;
}

// Long double matrices for brute-force references.
using LMatrix = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using LVector = Eigen::Matrix<long double, Eigen::Dynamic, 1>;

const gmmcore::CovarianceType kTypes[] = {gmmcore::CovarianceType::full, gmmcore::CovarianceType::tied,
                                          gmmcore::CovarianceType::diag, gmmcore::CovarianceType::spherical};

const gmmcore::InitMethod kInits[] = {gmmcore::InitMethod::kmeans, gmmcore::InitMethod::kmeans_plusplus,
                                      gmmcore::InitMethod::random, gmmcore::InitMethod::random_from_data};

template <class T>
const char* float_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

// K x D centres: N(0, spread^2) entries plus `offset`.
inline RowMatrix<double> make_centres(Index K, Index D, double spread, double offset, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  RowMatrix<double> c(K, D);
  for (Index k = 0; k < K; ++k)
    for (Index d = 0; d < D; ++d) c(k, d) = offset + spread * normal(rng);
  return c;
}

// n rows, row i = centres.row(i % K) + N(0, I).
template <class T>
RowMatrix<T> make_data(const RowMatrix<double>& centres, Index n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  RowMatrix<T> x(n, centres.cols());
  for (Index i = 0; i < n; ++i)
    for (Index d = 0; d < x.cols(); ++d) x(i, d) = T(centres(i % centres.rows(), d) + normal(rng));
  return x;
}

// Sample weights in [0, 2], every 7th exactly 0.
template <class T>
Vector<T> make_weights(Index n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 2.0);
  Vector<T> w(n);
  for (Index i = 0; i < n; ++i) w(i) = i % 7 == 3 ? T(0) : T(uniform(rng));
  return w;
}

// m as a complete starting point of fit_mixture.
template <class T>
gmmcore::InitialParams<T> given_from(const gmmcore::Mixture<T>& m) {
  gmmcore::InitialParams<T> g;
  g.weights = m.weights;
  g.means = m.means;
  g.covariances = m.covariances;
  g.precisions_cholesky = m.precisions_cholesky;
  return g;
}

}  // namespace gmmcore_test
