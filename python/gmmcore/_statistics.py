"""``gmmcore.SufficientStatistics``: the E-step statistics of a mixture as a mergeable value.

The definitions are in ``docs/math.md`` (section "Sufficient statistics");
the arithmetic (merge, scaling, blending, M-step) is the C++ core's
(``gmmcore/statistics.hpp``), so that ``fit``, the chunked fit, ``partial_fit``
and distributed fits share one implementation.
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from . import _native
from ._covariance import COVARIANCE_TYPES, user_layout

__all__ = ["MixtureParameters", "SufficientStatistics"]


class MixtureParameters(NamedTuple):
    """Parameters of a mixture in scikit-learn's layout for its covariance type.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        (n_components, n_features, n_features) for 'full', (n_features,
        n_features) for 'tied', (n_components, n_features) for 'diag',
        (n_components,) for 'spherical'.
    precisions_cholesky : ndarray
        Same shape: upper-triangular ``P`` with ``inv(Sigma) = P P^T`` (full,
        tied), or ``1 / sqrt`` of the variances (diag, spherical).
    """

    weights: NDArray[Any]
    means: NDArray[Any]
    covariances: NDArray[Any]
    precisions_cholesky: NDArray[Any]


class SufficientStatistics:
    """Weighted E-step statistics of a mixture on some samples; merge them with ``+``.

    For samples ``x_i`` with weights ``s_i`` and responsibilities ``r_ik``,
    taken around shifts ``c_k`` (the means of the model that computed them):
    ``weight_sums[k] = sum_i s_i r_ik``, ``sums[k] = sum_i s_i r_ik (x_i - c_k)``,
    ``scatters[k] = sum_i s_i r_ik (x_i - c_k)(x_i - c_k)^T`` (for 'full' and
    'tied'; the diagonal ``sum_i s_i r_ik (x_i - c_k)**2`` for 'diag' and
    'spherical'), ``log_likelihood = sum_i s_i log p(x_i)``,
    ``total_weight = sum_i s_i`` and ``n_samples``.

    Compute them with :meth:`GaussianMixture.statistics`. The statistics of
    disjoint sets of samples merge (``a + b``) into those of their union, in
    any order and grouping, up to rounding; statistics around different
    shifts merge by the exact pairwise update of centred scatters, never
    through raw second moments. :meth:`m_step` turns them into parameters
    with the estimator's rules. They hold plain NumPy arrays, so they pickle
    and travel between processes.

    Parameters
    ----------
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    shifts : ndarray of shape (n_components, n_features)
    weight_sums : ndarray of shape (n_components,)
    sums : ndarray of shape (n_components, n_features)
    scatters : ndarray
        (n_components, n_features, n_features) for 'full' and 'tied',
        (n_components, n_features) for 'diag' and 'spherical'.
    log_likelihood : float, default=0.0
    total_weight : float, default=0.0
    n_samples : int, default=0

    Notes
    -----
    Construction does not validate; every operation does, in the core, and
    names the field at fault. The arrays are float64 or float32 (the dtype of
    the data they came from), all the same.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmcore
    >>> X = np.random.default_rng(0).normal(size=(1000, 2))
    >>> gm = gmmcore.GaussianMixture(2, random_state=0).fit(X)
    >>> whole = gm.statistics(X)
    >>> merged = gm.statistics(X[:300]) + gm.statistics(X[300:])
    >>> bool(np.allclose(merged.scatters, whole.scatters, rtol=1e-12))
    True
    >>> params = merged.m_step(reg_covar=gm.reg_covar)
    >>> params.means.shape
    (2, 2)
    """

    def __init__(
        self,
        covariance_type: str,
        shifts: NDArray[Any],
        weight_sums: NDArray[Any],
        sums: NDArray[Any],
        scatters: NDArray[Any],
        log_likelihood: float = 0.0,
        total_weight: float = 0.0,
        n_samples: int = 0,
    ) -> None:
        self.covariance_type = covariance_type
        self.shifts = shifts
        self.weight_sums = weight_sums
        self.sums = sums
        self.scatters = scatters
        self.log_likelihood = float(log_likelihood)
        self.total_weight = float(total_weight)
        self.n_samples = int(n_samples)

    @classmethod
    def _from_native(cls, fields: tuple[Any, ...]) -> SufficientStatistics:
        covariance_type, shifts, weight_sums, sums, scatters, log_likelihood, total_weight, n_samples = fields
        if covariance_type in ("full", "tied"):
            scatters = scatters.reshape(-1, shifts.shape[1], shifts.shape[1])
        return cls(covariance_type, shifts, weight_sums, sums, scatters, log_likelihood, total_weight, n_samples)

    def _to_native(self) -> tuple[Any, ...]:
        """The core's tuple: arrays C-contiguous in the dtype of ``shifts``, scatters as (K, D*D) or (K, D)."""
        if not isinstance(self.covariance_type, str) or self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {sorted(COVARIANCE_TYPES)}, got {self.covariance_type!r}")
        shifts = np.asarray(self.shifts)
        if shifts.dtype not in (np.float64, np.float32):
            raise TypeError(f"the statistics' arrays must be float64 or float32, got shifts of dtype {shifts.dtype}")
        dtype = shifts.dtype

        def field(name: str) -> NDArray[Any]:
            value = np.asarray(getattr(self, name))
            if value.dtype != dtype:
                raise TypeError(f"{name} has dtype {value.dtype} but shifts has {dtype}: they must agree")
            return np.ascontiguousarray(value)

        scatters = field("scatters")
        if self.covariance_type in ("full", "tied") and scatters.ndim == 3:
            scatters = scatters.reshape(scatters.shape[0], -1)
        n_samples = operator.index(self.n_samples)
        if not 0 <= n_samples < 2**63:
            raise ValueError(f"n_samples must be a non-negative 64-bit integer, got {n_samples}")
        return (
            self.covariance_type,
            np.ascontiguousarray(shifts),
            field("weight_sums"),
            field("sums"),
            scatters,
            float(self.log_likelihood),
            float(self.total_weight),
            n_samples,
        )

    def __add__(self, other: object) -> SufficientStatistics:
        if not isinstance(other, SufficientStatistics):
            return NotImplemented
        return self.merge(other)

    def merge(self, other: SufficientStatistics) -> SufficientStatistics:
        """The statistics of the union of the samples behind ``self`` and ``other`` (same as ``self + other``).

        Parameters
        ----------
        other : SufficientStatistics
            Of the same covariance type, number of components and features.

        Returns
        -------
        SufficientStatistics
        """
        return SufficientStatistics._from_native(_native.merge_statistics(self._to_native(), other._to_native()))

    def scaled(self, factor: float) -> SufficientStatistics:
        """The statistics with every sample weight multiplied by ``factor >= 0``.

        Parameters
        ----------
        factor : float

        Returns
        -------
        SufficientStatistics
            ``weight_sums``, ``sums``, ``scatters``, ``log_likelihood`` and
            ``total_weight`` scaled; ``shifts`` and ``n_samples`` kept.
        """
        return SufficientStatistics._from_native(_native.scale_statistics(self._to_native(), float(factor)))

    @property
    def means(self) -> NDArray[Any]:
        """Weighted mean of each component, ``shifts + sums / weight_sums`` (NaN where ``weight_sums`` is 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.shifts + self.sums / self.weight_sums[:, None]

    def m_step(self, reg_covar: float = 1e-6) -> MixtureParameters:
        """Parameters from the statistics, by the estimator's M-step.

        ``w_k`` proportional to ``N_k + 10 eps``, ``mu_k`` the weighted means and
        ``Sigma_k`` the weighted covariances about them (divided by
        ``N_k + 10 eps``) plus ``reg_covar`` on the diagonal, as
        :class:`GaussianMixture` computes them in every EM iteration.

        Parameters
        ----------
        reg_covar : float, default=1e-6

        Returns
        -------
        MixtureParameters

        Raises
        ------
        numpy.linalg.LinAlgError
            When a covariance is not positive definite (increase ``reg_covar``).
        ValueError
            When the statistics hold no weight or are malformed.
        """
        fields = self._to_native()
        weights, means, covariances, chol = _native.statistics_m_step(fields, float(reg_covar))
        n_features = means.shape[1]
        return MixtureParameters(
            weights,
            means,
            user_layout(covariances, self.covariance_type, n_features),
            user_layout(chol, self.covariance_type, n_features),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SufficientStatistics):
            return NotImplemented
        return (
            self.covariance_type == other.covariance_type
            and all(
                np.array_equal(getattr(self, name), getattr(other, name))
                for name in ("shifts", "weight_sums", "sums", "scatters")
            )
            and (self.log_likelihood, self.total_weight, self.n_samples)
            == (other.log_likelihood, other.total_weight, other.n_samples)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable arrays

    def __repr__(self) -> str:
        k, d = np.shape(self.shifts)
        return (
            f"SufficientStatistics(covariance_type={self.covariance_type!r}, n_components={k}, n_features={d}, "
            f"n_samples={self.n_samples}, total_weight={self.total_weight:g}, dtype={np.asarray(self.shifts).dtype})"
        )
