#pragma once
// Bindings of gmmcore/statistics.hpp for gmmcore.SufficientStatistics. A
// statistics value travels as the tuple (covariance_type, shifts, weight_sums,
// sums, scatters, log_likelihood, total_weight, n_samples), its arrays
// C-contiguous in one dtype (float32 or float64) and scatters in the native
// (K, D*D) or (K, D) layout; the dtype of shifts picks the overload.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"
#include "gmmcore/gmmcore.hpp"

namespace gmmcore_bindings {

namespace py = pybind11;

template <class T>
py::array_t<T, py::array::c_style> statistics_array(const py::tuple& st, int i, const char* name, int ndim) {
  using Array = py::array_t<T, py::array::c_style>;
  const py::object a = st[py::int_(i)];
  if (!py::isinstance<Array>(a) || a.cast<Array>().ndim() != ndim)
    throw std::invalid_argument(std::string("statistics.") + name + " must be a C-contiguous " + std::to_string(ndim) +
                                "-D array of the statistics' dtype");
  return a.cast<Array>();
}

template <class T>
gmmcore::Statistics<T> statistics_from(const py::tuple& st) {
  if (py::len(st) != 8) throw std::invalid_argument("statistics must be a tuple of 8 fields");
  gmmcore::Statistics<T> out;
  out.covariance_type = gmmcore::parse_covariance_type(st[py::int_(0)].cast<std::string>());
  const auto matrix = [&](int i, const char* name) {
    const auto a = statistics_array<T>(st, i, name, 2);
    return gmmcore::RowMatrix<T>(Eigen::Map<const gmmcore::RowMatrix<T>>(a.data(), a.shape(0), a.shape(1)));
  };
  out.shifts = matrix(1, "shifts");
  const auto n = statistics_array<T>(st, 2, "weight_sums", 1);
  out.weight_sums = Eigen::Map<const gmmcore::Vector<T>>(n.data(), n.shape(0));
  out.sums = matrix(3, "sums");
  out.scatters = matrix(4, "scatters");
  out.log_likelihood = st[py::int_(5)].cast<double>();
  out.total_weight = st[py::int_(6)].cast<double>();
  out.n_samples = st[py::int_(7)].cast<gmmcore::Index>();
  return out;
}

template <class T>
py::tuple statistics_tuple(const gmmcore::Statistics<T>& st) {
  return py::make_tuple(std::string(gmmcore::covariance_type_name(st.covariance_type)), st.shifts, st.weight_sums,
                        st.sums, st.scatters, st.log_likelihood, st.total_weight, st.n_samples);
}

// fn(T{}) with T the dtype of st's shifts.
template <class Fn>
py::object by_statistics_dtype(const py::tuple& st, Fn&& fn) {
  if (py::len(st) == 8) {
    if (py::isinstance<py::array_t<float>>(st[py::int_(1)])) return fn(float{});
    if (py::isinstance<py::array_t<double>>(st[py::int_(1)])) return fn(double{});
  }
  throw std::invalid_argument("statistics must be a tuple of 8 fields whose arrays are float32 or float64");
}

template <class T>
void bind_statistics_dtype(py::module_& m) {
  using gmmcore::ConstMatrixRef;
  using gmmcore::ConstVectorRef;
  m.def(
      "mixture_statistics",
      [](const std::string& type, ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> pc, ConstMatrixRef<T> x,
         ConstVectorRef<T> sample_weight) {
        gmmcore::Statistics<T> st;
        {
          py::gil_scoped_release unlocked;
          st = gmmcore::statistics(make_mixture<T>(type, w, mu, pc), x, sample_weight);
        }
        return statistics_tuple(st);
      },
      py::arg("covariance_type"), py::arg("weights").noconvert(), py::arg("means").noconvert(),
      py::arg("precisions_cholesky").noconvert(), py::arg("X").noconvert(), py::arg("sample_weight").noconvert(),
      py::call_guard<Interruptible>());
  // Statistics of fixed (initial) responsibilities over a block of the data:
  // one-hot labels, or the 'random' initialisation's at the block's offset.
  m.def(
      "labelled_statistics",
      [](const std::string& type, ConstMatrixRef<T> shifts, ConstMatrixRef<T> x, ConstVectorRef<T> sample_weight,
         const py::array_t<int, py::array::c_style>& labels) {
        const std::vector<int> labelled = labels_vector(labels);
        gmmcore::Statistics<T> st;
        {
          py::gil_scoped_release unlocked;
          st =
              gmmcore::labelled_statistics<T>(gmmcore::parse_covariance_type(type), shifts, x, sample_weight, labelled);
        }
        return statistics_tuple(st);
      },
      py::arg("covariance_type"), py::arg("shifts").noconvert(), py::arg("X").noconvert(),
      py::arg("sample_weight").noconvert(), py::arg("labels").noconvert(), py::call_guard<Interruptible>());
  m.def(
      "random_statistics",
      [](const std::string& type, ConstMatrixRef<T> shifts, ConstMatrixRef<T> x, ConstVectorRef<T> sample_weight,
         std::uint64_t seed, gmmcore::Index row_offset) {
        gmmcore::Statistics<T> st;
        {
          py::gil_scoped_release unlocked;
          st = gmmcore::random_statistics<T>(gmmcore::parse_covariance_type(type), shifts, x, sample_weight, seed,
                                             row_offset);
        }
        return statistics_tuple(st);
      },
      py::arg("covariance_type"), py::arg("shifts").noconvert(), py::arg("X").noconvert(),
      py::arg("sample_weight").noconvert(), py::arg("seed"), py::arg("row_offset"), py::call_guard<Interruptible>());
  // partial_fit's step in one call (its per-batch overhead is the point):
  // the batch's statistics under the mixture, the running statistics moved
  // toward them by blend, and their M-step. Returns (running, weights, means,
  // covariances, precisions_cholesky, batch log-likelihood, batch weight).
  m.def(
      "online_em_step",
      [](const std::string& type, ConstVectorRef<T> w, ConstMatrixRef<T> mu, ConstMatrixRef<T> pc, ConstMatrixRef<T> x,
         ConstVectorRef<T> sample_weight, const py::tuple& running, double eta, double reg_covar) {
        const gmmcore::Mixture<T> current = make_mixture<T>(type, w, mu, pc);
        const gmmcore::Statistics<T> previous = statistics_from<T>(running);
        gmmcore::Statistics<T> next;
        gmmcore::Mixture<T> mixture;
        double log_likelihood = 0, weight = 0;
        {
          py::gil_scoped_release unlocked;
          gmmcore::Statistics<T> batch = gmmcore::statistics(current, x, sample_weight);
          log_likelihood = batch.log_likelihood;
          weight = batch.total_weight;
          if (!(weight > 0)) throw std::invalid_argument("the batch's sample weights sum to zero");
          next = gmmcore::blend(previous, std::move(batch), eta);
          mixture = gmmcore::m_step(next, T(reg_covar));
        }
        return py::make_tuple(statistics_tuple(next), mixture.weights, mixture.means, mixture.covariances,
                              mixture.precisions_cholesky, log_likelihood, weight);
      },
      py::arg("covariance_type"), py::arg("weights").noconvert(), py::arg("means").noconvert(),
      py::arg("precisions_cholesky").noconvert(), py::arg("X").noconvert(), py::arg("sample_weight").noconvert(),
      py::arg("running"), py::arg("eta"), py::arg("reg_covar"), py::call_guard<Interruptible>());
}

inline void bind_statistics(py::module_& m) {
  bind_statistics_dtype<float>(m);
  bind_statistics_dtype<double>(m);
  m.def(
      "merge_statistics",
      [](const py::tuple& a, const py::tuple& b) {
        return by_statistics_dtype(a, [&](auto t) {
          using T = decltype(t);
          return py::object(statistics_tuple(gmmcore::merge(statistics_from<T>(a), statistics_from<T>(b))));
        });
      },
      py::arg("a"), py::arg("b"));
  m.def(
      "scale_statistics",
      [](const py::tuple& st, double factor) {
        return by_statistics_dtype(st, [&](auto t) {
          using T = decltype(t);
          return py::object(statistics_tuple(gmmcore::scaled(statistics_from<T>(st), factor)));
        });
      },
      py::arg("statistics"), py::arg("factor"));
  m.def(
      "statistics_m_step",
      [](const py::tuple& st, double reg_covar) {
        return by_statistics_dtype(st, [&](auto t) {
          using T = decltype(t);
          const auto mixture = gmmcore::m_step(statistics_from<T>(st), T(reg_covar));
          return py::object(
              py::make_tuple(mixture.weights, mixture.means, mixture.covariances, mixture.precisions_cholesky));
        });
      },
      py::arg("statistics"), py::arg("reg_covar"));
}

}  // namespace gmmcore_bindings
