"""The NumPy side of gmmcore as an operation of an autodiff framework (gmmcore.torch, gmmcore.jax).

Both integrations hand this module NumPy views of their arrays and get NumPy
arrays back; the framework-specific parts (devices, autograd, tracing) stay in
their subpackages. What the operation computes, for weights ``w`` (K,), means
(K, D), covariances ``S`` (K, D, D) and samples X (N, D):

- ``component_log_prob``: ``y_ik = log(w_k / sum(w)) + log N(x_i | mu_k, (S_k + S_k^T) / 2)``,
  the forward map of docs/math.md#math-forward on the normalised weights and
  the symmetric part of each covariance;
- ``log_prob``: ``logsumexp_k y_ik`` (docs/math.md#math-log-likelihood).

Using the weights through their normalisation and the covariances through
their symmetric part (as ``torch.distributions`` does with ``Categorical(probs)``
and reads only one triangle in its Cholesky factorisation) makes the result a
function of every entry of every input, so that the gradients returned are the
true partial derivatives with respect to the arrays as passed: a finite
difference on any single entry agrees with them. At a valid point (weights
summing to 1, symmetric covariances) the values are those of
:func:`gmmcore.forward` and :func:`gmmcore.log_likelihood`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _native
from ._validation import native_array, params_arrays

_Array = NDArray[Any]
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: The argument names, in the order of the operation's inputs.
NAMES = ("weights", "means", "covariances", "X")


def check_dtypes(dtypes: dict[str, Any]) -> None:
    """TypeError unless every input has the same dtype, float32 or float64 (no silent promotion)."""
    for name, dtype in dtypes.items():
        if np.dtype(dtype) not in _FLOATS:
            raise TypeError(f"{name} must be float32 or float64, got {dtype}")
    if len({np.dtype(d) for d in dtypes.values()}) > 1:
        listed = ", ".join(f"{name} {np.dtype(d)}" for name, d in dtypes.items())
        raise TypeError(f"weights, means, covariances and X must share one dtype (float32 or float64), got {listed}")


def check_shapes(shapes: tuple[tuple[int, ...], ...], dtypes: tuple[Any, ...]) -> None:
    """The checks of :class:`Problem` that need only shapes and dtypes (for tracing frameworks: no values)."""
    check_dtypes(dict(zip(NAMES, dtypes)))
    # Zero-stride views: the shape checks of gmmcore's functional API without allocating anything.
    weights, means, covariances = (np.broadcast_to(np.zeros((), d), s) for s, d in zip(shapes[:3], dtypes))
    params_arrays((weights, means, covariances))
    n_features = means.shape[1]
    if len(shapes[3]) != 2 or shapes[3][1] != n_features:
        raise ValueError(f"X has shape {tuple(shapes[3])}, expected (n_samples, {n_features})")


class Problem:
    """Validated native arguments of one evaluation, kept for its gradient.

    ``weights``, ``means``, ``covariances`` and ``X`` are NumPy arrays of one
    float dtype (float32 or float64; see :func:`check_dtypes`), never
    modified: the normalised weights and the symmetrised covariances are new
    arrays, the means and X are used in place when C-contiguous.
    """

    def __init__(self, weights: _Array, means: _Array, covariances: _Array, X: _Array) -> None:
        arrays = (weights, means, covariances, X)
        check_shapes(tuple(a.shape for a in arrays), tuple(a.dtype for a in arrays))
        n_components, n_features = means.shape
        dtype = weights.dtype
        total = weights.sum(dtype=np.float64)
        if not (np.isfinite(total) and total > 0):
            raise ValueError(f"weights must be finite with a positive sum, got sum {total}")
        #: The weights are used through w / sum(w); the weight gradient needs the sum.
        self.total = dtype.type(total)
        self.weights = native_array(weights / self.total, dtype)
        self.means = native_array(means, dtype)
        symmetric = (covariances + np.swapaxes(covariances, 1, 2)) * dtype.type(0.5)
        self.covariances = native_array(symmetric.reshape(n_components, n_features * n_features), dtype)
        self.X = native_array(X, dtype)
        self.shape = covariances.shape

    @property
    def args(self) -> tuple[_Array, _Array, _Array, _Array]:
        return self.weights, self.means, self.covariances, self.X

    def component_log_prob(self) -> _Array:
        """(N, K) per-component log-probabilities (the native forward)."""
        return _native.forward(*self.args)

    def log_likelihood(self) -> _Array:
        """(N,) log-likelihoods, without forming the (N, K) log-probabilities (no gradient to come)."""
        return _native.log_likelihood(*self.args)

    def vjp(self, grad_output: _Array, needs: tuple[bool, bool, bool, bool]) -> list[_Array | None]:
        """Gradients of ``sum(grad_output * component_log_prob())`` for the inputs ``needs`` marks, else None.

        The covariance and input gradients that are not needed are not computed
        (the native backward skips their work); the weight and mean gradients
        are cheap sums the kernel forms anyway.
        """
        return self._gradients(_native.backward, grad_output, needs)

    def log_likelihood_vjp(self, grad_output: _Array, needs: tuple[bool, bool, bool, bool]) -> list[_Array | None]:
        """Gradients of ``sum(grad_output * log_likelihood())`` for the inputs ``needs`` marks, else None.

        One native pass (``_native.log_likelihood_backward``): the component
        log-probabilities, their responsibilities and the gradient sums are
        formed block by block, never as an (N, K) array.
        """
        return self._gradients(_native.log_likelihood_backward, grad_output, needs)

    def _gradients(self, native_backward: Any, grad_output: _Array, needs: tuple[bool, ...]) -> list[_Array | None]:
        if not any(needs):
            return [None] * 4
        grad_output = native_array(grad_output, self.X.dtype)
        dw, dmu, dcov, dx = native_backward(
            *self.args, grad_output, covariances_gradient=needs[2], input_gradient=needs[3]
        )
        out: list[_Array | None] = [None] * 4
        if needs[0]:
            # d/dw_j of log(w_k / s), s = sum(w): (dL/du_j - sum_k u_k dL/du_k) / s with u = w / s, where
            # sum_k u_k dL/du_k = sum_ik G_ik (docs/math.md#math-backward; for the log-likelihood
            # G_ik = g_i gamma_ik, whose sum is sum_i g_i); written with the sum of the upstream gradient so
            # that a zero weight makes only its own gradient non-finite (IEEE rules, as in gmmcore.backward).
            out[0] = (dw - grad_output.sum(dtype=np.float64).astype(dw.dtype)) / self.total
        if needs[1]:
            out[1] = dmu
        if needs[2]:
            # The gradient with respect to S_k as a symmetric matrix is symmetric, so it is also the gradient
            # with respect to the raw S_k used through (S_k + S_k^T) / 2.
            assert dcov is not None
            out[2] = dcov.reshape(self.shape)
        if needs[3]:
            out[3] = dx
        return out
