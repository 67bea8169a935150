"""A Gaussian mixture as a ``torch.nn.Module`` with unconstrained parameters."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._function import component_log_prob, log_prob


def _full_covariances(model: Any) -> np.ndarray:
    """A fitted estimator's covariances as (K, D, D), whatever its covariance_type."""
    k, d = model.means_.shape
    c = np.asarray(model.covariances_, dtype=np.float64)
    if model.covariance_type == "full":
        return c
    if model.covariance_type == "tied":
        return np.broadcast_to(c, (k, d, d)).copy()
    variances = c if model.covariance_type == "diag" else np.repeat(c[:, None], d, axis=1)
    return variances[:, :, None] * np.eye(d)


class GaussianMixtureModule(torch.nn.Module):
    """A mixture of ``n_components`` full-covariance Gaussians in ``n_features`` dimensions.

    Its parameters are unconstrained, so that any optimiser may move them
    freely: the weights are ``softmax(weight_logits)``, and component ``k``'s
    covariance is ``L_k L_k^T`` with ``L_k`` the lower triangle of
    ``cholesky_factors[k]`` whose diagonal is replaced by its exponential
    (strictly positive). The entries above the diagonal are not used.
    :meth:`log_prob` runs gmmcore's native forward and backward
    (:func:`gmmcore.torch.log_prob`).

    Parameters
    ----------
    n_components, n_features : int
    dtype : torch.dtype, default=torch.float64
        float32 or float64.

    Attributes
    ----------
    weight_logits : Parameter of shape (n_components,)
        Initialised to 0 (equal weights).
    means : Parameter of shape (n_components, n_features)
        Initialised to standard normal draws (``torch.randn``: seed with ``torch.manual_seed``).
    cholesky_factors : Parameter of shape (n_components, n_features, n_features)
        Initialised to 0 (identity covariances).

    Examples
    --------
    >>> import torch
    >>> from gmmcore.torch import GaussianMixtureModule
    >>> _ = torch.manual_seed(0)
    >>> gmm = GaussianMixtureModule(n_components=3, n_features=2)
    >>> x = torch.randn(100, 2, dtype=torch.float64)
    >>> loss = -gmm.log_prob(x).mean()
    >>> loss.backward()
    >>> gmm.means.grad.shape
    torch.Size([3, 2])
    """

    def __init__(self, n_components: int, n_features: int, *, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        if n_components < 1 or n_features < 1:
            raise ValueError(f"need n_components >= 1 and n_features >= 1, got {n_components} and {n_features}")
        self.weight_logits = torch.nn.Parameter(torch.zeros(n_components, dtype=dtype))
        self.means = torch.nn.Parameter(torch.randn(n_components, n_features, dtype=dtype))
        self.cholesky_factors = torch.nn.Parameter(torch.zeros(n_components, n_features, n_features, dtype=dtype))

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        return self.means.shape[1]

    def weights(self) -> torch.Tensor:
        """Mixing weights (n_components,), ``softmax(weight_logits)``."""
        return torch.softmax(self.weight_logits, dim=0)

    def cholesky(self) -> torch.Tensor:
        """Lower-triangular factors ``L`` (n_components, n_features, n_features) with a positive diagonal."""
        raw = self.cholesky_factors
        return torch.tril(raw, diagonal=-1) + torch.diag_embed(torch.exp(torch.diagonal(raw, dim1=-2, dim2=-1)))

    def covariances(self) -> torch.Tensor:
        """Covariances ``L L^T`` (n_components, n_features, n_features)."""
        factor = self.cholesky()
        return factor @ factor.transpose(-2, -1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample log-likelihood (n_samples,) of ``x`` (n_samples, n_features), differentiable."""
        return log_prob(x, self.weights(), self.means, self.covariances())

    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Per-component joint log-probabilities (n_samples, n_components), differentiable."""
        return component_log_prob(x, self.weights(), self.means, self.covariances())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The same as :meth:`log_prob`."""
        return self.log_prob(x)

    def sample(self, n_samples: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n_samples`` samples: (samples (n_samples, n_features), component labels (n_samples,)).

        The components are drawn from the weights, then ``mu_k + L_k z`` with
        ``z`` standard normal: gradients flow to the means and the Cholesky
        factors (reparameterised), not through the discrete choice of component.
        """
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
        with torch.no_grad():
            if n_samples == 0:  # torch.multinomial refuses to draw nothing
                labels = torch.zeros(0, dtype=torch.int64)
            else:
                labels = torch.multinomial(self.weights(), n_samples, replacement=True, generator=generator)
        z = torch.randn(n_samples, self.n_features, dtype=self.means.dtype, generator=generator)
        samples = self.means[labels] + (self.cholesky()[labels] @ z[:, :, None])[:, :, 0]
        return samples, labels

    @classmethod
    def from_gaussian_mixture(cls, model: Any, *, dtype: torch.dtype | None = None) -> GaussianMixtureModule:
        """A module with the parameters of a fitted :class:`gmmcore.GaussianMixture`.

        Any ``covariance_type`` is accepted; the module always holds full
        covariances. ``dtype`` defaults to the estimator's (float32 or float64).
        """
        for name in ("weights_", "means_", "covariances_"):
            if not hasattr(model, name):
                raise ValueError(f"the model is not fitted (it has no {name})")
        weights = np.asarray(model.weights_, dtype=np.float64)
        means = np.asarray(model.means_, dtype=np.float64)
        if dtype is None:
            dtype = torch.float32 if model.means_.dtype == np.float32 else torch.float64
        factors = np.linalg.cholesky(_full_covariances(model))
        raw = np.tril(factors, -1) + np.einsum(
            "kd,de->kde", np.log(np.diagonal(factors, axis1=1, axis2=2)), np.eye(means.shape[1])
        )
        module = cls(*means.shape, dtype=dtype)
        with torch.no_grad():
            module.weight_logits.copy_(torch.from_numpy(np.log(weights)))
            module.means.copy_(torch.from_numpy(means))
            module.cholesky_factors.copy_(torch.from_numpy(raw))
        return module

    def to_gaussian_mixture(self, **params: Any) -> Any:
        """A fitted :class:`gmmcore.GaussianMixture` (``covariance_type="full"``) with these parameters.

        ``params`` are the estimator's other hyper-parameters (``reg_covar``,
        ``tol``, ...), e.g. for a later ``fit`` with ``warm_start=True``. The
        fit attributes say that no EM ran: ``converged_ = False``,
        ``n_iter_ = 0``, ``lower_bound_ = -inf``.
        """
        from .. import GaussianMixture

        dtype = np.float32 if self.means.dtype == torch.float32 else np.float64
        with torch.no_grad():
            weights, means, factors = (t.double().numpy() for t in (self.weights(), self.means, self.cholesky()))
        # scikit-learn's precisions_cholesky_ U satisfies U U^T = Sigma^{-1}: U = L^{-T}. inv pivots, which
        # leaves round-off above the diagonal of L^{-1}; its structural zeros are restored.
        upper = np.swapaxes(np.tril(np.linalg.inv(factors)), 1, 2)
        model = GaussianMixture(self.n_components, covariance_type="full", **params)
        model.weights_ = (weights / weights.sum()).astype(dtype)
        model.means_ = means.astype(dtype)
        model.covariances_ = (factors @ np.swapaxes(factors, 1, 2)).astype(dtype)
        model.precisions_cholesky_ = np.ascontiguousarray(upper, dtype=dtype)
        model.precisions_ = (upper @ np.swapaxes(upper, 1, 2)).astype(dtype)
        model.converged_ = False
        model.n_iter_ = 0
        model.lower_bound_ = -math.inf
        model.lower_bounds_ = []
        model.n_features_in_ = self.n_features
        return model
