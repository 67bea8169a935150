#pragma once
// Bindings of gmmcore/variational.hpp and variational_fit.hpp for
// gmmcore.BayesianGaussianMixture. A posterior travels as the tuple
// (weight_concentration, mean_precision, means, degrees_of_freedom,
// covariances, precisions_cholesky, weights), arrays C-contiguous in the
// fit's dtype, covariances in the native (rows, cols) layout; priors in
// float64 whatever the dtype.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "common.hpp"
#include "gmmcore/gmmcore.hpp"
#include "statistics_bindings.hpp"

namespace gmmcore_bindings {

namespace py = pybind11;

template <class T>
using PosteriorTuple = std::tuple<gmmcore::RowMatrix<T>, gmmcore::Vector<T>, gmmcore::RowMatrix<T>, gmmcore::Vector<T>,
                                  gmmcore::RowMatrix<T>, gmmcore::RowMatrix<T>, gmmcore::Vector<T>>;

template <class T>
PosteriorTuple<T> posterior_tuple(const gmmcore::VariationalMixture<T>& vm) {
  return {vm.weight_concentration, vm.mean_precision,      vm.means,  vm.degrees_of_freedom,
          vm.covariances,          vm.precisions_cholesky, vm.weights};
}

template <class T>
gmmcore::VariationalMixture<T> posterior_from(const std::string& covariance_type, const std::string& weight_prior,
                                              const PosteriorTuple<T>& t) {
  gmmcore::VariationalMixture<T> vm;
  vm.covariance_type = gmmcore::parse_covariance_type(covariance_type);
  vm.weight_prior = gmmcore::parse_weight_prior(weight_prior);
  std::tie(vm.weight_concentration, vm.mean_precision, vm.means, vm.degrees_of_freedom, vm.covariances,
           vm.precisions_cholesky, vm.weights) = t;
  return vm;
}

inline gmmcore::VariationalPriors make_priors(const std::string& weight_prior, double weight_concentration,
                                              double mean_precision, const Eigen::Ref<const Eigen::VectorXd>& mean,
                                              double degrees_of_freedom,
                                              const Eigen::Ref<const gmmcore::RowMatrix<double>>& covariance) {
  gmmcore::VariationalPriors p;
  p.weight_prior = gmmcore::parse_weight_prior(weight_prior);
  p.weight_concentration = weight_concentration;
  p.mean_precision = mean_precision;
  p.mean = mean;
  p.degrees_of_freedom = degrees_of_freedom;
  p.covariance = covariance;
  return p;
}

template <class T>
void bind_variational_dtype(py::module_& m) {
  using gmmcore::ConstMatrixRef;
  using gmmcore::ConstVectorRef;
  using gmmcore::Index;
  // Returns (posterior tuple, converged, n_iter, lower_bound, lower_bounds).
  m.def(
      "fit_variational",
      [](ConstMatrixRef<T> x, ConstVectorRef<T> sample_weight, const std::string& covariance_type, Index n_components,
         double tol, double reg_covar, Index max_iter, Index n_init, const std::string& init, std::uint64_t seed,
         const std::string& weight_prior, double weight_concentration_prior, double mean_precision_prior,
         const Eigen::Ref<const Eigen::VectorXd>& mean_prior, double degrees_of_freedom_prior,
         const Eigen::Ref<const gmmcore::RowMatrix<double>>& covariance_prior,
         const std::optional<PosteriorTuple<T>>& warm, double warm_lower_bound, const py::object& callback) {
        const gmmcore::FitOptions opt =
            fit_options(covariance_type, n_components, tol, reg_covar, max_iter, n_init, init, seed);
        const gmmcore::VariationalPriors priors =
            make_priors(weight_prior, weight_concentration_prior, mean_precision_prior, mean_prior,
                        degrees_of_freedom_prior, covariance_prior);
        std::optional<gmmcore::VariationalMixture<T>> start;
        if (warm) start = posterior_from<T>(covariance_type, weight_prior, *warm);
        const gmmcore::IterationCallback report = iteration_callback(callback);
        gmmcore::FitResult<T, gmmcore::VariationalMixture<T>> r;
        {
          Interruptible interruptible;
          py::gil_scoped_release unlocked;
          r = gmmcore::fit_variational<T>(x, sample_weight, opt, priors, start ? &*start : nullptr, warm_lower_bound,
                                          report);
        }
        return py::make_tuple(posterior_tuple(r.mixture), r.converged, r.n_iter, r.lower_bound, r.lower_bounds);
      },
      py::arg("X").noconvert(), py::arg("sample_weight").noconvert(), py::arg("covariance_type"),
      py::arg("n_components"), py::arg("tol"), py::arg("reg_covar"), py::arg("max_iter"), py::arg("n_init"),
      py::arg("init_params"), py::arg("seed"), py::arg("weight_concentration_prior_type"),
      py::arg("weight_concentration_prior"), py::arg("mean_precision_prior"), py::arg("mean_prior").noconvert(),
      py::arg("degrees_of_freedom_prior"), py::arg("covariance_prior").noconvert(), py::arg("warm_start"),
      py::arg("warm_lower_bound"), py::arg("callback"));
  // The offsets c_k (float64) and the lower bound of a posterior.
  m.def(
      "variational_log_weights",
      [](const std::string& covariance_type, const std::string& weight_prior, const PosteriorTuple<T>& posterior) {
        const auto vm = posterior_from<T>(covariance_type, weight_prior, posterior);
        gmmcore::check_variational_mixture(vm);
        return Eigen::VectorXd(gmmcore::variational_log_weights(vm));
      },
      py::arg("covariance_type"), py::arg("weight_concentration_prior_type"), py::arg("posterior"));
  m.def(
      "variational_lower_bound",
      [](const std::string& covariance_type, const std::string& weight_prior, const PosteriorTuple<T>& posterior,
         double sum_r_log_r) {
        const auto vm = posterior_from<T>(covariance_type, weight_prior, posterior);
        gmmcore::check_variational_mixture(vm);
        return gmmcore::variational_lower_bound(vm, sum_r_log_r);
      },
      py::arg("covariance_type"), py::arg("weight_concentration_prior_type"), py::arg("posterior"),
      py::arg("sum_r_log_r"));
  // Evaluation of a mixture with log-weights in place of weights (the variational offsets).
  bind_evaluations<T>(
      m, "offset", "log_weights", [](const std::string& type, const auto& log_w, const auto& mu, const auto& pc) {
        return gmmcore::factorize_log_weights<T>(make_mixture<T>(type, gmmcore::Vector<T>(), mu, pc), log_w);
      });
}

inline void bind_variational(py::module_& m) {
  bind_variational_dtype<float>(m);
  bind_variational_dtype<double>(m);
  m.def("digamma", [](double x) { return gmmcore::digamma(x); }, py::arg("x"));
  // The variational M-step of given statistics (a tuple as in
  // statistics_bindings.hpp, whose dtype picks the overload).
  m.def(
      "variational_m_step",
      [](const py::tuple& statistics, double reg_covar, const std::string& weight_prior,
         double weight_concentration_prior, double mean_precision_prior,
         const Eigen::Ref<const Eigen::VectorXd>& mean_prior, double degrees_of_freedom_prior,
         const Eigen::Ref<const gmmcore::RowMatrix<double>>& covariance_prior) {
        const gmmcore::VariationalPriors priors =
            make_priors(weight_prior, weight_concentration_prior, mean_precision_prior, mean_prior,
                        degrees_of_freedom_prior, covariance_prior);
        return by_statistics_dtype(statistics, [&](auto t) {
          using T = decltype(t);
          const gmmcore::Statistics<T> st = statistics_from<T>(statistics);
          return py::cast(posterior_tuple(gmmcore::variational_m_step<T>(st, priors, T(reg_covar))));
        });
      },
      py::arg("statistics"), py::arg("reg_covar"), py::arg("weight_concentration_prior_type"),
      py::arg("weight_concentration_prior"), py::arg("mean_precision_prior"), py::arg("mean_prior").noconvert(),
      py::arg("degrees_of_freedom_prior"), py::arg("covariance_prior").noconvert());
}

}  // namespace gmmcore_bindings
