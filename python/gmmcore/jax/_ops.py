"""``log_prob`` and ``component_log_prob`` as ``jax.custom_vjp`` functions over ``jax.pure_callback``.

The callbacks run gmmcore's native forward and backward on the host's NumPy
arrays (``gmmcore._autodiff``, shared with gmmcore.torch). Shapes and dtypes
are checked when the function is traced, so that those errors are ordinary
Python exceptions; values (finiteness, positive definiteness) can only be
checked when the callback runs, and JAX reports such an error as a runtime
error that carries gmmcore's message. Under ``jax.vmap`` the callbacks run
once per batch element (``vmap_method="sequential"``). The backward computes
every input's gradient: a custom VJP cannot know which ones are used.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .. import _autodiff

_VMAP = "sequential"


def _problem(*arrays: Any) -> _autodiff.Problem:
    return _autodiff.Problem(*(np.asarray(a) for a in arrays))


def _checked(x, weights, means, covariances) -> tuple[Any, ...]:
    args = tuple(jax.numpy.asarray(a) for a in (weights, means, covariances, x))
    _autodiff.check_shapes(tuple(a.shape for a in args), tuple(a.dtype for a in args))
    return args


def _like(*arrays: Any) -> tuple[jax.ShapeDtypeStruct, ...]:
    return tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in arrays)


def _input_gradients(*arrays: Any) -> tuple[np.ndarray, ...]:
    """Host side of both backwards: (weights, means, covariances, X, G) -> the four input gradients."""
    *inputs, grad_output = arrays
    return tuple(_problem(*inputs).vjp(np.asarray(grad_output), (True, True, True, True)))  # type: ignore[arg-type]


# ------------------------------------------------------------------ component_log_prob


@jax.custom_vjp
def _component_log_prob(weights, means, covariances, x):
    shape = jax.ShapeDtypeStruct((x.shape[0], weights.shape[0]), x.dtype)
    host = lambda *a: _problem(*a).component_log_prob()
    return jax.pure_callback(host, shape, weights, means, covariances, x, vmap_method=_VMAP)


def _component_fwd(weights, means, covariances, x):
    return _component_log_prob(weights, means, covariances, x), (weights, means, covariances, x)


def _component_bwd(residuals, grad):
    return jax.pure_callback(_input_gradients, _like(*residuals), *residuals, grad, vmap_method=_VMAP)


_component_log_prob.defvjp(_component_fwd, _component_bwd)


# ------------------------------------------------------------------ log_prob


@jax.custom_vjp
def _log_prob(weights, means, covariances, x):
    shape = jax.ShapeDtypeStruct((x.shape[0],), x.dtype)
    host = lambda *a: _problem(*a).log_likelihood()
    return jax.pure_callback(host, shape, weights, means, covariances, x, vmap_method=_VMAP)


def _log_prob_fwd(weights, means, covariances, x):
    # Only the inputs are kept: the backward's one native pass recomputes what it needs.
    return _log_prob(weights, means, covariances, x), (weights, means, covariances, x)


def _log_prob_host_vjp(weights, means, covariances, x, grad):
    problem = _problem(weights, means, covariances, x)
    return tuple(problem.log_likelihood_vjp(np.asarray(grad), (True, True, True, True)))


def _log_prob_bwd(residuals, grad):
    return jax.pure_callback(_log_prob_host_vjp, _like(*residuals), *residuals, grad, vmap_method=_VMAP)


_log_prob.defvjp(_log_prob_fwd, _log_prob_bwd)


# ------------------------------------------------------------------ public functions


def component_log_prob(x, weights, means, covariances):
    """Per-component joint log-probabilities ``log w_k + log N(x_i | mu_k, Sigma_k)``, (n_samples, n_components).

    Parameters
    ----------
    x : array of shape (n_samples, n_features)
    weights : array of shape (n_components,)
        Non-negative with a positive sum; used as ``weights / weights.sum()``.
    means : array of shape (n_components, n_features)
    covariances : array of shape (n_components, n_features, n_features)
        Positive definite; used through the symmetric part ``(S + S^T) / 2``.

    All four share one dtype, float32 or float64.

    Returns
    -------
    jax.Array of shape (n_samples, n_components)
        Differentiable once (``jax.grad``, ``jax.vjp``) by gmmcore's native backward.

    Raises
    ------
    TypeError, ValueError
        Mixed or unsupported dtypes, wrong shapes (when traced).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from gmmcore.jax import component_log_prob
    >>> y = component_log_prob(jnp.zeros((1, 1)), jnp.ones(2) / 2, jnp.zeros((2, 1)), jnp.ones((2, 1, 1)))
    >>> y.round(4).tolist()
    [[-1.6121000051498413, -1.6121000051498413]]
    """
    return _component_log_prob(*_checked(x, weights, means, covariances))


def log_prob(x, weights, means, covariances):
    """Per-sample mixture log-likelihood ``log sum_k w_k N(x_i | mu_k, Sigma_k)``, (n_samples,).

    The same inputs and conventions as :func:`component_log_prob`.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from gmmcore.jax import log_prob
    >>> grad = jax.grad(lambda m: log_prob(jnp.array([[1.0, 0.0]]), jnp.ones(1), m, jnp.eye(2)[None]).sum())
    >>> grad(jnp.zeros((1, 2))).tolist()
    [[1.0, 0.0]]
    """
    return _log_prob(*_checked(x, weights, means, covariances))
