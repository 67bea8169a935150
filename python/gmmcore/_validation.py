"""Argument checking and marshalling between NumPy and ``gmmcore._native``.

Shapes and dtypes are checked here, where argument names are known; values
(finiteness, weights summing to 1, symmetric positive definite covariances)
are checked by the C++ core, which has C++ callers too.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

#: The validated arrays these functions return; their dtype is checked at run time.
_Array = NDArray[Any]


class _HasDtype(Protocol):
    """An array, or chunked data that will be read as arrays of this dtype."""

    @property
    def dtype(self) -> np.dtype[Any]: ...


def real_array(value: ArrayLike, name: str) -> _Array:
    """``value`` as an ndarray of a real (integer or floating) dtype, uncopied if possible."""
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    return array


def working_dtype(*arrays: _HasDtype) -> type[np.float32] | type[np.float64]:
    """float32 when every array is float32, else float64 (docs/math.md#math-dtypes)."""
    return np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64


#: The dtypes that ``check_array(dtype=[float64, float32])`` keeps as they are (native byte order).
_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
#: Up to this many values finiteness is checked value by value; above, on their sum (no temporary as large as X).
_ELEMENTWISE_FINITE_SIZE = 1 << 16


def plain_samples(X: object, n_features: int | None, min_samples: int) -> bool:
    """Whether ``check_array(X, dtype=[float64, float32])`` would return ``X`` itself without complaint.

    True for what ``X`` usually is: an ndarray (not a subclass) of native
    float64 or float32, 2-D, C-contiguous, with at least ``min_samples`` rows
    and at least one column (``n_features`` of them unless None), all
    finite. A caller that gets True may skip scikit-learn's ``validate_data``,
    whose fixed cost (tens of microseconds) is most of a small call's time;
    anything else, including every input it would reject or warn about, goes
    through ``validate_data``, so its errors and warnings stay the reference.
    Feature names are the caller's part: an ndarray has none.

    A sum that overflows to infinity (finite but huge values) answers False,
    leaving the element-wise verdict to ``validate_data``.
    """
    if not (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in _FLOAT_DTYPES
        and X.flags.c_contiguous
        and X.shape[0] >= min_samples
        and X.shape[1] >= 1
        and (n_features is None or X.shape[1] == n_features)
    ):
        return False
    if X.size <= _ELEMENTWISE_FINITE_SIZE:
        return bool(np.isfinite(X).all())
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(np.add.reduce(X, axis=None)))


def _shape_error(name, got, expected):
    return ValueError(f"{name} has shape {got}, expected {expected}")


def params_arrays(params: Iterable[ArrayLike]) -> tuple[_Array, _Array, _Array]:
    """Real arrays (weights, means, covariances) with consistent shapes."""
    try:
        weights, means, covariances = params
    except (TypeError, ValueError):
        raise TypeError(
            f"params must be a GMMParams (weights, means, covariances), got {type(params).__name__}"
        ) from None
    weights = real_array(weights, "weights")
    means = real_array(means, "means")
    covariances = real_array(covariances, "covariances")
    if weights.ndim != 1:
        raise _shape_error("weights", weights.shape, "(n_components,)")
    n_components = weights.shape[0]
    if n_components == 0:
        raise ValueError("a GMM needs at least one component (weights has shape (0,))")
    if means.ndim != 2 or means.shape[0] != n_components:
        raise _shape_error("means", means.shape, f"(n_components, n_features) with n_components = {n_components}")
    n_features = means.shape[1]
    if n_features == 0:
        raise ValueError("means has shape (K, 0): a GMM needs at least one feature")
    if covariances.shape != (n_components, n_features, n_features):
        raise _shape_error("covariances", covariances.shape, f"{(n_components, n_features, n_features)}")
    return weights, means, covariances


def samples_array(X: ArrayLike, n_features: int, name: str = "X") -> _Array:
    """Real array of shape (n_samples, n_features) or (n_features,)."""
    X = real_array(X, name)
    if X.ndim not in (1, 2) or X.shape[-1] != n_features:
        raise _shape_error(name, X.shape, f"(n_samples, {n_features}) or ({n_features},)")
    return X


def native_array(a: ArrayLike, dtype: DTypeLike | None = None) -> _Array:
    """``a`` as ``_native`` takes it: C-contiguous in ``dtype``, a copy only where needed.

    NumPy calls an array with a negative stride on a length-1 axis
    C-contiguous (``ascontiguousarray`` returns it as is), but pybind11
    refuses any negative stride, so such an array is copied too.
    """
    a = np.ascontiguousarray(a, dtype=dtype)
    return a.copy() if any(stride < 0 for stride in a.strides) else a


def contiguous(arrays: Iterable[ArrayLike], dtype: DTypeLike) -> list[_Array]:
    """C-contiguous copies (only where needed) in ``dtype``; never aliases a write."""
    return [native_array(a, dtype) for a in arrays]


def native_params(
    weights: ArrayLike, means: ArrayLike, covariances: ArrayLike, dtype: DTypeLike
) -> tuple[_Array, _Array, _Array]:
    """Arguments for ``_native``: covariances as a (K, D*D) view."""
    weights, means, covariances = contiguous((weights, means, covariances), dtype)
    return weights, means, covariances.reshape(covariances.shape[0], -1)


def epochs_count(epochs):
    if isinstance(epochs, bool):
        raise TypeError(f"epochs must be an integer, got {epochs!r}")
    try:
        return operator.index(epochs)
    except TypeError:
        raise TypeError(f"epochs must be an integer, got {epochs!r}") from None


def jitter_value(jitter):
    if isinstance(jitter, bool) or not isinstance(jitter, numbers.Real):
        raise TypeError(f"jitter must be a real number, got {jitter!r}")
    return float(jitter)
