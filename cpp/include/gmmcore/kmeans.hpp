#pragma once
// k-means for initialising mixtures: scikit-learn's greedy k-means++ seeding
// and Lloyd iterations, with optional sample weights, deterministic for a seed
// and for any thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

#include "gmmcore/forward.hpp"
#include "gmmcore/parallel.hpp"
#include "gmmcore/random.hpp"

namespace gmmcore {

namespace detail {

// d2(i) = min(d2(i), |x_i - c|^2) over all rows, in parallel.
// Distances are reduced over differences copied to our own (aligned) memory,
// so that their rounding does not depend on where the caller's X lives.
template <class T>
void update_closest(const ConstMatrixRef<T>& x, const Eigen::Ref<const Vector<T>>& c, Vector<double>& d2) {
  parallel_blocks(x.rows(), x.cols(), [&](RowRange r) {
    const RowMatrix<T> diff = x.middleRows(r.begin, r.size()).rowwise() - c.transpose();
    d2.segment(r.begin, r.size()) =
        d2.segment(r.begin, r.size()).cwiseMin(diff.rowwise().squaredNorm().template cast<double>());
  });
}

// Index i with probability p_i / sum(p), by inverse transform on the prefix sums.
inline Index sample_index(const Vector<double>& p, double u) {
  const double target = u * p.sum();
  double acc = 0;
  for (Index i = 0; i < p.size(); ++i) {
    acc += p(i);
    if (acc > target) return i;
  }
  for (Index i = p.size() - 1; i > 0; --i)
    if (p(i) > 0) return i;
  return 0;
}

struct ColumnSums {
  Vector<double> sum;
  ColumnSums& operator+=(const ColumnSums& o) {
    sum += o.sum;
    return *this;
  }
};

// Column sums of X (centred on `mean` and squared when `centred`), in double.
template <class T>
Vector<double> column_sums(const ConstMatrixRef<T>& x, const Vector<double>& mean, bool centred) {
  const Index D = x.cols();
  return reduce_blocks<ColumnSums>(
             x.rows(), D, Index(sizeof(double)) * D, [&] { return ColumnSums{Vector<double>::Zero(D)}; },
             [&](ColumnSums& acc, RowRange r) {
               RowMatrix<double> xb = x.middleRows(r.begin, r.size()).template cast<double>();
               if (centred) xb = (xb.rowwise() - mean.transpose()).cwiseAbs2();
               acc.sum += xb.colwise().sum().transpose();
             })
      .sum;
}

template <class T>
Vector<double> column_mean(const ConstMatrixRef<T>& x) {
  return column_sums<T>(x, Vector<double>(), false) / double(std::max<Index>(1, x.rows()));
}

// mean_d var(x_d): the mean over features of the (unweighted) column variances.
template <class T>
double mean_variance(const ConstMatrixRef<T>& x) {
  const Index N = x.rows(), D = x.cols();
  if (N == 0) return 0;
  return column_sums<T>(x, column_mean<T>(x), true).sum() / double(N) / double(D);
}

// The checks shared by kmeans_plusplus and kmeans_lloyd.
template <class T>
void check_kmeans_data(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight) {
  if (x.cols() < 1) throw std::invalid_argument("X must have at least one feature (column)");
  check_sample_weight<T>(sample_weight, x.rows());
  check_finite<T>(x, "X");
}

// kmeans_plusplus on arguments already checked (fit_mixture checks them once
// for all its initialisations).
template <class T>
std::vector<Index> kmeans_plusplus_unchecked(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                             Index n_clusters, Rng& rng) {
  const Index N = x.rows();
  const Vector<double> sw =
      sample_weight.size() ? Vector<double>(sample_weight.template cast<double>()) : Vector<double>::Ones(N);
  const Index n_trials = 2 + static_cast<Index>(std::log(double(n_clusters)));
  std::vector<Index> centres{detail::sample_index(sw, rng.uniform())};
  Vector<double> closest = Vector<double>::Constant(N, std::numeric_limits<double>::infinity());
  detail::update_closest<T>(x, x.row(centres[0]).transpose(), closest);
  while (static_cast<Index>(centres.size()) < n_clusters) {
    const Vector<double> p = sw.cwiseProduct(closest);
    if (!(p.sum() > 0)) {
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
      detail::update_closest<T>(x, x.row(next).transpose(), closest);
      continue;
    }
    Index best = -1;
    double best_potential = std::numeric_limits<double>::infinity();
    Vector<double> best_closest;
    for (Index t = 0; t < n_trials; ++t) {
      const Index candidate = detail::sample_index(p, rng.uniform());
      Vector<double> d2 = closest;
      detail::update_closest<T>(x, x.row(candidate).transpose(), d2);
      const double potential = sw.dot(d2);
      // best < 0: the first trial, also when distances overflow to inf.
      if (best < 0 || potential < best_potential) {
        best_potential = potential;
        best = candidate;
        best_closest = std::move(d2);
      }
    }
    centres.push_back(best);
    closest = std::move(best_closest);
  }
  return centres;
}
}  // namespace detail

// Greedy k-means++ (as scikit-learn's kmeans_plusplus): each new centre is the
// best, by resulting potential, of 2 + floor(log K) candidates sampled with
// probability proportional to s_i * d2(x_i). Returns K distinct row indices
// (when every weighted row already coincides with a centre, the next unused
// row is taken).
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

// labels(i) = argmin_k |x_i - c_k|^2 (ties to the lowest k) and, when d2 is
// given, d2(i) = that minimum, in parallel.
template <class T>
void assign_nearest(const ConstMatrixRef<T>& x, const RowMatrix<T>& c, std::vector<int>& labels,
                    Vector<double>* d2 = nullptr) {
  const Index K = c.rows(), D = c.cols();
  parallel_blocks(x.rows(), K * D, [&](RowRange r) {
    const auto xb = x.middleRows(r.begin, r.size());
    RowMatrix<T> dist(r.size(), K), diff(r.size(), D);
    for (Index k = 0; k < K; ++k) {
      diff = xb.rowwise() - c.row(k);
      dist.col(k) = diff.rowwise().squaredNorm();
    }
    for (Index i = 0; i < r.size(); ++i) {
      Index best;
      const T nearest = dist.row(i).minCoeff(&best);
      labels[static_cast<size_t>(r.begin + i)] = static_cast<int>(best);
      if (d2) (*d2)(r.begin + i) = double(nearest);
    }
  });
}

// Per-cluster weighted sums of the rows and of their weights, in double.
struct ClusterSums {
  RowMatrix<double> sums;  // (K, D): sum_{i: label_i = k} s_i x_i
  Vector<double> weights;  // (K): sum_{i: label_i = k} s_i
  ClusterSums& operator+=(const ClusterSums& o) {
    sums += o.sums;
    weights += o.weights;
    return *this;
  }
};

// ClusterSums of X under labels in [0, K) (or -1: no cluster), deterministic
// for any thread count.
template <class T>
ClusterSums cluster_sums_unchecked(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                   const std::vector<int>& labels, Index K) {
  const Index D = x.cols();
  const bool weighted = sample_weight.size() > 0;
  return reduce_blocks<ClusterSums>(
      x.rows(), D, Index(sizeof(double)) * K * (D + 1),
      [&] { return ClusterSums{RowMatrix<double>::Zero(K, D), Vector<double>::Zero(K)}; },
      [&](ClusterSums& acc, RowRange r) {
        for (Index i = r.begin; i < r.end; ++i) {
          const int k = labels[static_cast<size_t>(i)];
          if (k < 0) continue;
          const double s = weighted ? double(sample_weight(i)) : 1.0;
          acc.sums.row(k) += s * x.row(i).template cast<double>();
          acc.weights(k) += s;
        }
      });
}

// kmeans_lloyd on arguments already checked.
template <class T>
KMeansResult<T> kmeans_lloyd_unchecked(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                       RowMatrix<T> centres, Index max_iter, double tol) {
  const Index N = x.rows(), K = centres.rows();
  const double threshold = tol * detail::mean_variance<T>(x);

  KMeansResult<T> result;
  result.labels.assign(static_cast<size_t>(N), -1);
  std::vector<int> previous;
  bool labels_stable = false;
  for (result.n_iter = 1; result.n_iter <= max_iter; ++result.n_iter) {
    previous = result.labels;
    assign_nearest<T>(x, centres, result.labels);
    if ((labels_stable = result.labels == previous)) break;
    const ClusterSums sums = cluster_sums_unchecked<T>(x, sample_weight, result.labels, K);
    double shift = 0;
    for (Index k = 0; k < K; ++k) {
      if (!(sums.weights(k) > 0)) continue;
      const Vector<T> moved = (sums.sums.row(k) / sums.weights(k)).transpose().template cast<T>();
      shift += (moved.transpose() - centres.row(k)).template cast<double>().squaredNorm();
      centres.row(k) = moved.transpose();
    }
    if (shift <= threshold) break;
  }
  // As scikit-learn: unless the labels were stable, relabel with the final centres.
  if (!labels_stable) assign_nearest<T>(x, centres, result.labels);
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
  if (static_cast<Index>(labels.size()) != x.rows()) {
    std::ostringstream msg;
    msg << "labels has " << labels.size() << " values, expected one per row of X (" << x.rows() << ")";
    throw std::invalid_argument(msg.str());
  }
  for (const int k : labels)
    if (k < -1 || k >= n_clusters) {
      std::ostringstream msg;
      msg << "labels must lie in [-1, " << n_clusters << "), got " << k;
      throw std::invalid_argument(msg.str());
    }
  return detail::cluster_sums_unchecked<T>(x, sample_weight, labels, n_clusters);
}

}  // namespace gmmcore
