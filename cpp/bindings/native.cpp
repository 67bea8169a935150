// gmmcore._native: thin pybind11 bindings over the header-only core.
// The Python layer (python/gmmcore) validates and converts arguments; here every
// array must already be C-contiguous with the overload's dtype (noconvert: a
// hidden copy is an error, not a silent cost). Covariances travel as
// (K, D*D) views of the (K, D, D) arrays. The GIL is released around all work.
#include <pybind11/eigen.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <tuple>

#include "gmmcore/gmmcore.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

template <class T>
gmmcore::Params<T> make_params(const gmmcore::ConstVectorRef<T>& weights, const gmmcore::ConstMatrixRef<T>& means,
                               const gmmcore::ConstMatrixRef<T>& covariances) {
  return {weights, means, covariances};
}

template <class T>
void bind_dtype(py::module_& m) {
  using gmmcore::ConstMatrixRef;
  using gmmcore::ConstVectorRef;
  using gmmcore::Index;
  const auto release = py::call_guard<py::gil_scoped_release>();
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
        return std::make_tuple(std::move(g.weights), std::move(g.means), std::move(g.covariances),
                               std::move(g.input));
      },
      w, mu, cov, x, py::arg("grad_output").noconvert(), release);
  m.def(
      "em_step",
      [](ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> cov, ConstMatrixRef<T> x, double jitter) {
        gmmcore::detail::check_jitter(jitter);
        auto r = gmmcore::em_step(make_params<T>(w, mu, cov), x, static_cast<T>(jitter));
        return std::make_tuple(std::move(r.params.weights), std::move(r.params.means),
                               std::move(r.params.covariances), r.log_likelihood);
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
  m.def(
      "logsumexp_rows", [](ConstMatrixRef<T> a) { return gmmcore::logsumexp_rows<T>(a); }, py::arg("a").noconvert(),
      release);
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "gmmcore native core (float32 and float64 overloads of every function)";
  py::register_exception<gmmcore::NotPositiveDefiniteError>(m, "NotPositiveDefiniteError",
                                                            py::module_::import("numpy.linalg").attr("LinAlgError"));
#ifdef _OPENMP
  m.attr("openmp") = true;
#else
  m.attr("openmp") = false;
#endif
  bind_dtype<float>(m);
  bind_dtype<double>(m);
}
