// Cancellation through a StopToken: a stop requested before or during a call
// ends it with Interrupted (from the calling thread or an OpenMP worker), and
// a token that never fires changes nothing, bit for bit.
#include <atomic>
#include <chrono>
#include <thread>

#include "check.hpp"
#include "problems.hpp"

namespace interrupt_test {  // named: the unity build shares one translation unit between test files

using namespace gmmcore_test;

gmmcore::FitOptions long_fit_options() {
  gmmcore::FitOptions opt;
  opt.n_components = 4;
  opt.max_iter = 1000000;  // hours, unless interrupted
  opt.tol = 0;
  return opt;
}

GMMCORE_TEST(interrupt, stop_requested_before_the_call) {
  const auto prob = make_problem<double>(3000, 3, 4);
  gmmcore::StopToken token;
  token.request_stop();
  const gmmcore::InterruptScope scope(token);
  CHECK_THROWS(gmmcore::fit_mixture<double>(prob.x, Vector<double>(), long_fit_options(), {}, false, 0),
               gmmcore::Interrupted);
  CHECK_THROWS(gmmcore::log_likelihood(gmmcore::factorize(prob.params), prob.x), gmmcore::Interrupted);
  CHECK_THROWS(gmmcore::em_train(prob.params, prob.x, 5, 0.0), gmmcore::Interrupted);
}

GMMCORE_TEST(interrupt, stop_from_another_thread_ends_a_long_fit) {
  const auto prob = make_problem<double>(20000, 4, 4);
  for (const auto init : {gmmcore::InitMethod::kmeans, gmmcore::InitMethod::random}) {
    auto opt = long_fit_options();
    opt.init = init;
    gmmcore::StopToken token;
    std::thread canceller([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      token.request_stop();
    });
    const gmmcore::InterruptScope scope(token);
    CHECK_THROWS(gmmcore::fit_mixture<double>(prob.x, Vector<double>(), opt, {}, false, 0), gmmcore::Interrupted);
    canceller.join();
  }
}

GMMCORE_TEST(interrupt, poll_runs_on_the_owner_thread_only) {
  const auto prob = make_problem<double>(20000, 4, 4);
  const auto owner = std::this_thread::get_id();
  std::atomic<int> polls{0}, foreign{0};
  gmmcore::StopToken token(
      [&] {
        if (std::this_thread::get_id() != owner) ++foreign;
        return ++polls >= 3;
      },
      std::chrono::milliseconds(1));
  const gmmcore::InterruptScope scope(token);
  CHECK_THROWS(gmmcore::em_train(prob.params, prob.x, 1000000, 0.0), gmmcore::Interrupted);
  CHECK(polls.load() == 3);
  CHECK(foreign.load() == 0);
  CHECK(token.stop_requested());
}

GMMCORE_TEST(interrupt, unused_token_changes_nothing) {
  const auto prob = make_problem<double>(5000, 3, 3);
  auto opt = long_fit_options();
  opt.n_components = 3;
  opt.max_iter = 20;
  const auto plain = gmmcore::fit_mixture<double>(prob.x, Vector<double>(), opt, {}, false, 0);
  gmmcore::StopToken token([] { return false; }, std::chrono::milliseconds(0));
  const gmmcore::InterruptScope scope(token);
  const auto with_token = gmmcore::fit_mixture<double>(prob.x, Vector<double>(), opt, {}, false, 0);
  CHECK(plain.mixture.means == with_token.mixture.means);
  CHECK(plain.mixture.covariances == with_token.mixture.covariances);
  CHECK(plain.lower_bounds == with_token.lower_bounds);
}

GMMCORE_TEST(interrupt, scope_restores_the_previous_token) {
  const auto prob = make_problem<double>(2000, 2, 2);
  gmmcore::StopToken stopped;
  stopped.request_stop();
  {
    const gmmcore::InterruptScope scope(stopped);
    CHECK_THROWS(gmmcore::forward(gmmcore::factorize(prob.params), prob.x), gmmcore::Interrupted);
  }
  CHECK(gmmcore::forward(gmmcore::factorize(prob.params), prob.x).allFinite());
}

}  // namespace interrupt_test
