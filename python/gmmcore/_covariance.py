"""The covariance types: the one table of their array shapes and layouts.

Every covariance-shaped parameter (``covariances_``, ``precisions_``,
``precisions_cholesky_``, ``precisions_init``) has, for ``n_components``
components of ``n_features`` features, the shape given by
:func:`parameter_shape`. The native core takes the same numbers as a 2-D
C-ordered array, one row per component ("tied": a single row); see
:func:`native_layout` and :func:`user_layout`. The estimator, the model files
and the plots all use this module rather than spelling the shapes out.
"""

import numpy as np

from ._validation import native_array

__all__ = ["COVARIANCE_TYPES", "parameter_shape", "user_layout", "native_layout", "full_covariances"]

# name -> shape for (n_components, n_features); the order is the documentation's.
_SHAPES = {
    "full": lambda k, d: (k, d, d),
    "tied": lambda k, d: (d, d),
    "diag": lambda k, d: (k, d),
    "spherical": lambda k, d: (k,),
}

COVARIANCE_TYPES = tuple(_SHAPES)


def _shape_function(covariance_type):
    try:
        return _SHAPES[covariance_type]
    except (KeyError, TypeError):
        raise ValueError(f"covariance_type must be one of {sorted(_SHAPES)}, got {covariance_type!r}") from None


def parameter_shape(covariance_type, n_components, n_features):
    """The shape of a covariance-shaped parameter; ValueError for an unknown ``covariance_type``."""
    return _shape_function(covariance_type)(n_components, n_features)


def user_layout(array, covariance_type, n_features):
    """A native (rows, cols) array reshaped to :func:`parameter_shape` (a view when possible)."""
    return array.reshape(parameter_shape(covariance_type, -1, n_features))


def native_layout(array, covariance_type, dtype):
    """A covariance-shaped parameter as the native core takes it: C-ordered, ``dtype``, one row per component."""
    rows = 1 if covariance_type == "tied" else array.shape[0]
    return native_array(array, dtype).reshape(rows, -1)


def full_covariances(covariances, covariance_type, n_components, n_features):
    """The (n_components, n_features, n_features) matrices a covariance-shaped parameter stands for."""
    _shape_function(covariance_type)
    k, d = n_components, n_features
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (k, d, d))
    if covariance_type == "diag":
        return covariances[:, :, None] * np.eye(d)
    return covariances[:, None, None] * np.eye(d)
