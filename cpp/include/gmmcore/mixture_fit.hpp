#pragma once
// scikit-learn's GaussianMixture fit, natively: initialisation (k-means,
// k-means++, random, random_from_data or given parameters), EM to convergence
// of the lower bound, n_init restarts keeping the best, warm start, sample
// weights (docs/math.md#math-estimator). The M-step is m_step.hpp's with
// scikit-learn's rule (every component divides by N_k + 10 eps); the lower
// bound is the (weighted) mean log-likelihood of the E-step.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "gmmcore/kmeans.hpp"
#include "gmmcore/m_step.hpp"
#include "gmmcore/mixture.hpp"
#include "gmmcore/random.hpp"
#include "gmmcore/sufficient_statistics.hpp"

namespace gmmcore {

enum class InitMethod { kmeans, kmeans_plusplus, random, random_from_data };

inline InitMethod parse_init_method(const std::string& name) {
  if (name == "kmeans") return InitMethod::kmeans;
  if (name == "k-means++") return InitMethod::kmeans_plusplus;
  if (name == "random") return InitMethod::random;
  if (name == "random_from_data") return InitMethod::random_from_data;
  throw std::invalid_argument("init_params must be 'kmeans', 'k-means++', 'random' or 'random_from_data', got '" +
                              name + "'");
}

struct FitOptions {
  CovarianceType covariance_type = CovarianceType::full;
  Index n_components = 1;
  double tol = 1e-3;
  double reg_covar = 1e-6;
  Index max_iter = 100;
  Index n_init = 1;
  InitMethod init = InitMethod::kmeans;
  std::uint64_t seed = 0;
  Index kmeans_max_iter = 300;
  double kmeans_tol = 1e-4;
};

// User-given starting values; an empty matrix means "not given". Given
// precisions come as both precisions_cholesky and covariances, shaped as in
// Mixture.
template <class T>
struct InitialParams {
  Vector<T> weights;
  RowMatrix<T> means;
  RowMatrix<T> covariances;
  RowMatrix<T> precisions_cholesky;

  bool complete() const { return weights.size() && means.size() && precisions_cholesky.size(); }
};

// Throws std::invalid_argument unless every option is in range: n_components,
// n_init >= 1; max_iter, kmeans_max_iter >= 0; tol, reg_covar, kmeans_tol
// finite and >= 0; the enums hold one of their values.
inline void check_fit_options(const FitOptions& opt) {
  covariance_type_name(opt.covariance_type);
  if (opt.init != InitMethod::kmeans && opt.init != InitMethod::kmeans_plusplus && opt.init != InitMethod::random &&
      opt.init != InitMethod::random_from_data)
    throw std::invalid_argument("init is not one of InitMethod's values");
  detail::require_at_least(opt.n_components, Index(1), "n_components");
  detail::require_at_least(opt.n_init, Index(1), "n_init");
  detail::require_at_least(opt.max_iter, Index(0), "max_iter");
  detail::require_at_least(opt.kmeans_max_iter, Index(0), "kmeans_max_iter");
  detail::require_at_least(opt.tol, 0.0, "tol");
  detail::require_at_least(opt.reg_covar, 0.0, "reg_covar");
  detail::require_at_least(opt.kmeans_tol, 0.0, "kmeans_tol");
}

// Throws std::invalid_argument unless each given part of `given` fits
// opt.n_components components of n_features features and opt.covariance_type
// (shapes as in Mixture, precisions_cholesky and covariances given together)
// and holds valid values (as check_mixture).
template <class T>
void check_initial_params(const InitialParams<T>& given, const FitOptions& opt, Index n_features) {
  const Index K = opt.n_components, D = n_features;
  if (given.weights.size()) detail::check_mixing_weights<T>(given.weights, K, "weights_init");
  if (given.means.size()) {
    detail::require_shape(given.means, "means_init", K, D);
    detail::require_finite(given.means, "means_init");
  }
  if (given.precisions_cholesky.size() || given.covariances.size()) {
    detail::check_precisions_cholesky<T>(given.precisions_cholesky, "precisions_cholesky_init", opt.covariance_type, K,
                                         D);
    detail::check_covariance_array<T>(given.covariances, "covariances_init", opt.covariance_type, K, D);
  }
}

// What a fit returns: the fitted model (a Mixture for maximum likelihood, a
// VariationalMixture for variational inference) and how the fit went.
template <class T, class Model = Mixture<T>>
struct FitResult {
  Model mixture;
  bool converged = false;
  Index n_iter = 0;
  double lower_bound = -std::numeric_limits<double>::infinity();
  std::vector<double> lower_bounds;
};

// Called after every EM iteration with (init, n_iter, lower_bound, change).
using IterationCallback = std::function<void(Index, Index, double, double)>;

// Data read in chunks: each call of a ChunkSource visits every chunk once, in
// order, as visit(x (n, D), sample_weight (empty, or n)); the chunks' arrays
// need only live for the visit.
template <class T>
using ChunkVisitor = std::function<void(const ConstMatrixRef<T>&, const ConstVectorRef<T>&)>;
template <class T>
using ChunkSource = std::function<void(const ChunkVisitor<T>&)>;

// One E-step over all the data: the statistics under mixture m of every
// sample, merged (docs/math.md#math-statistics).
template <class T>
using StatisticsPass = std::function<Statistics<T>(const Mixture<T>&)>;
// The statistics of initialisation `init`'s responsibilities (as
// detail::initial_statistics), drawing from rng, which is seeded for `init`.
template <class T>
using InitialStatistics = std::function<Statistics<T>(Index init, Rng& rng)>;

namespace detail {

// The random stream of start `init` of a fit seeded with `seed`: as
// scikit-learn's starts share one RandomState(seed), start i draws after the
// draws of the starts before it, plusplus_draws(K) each (what a k-means or
// k-means++ start draws; the other inits draw fewer). So the k-means++ seeds
// of every start equal scikit-learn's, and the starts can run in any order.
inline Rng start_rng(std::uint64_t seed, Index init, Index n_components) {
  Rng rng(seed);
  rng.skip_uniforms(std::uint64_t(init) * std::uint64_t(plusplus_draws(n_components)));
  return rng;
}

// Statistics of the responsibilities of initialisation opt.init on the sample
// (x, sample_weight), drawn from rng, around a point near each component (its
// centre or seed row), so that far-apart components do not cancel.
template <class T>
Statistics<T> initial_statistics(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight,
                                 const FitOptions& opt, Rng& rng) {
  const Index N = x.rows(), K = opt.n_components;
  std::vector<int> labels;        // kmeans: cluster of each row; seeds: component of each seed row, else -1
  std::uint64_t random_seed = 0;  // random: stream of uniform responsibilities
  RowMatrix<T> shifts(K, x.cols());
  const auto label_seeds = [&](const std::vector<Index>& seeds) {
    labels.assign(static_cast<size_t>(N), -1);
    for (Index k = 0; k < K; ++k) {
      const Index row = seeds[static_cast<size_t>(k)];
      labels[static_cast<size_t>(row)] = static_cast<int>(k);
      shifts.row(k) = x.row(row);
    }
  };
  switch (opt.init) {
    case InitMethod::kmeans: {
      const auto rows = kmeans_plusplus_unchecked<T>(x, sample_weight, K, rng);
      RowMatrix<T> centres(K, x.cols());
      for (Index k = 0; k < K; ++k) centres.row(k) = x.row(rows[static_cast<size_t>(k)]);
      auto result = kmeans_lloyd_unchecked<T>(x, sample_weight, centres, opt.kmeans_max_iter, opt.kmeans_tol);
      labels = std::move(result.labels);
      shifts = std::move(result.centres);
      break;
    }
    case InitMethod::kmeans_plusplus: label_seeds(kmeans_plusplus_unchecked<T>(x, sample_weight, K, rng)); break;
    case InitMethod::random_from_data: {
      // K distinct rows from exactly K draws: the j-th of the rows not taken.
      std::vector<Index> seeds, taken;
      for (Index k = 0; k < K; ++k) {
        Index row = rng.below(N - k);
        for (const Index t : taken) row += t <= row;  // ascending: skip the rows taken
        seeds.push_back(row);
        taken.insert(std::upper_bound(taken.begin(), taken.end(), row), row);
      }
      label_seeds(seeds);
      break;
    }
    case InitMethod::random:
      random_seed = rng.next();
      shifts = column_mean<T>(x).transpose().template cast<T>().replicate(K, 1);
      break;
  }
  return fixed_responsibility_stats<T>(x, sample_weight, shifts, opt.covariance_type,
                                       /*x_is_finite=*/true,  // the caller checked X
                                       labels.empty() ? nullptr : labels.data(), random_seed, 0);
}

// The starting mixture: the M-step of the initial responsibilities' statistics
// (weights normalised by the total sample weight, as scikit-learn's), with the
// given parts of `given` in place of the estimated ones; `given` alone when
// complete (then `initial` is not called).
template <class T>
Mixture<T> starting_mixture(const std::function<Statistics<T>()>& initial, const FitOptions& opt,
                            const InitialParams<T>& given) {
  Mixture<T> m;
  m.covariance_type = opt.covariance_type;
  if (!given.complete()) {
    const Statistics<T> stats = initial();
    m = estimator_m_step<T>(stats, T(opt.reg_covar), T(stats.total_weight));
  }
  if (given.weights.size()) m.weights = given.weights;
  if (given.means.size()) m.means = given.means;
  if (given.precisions_cholesky.size()) {
    m.precisions_cholesky = given.precisions_cholesky;
    m.covariances = given.covariances;
  }
  return m;
}

// Statistics of one E-step under m over every chunk of `source`, merged in
// chunk order (a plain sum: every chunk is taken around the means of m). Each
// chunk is checked (features, finite values, sample weights) unless the
// caller checked them all (chunks_checked); an error names the chunk's rows.
template <class T>
Statistics<T> pass_statistics(const ChunkSource<T>& source, const Mixture<T>& m, bool chunks_checked) {
  const FactoredParams<T> f = factorize_unchecked(m);
  Statistics<T> total = zero_statistics(m.covariance_type, m.means);
  source([&](const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight) {
    check_interrupt();
    const Index first = total.n_samples;
    try {
      if (!chunks_checked) {
        check_n_features(x.cols(), f.n_features(), "X");
        check_sample_weight<T>(sample_weight, x.rows());
      }
      const Statistics<T> part = e_step_stats(f, m.covariance_type, x, sample_weight, chunks_checked);
      merge_into(total, part);
    } catch (const std::invalid_argument& e) {
      if (chunks_checked) throw;
      std::ostringstream msg;
      msg << e.what() << " (in the chunk of rows " << first << " to " << first + x.rows() - 1 << ")";
      throw std::invalid_argument(msg.str());
    }
  });
  return total;
}

// Up to this N D K an in-memory fit runs its n_init starts at once.
constexpr Index kSpreadInitsWork = Index(1) << 24;

// One initialisation's EM iterations, and how many samples its first pass saw.
template <class T, class Model = Mixture<T>>
struct InitRun {
  FitResult<T, Model> result;
  Index n_samples = -1;
};

// The EM loop shared by every estimator, parameterised by its `update`:
//   update.start(initial) -> Model: the starting model, from initial() (the
//     statistics of an initialisation's responsibilities) unless the update
//     holds given or warm-start values;
//   update.e_step(model, extra) -> Statistics: one E-step pass over all the
//     data (extra: whatever else the update's lower bound needs of the pass);
//   update.m_step(model, stats, extra, weight_total) -> double: the M-step in
//     place, returning the lower bound.
// Every iteration runs one E-step pass, the M-step and the lower bound; the
// loop stops when the bound changes by less than tol. n_init starts, the first
// with the best lower bound kept (scikit-learn's rule). With spread_inits the
// starts run at once, one per OpenMP thread (each start's passes then on its
// own thread): each start's result does not depend on the threads, so neither
// does the fit's. Only for passes that may run concurrently, and without a
// callback.
template <class T, class Update>
auto run_em(const Update& update, const InitialStatistics<T>& initial, const FitOptions& opt, bool warm_start,
            double warm_lower_bound, const IterationCallback& callback, bool spread_inits = false) {
  using Model = std::decay_t<decltype(update.start(std::function<Statistics<T>()>()))>;
  const Index n_init = warm_start ? 1 : opt.n_init;
  // Start `init`; seen_samples: what an earlier start's first pass saw (-1: none).
  const auto run = [&](Index init, Index seen_samples) {
    InitRun<T, Model> out;
    double weight_total = 0;
    Rng rng = start_rng(opt.seed, init, opt.n_components);
    Model m = update.start([&] { return initial(init, rng); });
    double lower_bound = warm_start ? warm_lower_bound : -std::numeric_limits<double>::infinity();
    std::vector<double> lower_bounds;
    bool converged = false;
    Index n_iter = 0;
    for (n_iter = 1; n_iter <= opt.max_iter; ++n_iter) {
      check_interrupt();
      const double previous = lower_bound;
      double extra = 0;
      const Statistics<T> stats = update.e_step(m, extra);
      if (out.n_samples < 0) {
        out.n_samples = stats.n_samples;
        weight_total = stats.total_weight;
        if (out.n_samples < opt.n_components) {
          std::ostringstream msg;
          msg << "the data have " << out.n_samples << " samples, fewer than n_components = " << opt.n_components;
          throw std::invalid_argument(msg.str());
        }
        if (!(weight_total > 0 && std::isfinite(weight_total)))
          throw std::invalid_argument("sample_weight must have a positive, finite sum");
      }
      const Index expected = seen_samples >= 0 ? seen_samples : out.n_samples;
      if (stats.n_samples != expected) {
        std::ostringstream msg;
        msg << "the chunk source gave " << expected << " samples in its first pass but " << stats.n_samples
            << " in a later one: every pass must give the same data";
        throw std::invalid_argument(msg.str());
      }
      lower_bound = update.m_step(m, stats, extra, weight_total);
      lower_bounds.push_back(lower_bound);
      const double change = lower_bound - previous;
      if (callback) callback(init, n_iter, lower_bound, change);
      if (std::abs(change) < opt.tol) {
        converged = true;
        break;
      }
    }
    out.result.mixture = std::move(m);
    out.result.lower_bound = opt.max_iter == 0 ? -std::numeric_limits<double>::infinity() : lower_bound;
    out.result.lower_bounds = std::move(lower_bounds);
    out.result.n_iter = std::min(n_iter, opt.max_iter);
    out.result.converged = converged;
    return out;
  };
  std::vector<InitRun<T, Model>> runs(static_cast<size_t>(n_init));
  if (spread_inits && n_init > 1 && !callback) {
    for_each_chunk(n_init, true, [&](Index init) { runs[static_cast<size_t>(init)] = run(init, -1); });
  } else {
    for (Index init = 0; init < n_init; ++init) runs[static_cast<size_t>(init)] = run(init, runs[0].n_samples);
  }
  // As scikit-learn: the first best lower bound; without iterations, the last start.
  size_t best = opt.max_iter == 0 ? runs.size() - 1 : 0;
  for (size_t init = 1; init < runs.size() && opt.max_iter > 0; ++init)
    if (runs[init].result.lower_bound > runs[best].result.lower_bound) best = init;
  return std::move(runs[best].result);
}

// GaussianMixture's update for run_em: the starting mixture of
// starting_mixture, E-steps by `pass`, scikit-learn's M-step, and the lower
// bound L / W (the weighted mean log-likelihood).
template <class T>
struct MaximumLikelihoodUpdate {
  const StatisticsPass<T>& pass;
  const FitOptions& opt;
  const InitialParams<T>& given;

  Mixture<T> start(const std::function<Statistics<T>()>& initial) const {
    return starting_mixture<T>(initial, opt, given);
  }
  Statistics<T> e_step(const Mixture<T>& m, double&) const { return pass(m); }
  double m_step(Mixture<T>& m, const Statistics<T>& stats, double, double weight_total) const {
    m = estimator_m_step<T>(stats, T(opt.reg_covar), padded_weight_total(stats));
    return stats.log_likelihood / weight_total;
  }
};

// The maximum-likelihood EM loop of fit_mixture (run_em with
// MaximumLikelihoodUpdate): n_init starts from `initial`'s statistics unless
// `given` is complete.
template <class T>
FitResult<T> fit_em(const StatisticsPass<T>& pass, const InitialStatistics<T>& initial, const FitOptions& opt,
                    const InitialParams<T>& given, bool warm_start, double warm_lower_bound,
                    const IterationCallback& callback, bool spread_inits = false) {
  return run_em<T>(MaximumLikelihoodUpdate<T>{pass, opt, given}, initial, opt, warm_start, warm_lower_bound, callback,
                   spread_inits);
}

// Checks shared by both fit_mixture overloads.
template <class T>
void check_fit_arguments(const FitOptions& opt, const InitialParams<T>& given, Index n_features, bool warm_start,
                         double warm_lower_bound) {
  check_fit_options(opt);
  if (n_features < 1) throw std::invalid_argument("X must have at least one feature (column)");
  check_initial_params<T>(given, opt, n_features);
  if (warm_start && !given.complete())
    throw std::invalid_argument("warm_start needs the current weights, means and precisions_cholesky");
  if (!std::isfinite(warm_lower_bound) && warm_lower_bound != -std::numeric_limits<double>::infinity())
    throw std::invalid_argument("warm_lower_bound must be finite or -infinity");
}

// The initialisation sample (or all of X) must hold n_components samples and
// positive weight, with finite values.
template <class T>
void check_init_sample(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight, const FitOptions& opt,
                       const char* name) {
  if (x.rows() < opt.n_components) {
    std::ostringstream msg;
    msg << name << " has " << x.rows() << " samples, fewer than n_components = " << opt.n_components;
    throw std::invalid_argument(msg.str());
  }
  check_sample_weight<T>(sample_weight, x.rows());
  const double weight_total = total_weight<T>(sample_weight, x.rows());
  if (!(weight_total > 0 && std::isfinite(weight_total)))
    throw std::invalid_argument("sample_weight must have a positive, finite sum");
  check_finite<T>(x, name);
}

}  // namespace detail

// Fits a mixture to X (N, D) with optional sample weights (N) as scikit-learn's
// GaussianMixture.fit does. With warm_start, `given` must be complete, one
// initialisation is run and the lower bound starts at warm_lower_bound.
template <class T>
FitResult<T> fit_mixture(const ConstMatrixRef<T>& x, const ConstVectorRef<T>& sample_weight, const FitOptions& opt,
                         const InitialParams<T>& given, bool warm_start, double warm_lower_bound,
                         const IterationCallback& callback = {}) {
  detail::check_fit_arguments(opt, given, x.cols(), warm_start, warm_lower_bound);
  // Once, before k-means and the EM passes, which then skip their own checks.
  detail::check_init_sample<T>(x, sample_weight, opt, "X");
  const ChunkSource<T> whole = [&](const ChunkVisitor<T>& visit) { visit(x, sample_weight); };
  // Small data: the starts run at once (one pass could not keep the threads busy).
  const bool spread = x.rows() * x.cols() * opt.n_components <= detail::kSpreadInitsWork;
  return detail::fit_em<T>([&](const Mixture<T>& m) { return detail::pass_statistics<T>(whole, m, true); },
                           [&](Index, Rng& rng) { return detail::initial_statistics<T>(x, sample_weight, opt, rng); },
                           opt, given, warm_start, warm_lower_bound, callback, spread);
}

// The same fit over data read in chunks (docs/math.md#math-statistics): every
// EM iteration calls `source` once, which must visit the same samples each
// time; they are checked as they come. Unless `given` is complete, the
// initialisation (init_params) runs on the sample (init_x, init_sample_weight)
// of the data, which may be all of it; with complete `given` the sample may be
// empty. The result equals fit_mixture's on the concatenated chunks up to the
// rounding of the sums' order.
template <class T>
FitResult<T> fit_mixture(const ChunkSource<T>& source, Index n_features, const ConstMatrixRef<T>& init_x,
                         const ConstVectorRef<T>& init_sample_weight, const FitOptions& opt,
                         const InitialParams<T>& given, bool warm_start, double warm_lower_bound,
                         const IterationCallback& callback = {}) {
  detail::check_fit_arguments(opt, given, n_features, warm_start, warm_lower_bound);
  if (!source) throw std::invalid_argument("the chunk source is empty");
  if (!given.complete()) {
    detail::check_n_features(init_x.cols(), n_features, "the initialisation sample");
    detail::check_init_sample<T>(init_x, init_sample_weight, opt, "the initialisation sample");
  }
  return detail::fit_em<T>(
      [&](const Mixture<T>& m) { return detail::pass_statistics<T>(source, m, false); },
      [&](Index, Rng& rng) { return detail::initial_statistics<T>(init_x, init_sample_weight, opt, rng); }, opt, given,
      warm_start, warm_lower_bound, callback);
}

// The same fit over data that only `pass` sees (held in blocks elsewhere, as
// by gmmcore.dask): every EM iteration calls pass(m) once for the merged
// E-step statistics of all the data under m, and each initialisation (unless
// `given` is complete) calls initial(init, rng) for the statistics of its
// starting responsibilities, whose M-step with weights normalised by their
// total_weight is the starting mixture. Both results are checked (shape,
// values, positive weight) before use. Equals fit_mixture on the data
// whenever the statistics do, up to the rounding of their sums' order.
template <class T>
FitResult<T> fit_mixture(const StatisticsPass<T>& pass, const InitialStatistics<T>& initial, Index n_features,
                         const FitOptions& opt, const InitialParams<T>& given, bool warm_start, double warm_lower_bound,
                         const IterationCallback& callback = {}) {
  detail::check_fit_arguments(opt, given, n_features, warm_start, warm_lower_bound);
  if (!pass) throw std::invalid_argument("the statistics pass is empty");
  if (!given.complete() && !initial) throw std::invalid_argument("the initial statistics are empty");
  const auto checked = [&](Statistics<T> st, const char* name) {
    check_statistics(st, name);
    if (st.covariance_type != opt.covariance_type || st.n_components() != opt.n_components ||
        st.n_features() != n_features) {
      std::ostringstream msg;
      msg << name << " have covariance_type '" << covariance_type_name(st.covariance_type) << "' with "
          << st.n_components() << " components of " << st.n_features() << " features, expected '"
          << covariance_type_name(opt.covariance_type) << "' with " << opt.n_components << " of " << n_features;
      throw std::invalid_argument(msg.str());
    }
    return st;
  };
  return detail::fit_em<T>([&](const Mixture<T>& m) { return checked(pass(m), "the pass's statistics"); },
                           [&](Index init, Rng& rng) {
                             Statistics<T> st = checked(initial(init, rng), "the initial statistics");
                             if (!(st.weight_sums.sum() > 0 && st.total_weight > 0))
                               throw std::invalid_argument("the initial statistics hold no weight");
                             return st;
                           },
                           opt, given, warm_start, warm_lower_bound, callback);
}

}  // namespace gmmcore
