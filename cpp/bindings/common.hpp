#pragma once
// What every binding file shares: the interruptible call guard and the
// conversions of argument arrays into the core's parameter types.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gmmcore/gmmcore.hpp"

namespace gmmcore_bindings {

namespace py = pybind11;

// Call guard of every compute function: while the call runs without the GIL,
// the core checks a stop token between blocks and iterations, and the calling
// thread polls it every 50 ms by taking the GIL for PyErr_CheckSignals (which
// only acts on the main thread). A pending Ctrl-C (or Jupyter's interrupt)
// thus stops the call, and the KeyboardInterrupt that PyErr_CheckSignals set
// is what Python sees (the Interrupted translator below keeps it).
class Interruptible {
 public:
  Interruptible() : scope_(token_) {}

 private:
  gmmcore::StopToken token_{[] {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;
  }};
  gmmcore::InterruptScope scope_;
};

using ReleaseInterruptible = py::call_guard<Interruptible, py::gil_scoped_release>;

template <class T>
gmmcore::Params<T> make_params(const gmmcore::ConstVectorRef<T>& weights, const gmmcore::ConstMatrixRef<T>& means,
                               const gmmcore::ConstMatrixRef<T>& covariances) {
  return {weights, means, covariances};
}

template <class T>
gmmcore::Mixture<T> make_mixture(const std::string& covariance_type, const gmmcore::ConstVectorRef<T>& weights,
                                 const gmmcore::ConstMatrixRef<T>& means,
                                 const gmmcore::ConstMatrixRef<T>& precisions_cholesky) {
  gmmcore::Mixture<T> mixture;
  mixture.covariance_type = gmmcore::parse_covariance_type(covariance_type);
  mixture.weights = weights;
  mixture.means = means;
  mixture.precisions_cholesky = precisions_cholesky;
  return mixture;
}

// The FitOptions of the settings every fit binding takes (k-means' own options at their defaults).
inline gmmcore::FitOptions fit_options(const std::string& covariance_type, gmmcore::Index n_components, double tol,
                                       double reg_covar, gmmcore::Index max_iter, gmmcore::Index n_init,
                                       const std::string& init, std::uint64_t seed) {
  gmmcore::FitOptions opt;
  opt.covariance_type = gmmcore::parse_covariance_type(covariance_type);
  opt.n_components = n_components;
  opt.tol = tol;
  opt.reg_covar = reg_covar;
  opt.max_iter = max_iter;
  opt.n_init = n_init;
  opt.init = gmmcore::parse_init_method(init);
  opt.seed = seed;
  return opt;
}

// A Python callback(init, n_iter, lower_bound, change), or None, as the core's
// IterationCallback: called from a fit running without the GIL, it takes it.
// It refers to `callback`, which must outlive the fit.
inline gmmcore::IterationCallback iteration_callback(const py::object& callback) {
  if (callback.is_none()) return {};
  return [&callback](gmmcore::Index init, gmmcore::Index n_iter, double lower_bound, double change) {
    py::gil_scoped_acquire acquire;
    callback(init, n_iter, lower_bound, change);
  };
}

// Binds <prefix>_predict_proba, <prefix>_score_samples and <prefix>_predict of
// (covariance_type, <weights_name>, means, precisions_cholesky, X): the
// evaluation of the mixture that factorize(covariance_type, weights, means,
// precisions_cholesky) -> FactoredParams<T> makes of the first four.
template <class T, class Factorize>
void bind_evaluations(py::module_& m, const std::string& prefix, const char* weights_name, Factorize factorize) {
  using gmmcore::ConstMatrixRef;
  using gmmcore::ConstVectorRef;
  const auto bind = [&](const std::string& name, auto compute) {
    m.def((prefix + name).c_str(),
          [factorize, compute](const std::string& type, ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> pc,
                               ConstMatrixRef<T> x) { return compute(factorize(type, w, mu, pc), x); },
          py::arg("covariance_type"), py::arg(weights_name).noconvert(), py::arg("means").noconvert(),
          py::arg("precisions_cholesky").noconvert(), py::arg("X").noconvert(), ReleaseInterruptible());
  };
  bind("_predict_proba", [](const auto& f, const auto& x) { return gmmcore::expectation(f, x); });
  bind("_score_samples", [](const auto& f, const auto& x) { return gmmcore::log_likelihood(f, x); });
  bind("_predict", [](const auto& f, const auto& x) { return gmmcore::predict(f, x); });
}

// A 1-D int32 array of labels (one per row) as the core's std::vector<int>.
inline std::vector<int> labels_vector(const py::array_t<int, py::array::c_style>& labels) {
  if (labels.ndim() != 1) throw std::invalid_argument("labels must be a 1-D array");
  return std::vector<int>(labels.data(), labels.data() + labels.shape(0));
}

}  // namespace gmmcore_bindings
