"""Parameter containers: the model ``(w, mu, Sigma)`` and its gradients."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import DTypeLike


class GMMParams(NamedTuple):
    """Parameters of a Gaussian mixture with full covariances.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
        Mixing weights ``w``: non-negative, summing to 1.
    means : ndarray of shape (n_components, n_features)
        Component means ``mu``.
    covariances : ndarray of shape (n_components, n_features, n_features)
        Symmetric positive definite covariance matrices ``Sigma``.

    Notes
    -----
    Construction does not validate; every function that takes a ``GMMParams``
    does, and names the field and component at fault.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


class Gradients(NamedTuple):
    """Vector-Jacobian product of :func:`gmmcore.forward`.

    Parameter gradients are sums over the batch; ``input`` is per sample.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Symmetric gradient with respect to each ``Sigma_k``.
    input : ndarray of shape (n_samples, n_features) or (n_features,)
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    input: np.ndarray


def init_params(n_components: int, n_features: int, dtype: DTypeLike = np.float64) -> GMMParams:
    """Default initial parameters: uniform weights, zero means, identity covariances.

    Parameters
    ----------
    n_components : int
        Number of mixture components ``K`` (at least 1).
    n_features : int
        Dimension ``D`` of the samples (at least 1).
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Floating dtype of the returned arrays.

    Returns
    -------
    GMMParams

    Examples
    --------
    >>> import gmmcore
    >>> p = gmmcore.init_params(2, 3)
    >>> p.weights
    array([0.5, 0.5])
    >>> p.covariances.shape
    (2, 3, 3)
    """
    for name, value in (("n_components", n_components), ("n_features", n_features)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return GMMParams(
        np.full(n_components, 1.0 / n_components, dtype=dtype),
        np.zeros((n_components, n_features), dtype=dtype),
        np.broadcast_to(np.eye(n_features, dtype=dtype), (n_components, n_features, n_features)).copy(),
    )
