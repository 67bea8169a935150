// Bad input throws (std::invalid_argument or NotPositiveDefiniteError); it
// never aborts, also when the error is detected inside an OpenMP region.
#include <string>

#include "check.hpp"
#include "problems.hpp"

namespace {

using namespace gmmcore_test;

bool contains(const std::exception& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

}  // namespace

GMMCORE_TEST(errors, covariance_not_positive_definite) {
  auto prob = make_problem<double>(10, 2, 3);
  prob.params.covariance(1) << 1.0, 2.0, 2.0, 1.0;  // symmetric, eigenvalues 3 and -1
  CHECK_THROWS_WITH(gmmcore::factorize(prob.params), gmmcore::NotPositiveDefiniteError, {
    CHECK(check_error_.component() == 1);
    CHECK(contains(check_error_, "covariances[1]"));
  });
  CHECK_THROWS(gmmcore::em_step(prob.params, prob.x, 1e-6), gmmcore::NotPositiveDefiniteError);
  CHECK_THROWS(gmmcore::em_train(prob.params, prob.x, 2, 1e-6), gmmcore::NotPositiveDefiniteError);
  prob.params.covariance(1).setZero();
  CHECK_THROWS(gmmcore::factorize(prob.params), gmmcore::NotPositiveDefiniteError);
}

GMMCORE_TEST(errors, covariance_not_symmetric) {
  auto prob = make_problem<double>(10, 2, 3);
  prob.params.covariance(2)(0, 1) += 0.5;
  CHECK_THROWS_WITH(gmmcore::factorize(prob.params), std::invalid_argument,
                    CHECK(contains(check_error_, "covariances[2]")));
}

GMMCORE_TEST(errors, nan_in_input_names_the_row) {
  // Row 1000 sits in a later block, so the error is raised on an OpenMP thread.
  auto prob = make_problem<double>(2000, 3, 2);
  prob.x(1000, 1) = kNaN;
  const auto f = gmmcore::factorize(prob.params);
  const auto names_row = [](const std::invalid_argument& e) { CHECK(contains(e, "row 1000")); };
  CHECK_THROWS_WITH(gmmcore::forward(f, prob.x), std::invalid_argument, names_row(check_error_));
  CHECK_THROWS_WITH(gmmcore::expectation(f, prob.x), std::invalid_argument, names_row(check_error_));
  CHECK_THROWS_WITH(gmmcore::log_likelihood(f, prob.x), std::invalid_argument, names_row(check_error_));
  CHECK_THROWS_WITH(gmmcore::negative_log_likelihood(f, prob.x), std::invalid_argument, names_row(check_error_));
  const RowMatrix<double> g = RowMatrix<double>::Ones(2000, 2);
  CHECK_THROWS_WITH(gmmcore::backward(f, prob.x, g), std::invalid_argument, names_row(check_error_));
  CHECK_THROWS_WITH(gmmcore::em_step(prob.params, prob.x, 1e-6), std::invalid_argument, names_row(check_error_));
  prob.x(1000, 1) = std::numeric_limits<double>::infinity();
  CHECK_THROWS(gmmcore::forward(f, prob.x), std::invalid_argument);
}

GMMCORE_TEST(errors, bad_parameters) {
  const auto good = make_problem<double>(10, 2, 3);
  auto p = good.params;
  p.weights(0) = kNaN;
  CHECK_THROWS(gmmcore::factorize(p), std::invalid_argument);
  p = good.params;
  p.means(2, 1) = kNaN;
  CHECK_THROWS(gmmcore::factorize(p), std::invalid_argument);
  p = good.params;
  p.weights(0) += 0.1;  // no longer sums to 1
  CHECK_THROWS_WITH(gmmcore::factorize(p), std::invalid_argument, CHECK(contains(check_error_, "sum to 1")));
  p = good.params;
  p.weights << 1.2, -0.2, 0.0;
  CHECK_THROWS(gmmcore::factorize(p), std::invalid_argument);
  p = good.params;
  p.means.resize(2, 2);
  CHECK_THROWS(gmmcore::factorize(p), std::invalid_argument);
  CHECK_THROWS(gmmcore::init_params<double>(0, 2), std::invalid_argument);
  CHECK_THROWS(gmmcore::em_train(good.params, good.x, -1, 1e-6), std::invalid_argument);
  CHECK_THROWS(gmmcore::em_step(good.params, good.x, -1.0), std::invalid_argument);
  CHECK_THROWS(gmmcore::em_step(good.params, good.x, kNaN), std::invalid_argument);
}

GMMCORE_TEST(errors, shape_mismatch) {
  const auto prob = make_problem<double>(10, 2, 3);
  const auto f = gmmcore::factorize(prob.params);
  const RowMatrix<double> wrong(4, 3);
  CHECK_THROWS(gmmcore::forward(f, wrong), std::invalid_argument);
  CHECK_THROWS(gmmcore::em_step(prob.params, wrong, 1e-6), std::invalid_argument);
  const RowMatrix<double> g(10, 2);  // K = 3 expected
  CHECK_THROWS(gmmcore::backward(f, prob.x, g), std::invalid_argument);
}

GMMCORE_TEST(errors, log_likelihood_backward_checks_its_input) {
  auto prob = make_problem<double>(2000, 3, 2);
  const auto f = gmmcore::factorize(prob.params);
  Vector<double> g = Vector<double>::Ones(2000);
  CHECK_THROWS(gmmcore::log_likelihood_backward(f, prob.x, Vector<double>(Vector<double>::Ones(1999))),
               std::invalid_argument);
  g(1500) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(gmmcore::log_likelihood_backward(f, prob.x, g), std::invalid_argument,
                    CHECK(contains(check_error_, "grad_output contains NaN or infinity (first at row 1500)")));
  g(1500) = 1;
  prob.x(1000, 1) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(gmmcore::log_likelihood_backward(f, prob.x, g), std::invalid_argument,
                    CHECK(contains(check_error_, "X contains NaN or infinity (first at row 1000)")));
}
