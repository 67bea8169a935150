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
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>

#include "common.hpp"
#include "gmmcore/gmmcore.hpp"
#include "kmeans_bindings.hpp"
#include "statistics_bindings.hpp"
#include "variational_bindings.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using gmmcore_bindings::bind_evaluations;
using gmmcore_bindings::fit_options;
using gmmcore_bindings::Interruptible;
using gmmcore_bindings::iteration_callback;
using gmmcore_bindings::make_mixture;
using gmmcore_bindings::make_params;
using gmmcore_bindings::ReleaseInterruptible;

namespace {

// Runs fit(opt, given, report) without the GIL, interruptibly, with the
// options parsed from the binding's settings; returns fit_mixture's result as
// (weights, means, covariances, precisions_cholesky, converged, n_iter,
// lower_bound, lower_bounds).
template <class T, class Fit>
py::tuple run_fit(Fit&& fit, const std::string& covariance_type, gmmcore::Index n_components, double tol,
                  double reg_covar, gmmcore::Index max_iter, gmmcore::Index n_init, const std::string& init,
                  std::uint64_t seed, gmmcore::ConstVectorRef<T> weights_init, gmmcore::ConstMatrixRef<T> means_init,
                  gmmcore::ConstMatrixRef<T> covariances_init, gmmcore::ConstMatrixRef<T> precisions_cholesky_init,
                  bool /*warm_start*/, double /*warm_lower_bound*/, const py::object& callback) {
  const gmmcore::FitOptions opt =
      fit_options(covariance_type, n_components, tol, reg_covar, max_iter, n_init, init, seed);
  const gmmcore::InitialParams<T> given{weights_init, means_init, covariances_init, precisions_cholesky_init};
  const gmmcore::IterationCallback report = iteration_callback(callback);
  gmmcore::FitResult<T> r;
  {
    Interruptible interruptible;
    py::gil_scoped_release release;
    r = fit(opt, given, report);
  }
  return py::make_tuple(r.mixture.weights, r.mixture.means, r.mixture.covariances, r.mixture.precisions_cholesky,
                        r.converged, r.n_iter, r.lower_bound, r.lower_bounds);
}

// A ChunkSource over a Python callable that returns a fresh iterator of
// (X, sample_weight) pairs, C-contiguous arrays of T (2-D, and 1-D, empty for
// none: gmmcore._chunks prepares them). The iterator runs with the GIL; each
// visit, without. A chunk is released before the next is read, so that only
// one is alive at a time (pybind11's iterator would keep the previous one).
template <class T>
gmmcore::ChunkSource<T> python_chunks(const py::object& source) {
  using Array = py::array_t<T, py::array::c_style>;
  return [&source](const gmmcore::ChunkVisitor<T>& visit) {
    py::gil_scoped_acquire gil;
    const py::iterator chunks = py::iter(source());
    while (true) {
      const auto chunk = py::reinterpret_steal<py::object>(PyIter_Next(chunks.ptr()));
      if (!chunk) {
        if (PyErr_Occurred()) throw py::error_already_set();
        return;
      }
      if (!py::isinstance<py::tuple>(chunk) || py::len(chunk) != 2 || !py::isinstance<Array>(chunk[py::int_(0)]) ||
          !py::isinstance<Array>(chunk[py::int_(1)]))
        throw std::invalid_argument(
            "a chunk must be a pair (X, sample_weight) of C-contiguous arrays of the fit's dtype");
      const auto x = chunk[py::int_(0)].template cast<Array>(), w = chunk[py::int_(1)].template cast<Array>();
      if (x.ndim() != 2 || w.ndim() != 1)
        throw std::invalid_argument("a chunk's X must be 2-D and its sample_weight 1-D");
      const Eigen::Map<const gmmcore::RowMatrix<T>> xm(x.data(), x.shape(0), x.shape(1));
      const Eigen::Map<const gmmcore::Vector<T>> wm(w.data(), w.shape(0));
      py::gil_scoped_release release;
      visit(xm, wm);
    }
  };
}

// The estimator's kernels: fit, and evaluation of a fitted mixture given by
// (covariance_type, weights, means, precisions_cholesky).
template <class T>
void bind_mixture(py::module_& m) {
  using gmmcore::ConstMatrixRef;
  using gmmcore::ConstVectorRef;
  using gmmcore::Index;
  bind_evaluations<T>(m, "mixture", "weights",
                      [](const std::string& type, const auto& w, const auto& mu, const auto& pc) {
                        return gmmcore::factorize(make_mixture<T>(type, w, mu, pc));
                      });

  // fit_mixture and fit_mixture_chunked take the data, then these settings.
#define GMMCORE_FIT_SETTINGS                                                                                          \
  const std::string &covariance_type, Index n_components, double tol, double reg_covar, Index max_iter, Index n_init, \
      const std::string &init, std::uint64_t seed, ConstVectorRef<T> weights_init, ConstMatrixRef<T> means_init,      \
      ConstMatrixRef<T> covariances_init, ConstMatrixRef<T> precisions_cholesky_init, bool warm_start,                \
      double warm_lower_bound, const py::object &callback
#define GMMCORE_FIT_SETTING_NAMES                                                                        \
  covariance_type, n_components, tol, reg_covar, max_iter, n_init, init, seed, weights_init, means_init, \
      covariances_init, precisions_cholesky_init, warm_start, warm_lower_bound, callback
  const auto settings =
      std::make_tuple(py::arg("covariance_type"), py::arg("n_components"), py::arg("tol"), py::arg("reg_covar"),
                      py::arg("max_iter"), py::arg("n_init"), py::arg("init_params"), py::arg("seed"),
                      py::arg("weights_init").noconvert(), py::arg("means_init").noconvert(),
                      py::arg("covariances_init").noconvert(), py::arg("precisions_cholesky_init").noconvert(),
                      py::arg("warm_start"), py::arg("warm_lower_bound"), py::arg("callback"));
  std::apply(
      [&](auto... args) {
        m.def(
            "fit_mixture",
            [](ConstMatrixRef<T> x, ConstVectorRef<T> sample_weight, GMMCORE_FIT_SETTINGS) {
              return run_fit<T>(
                  [&](const auto& opt, const auto& given, const auto& report) {
                    return gmmcore::fit_mixture<T>(x, sample_weight, opt, given, warm_start, warm_lower_bound, report);
                  },
                  GMMCORE_FIT_SETTING_NAMES);
            },
            py::arg("X").noconvert(), py::arg("sample_weight").noconvert(), args...);
        m.def(
            "fit_mixture_chunked",
            [](const py::object& source, Index n_features, ConstMatrixRef<T> init_x,
               ConstVectorRef<T> init_sample_weight, GMMCORE_FIT_SETTINGS) {
              const gmmcore::ChunkSource<T> chunks = python_chunks<T>(source);
              return run_fit<T>(
                  [&](const auto& opt, const auto& given, const auto& report) {
                    return gmmcore::fit_mixture<T>(chunks, n_features, init_x, init_sample_weight, opt, given,
                                                   warm_start, warm_lower_bound, report);
                  },
                  GMMCORE_FIT_SETTING_NAMES);
            },
            py::arg("source"), py::arg("n_features"), py::arg("init_X").noconvert(),
            py::arg("init_sample_weight").noconvert(), args...);
        // The fit over data only Python sees (gmmcore.dask): statistics_pass(weights,
        // means, covariances, precisions_cholesky) and initial_statistics(init, seed)
        // return statistics tuples, called with the GIL.
        m.def(
            "fit_mixture_distributed",
            [](const py::object& statistics_pass, const py::object& initial_statistics, Index n_features,
               GMMCORE_FIT_SETTINGS) {
              const gmmcore::StatisticsPass<T> pass = [&](const gmmcore::Mixture<T>& mixture) {
                py::gil_scoped_acquire gil;
                return gmmcore_bindings::statistics_from<T>(
                    statistics_pass(mixture.weights, mixture.means, mixture.covariances, mixture.precisions_cholesky));
              };
              const gmmcore::InitialStatistics<T> initial = [&](Index init, gmmcore::Rng& rng) {
                const std::uint64_t seed = rng.next();
                py::gil_scoped_acquire gil;
                return gmmcore_bindings::statistics_from<T>(initial_statistics(init, seed));
              };
              return run_fit<T>(
                  [&](const auto& opt, const auto& given, const auto& report) {
                    return gmmcore::fit_mixture<T>(pass, initial, n_features, opt, given, warm_start, warm_lower_bound,
                                                   report);
                  },
                  GMMCORE_FIT_SETTING_NAMES);
            },
            py::arg("statistics_pass"), py::arg("initial_statistics"), py::arg("n_features"), args...);
      },
      settings);
#undef GMMCORE_FIT_SETTINGS
#undef GMMCORE_FIT_SETTING_NAMES
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
  // covariances_gradient / input_gradient = False skip that work; the gradient is then None.
  const auto gradients_tuple = [](gmmcore::Gradients<T>&& g, const gmmcore::BackwardOptions& options) {
    using Optional = std::optional<gmmcore::RowMatrix<T>>;
    return std::make_tuple(std::move(g.weights), std::move(g.means),
                           options.covariances ? Optional(std::move(g.covariances)) : std::nullopt,
                           options.input ? Optional(std::move(g.input)) : std::nullopt);
  };
  m.def(
      "backward",
      [gradients_tuple](ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> cov, ConstMatrixRef<T> x,
                        ConstMatrixRef<T> grad_output, bool covariances_gradient, bool input_gradient) {
        const gmmcore::BackwardOptions options{covariances_gradient, input_gradient};
        return gradients_tuple(
            gmmcore::backward(gmmcore::factorize(make_params<T>(w, mu, cov)), x, grad_output, options), options);
      },
      w, mu, cov, x, py::arg("grad_output").noconvert(), py::arg("covariances_gradient") = true,
      py::arg("input_gradient") = true, release);
  m.def(
      "log_likelihood_backward",
      [gradients_tuple](ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> cov, ConstMatrixRef<T> x,
                        ConstVectorRef<T> grad_output, bool covariances_gradient, bool input_gradient) {
        const gmmcore::BackwardOptions options{covariances_gradient, input_gradient};
        return gradients_tuple(
            gmmcore::log_likelihood_backward(gmmcore::factorize(make_params<T>(w, mu, cov)), x, grad_output, options),
            options);
      },
      w, mu, cov, x, py::arg("grad_output").noconvert(), py::arg("covariances_gradient") = true,
      py::arg("input_gradient") = true, release);
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
  gmmcore_bindings::bind_statistics(m);
  gmmcore_bindings::bind_kmeans(m);
  gmmcore_bindings::bind_variational(m);
}
