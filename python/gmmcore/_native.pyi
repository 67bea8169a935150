# Type stub of gmmcore._native: the dispatcher in _native.py plus the functions it
# re-exports (with globals().update) from the extension module it chose, whose
# bindings are cpp/bindings/native.cpp. Every compute function has a float32 and a
# float64 overload: all its arrays share one dtype, C-contiguous (no conversion is
# made: a wrong dtype or layout is a TypeError). Covariance-shaped arrays are 2-D:
# (n_components, n_features**2) for "full" and the functional API, one row for
# "tied", (n_components, n_features) for "diag", (n_components, 1) for "spherical".
# Keep in step with native.cpp.

from collections.abc import Callable, Iterator
from typing import TypeVar, overload

import numpy as np
from numpy.typing import NDArray

_F = TypeVar("_F", np.float32, np.float64)

#: The dispatch levels, lowest first.
LEVELS: tuple[str, ...]
#: Name of the environment variable that caps the level.
ENV_VAR: str
#: The level (or "native"/"generic" build) whose module was imported, and why.
isa: str
isa_reason: str
#: The extension module imported and the compile flags it was built with.
module_name: str
compile_flags: str
#: Whether the extension module was compiled with OpenMP.
openmp: bool

class NotPositiveDefiniteError(np.linalg.LinAlgError):
    """A covariance (or precision) matrix that is not symmetric positive definite."""

# ---------------------------------------------------------------- functional API
# weights (n_components,), means (n_components, n_features),
# covariances (n_components, n_features**2), X (n_samples, n_features).

def forward(weights: NDArray[_F], means: NDArray[_F], covariances: NDArray[_F], X: NDArray[_F]) -> NDArray[_F]:
    """Per-component log-probabilities ``log w_k + log N(x | mu_k, Sigma_k)``, (n_samples, n_components)."""

def expectation(weights: NDArray[_F], means: NDArray[_F], covariances: NDArray[_F], X: NDArray[_F]) -> NDArray[_F]:
    """Responsibilities, (n_samples, n_components)."""

def log_likelihood(weights: NDArray[_F], means: NDArray[_F], covariances: NDArray[_F], X: NDArray[_F]) -> NDArray[_F]:
    """``log p(x)`` of each sample, (n_samples,)."""

def negative_log_likelihood(
    weights: NDArray[_F], means: NDArray[_F], covariances: NDArray[_F], X: NDArray[_F]
) -> float:
    """Minus the sum over samples of ``log p(x)``."""

@overload
def backward(
    weights: NDArray[_F], means: NDArray[_F], covariances: NDArray[_F], X: NDArray[_F], grad_output: NDArray[_F]
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F]]: ...
@overload
def backward(
    weights: NDArray[_F],
    means: NDArray[_F],
    covariances: NDArray[_F],
    X: NDArray[_F],
    grad_output: NDArray[_F],
    covariances_gradient: bool,
    input_gradient: bool,
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F] | None, NDArray[_F] | None]:
    """VJP of :func:`forward`: gradients of (weights, means, covariances, X) for ``grad_output``.

    ``covariances_gradient=False`` (``input_gradient=False``) skips that gradient's work and returns None for it.
    """

def log_likelihood_backward(
    weights: NDArray[_F],
    means: NDArray[_F],
    covariances: NDArray[_F],
    X: NDArray[_F],
    grad_output: NDArray[_F],
    covariances_gradient: bool = ...,
    input_gradient: bool = ...,
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F] | None, NDArray[_F] | None]:
    """VJP of :func:`log_likelihood` for ``grad_output`` (N,): :func:`backward` with ``G = g * gamma``, fused.

    ``covariances_gradient=False`` (``input_gradient=False``) skips that gradient's work and returns None for it.
    """

def em_step(
    weights: NDArray[_F], means: NDArray[_F], covariances: NDArray[_F], X: NDArray[_F], jitter: float
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F], float]:
    """One EM iteration: (weights, means, covariances, log-likelihood of the input parameters)."""

def em_train(
    weights: NDArray[_F], means: NDArray[_F], covariances: NDArray[_F], X: NDArray[_F], epochs: int, jitter: float
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F]]:
    """``epochs`` EM iterations: (weights, means, covariances)."""

def logsumexp_rows(a: NDArray[_F]) -> NDArray[_F]:
    """``log(sum(exp(a), axis=1))`` of a 2-D array, (n_rows,)."""

# ---------------------------------------------------------------- the estimator's kernels
# A fitted mixture is (covariance_type, weights, means, precisions_cholesky), the
# last in the 2-D layout above (gmmcore._covariance.native_layout).

def mixture_predict_proba(
    covariance_type: str, weights: NDArray[_F], means: NDArray[_F], precisions_cholesky: NDArray[_F], X: NDArray[_F]
) -> NDArray[_F]:
    """Responsibilities, (n_samples, n_components)."""

def mixture_score_samples(
    covariance_type: str, weights: NDArray[_F], means: NDArray[_F], precisions_cholesky: NDArray[_F], X: NDArray[_F]
) -> NDArray[_F]:
    """``log p(x)`` of each sample, (n_samples,)."""

def mixture_predict(
    covariance_type: str, weights: NDArray[_F], means: NDArray[_F], precisions_cholesky: NDArray[_F], X: NDArray[_F]
) -> NDArray[np.int64]:
    """Most probable component of each sample, (n_samples,)."""

def fit_mixture(
    X: NDArray[_F],
    sample_weight: NDArray[_F],
    covariance_type: str,
    n_components: int,
    tol: float,
    reg_covar: float,
    max_iter: int,
    n_init: int,
    init_params: str,
    seed: int,
    weights_init: NDArray[_F],
    means_init: NDArray[_F],
    covariances_init: NDArray[_F],
    precisions_cholesky_init: NDArray[_F],
    warm_start: bool,
    warm_lower_bound: float,
    callback: Callable[[int, int, float, float], object] | None,
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F], bool, int, float, list[float]]:
    """EM with initialisation, restarts and warm start; empty ``*_init`` and ``sample_weight`` mean "none".

    Returns (weights, means, covariances, precisions_cholesky, converged,
    n_iter, lower_bound, lower_bounds) of the best initialisation.
    """

def fit_mixture_chunked(
    source: Callable[[], Iterator[tuple[NDArray[_F], NDArray[_F]]]],
    n_features: int,
    init_X: NDArray[_F],
    init_sample_weight: NDArray[_F],
    covariance_type: str,
    n_components: int,
    tol: float,
    reg_covar: float,
    max_iter: int,
    n_init: int,
    init_params: str,
    seed: int,
    weights_init: NDArray[_F],
    means_init: NDArray[_F],
    covariances_init: NDArray[_F],
    precisions_cholesky_init: NDArray[_F],
    warm_start: bool,
    warm_lower_bound: float,
    callback: Callable[[int, int, float, float], object] | None,
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F], bool, int, float, list[float]]:
    """fit_mixture over ``source()``'s (X, sample_weight) chunks, one pass per iteration, initialised on init_X."""

def fit_mixture_distributed(
    statistics_pass: Callable[[NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F]], _Statistics[_F]],
    initial_statistics: Callable[[int, int], _Statistics[_F]],
    n_features: int,
    covariance_type: str,
    n_components: int,
    tol: float,
    reg_covar: float,
    max_iter: int,
    n_init: int,
    init_params: str,
    seed: int,
    weights_init: NDArray[_F],
    means_init: NDArray[_F],
    covariances_init: NDArray[_F],
    precisions_cholesky_init: NDArray[_F],
    warm_start: bool,
    warm_lower_bound: float,
    callback: Callable[[int, int, float, float], object] | None,
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F], bool, int, float, list[float]]:
    """fit_mixture where statistics_pass(weights, means, covariances, precisions_cholesky) gives each
    iteration's merged E-step statistics and initial_statistics(init, seed) each start's."""

# Statistics travel as (covariance_type, shifts, weight_sums, sums, scatters, log_likelihood, total_weight, n_samples).
_Statistics = tuple[str, NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F], float, float, int]

def mixture_statistics(
    covariance_type: str,
    weights: NDArray[_F],
    means: NDArray[_F],
    precisions_cholesky: NDArray[_F],
    X: NDArray[_F],
    sample_weight: NDArray[_F],
) -> _Statistics[_F]:
    """The E-step statistics of the mixture on X, around its means."""

def online_em_step(
    covariance_type: str,
    weights: NDArray[_F],
    means: NDArray[_F],
    precisions_cholesky: NDArray[_F],
    X: NDArray[_F],
    sample_weight: NDArray[_F],
    running: _Statistics[_F],
    eta: float,
    reg_covar: float,
) -> tuple[_Statistics[_F], NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F], float, float]:
    """partial_fit's step: (running statistics, weights, means, covariances, precisions_cholesky, batch
    log-likelihood, batch weight)."""

def labelled_statistics(
    covariance_type: str, shifts: NDArray[_F], X: NDArray[_F], sample_weight: NDArray[_F], labels: NDArray[np.intc]
) -> _Statistics[_F]:
    """Statistics around shifts of one-hot responsibilities r_ik = [labels_i = k] (-1: none)."""

def random_statistics(
    covariance_type: str, shifts: NDArray[_F], X: NDArray[_F], sample_weight: NDArray[_F], seed: int, row_offset: int
) -> _Statistics[_F]:
    """Statistics around shifts of the 'random' initialisation's responsibilities of rows row_offset, ..."""

def kmeans_plusplus(X: NDArray[_F], sample_weight: NDArray[_F], n_clusters: int, seed: int) -> NDArray[np.int64]:
    """Row indices of n_clusters greedy k-means++ seeds: scikit-learn's kmeans_plusplus with random_state=seed."""

def kmeans_lloyd(
    X: NDArray[_F], sample_weight: NDArray[_F], centres: NDArray[_F], max_iter: int, tol: float
) -> tuple[NDArray[np.intc], NDArray[_F], int]:
    """Lloyd iterations from centres: (labels, centres, n_iter)."""

def nearest_centres(X: NDArray[_F], centres: NDArray[_F]) -> tuple[NDArray[np.intc], NDArray[np.float64]]:
    """(labels, d2): each row's nearest centre and its squared distance."""

def cluster_sums(
    X: NDArray[_F], sample_weight: NDArray[_F], labels: NDArray[np.intc], n_clusters: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(sums, weights) of the rows of each cluster, in float64."""

def merge_statistics(a: _Statistics[_F], b: _Statistics[_F]) -> _Statistics[_F]: ...
def scale_statistics(statistics: _Statistics[_F], factor: float) -> _Statistics[_F]: ...
def statistics_m_step(
    statistics: _Statistics[_F], reg_covar: float
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F]]: ...
def n_parameters(covariance_type: str, n_components: int, n_features: int, /) -> int:
    """Number of free parameters of a mixture (for BIC and AIC)."""

# Variational inference (cpp/bindings/variational_bindings.hpp): a posterior is
# (weight_concentration (2 or 1, K), mean_precision (K), means (K, D),
# degrees_of_freedom (K; tied: 1), covariances, precisions_cholesky, weights (K)).
_Posterior = tuple[NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F]]

def fit_variational(
    X: NDArray[_F],
    sample_weight: NDArray[_F],
    covariance_type: str,
    n_components: int,
    tol: float,
    reg_covar: float,
    max_iter: int,
    n_init: int,
    init_params: str,
    seed: int,
    weight_concentration_prior_type: str,
    weight_concentration_prior: float,
    mean_precision_prior: float,
    mean_prior: NDArray[np.float64],
    degrees_of_freedom_prior: float,
    covariance_prior: NDArray[np.float64],
    warm_start: _Posterior[_F] | None,
    warm_lower_bound: float,
    callback: Callable[[int, int, float, float], object] | None,
) -> tuple[_Posterior[_F], bool, int, float, list[float]]:
    """The variational fit; returns (posterior, converged, n_iter, lower_bound, lower_bounds) of the best start."""

def variational_m_step(
    statistics: _Statistics[_F],
    reg_covar: float,
    weight_concentration_prior_type: str,
    weight_concentration_prior: float,
    mean_precision_prior: float,
    mean_prior: NDArray[np.float64],
    degrees_of_freedom_prior: float,
    covariance_prior: NDArray[np.float64],
) -> _Posterior[_F]:
    """The variational M-step of the statistics under the priors."""

def variational_log_weights(
    covariance_type: str, weight_concentration_prior_type: str, posterior: _Posterior[_F]
) -> NDArray[np.float64]:
    """The variational E-step's offsets c_k (its log-weights)."""

def variational_lower_bound(
    covariance_type: str, weight_concentration_prior_type: str, posterior: _Posterior[_F], sum_r_log_r: float
) -> float:
    """The lower bound of a posterior after an E-step with sum_i s_i sum_k r_ik log r_ik = sum_r_log_r."""

def offset_predict_proba(
    covariance_type: str, log_weights: NDArray[_F], means: NDArray[_F], precisions_cholesky: NDArray[_F], X: NDArray[_F]
) -> NDArray[_F]:
    """Responsibilities of a mixture given by log-weights, (n_samples, n_components)."""

def offset_score_samples(
    covariance_type: str, log_weights: NDArray[_F], means: NDArray[_F], precisions_cholesky: NDArray[_F], X: NDArray[_F]
) -> NDArray[_F]:
    """logsumexp_k of the component log-probabilities with log-weights, (n_samples,)."""

def offset_predict(
    covariance_type: str, log_weights: NDArray[_F], means: NDArray[_F], precisions_cholesky: NDArray[_F], X: NDArray[_F]
) -> NDArray[np.int64]:
    """Most probable component of each sample under log-weights, (n_samples,)."""

def digamma(x: float) -> float:
    """psi(x) for x > 0 (NaN otherwise)."""
