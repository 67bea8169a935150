#pragma once
// Argument checks shared by the public entry points. Each throws
// std::invalid_argument naming the argument, what was expected and what it got;
// they cost O(size of the argument), never a pass over the samples times K.
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gmmcore/types.hpp"

namespace gmmcore {

// Relative tolerance for "weights sum to 1" and "Sigma_k is symmetric".
template <class T>
constexpr T validation_rtol() {
  return std::numeric_limits<T>::digits > 30 ? T(1e-6) : T(1e-4);
}

namespace detail {

[[noreturn]] inline void invalid_shape(const std::string& name, Index rows, Index cols, Index expected_rows,
                                       Index expected_cols, const std::string& context = "") {
  std::ostringstream msg;
  msg << name << " has shape (" << rows << ", " << cols << "), expected (" << expected_rows << ", " << expected_cols
      << ")" << context;
  throw std::invalid_argument(msg.str());
}

template <class Derived>
void require_shape(const Eigen::DenseBase<Derived>& a, const std::string& name, Index rows, Index cols,
                   const std::string& context = "") {
  if (a.rows() != rows || a.cols() != cols) invalid_shape(name, a.rows(), a.cols(), rows, cols, context);
}

template <class Derived>
void require_length(const Eigen::DenseBase<Derived>& v, const std::string& name, Index length,
                    const std::string& context = "") {
  if (v.size() != length) {
    std::ostringstream msg;
    msg << name << " has length " << v.size() << ", expected " << length << context;
    throw std::invalid_argument(msg.str());
  }
}

template <class Derived>
void require_finite(const Eigen::DenseBase<Derived>& a, const std::string& name) {
  if (!a.allFinite()) throw std::invalid_argument(name + " contains NaN or infinity");
}

inline void check_n_features(Index got, Index expected, const char* name) {
  if (got != expected) {
    std::ostringstream msg;
    msg << name << " has " << got << " features (columns) but the model has n_features = " << expected;
    throw std::invalid_argument(msg.str());
  }
}

// A real option: finite and >= `minimum`.
inline void require_at_least(double value, double minimum, const char* name) {
  if (!(std::isfinite(value) && value >= minimum)) {
    std::ostringstream msg;
    msg.precision(17);
    msg << name << " must be a finite number >= " << minimum << ", got " << value;
    throw std::invalid_argument(msg.str());
  }
}

// Throws unless labels holds one value per row of X (n_rows) in [-1, K)
// (-1: the row belongs to no cluster or component).
inline void check_labels(const std::vector<int>& labels, Index n_rows, Index K) {
  if (static_cast<Index>(labels.size()) != n_rows) {
    std::ostringstream msg;
    msg << "labels has " << labels.size() << " values, expected one per row of X (" << n_rows << ")";
    throw std::invalid_argument(msg.str());
  }
  for (const int k : labels)
    if (k < -1 || k >= K) {
      std::ostringstream msg;
      msg << "labels must lie in [-1, " << K << "), got " << k;
      throw std::invalid_argument(msg.str());
    }
}

inline void require_at_least(Index value, Index minimum, const char* name) {
  if (value < minimum) {
    std::ostringstream msg;
    msg << name << " must be at least " << minimum << ", got " << value;
    throw std::invalid_argument(msg.str());
  }
}

// Mixing weights (K): finite, non-negative, summing to 1 within
// validation_rtol, or with `allow_deficit` to a positive sum up to that: the
// starting mixtures of scikit-learn's k-means++ and random_from_data
// initialisations (what a fit with max_iter = 0 returns) have w_k = 1 / N.
template <class T>
void check_mixing_weights(const Eigen::Ref<const Vector<T>>& w, Index n_components, const std::string& name,
                          bool allow_deficit = false) {
  require_length(w, name, n_components);
  require_finite(w, name);
  Index negative;
  if (w.minCoeff(&negative) < T(0)) {
    std::ostringstream msg;
    msg << name << " must be non-negative (" << name << "[" << negative << "] = " << w(negative) << ")";
    throw std::invalid_argument(msg.str());
  }
  const T sum = w.sum();
  const bool valid =
      allow_deficit ? sum > T(0) && sum <= T(1) + validation_rtol<T>() : std::abs(sum - T(1)) <= validation_rtol<T>();
  if (!valid) {
    std::ostringstream msg;
    msg.precision(std::numeric_limits<T>::max_digits10);
    msg << name << (allow_deficit ? " must have a positive sum of at most 1" : " must sum to 1") << " (they sum to "
        << sum << ")";
    throw std::invalid_argument(msg.str());
  }
}

// Sample weights: empty (all 1) or (n_samples), finite and non-negative.
template <class T>
void check_sample_weight(const Eigen::Ref<const Vector<T>>& sample_weight, Index n_samples) {
  if (sample_weight.size() == 0) return;
  require_length(sample_weight, "sample_weight", n_samples, " (one weight per sample of X)");
  require_finite(sample_weight, "sample_weight");
  Index negative;
  if (sample_weight.minCoeff(&negative) < T(0)) {
    std::ostringstream msg;
    msg << "sample_weight must be non-negative (sample_weight[" << negative << "] = " << sample_weight(negative) << ")";
    throw std::invalid_argument(msg.str());
  }
}

}  // namespace detail
}  // namespace gmmcore
