// gmmcore._native: thin pybind11 bindings over the header-only core.
// The Python layer (python/gmmcore) validates and converts arguments; here every
// array must already be C-contiguous with the overload's dtype (noconvert: a
// hidden copy is an error, not a silent cost). Covariances travel as
// (K, D*D) views of the (K, D, D) arrays. The GIL is released around all work,
// which polls for Python signals (Ctrl-C) as it goes: see Interruptible.
#include <pybind11/eigen.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>

#include "gmmcore/gmmcore.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

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

// The estimator's kernels: fit, and evaluation of a fitted mixture given by
// (covariance_type, weights, means, precisions_cholesky).
template <class T>
void bind_mixture(py::module_& m) {
  using gmmcore::ConstMatrixRef;
  using gmmcore::ConstVectorRef;
  using gmmcore::Index;
  const auto release = ReleaseInterruptible();
  const auto mixture_args =
      std::make_tuple(py::arg("covariance_type"), py::arg("weights").noconvert(), py::arg("means").noconvert(),
                      py::arg("precisions_cholesky").noconvert(), py::arg("X").noconvert());
  auto evaluation = [&](const char* name, auto compute) {
    std::apply(
        [&](auto... args) {
          m.def(
              name,
              [compute](const std::string& type, ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> pc,
                        ConstMatrixRef<T> x) {
                return compute(gmmcore::factorize(make_mixture<T>(type, w, mu, pc)), x);
              },
              args..., release);
        },
        mixture_args);
  };
  evaluation("mixture_predict_proba", [](const auto& f, const auto& x) { return gmmcore::expectation(f, x); });
  evaluation("mixture_score_samples", [](const auto& f, const auto& x) { return gmmcore::log_likelihood(f, x); });
  evaluation("mixture_predict", [](const auto& f, const auto& x) { return gmmcore::predict(f, x); });

  m.def(
      "fit_mixture",
      [](ConstMatrixRef<T> x, ConstVectorRef<T> sample_weight, const std::string& covariance_type, Index n_components,
         double tol, double reg_covar, Index max_iter, Index n_init, const std::string& init, std::uint64_t seed,
         ConstVectorRef<T> weights_init, ConstMatrixRef<T> means_init, ConstMatrixRef<T> covariances_init,
         ConstMatrixRef<T> precisions_cholesky_init, bool warm_start, double warm_lower_bound,
         const py::object& callback) {
        gmmcore::FitOptions opt;
        opt.covariance_type = gmmcore::parse_covariance_type(covariance_type);
        opt.n_components = n_components;
        opt.tol = tol;
        opt.reg_covar = reg_covar;
        opt.max_iter = max_iter;
        opt.n_init = n_init;
        opt.init = gmmcore::parse_init_method(init);
        opt.seed = seed;
        gmmcore::InitialParams<T> given{weights_init, means_init, covariances_init, precisions_cholesky_init};
        gmmcore::IterationCallback report;
        if (!callback.is_none())
          report = [&callback](Index init, Index n_iter, double lower_bound, double change) {
            py::gil_scoped_acquire acquire;
            callback(init, n_iter, lower_bound, change);
          };
        gmmcore::FitResult<T> r;
        {
          Interruptible interruptible;
          py::gil_scoped_release release;
          r = gmmcore::fit_mixture<T>(x, sample_weight, opt, given, warm_start, warm_lower_bound, report);
        }
        return py::make_tuple(r.mixture.weights, r.mixture.means, r.mixture.covariances, r.mixture.precisions_cholesky,
                              r.converged, r.n_iter, r.lower_bound, r.lower_bounds);
      },
      py::arg("X").noconvert(), py::arg("sample_weight").noconvert(), py::arg("covariance_type"),
      py::arg("n_components"), py::arg("tol"), py::arg("reg_covar"), py::arg("max_iter"), py::arg("n_init"),
      py::arg("init_params"), py::arg("seed"), py::arg("weights_init").noconvert(), py::arg("means_init").noconvert(),
      py::arg("covariances_init").noconvert(), py::arg("precisions_cholesky_init").noconvert(), py::arg("warm_start"),
      py::arg("warm_lower_bound"), py::arg("callback"));
  if constexpr (std::is_same_v<T, double>)  // dtype-independent: bind once
    m.def("n_parameters", [](const std::string& covariance_type, Index n_components, Index n_features) {
      return gmmcore::n_parameters(gmmcore::parse_covariance_type(covariance_type), n_components, n_features);
    });
}

template <class T>
void bind_dtype(py::module_& m) {
  using gmmcore::ConstMatrixRef;
  using gmmcore::ConstVectorRef;
  using gmmcore::Index;
  const auto release = ReleaseInterruptible();
  const auto w = py::arg("weights").noconvert();
  const auto mu = py::arg("means").noconvert();
  const auto cov = py::arg("covariances").noconvert();
  const auto x = py::arg("X").noconvert();

  m.def(
      "forward",
      [](ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> cov, ConstMatrixRef<T> x) {
        return gmmcore::forward(gmmcore::factorize(make_params<T>(w, mu, cov)), x);
      },
      w, mu, cov, x, release);
  m.def(
      "expectation",
      [](ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> cov, ConstMatrixRef<T> x) {
        return gmmcore::expectation(gmmcore::factorize(make_params<T>(w, mu, cov)), x);
      },
      w, mu, cov, x, release);
  m.def(
      "log_likelihood",
      [](ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> cov, ConstMatrixRef<T> x) {
        return gmmcore::log_likelihood(gmmcore::factorize(make_params<T>(w, mu, cov)), x);
      },
      w, mu, cov, x, release);
  m.def(
      "negative_log_likelihood",
      [](ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> cov, ConstMatrixRef<T> x) {
        return gmmcore::negative_log_likelihood(gmmcore::factorize(make_params<T>(w, mu, cov)), x);
      },
      w, mu, cov, x, release);
  m.def(
      "backward",
      [](ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> cov, ConstMatrixRef<T> x,
         ConstMatrixRef<T> grad_output) {
        auto g = gmmcore::backward(gmmcore::factorize(make_params<T>(w, mu, cov)), x, grad_output);
        return std::make_tuple(std::move(g.weights), std::move(g.means), std::move(g.covariances), std::move(g.input));
      },
      w, mu, cov, x, py::arg("grad_output").noconvert(), release);
  m.def(
      "em_step",
      [](ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> cov, ConstMatrixRef<T> x, double jitter) {
        gmmcore::detail::check_jitter(jitter);
        auto r = gmmcore::em_step(make_params<T>(w, mu, cov), x, static_cast<T>(jitter));
        return std::make_tuple(std::move(r.params.weights), std::move(r.params.means), std::move(r.params.covariances),
                               r.log_likelihood);
      },
      w, mu, cov, x, py::arg("jitter"), release);
  m.def(
      "em_train",
      [](ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> cov, ConstMatrixRef<T> x, Index epochs,
         double jitter) {
        gmmcore::detail::check_jitter(jitter);
        auto p = gmmcore::em_train(make_params<T>(w, mu, cov), x, epochs, static_cast<T>(jitter));
        return std::make_tuple(std::move(p.weights), std::move(p.means), std::move(p.covariances));
      },
      w, mu, cov, x, py::arg("epochs"), py::arg("jitter"), release);
  bind_mixture<T>(m);
  m.def(
      "logsumexp_rows", [](ConstMatrixRef<T> a) { return gmmcore::logsumexp_rows<T>(a); }, py::arg("a").noconvert(),
      release);
}

}  // namespace

// CMake compiles this file once per ISA level under different module names.
#ifndef GMMCORE_MODULE_NAME
#define GMMCORE_MODULE_NAME _native
#endif
PYBIND11_MODULE(GMMCORE_MODULE_NAME, m) {
  m.doc() = "gmmcore native core (float32 and float64 overloads of every function)";
  py::register_exception<gmmcore::NotPositiveDefiniteError>(m, "NotPositiveDefiniteError",
                                                            py::module_::import("numpy.linalg").attr("LinAlgError"));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const gmmcore::Interrupted& e) {
      // Normally PyErr_CheckSignals has set KeyboardInterrupt already.
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    }
  });
#ifdef _OPENMP
  m.attr("openmp") = true;
#else
  m.attr("openmp") = false;
#endif
  bind_dtype<float>(m);
  bind_dtype<double>(m);
}
