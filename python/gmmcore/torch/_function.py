"""``log_prob`` and ``component_log_prob`` as ``torch.autograd.Function`` s over the native kernels.

Tensors cross into NumPy without a copy (``Tensor.numpy()`` on the detached
CPU tensor; a copy only for a non-contiguous one) and results come back
without one (``torch.from_numpy``). What is computed, and why the weights are
normalised and the covariances symmetrised, is in ``gmmcore._autodiff``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .. import _autodiff

_FLOATS = (torch.float32, torch.float64)


def _numpy(tensors: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    """NumPy views of CPU float tensors of one dtype; clear errors for anything else."""
    for name, t in zip(_autodiff.NAMES, tensors):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.device.type != "cpu":
            raise ValueError(
                f"gmmcore.torch computes on the CPU: {name} is on {t.device}; move the inputs with .cpu() "
                "(no GPU kernel exists, and copying silently would hide the cost)"
            )
        if t.dtype not in _FLOATS:
            raise TypeError(f"{name} must be float32 or float64, got {t.dtype}")
    _autodiff.check_dtypes({name: str(t.dtype).removeprefix("torch.") for name, t in zip(_autodiff.NAMES, tensors)})
    return [t.detach().resolve_conj().resolve_neg().numpy() for t in tensors]


def _graph_needed(*inputs: Any) -> bool:
    """Whether autograd will record the call (under torch.no_grad, or with no input requiring grad, it won't)."""
    return torch.is_grad_enabled() and any(isinstance(t, torch.Tensor) and t.requires_grad for t in inputs)


def _first_order(backward: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse a backward that would build a graph (``create_graph=True``: double backward, Hessians).

    torch's ``once_differentiable`` raises only when the result is differentiated
    again *and* the incoming gradient requires grad; otherwise the second-order
    terms would silently be zero. The native backward has no derivative, so
    asking for one is an error here.
    """

    @functools.wraps(backward)
    def wrapper(ctx: Any, *grads: torch.Tensor) -> Any:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "gmmcore.torch gives first derivatives only: backward with create_graph=True (double backward, "
                "Hessians, gradient penalties) is not supported"
            )
        return backward(ctx, *grads)

    return wrapper


def _tensors(arrays: list[np.ndarray | None]) -> tuple[torch.Tensor | None, ...]:
    return tuple(None if a is None else torch.from_numpy(a) for a in arrays)


# The Functions run only when autograd records the call (see _graph_needed); otherwise the public
# functions call the native code directly, and log_prob the log-likelihood alone (no (N, K) array).


class _ComponentLogProb(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weights, means, covariances, X):
        ctx.problem = _autodiff.Problem(*_numpy((weights, means, covariances, X)))
        # Only for autograd's check that no input was modified in place before backward.
        ctx.save_for_backward(weights, means, covariances, X)
        return torch.from_numpy(ctx.problem.component_log_prob())

    @staticmethod
    @_first_order
    def backward(ctx: Any, grad):
        ctx.saved_tensors  # noqa: B018  (raises if an input was modified in place)
        return _tensors(ctx.problem.vjp(grad.numpy(), tuple(ctx.needs_input_grad)))


class _LogProb(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weights, means, covariances, X):
        # Nothing but the inputs is kept for backward: its one native pass recomputes what it needs.
        ctx.problem = _autodiff.Problem(*_numpy((weights, means, covariances, X)))
        ctx.save_for_backward(weights, means, covariances, X)
        return torch.from_numpy(ctx.problem.log_likelihood())

    @staticmethod
    @_first_order
    def backward(ctx: Any, grad):
        ctx.saved_tensors  # noqa: B018  (raises if an input was modified in place)
        return _tensors(ctx.problem.log_likelihood_vjp(grad.numpy(), tuple(ctx.needs_input_grad)))


def component_log_prob(
    x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor
) -> torch.Tensor:
    """Per-component joint log-probabilities ``log w_k + log N(x_i | mu_k, Sigma_k)``, differentiable.

    Parameters
    ----------
    x : Tensor of shape (n_samples, n_features)
    weights : Tensor of shape (n_components,)
        Non-negative with a positive sum; used as ``weights / weights.sum()``.
    means : Tensor of shape (n_components, n_features)
    covariances : Tensor of shape (n_components, n_features, n_features)
        Positive definite; used through the symmetric part ``(S + S^T) / 2``.

    All four are CPU tensors of one dtype, float32 or float64.

    Returns
    -------
    Tensor of shape (n_samples, n_components)
        Of the inputs' dtype. Its gradient (first order only) is computed by
        gmmcore's native backward, only for the inputs that require it.

    Raises
    ------
    TypeError
        A non-tensor, a dtype other than float32/float64, or mixed dtypes.
    ValueError
        Wrong shapes, non-finite values, negative weights, a tensor not on the CPU.
    numpy.linalg.LinAlgError
        A covariance is not positive definite.
    RuntimeError
        A second derivative was asked for (double backward is not supported).

    Examples
    --------
    >>> import torch
    >>> from gmmcore.torch import component_log_prob
    >>> y = component_log_prob(torch.zeros(1, 1), torch.ones(2) / 2, torch.zeros(2, 1), torch.ones(2, 1, 1))
    >>> y.round(decimals=4)
    tensor([[-1.6121, -1.6121]])
    """
    if not _graph_needed(weights, means, covariances, x):
        return torch.from_numpy(_autodiff.Problem(*_numpy((weights, means, covariances, x))).component_log_prob())
    return _ComponentLogProb.apply(weights, means, covariances, x)


def log_prob(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor) -> torch.Tensor:
    """Per-sample mixture log-likelihood ``log sum_k w_k N(x_i | mu_k, Sigma_k)``, differentiable.

    The same inputs, conventions and errors as :func:`component_log_prob`; the
    gradient is the native backward with the responsibilities as upstream
    gradient (``d logsumexp / dy = softmax(y)``).

    Returns
    -------
    Tensor of shape (n_samples,)

    Examples
    --------
    >>> import torch
    >>> from gmmcore.torch import log_prob
    >>> means = torch.zeros(1, 2, requires_grad=True)
    >>> ll = log_prob(torch.tensor([[1.0, 0.0]]), torch.ones(1), means, torch.eye(2)[None])
    >>> ll.sum().backward()
    >>> means.grad
    tensor([[1., 0.]])
    """
    if not _graph_needed(weights, means, covariances, x):
        return torch.from_numpy(_autodiff.Problem(*_numpy((weights, means, covariances, x))).log_likelihood())
    return _LogProb.apply(weights, means, covariances, x)
