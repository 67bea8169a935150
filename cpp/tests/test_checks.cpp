// Every public entry point checks its arguments against each other and throws
// std::invalid_argument naming the argument and the shapes; no kernel is
// reached with an array whose size was not checked (the sanitizer build would
// report such a read).
#include <string>

#include "check.hpp"
#include "problems.hpp"

namespace checks_test {  // named: the unity build shares one translation unit between test files

using namespace gmmcore_test;
using gmmcore::CovarianceType;
using gmmcore::FitOptions;
using gmmcore::InitialParams;
using gmmcore::Mixture;

bool contains(const std::exception& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

// A valid mixture of K components in D dimensions: unit covariances, P = I.
Mixture<double> unit_mixture(CovarianceType type, Index K, Index D) {
  Mixture<double> m;
  m.covariance_type = type;
  m.weights = Vector<double>::Constant(K, 1.0 / double(K));
  m.means = RowMatrix<double>::Zero(K, D);
  for (Index k = 0; k < K; ++k) m.means(k, 0) = 3.0 * double(k);
  const auto [rows, cols] = gmmcore::covariance_shape(type, K, D);
  if (gmmcore::is_diagonal(type)) {
    m.covariances = RowMatrix<double>::Ones(rows, cols);
  } else {
    m.covariances = RowMatrix<double>::Zero(rows, cols);
    for (Index r = 0; r < rows; ++r)
      for (Index d = 0; d < D; ++d) m.covariances(r, d * D + d) = 1.0;
  }
  m.precisions_cholesky = m.covariances;
  return m;
}

InitialParams<double> initial_from(const Mixture<double>& m) {
  return {m.weights, m.means, m.covariances, m.precisions_cholesky};
}

// The three evaluation functions of a fitted mixture all reject `m` with a
// message containing `text`.
void rejects(const Mixture<double>& m, const RowMatrix<double>& x, const std::string& text) {
  const auto names = [&](const std::invalid_argument& e) {
    CHECK(contains(e, text));
    if (!contains(e, text)) std::cerr << "    message: " << e.what() << "\n";
  };
  CHECK_THROWS_WITH(gmmcore::factorize(m), std::invalid_argument, names(check_error_));
  CHECK_THROWS_WITH(gmmcore::expectation(gmmcore::factorize(m), x), std::invalid_argument, names(check_error_));
  CHECK_THROWS_WITH(gmmcore::log_likelihood(gmmcore::factorize(m), x), std::invalid_argument, names(check_error_));
  CHECK_THROWS_WITH(gmmcore::predict(gmmcore::factorize(m), x), std::invalid_argument, names(check_error_));
}

GMMCORE_TEST(checks, valid_mixtures_evaluate) {
  const RowMatrix<double> x = RowMatrix<double>::Random(40, 3);
  for (const auto type : kTypes) {
    const auto f = gmmcore::factorize(unit_mixture(type, 2, 3));
    CHECK(gmmcore::log_likelihood(f, x).allFinite());
  }
}

GMMCORE_TEST(checks, mixture_shapes_must_agree) {
  const RowMatrix<double> x = RowMatrix<double>::Random(40, 3);
  for (const auto type : kTypes) {
    auto m = unit_mixture(type, 3, 3);
    m.weights.conservativeResize(2);  // weights cut to fewer components
    rejects(m, x, "weights has length 2, expected 3");

    m = unit_mixture(type, 3, 3);
    m.means.conservativeResize(2, 3);  // means cut to fewer components: K = 2 now
    rejects(m, x, "weights has length 3, expected 2");

    m = unit_mixture(type, 3, 3);
    m.means.conservativeResize(3, 2);  // means cut to fewer features
    if (type == CovarianceType::spherical)  // (K, 1) whatever D: X is what disagrees
      CHECK_THROWS_WITH(gmmcore::predict(gmmcore::factorize(m), x), std::invalid_argument,
                        CHECK(contains(check_error_, "X has 3 features (columns) but the model has n_features = 2")));
    else
      rejects(m, x, "precisions_cholesky has shape");

    m = unit_mixture(type, 3, 3);
    m.precisions_cholesky = unit_mixture(type, 3, 2).precisions_cholesky;  // fewer features
    if (type != CovarianceType::spherical) rejects(m, x, "precisions_cholesky has shape");

    m = unit_mixture(type, 3, 3);
    m.precisions_cholesky = unit_mixture(type, 4, 3).precisions_cholesky;  // more components
    if (type != CovarianceType::tied) rejects(m, x, "precisions_cholesky has shape");

    m = unit_mixture(type, 3, 3);
    m.covariances.resize(0, 0);  // evaluation needs no covariances
    CHECK(gmmcore::log_likelihood(gmmcore::factorize(m), x).allFinite());
    m.covariances = RowMatrix<double>::Ones(1, 1);  // but given ones must have the right shape
    rejects(m, x, "covariances has shape");
  }
  // The two types whose single array is easiest to get wrong.
  auto tied = unit_mixture(CovarianceType::tied, 3, 3);
  tied.precisions_cholesky = unit_mixture(CovarianceType::full, 3, 3).precisions_cholesky;
  rejects(tied, x, "precisions_cholesky has shape (3, 9), expected (1, 9) for covariance_type 'tied'");
  auto spherical = unit_mixture(CovarianceType::spherical, 3, 3);
  spherical.precisions_cholesky = RowMatrix<double>::Ones(3, 3);
  rejects(spherical, x, "precisions_cholesky has shape (3, 3), expected (3, 1) for covariance_type 'spherical'");
  auto empty = unit_mixture(CovarianceType::full, 1, 3);
  empty.means.resize(0, 3);
  rejects(empty, x, "at least one component");
}

GMMCORE_TEST(checks, mixture_values) {
  const RowMatrix<double> x = RowMatrix<double>::Random(40, 3);
  for (const auto type : kTypes) {
    auto m = unit_mixture(type, 2, 3);
    m.weights << 0.5, 0.6;
    rejects(m, x, "weights must have a positive sum of at most 1 (they sum to 1.1");
    m.weights << 0.0, 0.0;
    rejects(m, x, "weights must have a positive sum of at most 1 (they sum to 0)");
    m.weights << 0.01, 0.01;  // a fit's starting mixture (max_iter = 0) may have w_k = 1 / N
    CHECK(gmmcore::log_likelihood(gmmcore::factorize(m), x).allFinite());
    m.weights << 1.5, -0.5;
    rejects(m, x, "weights must be non-negative (weights[1] = -0.5)");
    m = unit_mixture(type, 2, 3);
    m.means(1, 2) = kNaN;
    rejects(m, x, "means contains NaN");
    m = unit_mixture(type, 2, 3);
    m.precisions_cholesky(m.precisions_cholesky.rows() - 1, 0) = -1.0;
    rejects(m, x, "precisions_cholesky[" + std::to_string(m.precisions_cholesky.rows() - 1) + "] must be");
    m = unit_mixture(type, 2, 3);
    m.precisions_cholesky(0, 0) = kInf;
    rejects(m, x, "precisions_cholesky contains NaN");
  }
  auto full = unit_mixture(CovarianceType::full, 2, 3);
  full.precisions_cholesky(1, 3) = 0.5;  // below the diagonal: P_k must be upper triangular
  rejects(full, x, "precisions_cholesky[1] must be upper triangular");
}

GMMCORE_TEST(checks, factored_params_made_by_hand) {
  const RowMatrix<double> x = RowMatrix<double>::Random(40, 3);
  auto f = gmmcore::factorize(unit_mixture(CovarianceType::full, 3, 3));
  f.log_norm.conservativeResize(2);
  CHECK_THROWS_WITH(gmmcore::forward(f, x), std::invalid_argument, CHECK(contains(check_error_, "log_norm")));
  CHECK_THROWS(gmmcore::negative_log_likelihood(f, x), std::invalid_argument);
  f = gmmcore::factorize(unit_mixture(CovarianceType::full, 3, 3));
  f.factors.resize(0, 0);
  CHECK_THROWS_WITH(gmmcore::expectation(f, x), std::invalid_argument, CHECK(contains(check_error_, "factors")));
  CHECK_THROWS(gmmcore::backward(f, x, RowMatrix<double>::Ones(40, 3)), std::invalid_argument);
  f = gmmcore::factorize(unit_mixture(CovarianceType::diag, 3, 3));
  f.diagonal_precisions.conservativeResize(3, 2);
  CHECK_THROWS_WITH(gmmcore::predict(f, x), std::invalid_argument,
                    CHECK(contains(check_error_, "diagonal_precisions has shape (3, 2), expected (3, 3)")));
}

GMMCORE_TEST(checks, fit_options_in_range) {
  const RowMatrix<double> x = RowMatrix<double>::Random(50, 2);
  const auto fit = [&](const FitOptions& opt) {
    return gmmcore::fit_mixture<double>(x, Vector<double>(), opt, {}, false, 0);
  };
  const auto rejects_option = [&](FitOptions opt, const std::string& name) {
    CHECK_THROWS_WITH(fit(opt), std::invalid_argument, CHECK(contains(check_error_, name)));
  };
  FitOptions opt;
  opt.n_components = 2;
  CHECK(fit(opt).mixture.weights.size() == 2);
  FitOptions bad = opt;
  bad.n_components = 0;
  rejects_option(bad, "n_components must be at least 1, got 0");
  bad = opt;
  bad.n_components = 51;
  rejects_option(bad, "X has 50 samples, fewer than n_components = 51");
  bad = opt;
  bad.n_init = 0;
  rejects_option(bad, "n_init");
  bad = opt;
  bad.max_iter = -1;
  rejects_option(bad, "max_iter");
  bad = opt;
  bad.kmeans_max_iter = -3;
  rejects_option(bad, "kmeans_max_iter");
  for (const double value : {-1.0, kNaN, kInf}) {
    bad = opt;
    bad.tol = value;
    rejects_option(bad, "tol must be a finite number >= 0");
    bad = opt;
    bad.reg_covar = value;
    rejects_option(bad, "reg_covar");
    bad = opt;
    bad.kmeans_tol = value;
    rejects_option(bad, "kmeans_tol");
  }
  bad = opt;
  bad.covariance_type = static_cast<CovarianceType>(7);
  rejects_option(bad, "covariance_type");
  bad = opt;
  bad.init = static_cast<gmmcore::InitMethod>(9);
  rejects_option(bad, "init");
  CHECK_THROWS_WITH(gmmcore::fit_mixture<double>(RowMatrix<double>(50, 0), Vector<double>(), opt, {}, false, 0),
                    std::invalid_argument, CHECK(contains(check_error_, "at least one feature")));
  CHECK_THROWS_WITH(gmmcore::fit_mixture<double>(x, Vector<double>(), opt, {}, false, kNaN), std::invalid_argument,
                    CHECK(contains(check_error_, "warm_lower_bound")));
}

GMMCORE_TEST(checks, fit_sample_weight) {
  const RowMatrix<double> x = RowMatrix<double>::Random(50, 2);
  FitOptions opt;
  opt.n_components = 2;
  const auto rejects_weights = [&](const Vector<double>& w, const std::string& text) {
    CHECK_THROWS_WITH(gmmcore::fit_mixture<double>(x, w, opt, {}, false, 0), std::invalid_argument,
                      CHECK(contains(check_error_, text)));
  };
  rejects_weights(Vector<double>::Ones(49), "sample_weight has length 49, expected 50");
  rejects_weights(Vector<double>::Ones(51), "sample_weight has length 51, expected 50");
  Vector<double> w = Vector<double>::Ones(50);
  w(7) = -1;
  rejects_weights(w, "sample_weight must be non-negative (sample_weight[7] = -1)");
  w(7) = kNaN;
  rejects_weights(w, "sample_weight contains NaN");
  rejects_weights(Vector<double>::Zero(50), "positive, finite sum");
  rejects_weights(Vector<double>::Constant(50, 1e308), "positive, finite sum");
}

GMMCORE_TEST(checks, fit_initial_params) {
  const RowMatrix<double> x = RowMatrix<double>::Random(60, 3);
  for (const auto type : kTypes) {
    FitOptions opt;
    opt.n_components = 3;
    opt.covariance_type = type;
    opt.max_iter = 2;
    const auto good = unit_mixture(type, 3, 3);
    const auto fit = [&](const InitialParams<double>& given, bool warm) {
      return gmmcore::fit_mixture<double>(x, Vector<double>(), opt, given, warm, -kInf);
    };
    CHECK(fit(initial_from(good), true).mixture.means.allFinite());
    const auto rejects_given = [&](const InitialParams<double>& given, const std::string& text) {
      for (const bool warm : {false, true})
        CHECK_THROWS_WITH(fit(given, warm), std::invalid_argument, {
          CHECK(contains(check_error_, text));
          if (!contains(check_error_, text)) std::cerr << "    message: " << check_error_.what() << "\n";
        });
    };
    auto given = initial_from(good);
    given.weights.conservativeResize(2);
    rejects_given(given, "weights_init has length 2, expected 3");
    given = initial_from(good);
    given.means.conservativeResize(3, 2);
    rejects_given(given, "means_init has shape (3, 2), expected (3, 3)");
    given = initial_from(good);
    given.means.conservativeResize(2, 3);
    rejects_given(given, "means_init has shape (2, 3), expected (3, 3)");
    given = initial_from(good);
    given.precisions_cholesky = unit_mixture(type, 3, 2).precisions_cholesky;
    given.covariances = given.precisions_cholesky;
    if (type != CovarianceType::spherical) rejects_given(given, "precisions_cholesky_init has shape");
    given = initial_from(good);
    given.covariances.resize(0, 0);  // the two must come together
    rejects_given(given, "covariances_init has shape");
    given = initial_from(good);
    given.covariances = unit_mixture(type, 2, 3).covariances;
    if (type != CovarianceType::tied) rejects_given(given, "covariances_init has shape");
    given = initial_from(good);
    given.precisions_cholesky(0, 0) = 0;
    rejects_given(given, "precisions_cholesky_init[0] must be");
    given = initial_from(good);
    given.weights(0) = kNaN;
    rejects_given(given, "weights_init contains NaN");
  }
}

GMMCORE_TEST(checks, warm_start_needs_complete_params) {
  const RowMatrix<double> x = RowMatrix<double>::Random(60, 3);
  FitOptions opt;
  opt.n_components = 2;
  auto given = initial_from(unit_mixture(CovarianceType::full, 2, 3));
  given.precisions_cholesky.resize(0, 0);
  given.covariances.resize(0, 0);
  CHECK_THROWS_WITH(gmmcore::fit_mixture<double>(x, Vector<double>(), opt, given, true, -kInf), std::invalid_argument,
                    CHECK(contains(check_error_, "warm_start needs")));
}

GMMCORE_TEST(checks, kmeans_arguments) {
  const RowMatrix<double> x = RowMatrix<double>::Random(30, 2);
  gmmcore::Rng rng(1);
  CHECK_THROWS_WITH(gmmcore::kmeans_plusplus<double>(x, Vector<double>(), 31, rng), std::invalid_argument,
                    CHECK(contains(check_error_, "n_clusters must be between 1 and the number of samples 30, got 31")));
  CHECK_THROWS(gmmcore::kmeans_plusplus<double>(x, Vector<double>(), 0, rng), std::invalid_argument);
  CHECK_THROWS_WITH(gmmcore::kmeans_plusplus<double>(x, Vector<double>::Ones(29), 2, rng), std::invalid_argument,
                    CHECK(contains(check_error_, "sample_weight has length 29")));
  RowMatrix<double> with_nan = x;
  with_nan(17, 1) = kNaN;
  CHECK_THROWS_WITH(gmmcore::kmeans_plusplus<double>(with_nan, Vector<double>(), 2, rng), std::invalid_argument,
                    CHECK(contains(check_error_, "row 17")));
  const RowMatrix<double> centres = x.topRows(3);
  CHECK(gmmcore::kmeans_lloyd<double>(x, Vector<double>(), centres, 10, 1e-4).labels.size() == 30);
  CHECK_THROWS_WITH(gmmcore::kmeans_lloyd<double>(x, Vector<double>(), RowMatrix<double>::Zero(3, 3), 10, 1e-4),
                    std::invalid_argument, CHECK(contains(check_error_, "centres has shape (3, 3), expected (3, 2)")));
  CHECK_THROWS(gmmcore::kmeans_lloyd<double>(x, Vector<double>(), RowMatrix<double>(0, 2), 10, 1e-4),
               std::invalid_argument);
  CHECK_THROWS(gmmcore::kmeans_lloyd<double>(x, Vector<double>(), centres, -1, 1e-4), std::invalid_argument);
  CHECK_THROWS(gmmcore::kmeans_lloyd<double>(x, Vector<double>(), centres, 10, kNaN), std::invalid_argument);
  CHECK_THROWS(gmmcore::kmeans_lloyd<double>(with_nan, Vector<double>(), centres, 10, 1e-4), std::invalid_argument);
}

// Distances that overflow to inf in every k-means++ trial used to leave no
// best candidate (row -1, read out of bounds).
GMMCORE_TEST(checks, kmeans_plusplus_with_overflowing_distances) {
  RowMatrix<double> x(6, 1);
  x << -1e300, 1e300, -1e300, 1e300, 0, 1e300;
  gmmcore::Rng rng(3);
  const auto rows = gmmcore::kmeans_plusplus<double>(x, Vector<double>(), 3, rng);
  CHECK(rows.size() == 3);
  for (const Index r : rows) CHECK(r >= 0 && r < 6);
}

// Coinciding rows leave k-means++ nothing to sample: it used to pick one row
// twice, so that a weighted k-means++ start had weights summing above 1 and
// could not be evaluated (or loaded) afterwards.
GMMCORE_TEST(checks, kmeans_plusplus_rows_are_distinct_on_coinciding_data) {
  const RowMatrix<double> x = RowMatrix<double>::Ones(5, 2);
  Vector<double> w(5);
  w << 0.0, 1.5, 0.0, 0.5, 2.0;
  for (const bool weighted : {false, true}) {
    gmmcore::Rng rng(5);
    const auto rows = gmmcore::kmeans_plusplus<double>(x, weighted ? w : Vector<double>(), 3, rng);
    CHECK(rows.size() == 3 && rows[0] != rows[1] && rows[0] != rows[2] && rows[1] != rows[2]);
    if (weighted)
      for (const Index r : rows) CHECK(w(r) > 0);
  }
  gmmcore::FitOptions opt;
  opt.n_components = 2;
  opt.init = gmmcore::InitMethod::kmeans_plusplus;
  opt.max_iter = 0;
  const auto start = gmmcore::fit_mixture<double>(x, w, opt, {}, false, 0);
  CHECK(start.mixture.weights.sum() <= 1.0);
  CHECK(gmmcore::log_likelihood(gmmcore::factorize(start.mixture), x).allFinite());
}

}  // namespace checks_test
