// EM: the log-likelihood never decreases, N = 0 leaves the parameters alone.
#include "check.hpp"
#include "problems.hpp"

namespace {

using namespace gmmcore_test;

template <class T>
void check_monotone(double rtol) {
  const auto prob = make_problem<T>(600, 2, 3, 7);
  // Start far from the truth: unit covariances, equal weights, means at three samples.
  Params<T> p = gmmcore::init_params<T>(3, 2);
  p.means.row(0) = prob.x.row(0);
  p.means.row(1) = prob.x.row(3);
  p.means.row(2) = prob.x.row(6);
  double previous = -std::numeric_limits<double>::infinity();
  for (int step = 0; step < 40; ++step) {
    const auto r = gmmcore::em_step(p, prob.x, T(1e-6));
    CHECK(std::isfinite(r.log_likelihood));
    CHECK(r.log_likelihood >= previous - rtol * std::abs(previous));
    CHECK_CLOSE(r.params.weights.template cast<double>().sum(), 1.0, rtol, 0);
    previous = r.log_likelihood;
    p = r.params;
  }
  // em_step reports the log-likelihood before the step; the last parameters are at least as good.
  CHECK(-gmmcore::negative_log_likelihood(gmmcore::factorize(p), prob.x) >= previous - rtol * std::abs(previous));
}

template <class T>
bool same(const Params<T>& a, const Params<T>& b) {
  return a.weights == b.weights && a.means == b.means && a.covariances == b.covariances;
}

}  // namespace

GMMCORE_TEST(em, log_likelihood_never_decreases_float64) { check_monotone<double>(1e-12); }

GMMCORE_TEST(em, log_likelihood_never_decreases_float32) { check_monotone<float>(1e-5); }

GMMCORE_TEST(em, no_samples_leaves_parameters_unchanged) {
  const auto prob = make_problem<double>(5, 3, 2);
  const RowMatrix<double> none(0, 3);
  const auto r = gmmcore::em_step(prob.params, none, 1e-6);
  CHECK(same(r.params, prob.params));
  CHECK(r.log_likelihood == 0.0);
  CHECK(same(gmmcore::em_train(prob.params, none, 5, 1e-6), prob.params));
}

GMMCORE_TEST(em, zero_epochs_is_identity_and_train_equals_repeated_steps) {
  const auto prob = make_problem<double>(200, 2, 2, 3);
  CHECK(same(gmmcore::em_train(prob.params, prob.x, 0, 1e-6), prob.params));
  Params<double> p = prob.params;
  for (int e = 0; e < 3; ++e) p = gmmcore::em_step(p, prob.x, 1e-6).params;
  CHECK(same(gmmcore::em_train(prob.params, prob.x, 3, 1e-6), p));
}
