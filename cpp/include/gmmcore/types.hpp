#pragma once
// Array types shared by the whole library. All matrices are row-major so that a
// NumPy C-contiguous array maps onto them without a copy: row i is sample i
// (or component i).
#include <Eigen/Core>

namespace gmmcore {

using Index = Eigen::Index;

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
// Column-major scratch inside the kernels (Eigen's native layout): D x D
// factors, and (B, K) blocks whose per-component columns are contiguous.
template <class T>
using ColMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <class T>
using Square = ColMatrix<T>;

namespace detail {
// Makes T non-deducible in a view parameter, so T comes from the Params or
// FactoredParams argument and any matrix expression converts to the view.
template <class T>
struct NonDeduced {
  using type = T;
};
}  // namespace detail

// Views accepted by every function: a NumPy C-contiguous array, an Eigen
// matrix, or a block of rows of one.
template <class T>
using ConstMatrixRef = Eigen::Ref<const RowMatrix<typename detail::NonDeduced<T>::type>>;
template <class T>
using ConstVectorRef = Eigen::Ref<const Vector<typename detail::NonDeduced<T>::type>>;
template <class T>
using MatrixRef = Eigen::Ref<RowMatrix<typename detail::NonDeduced<T>::type>>;
template <class T>
using VectorRef = Eigen::Ref<Vector<typename detail::NonDeduced<T>::type>>;

}  // namespace gmmcore
