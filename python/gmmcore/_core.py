"""The functional API: forward, responsibilities, likelihoods, VJP and EM."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _native
from ._params import GMMParams, Gradients
from ._validation import (
    contiguous,
    epochs_count,
    jitter_value,
    native_params,
    params_arrays,
    real_array,
    samples_array,
    working_dtype,
)

#: What the functions take as ``params``: a GMMParams, or any (weights, means, covariances) sequence.
_ParamsLike = GMMParams | Sequence[ArrayLike]
#: What they return: float32 when every input is float32, else float64.
_FloatArray = NDArray[np.floating[Any]]

__all__ = [
    "forward",
    "expectation",
    "logsumexp",
    "log_likelihood",
    "negative_log_likelihood",
    "backward",
    "em_step",
    "em_train",
]


class _Problem:
    """Validated native arguments for one call: params, X as 2-D, dtype."""

    def __init__(self, params: _ParamsLike, X: ArrayLike, *, grad_output: ArrayLike | None = None) -> None:
        weights, means, covariances = params_arrays(params)
        n_components, n_features = means.shape
        samples = samples_array(X, n_features)
        self.single = samples.ndim == 1
        arrays = [weights, means, covariances, samples]
        if grad_output is not None:
            grad = real_array(grad_output, "grad_output")
            expected = (n_components,) if self.single else (samples.shape[0], n_components)
            if grad.shape != expected:
                raise ValueError(f"grad_output has shape {grad.shape}, expected {expected}")
            arrays.append(grad)
        self.dtype = working_dtype(*arrays)
        self.params = native_params(weights, means, covariances, self.dtype)
        self.X, *rest = contiguous([np.atleast_2d(samples)] + [np.atleast_2d(g) for g in arrays[4:]], self.dtype)
        self.grad_output = rest[0] if rest else None
        self.shape = covariances.shape

    def rows(self, result):
        """Undo the 1-D -> (1, D) promotion of a per-sample result."""
        return result[0] if self.single else result

    def to_params(self, weights, means, covariances):
        return GMMParams(weights, means, covariances.reshape(self.shape))


def forward(params: _ParamsLike, X: ArrayLike) -> _FloatArray:
    """Per-component log-probabilities ``y_k(x) = log w_k + log N(x | mu_k, Sigma_k)``.

    Parameters
    ----------
    params : GMMParams
        Weights (K,), means (K, D), covariances (K, D, D).
    X : array-like of shape (n_samples, n_features) or (n_features,)
        Samples; integer input is converted.

    Returns
    -------
    ndarray of shape (n_samples, n_components) or (n_components,)
        float32 if every input is float32, else float64. A component with
        weight 0 gives ``-inf``.

    Raises
    ------
    ValueError
        Wrong shapes, non-finite values, invalid weights, non-symmetric covariance.
    numpy.linalg.LinAlgError
        A covariance is not positive definite (the message names it).

    Examples
    --------
    >>> import numpy as np, gmmcore
    >>> p = gmmcore.init_params(2, 1)
    >>> gmmcore.forward(p, np.zeros(1)).round(4)
    array([-1.6121, -1.6121])
    """
    prob = _Problem(params, X)
    return prob.rows(_native.forward(*prob.params, prob.X))


def expectation(params: _ParamsLike, X: ArrayLike) -> _FloatArray:
    """Responsibilities ``gamma_k(x) = softmax_k(y(x))``; each row sums to 1.

    Parameters
    ----------
    params : GMMParams
    X : array-like of shape (n_samples, n_features) or (n_features,)

    Returns
    -------
    ndarray of shape (n_samples, n_components) or (n_components,)
        A row whose log-probabilities are all ``-inf`` (the quadratic form
        overflowed) gets uniform responsibilities ``1/K``.

    Examples
    --------
    >>> import numpy as np, gmmcore
    >>> p = gmmcore.init_params(2, 1)
    >>> gmmcore.expectation(p, np.zeros(1))
    array([0.5, 0.5])
    """
    prob = _Problem(params, X)
    return prob.rows(_native.expectation(*prob.params, prob.X))


def logsumexp(a: ArrayLike, axis: int | None = -1) -> _FloatArray | np.floating[Any]:
    """Stable ``log(sum(exp(a)))`` along ``axis``.

    Parameters
    ----------
    a : array-like
        Real values; ``-inf`` and ``+inf`` are allowed, NaN is not.
    axis : int or None, default=-1
        Axis to reduce; None reduces all of them.

    Returns
    -------
    ndarray or numpy scalar
        ``a`` with ``axis`` removed. All ``-inf`` (or an empty axis) gives
        ``-inf``, any ``+inf`` gives ``+inf``; never NaN.

    Examples
    --------
    >>> import numpy as np, gmmcore
    >>> float(gmmcore.logsumexp([0.0, 0.0]))  # log 2
    0.6931471805599453
    >>> float(gmmcore.logsumexp([-np.inf, -np.inf]))
    -inf
    """
    array = real_array(a, "a")
    if np.isnan(array).any():
        raise ValueError("a contains NaN")
    if axis is None:
        array, axis = array.reshape(-1), -1
    moved = np.moveaxis(array, axis, -1)
    shape = moved.shape[:-1]
    rows = moved.reshape(int(np.prod(shape)), moved.shape[-1])
    (rows,) = contiguous([rows], working_dtype(array))
    return _native.logsumexp_rows(rows).reshape(shape)[()]


def log_likelihood(params: _ParamsLike, X: ArrayLike) -> _FloatArray | np.floating[Any]:
    """Per-sample log-likelihood ``log p(x) = logsumexp_k y_k(x)``.

    Parameters
    ----------
    params : GMMParams
    X : array-like of shape (n_samples, n_features) or (n_features,)

    Returns
    -------
    ndarray of shape (n_samples,), or a numpy scalar for a single sample

    Examples
    --------
    >>> import numpy as np, gmmcore
    >>> round(float(gmmcore.log_likelihood(gmmcore.init_params(1, 1), np.zeros(1))), 6)
    -0.918939
    """
    prob = _Problem(params, X)
    return prob.rows(_native.log_likelihood(*prob.params, prob.X))


def negative_log_likelihood(params: _ParamsLike, X: ArrayLike) -> float:
    """Dataset negative log-likelihood: the SUM over samples of ``-log p(x)``.

    Parameters
    ----------
    params : GMMParams
    X : array-like of shape (n_samples, n_features) or (n_features,)

    Returns
    -------
    float
        Accumulated in float64 whatever the input dtype; 0.0 for no samples.

    Examples
    --------
    >>> import numpy as np, gmmcore
    >>> round(gmmcore.negative_log_likelihood(gmmcore.init_params(1, 1), np.zeros((2, 1))), 6)
    1.837877
    """
    prob = _Problem(params, X)
    return float(_native.negative_log_likelihood(*prob.params, prob.X))


def backward(params: _ParamsLike, X: ArrayLike, grad_output: ArrayLike) -> Gradients:
    """Vector-Jacobian product of :func:`forward`.

    For ``L = sum(grad_output * forward(params, X))`` returns ``dL/dw``,
    ``dL/dmu``, ``dL/dSigma`` (summed over the batch) and ``dL/dX`` (per sample).

    Parameters
    ----------
    params : GMMParams
    X : array-like of shape (n_samples, n_features) or (n_features,)
    grad_output : array-like of shape (n_samples, n_components) or (n_components,)
        Upstream gradient, with the same number of dimensions as ``X``.

    Returns
    -------
    Gradients
        ``weights`` (K,), ``means`` (K, D), ``covariances`` (K, D, D),
        ``input`` of the shape of ``X``. ``dL/dw_k = sum_i G_ik / w_k``
        follows IEEE rules when ``w_k = 0``.

    Examples
    --------
    >>> import numpy as np, gmmcore
    >>> p = gmmcore.init_params(1, 2)
    >>> g = gmmcore.backward(p, np.array([1.0, 0.0]), np.ones(1))
    >>> g.means
    array([[1., 0.]])
    >>> g.input
    array([-1.,  0.])
    """
    prob = _Problem(params, X, grad_output=grad_output)
    assert prob.grad_output is not None  # set whenever _Problem is given grad_output
    weights, means, covariances, grad_input = _native.backward(*prob.params, prob.X, prob.grad_output)
    return Gradients(weights, means, covariances.reshape(prob.shape), prob.rows(grad_input))


def em_step(params: _ParamsLike, X: ArrayLike, jitter: float = 1e-6) -> GMMParams:
    """One EM step (E-step and M-step in a single pass over ``X``).

    Parameters
    ----------
    params : GMMParams
    X : array-like of shape (n_samples, n_features)
    jitter : float, default=1e-6
        Added to the diagonal of every updated covariance (scikit-learn's
        ``reg_covar``).

    Returns
    -------
    GMMParams
        Updated parameters. A component whose total responsibility ``N_k`` is
        not above ``10 * eps * n_samples`` keeps its mean and covariance and
        its old weight (before renormalisation). No samples: ``params`` unchanged.

    Examples
    --------
    >>> import numpy as np, gmmcore
    >>> p = gmmcore.em_step(gmmcore.init_params(1, 1), np.array([[1.0], [3.0]]), jitter=0.0)
    >>> p.means, p.covariances
    (array([[2.]]), array([[[1.]]]))
    """
    prob = _Problem(params, X)
    weights, means, covariances, _ = _native.em_step(*prob.params, prob.X, jitter_value(jitter))
    return prob.to_params(weights, means, covariances)


def em_train(params: _ParamsLike, X: ArrayLike, epochs: int, jitter: float = 1e-6) -> GMMParams:
    """``epochs`` EM steps from ``params``; see :func:`em_step`.

    Parameters
    ----------
    params : GMMParams
    X : array-like of shape (n_samples, n_features)
    epochs : int
        Number of steps, at least 0 (0 returns the validated ``params``).
    jitter : float, default=1e-6

    Returns
    -------
    GMMParams

    Examples
    --------
    >>> import numpy as np, gmmcore
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> p = gmmcore.GMMParams(np.array([0.5, 0.5]), np.array([[1.0], [4.0]]), np.ones((2, 1, 1)))
    >>> gmmcore.em_train(p, X, epochs=20).means.round(3)
    array([[0.05],
           [5.05]])
    """
    epochs = epochs_count(epochs)
    prob = _Problem(params, X)
    weights, means, covariances = _native.em_train(*prob.params, prob.X, epochs, jitter_value(jitter))
    return prob.to_params(weights, means, covariances)
