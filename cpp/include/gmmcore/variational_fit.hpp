#pragma once
// scikit-learn's BayesianGaussianMixture fit, natively: the EM loop of
// mixture_fit.hpp (initialisation, n_init restarts, warm start, convergence,
// callback) run with the variational update of variational.hpp. Each
// iteration is one pass of the shared E-step kernels with the offsets c_k in
// place of log w_k, which also gathers sum_i s_i sum_k r_ik log r_ik for the
// lower bound (docs/math.md#math-variational).
#include "gmmcore/mixture_fit.hpp"
#include "gmmcore/variational.hpp"

namespace gmmcore {
namespace detail {

// run_em's variational update on X (N, D) with sample weights (empty or N),
// both checked by the caller. With `warm`, every start begins from it;
// otherwise from the variational M-step of the initial responsibilities'
// statistics (scikit-learn's _initialize).
template <class T>
struct VariationalUpdate {
  const ConstMatrixRef<T>& x;
  const ConstVectorRef<T>& sample_weight;
  const FitOptions& opt;
  const VariationalPriors& priors;
  const VariationalMixture<T>* warm;

  VariationalMixture<T> start(const std::function<Statistics<T>()>& initial) const {
    if (warm) return *warm;
    return variational_m_step_unchecked<T>(initial(), priors, T(opt.reg_covar));
  }
  Statistics<T> e_step(const VariationalMixture<T>& vm, double& sum_r_log_r) const {
    check_interrupt();
    const Vector<T> offsets = variational_log_weights(vm).template cast<T>();
    const FactoredParams<T> f = factorize_unchecked<T>(vm, &offsets);
    return e_step_stats<T>(f, vm.covariance_type, x, sample_weight, /*x_is_finite=*/true, &sum_r_log_r);
  }
  double m_step(VariationalMixture<T>& vm, const Statistics<T>& stats, double sum_r_log_r, double) const {
    vm = variational_m_step_unchecked<T>(stats, priors, T(opt.reg_covar));
    return variational_lower_bound(vm, sum_r_log_r);
  }
};

}  // namespace detail

// Fits the variational posterior of a Gaussian mixture to X (N, D) with
// optional sample weights (N) and the priors p, as scikit-learn's
// BayesianGaussianMixture.fit does (docs/math.md#math-variational): the
// lower bound is its total (not per sample), and tol applies to its change.
// opt as for fit_mixture; with `warm` (warm start) one initialisation runs
// from it and the lower bound starts at warm_lower_bound.
template <class T>
FitResult<T, VariationalMixture<T>> fit_variational(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                                    const FitOptions& opt, const VariationalPriors& p,
                                                    const VariationalMixture<T>* warm, double warm_lower_bound,
                                                    const IterationCallback& callback = {}) {
  detail::check_fit_arguments<T>(opt, InitialParams<T>{}, x.cols(), false, warm_lower_bound);
  check_priors(p, opt.covariance_type, x.cols());
  if (warm) {
    check_variational_mixture(*warm);
    if (warm->covariance_type != opt.covariance_type || warm->n_components() != opt.n_components ||
        warm->n_features() != x.cols() || warm->weight_prior != p.weight_prior)
      throw std::invalid_argument(
          "the warm start's posterior does not match covariance_type, n_components, the features of X or the "
          "weight prior");
  }
  detail::check_init_sample<T>(x, sample_weight, opt, "X");
  const bool spread = x.rows() * x.cols() * opt.n_components <= detail::kSpreadInitsWork;
  return detail::run_em<T>(
      detail::VariationalUpdate<T>{x, sample_weight, opt, p, warm},
      [&](Index, Rng& rng) { return detail::initial_statistics<T>(x, sample_weight, opt, rng); }, opt, warm != nullptr,
      warm_lower_bound, callback, spread);
}

}  // namespace gmmcore
