#pragma once
// What every binding file shares: the interruptible call guard and the
// conversions of argument arrays into the core's parameter types.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

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

// A 1-D int32 array of labels (one per row) as the core's std::vector<int>.
inline std::vector<int> labels_vector(const py::array_t<int, py::array::c_style>& labels) {
  if (labels.ndim() != 1) throw std::invalid_argument("labels must be a 1-D array");
  return std::vector<int>(labels.data(), labels.data() + labels.shape(0));
}

}  // namespace gmmcore_bindings
