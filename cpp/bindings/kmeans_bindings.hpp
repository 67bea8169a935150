#pragma once
// Bindings of gmmcore/kmeans.hpp: seeding and Lloyd on data in memory, and the
// assignment and update steps on one block of data, for k-means over data held
// in blocks (gmmcore.dask's k-means|| initialisation).
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "common.hpp"
#include "gmmcore/gmmcore.hpp"

namespace gmmcore_bindings {

namespace py = pybind11;

inline py::array_t<int> labels_array(const std::vector<int>& labels) {
  py::array_t<int> out(static_cast<py::ssize_t>(labels.size()));
  if (!labels.empty()) std::memcpy(out.mutable_data(), labels.data(), labels.size() * sizeof(int));
  return out;
}

template <class T>
void bind_kmeans_dtype(py::module_& m) {
  using gmmcore::ConstMatrixRef;
  using gmmcore::ConstVectorRef;
  using gmmcore::Index;
  // Row indices of K k-means++ seeds (see gmmcore::kmeans_plusplus).
  m.def(
      "kmeans_plusplus",
      [](ConstMatrixRef<T> x, ConstVectorRef<T> sample_weight, Index n_clusters, std::uint64_t seed) {
        std::vector<Index> rows;
        {
          py::gil_scoped_release unlocked;
          gmmcore::Rng rng(seed);
          rows = gmmcore::kmeans_plusplus<T>(x, sample_weight, n_clusters, rng);
        }
        return py::array_t<Index>(static_cast<py::ssize_t>(rows.size()), rows.data());
      },
      py::arg("X").noconvert(), py::arg("sample_weight").noconvert(), py::arg("n_clusters"), py::arg("seed"),
      py::call_guard<Interruptible>());
  // Lloyd iterations from centres: (labels, centres, n_iter).
  m.def(
      "kmeans_lloyd",
      [](ConstMatrixRef<T> x, ConstVectorRef<T> sample_weight, ConstMatrixRef<T> centres, Index max_iter, double tol) {
        gmmcore::KMeansResult<T> r;
        {
          py::gil_scoped_release unlocked;
          r = gmmcore::kmeans_lloyd<T>(x, sample_weight, centres, max_iter, tol);
        }
        return py::make_tuple(labels_array(r.labels), r.centres, r.n_iter);
      },
      py::arg("X").noconvert(), py::arg("sample_weight").noconvert(), py::arg("centres").noconvert(),
      py::arg("max_iter"), py::arg("tol"), py::call_guard<Interruptible>());
  // (labels, d2): each row's nearest centre and squared distance to it.
  m.def(
      "nearest_centres",
      [](ConstMatrixRef<T> x, ConstMatrixRef<T> centres) {
        std::pair<std::vector<int>, gmmcore::Vector<double>> r;
        {
          py::gil_scoped_release unlocked;
          r = gmmcore::nearest_centres<T>(x, centres);
        }
        return py::make_tuple(labels_array(r.first), r.second);
      },
      py::arg("X").noconvert(), py::arg("centres").noconvert(), py::call_guard<Interruptible>());
  // (sums (K, D), weights (K)) of the rows in each cluster, in float64.
  m.def(
      "cluster_sums",
      [](ConstMatrixRef<T> x, ConstVectorRef<T> sample_weight, const py::array_t<int, py::array::c_style>& labels,
         Index n_clusters) {
        const std::vector<int> labelled = labels_vector(labels);
        gmmcore::detail::ClusterSums r;
        {
          py::gil_scoped_release unlocked;
          r = gmmcore::cluster_sums<T>(x, sample_weight, labelled, n_clusters);
        }
        return py::make_tuple(r.sums, r.weights);
      },
      py::arg("X").noconvert(), py::arg("sample_weight").noconvert(), py::arg("labels").noconvert(),
      py::arg("n_clusters"), py::call_guard<Interruptible>());
}

inline void bind_kmeans(py::module_& m) {
  bind_kmeans_dtype<float>(m);
  bind_kmeans_dtype<double>(m);
}

}  // namespace gmmcore_bindings
