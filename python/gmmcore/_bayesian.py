"""``gmmcore.BayesianGaussianMixture``: scikit-learn's variational estimator, fitted natively.

Parameters, defaults, validation, fitted attributes and methods follow
``sklearn.mixture.BayesianGaussianMixture``; the whole fit (initialisation,
the variational E-step on the same kernels as GaussianMixture's, the
variational M-step, the lower bound, ``n_init`` restarts and warm start) runs
in C++ (``cpp/include/gmmcore/variational.hpp``; the formulas are
docs/math.md's "Variational inference" section). ``fit`` also accepts
``sample_weight``; float32 data are fitted in float32.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array

from . import _native
from ._covariance import COVARIANCE_TYPES, native_layout, user_layout
from ._mixture import INIT_PARAMS, _BaseMixture, _Callback, _check_sample_weight, _check_shape
from ._validation import native_array

__all__ = ["BayesianGaussianMixture"]

#: The priors on the mixing weights.
WEIGHT_PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


def weighted_mean(X, sample_weight):
    """X's mean in float64, under the sample weights (all 1 when ``sample_weight`` is empty)."""
    if sample_weight.size == 0:
        return np.asarray(X, np.float64).mean(axis=0)
    w = np.asarray(sample_weight, np.float64)
    return (w @ np.asarray(X, np.float64)) / w.sum()


def default_covariance_prior(X, sample_weight, mean, covariance_type):
    """scikit-learn's default covariance prior (X's covariance, ddof 1), in float64, with frequency weights.

    ``mean`` is :func:`weighted_mean` of X and the weights. With sample weights the covariance is
    ``sum_i w_i (x_i - m)(x_i - m)^T / (sum_i w_i - 1)``, so that an integer weight is a repeated row; it needs a
    weight total above 1.
    """
    centred = np.asarray(X, np.float64) - mean
    if sample_weight.size == 0:
        scaled, total = centred, float(X.shape[0])
    else:
        w = np.asarray(sample_weight, np.float64)
        total = w.sum()
        if not total > 1:
            raise ValueError(
                "the default covariance_prior is the data's covariance, which needs sample weights summing to more "
                f"than 1 (got {total}); give covariance_prior explicitly"
            )
        scaled = centred * w[:, None]
    if covariance_type in ("full", "tied"):
        return np.atleast_2d(scaled.T @ centred / (total - 1))
    variances = np.einsum("ij,ij->j", scaled, centred) / (total - 1)
    return variances if covariance_type == "diag" else variances.mean()


class BayesianGaussianMixture(_BaseMixture):
    """Variational Bayesian Gaussian mixture, fitted natively; a drop-in for scikit-learn's.

    Same parameters, defaults and attributes as
    :class:`sklearn.mixture.BayesianGaussianMixture`: a Dirichlet-process
    (stick-breaking) or Dirichlet prior on the weights and a Normal-Wishart
    prior on each component's mean and precision; with a Dirichlet-process
    prior and a small ``weight_concentration_prior`` the components that the
    data do not need get negligible weight. ``predict``, ``predict_proba`` and
    ``score_samples`` use the variational expected log-probabilities plus
    ``E[log pi_k]``, as scikit-learn's do.

    Differences from scikit-learn: the k-means initialisation is gmmcore's (a
    given ``random_state`` gives a different, but deterministic, start);
    ``fit`` accepts ``sample_weight`` (an integer weight is a repeated row,
    also in the default priors); float32 data are fitted in float32. Chunked
    data (``.npy`` paths, datasets, callables) are GaussianMixture's only: pass
    arrays in memory.

    Parameters
    ----------
    n_components : int, default=1
        Maximum number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Form of the covariance of each component.
    tol : float, default=1e-3
        Convergence threshold on the change of the lower bound (a total over
        the samples, not a mean).
    reg_covar : float, default=1e-6
        Added to the diagonal of every maximum-likelihood covariance before
        the Normal-Wishart update.
    max_iter : int, default=100
        Iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the best lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How responsibilities are initialised.
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, default='dirichlet_process'
        The prior on the weights.
    weight_concentration_prior : float > 0, default=None
        ``gamma_0`` of that prior; None means ``1 / n_components``.
    mean_precision_prior : float > 0, default=None
        ``beta_0``, the prior's precision on the means; None means 1.
    mean_prior : array-like of shape (n_features,), default=None
        ``m_0``, the prior mean; None means X's (weighted) mean.
    degrees_of_freedom_prior : float > n_features - 1, default=None
        ``nu_0`` of the Wishart prior; None means ``n_features``.
    covariance_prior : float or array-like, default=None
        ``W_0^{-1}`` of the Wishart prior: (n_features, n_features) for
        'full' and 'tied', (n_features,) for 'diag', a float for
        'spherical'; None means X's (weighted) covariance, its diagonal or the
        mean of its diagonal.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation (and :meth:`sample`) as in
        :class:`GaussianMixture`: an int gives scikit-learn's k-means++ seeds.
    warm_start : bool, default=False
        Start from the previous fit's posterior (one initialisation).
    verbose : int, default=0
        1 prints each initialisation, every ``verbose_interval``-th iteration
        and whether it converged; 2 also the times and lower-bound changes.
    verbose_interval : int, default=10
        Iterations between two verbose reports.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Posterior mean weights.
    means_ : ndarray of shape (n_components, n_features)
        Posterior means ``m_k``.
    covariances_ : ndarray
        ``W_k^{-1} / nu_k``, shaped by ``covariance_type`` as in
        GaussianMixture.
    precisions_ : ndarray
        Their inverses.
    precisions_cholesky_ : ndarray
        Cholesky factors of the precisions.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Lower bound of the best initialisation (a total over the samples).
    lower_bounds_ : list of float
        Lower bound after each iteration of the best initialisation.
    weight_concentration_prior_ : float
    weight_concentration_ : tuple of two ndarrays or ndarray of shape (n_components,)
        ``(alpha_k, beta_k)`` of the sticks' Beta posteriors
        (dirichlet_process) or the Dirichlet's ``alpha_k``.
    mean_precision_prior_ : float
    mean_precision_ : ndarray of shape (n_components,)
    mean_prior_ : ndarray of shape (n_features,)
    degrees_of_freedom_prior_ : float
    degrees_of_freedom_ : ndarray of shape (n_components,), or float for 'tied'
    covariance_prior_ : float or ndarray
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when fitted on a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmcore import BayesianGaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(c, 0.5, size=(100, 2)) for c in (0, 5, 10)])
    >>> bgm = BayesianGaussianMixture(n_components=8, weight_concentration_prior=1e-3, random_state=0).fit(X)
    >>> int((bgm.weights_ > 0.05).sum())
    3
    """

    _KERNELS = "offset"

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(INIT_PARAMS))],
        "weight_concentration_prior_type": [StrOptions(set(WEIGHT_PRIOR_TYPES))],
        "weight_concentration_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_precision_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_prior": [None, "array-like"],
        "degrees_of_freedom_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "covariance_prior": [None, "array-like", Interval(Real, 0.0, None, closed="neither")],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: ArrayLike,
        y: object = None,
        sample_weight: ArrayLike | None = None,
        callback: _Callback | None = None,
    ) -> BayesianGaussianMixture:
        """Fit the variational posterior (the lower bound's coordinate ascent, ``n_init`` times).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, in memory (chunked data are not supported here).
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight is equivalent to repeating
            the sample that many times.
        callback : callable, default=None
            Called after every iteration as
            ``callback(init, n_iter, lower_bound, change)``; an exception it
            raises aborts the fit.

        Returns
        -------
        self : BayesianGaussianMixture
        """
        self._fit(_in_memory(X), sample_weight, callback)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(
        self,
        X: ArrayLike,
        y: object = None,
        sample_weight: ArrayLike | None = None,
        callback: _Callback | None = None,
    ) -> NDArray[np.int64]:
        """Fit the model and return the most probable component of each sample (as ``fit(X).predict(X)``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
        callback : callable, default=None
            See :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        samples = self._fit(_in_memory(X), sample_weight, callback)
        return _native.offset_predict(*self._model_args(samples.dtype), samples)

    def _fit_source(self, source, callback):
        raise TypeError(
            "BayesianGaussianMixture.fit takes samples in memory (an array-like); chunked data (a .npy path, a "
            "dataset or a callable) are supported by GaussianMixture only: load them with np.asarray first"
        )

    def _fit_unguarded(self, X, sample_weight, callback):
        X = self._fit_samples(X)
        n_samples, n_features = X.shape
        self._check_n_samples(n_samples)
        X = native_array(X)
        sample_weight = _check_sample_weight(sample_weight, X)
        priors = self._check_priors(X, sample_weight)
        do_init, seed = self._do_init_and_seed()
        warm = None if do_init else self._posterior(X.dtype)
        self._report_initialisations_without_iterations(do_init)
        result = _native.fit_variational(
            X,
            sample_weight,
            self.covariance_type,
            self.n_components,
            float(self.tol),
            float(self.reg_covar),
            int(self.max_iter),
            int(self.n_init),
            self.init_params,
            int(seed),
            self.weight_concentration_prior_type,
            *priors,
            warm,
            float(self.lower_bound_) if not do_init else -np.inf,
            self._iteration_callback(callback),
        )
        self._set_fit_result(result, n_features)
        return X

    def _check_priors(self, X, sample_weight):
        """Set the ``*_prior_`` attributes as scikit-learn does; return them as ``fit_variational`` takes them."""
        n_features = X.shape[1]
        if self.weight_concentration_prior is None:
            self.weight_concentration_prior_ = 1.0 / self.n_components
        else:
            self.weight_concentration_prior_ = self.weight_concentration_prior
        self.mean_precision_prior_ = 1.0 if self.mean_precision_prior is None else self.mean_precision_prior
        # The data's mean: the default mean prior, and the centre of the default covariance prior.
        needs_mean = self.mean_prior is None or self.covariance_prior is None
        data_mean = weighted_mean(X, sample_weight) if needs_mean else None
        if self.mean_prior is None:
            self.mean_prior_ = data_mean.astype(X.dtype)
        else:
            self.mean_prior_ = check_array(self.mean_prior, dtype=[np.float64, np.float32], ensure_2d=False)
            _check_shape(self.mean_prior_, (n_features,), "means")
        if self.degrees_of_freedom_prior is None:
            self.degrees_of_freedom_prior_ = n_features
        elif self.degrees_of_freedom_prior > n_features - 1.0:
            self.degrees_of_freedom_prior_ = self.degrees_of_freedom_prior
        else:
            raise ValueError(
                f"The parameter 'degrees_of_freedom_prior' should be greater than {n_features - 1}, "
                f"but got {self.degrees_of_freedom_prior:.3f}."
            )
        self.covariance_prior_ = self._checked_covariance_prior(X, sample_weight, data_mean)
        shape = {"full": (n_features, n_features), "tied": (n_features, n_features), "diag": (1, n_features)}
        covariance = np.ascontiguousarray(
            np.asarray(self.covariance_prior_, np.float64).reshape(shape.get(self.covariance_type, (1, 1)))
        )
        return (
            float(self.weight_concentration_prior_),
            float(self.mean_precision_prior_),
            np.ascontiguousarray(self.mean_prior_, np.float64),
            float(self.degrees_of_freedom_prior_),
            covariance,
        )

    def _checked_covariance_prior(self, X, sample_weight, data_mean):
        n_features = X.shape[1]
        if self.covariance_prior is None:
            prior = default_covariance_prior(X, sample_weight, data_mean, self.covariance_type)
            return prior if self.covariance_type == "spherical" else np.asarray(prior, X.dtype)
        if self.covariance_type in ("full", "tied"):
            prior = check_array(self.covariance_prior, dtype=[np.float64, np.float32], ensure_2d=False)
            _check_shape(prior, (n_features, n_features), f"{self.covariance_type} covariance_prior")
            if not (np.allclose(prior, prior.T) and np.all(np.linalg.eigvalsh(prior) > 0.0)):
                raise ValueError(f"'{self.covariance_type} covariance_prior' should be symmetric, positive-definite")
            return prior
        if self.covariance_type == "diag":
            prior = check_array(self.covariance_prior, dtype=[np.float64, np.float32], ensure_2d=False)
            _check_shape(prior, (n_features,), f"{self.covariance_type} covariance_prior")
            if np.any(np.less_equal(prior, 0.0)):
                raise ValueError(f"'{self.covariance_type} covariance_prior' should be positive")
            return prior
        if not isinstance(self.covariance_prior, Real):
            raise ValueError(
                f"'spherical covariance_prior' should be a positive float, got {type(self.covariance_prior).__name__}"
            )
        return self.covariance_prior

    def _posterior(self, dtype: DTypeLike) -> Any:
        """The fitted posterior as the native tuple (weight_concentration (2 or 1, K), mean_precision, means,
        degrees_of_freedom, covariances, precisions_cholesky, weights), in ``dtype``."""
        self._check_fitted_shapes("weights_", "covariances_", "precisions_cholesky_")
        concentration = self.weight_concentration_
        if self.weight_concentration_prior_type == "dirichlet_process":
            concentration = np.vstack(concentration)
        return (
            native_array(np.atleast_2d(concentration), dtype),
            native_array(np.asarray(self.mean_precision_), dtype),
            native_array(self.means_, dtype),
            native_array(np.atleast_1d(self.degrees_of_freedom_), dtype),
            native_layout(self.covariances_, self.covariance_type, dtype),
            native_layout(self.precisions_cholesky_, self.covariance_type, dtype),
            native_array(self.weights_, dtype),
        )

    def _set_fit_result(self, result, n_features):
        posterior, converged, n_iter, lower_bound, lower_bounds = result
        concentration, mean_precision, means, degrees_of_freedom, covariances, chol, weights = posterior
        self._forget_evaluation_model()
        if self.weight_concentration_prior_type == "dirichlet_process":
            self.weight_concentration_ = (concentration[0], concentration[1])
        else:
            self.weight_concentration_ = concentration[0]
        self.mean_precision_ = mean_precision
        self.means_ = means
        self.degrees_of_freedom_ = degrees_of_freedom[0] if self.covariance_type == "tied" else degrees_of_freedom
        self.covariances_ = user_layout(covariances, self.covariance_type, n_features)
        self.precisions_cholesky_ = user_layout(chol, self.covariance_type, n_features)
        self.weights_ = weights
        self.precisions_ = self._precisions_from_cholesky()
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)
        self.lower_bound_ = float(lower_bound)
        self.lower_bounds_ = list(lower_bounds)
        self._warn_if_not_converged()

    # ------------------------------------------------------------ evaluate

    def _model_args(self, dtype: DTypeLike) -> tuple[str, NDArray[Any], NDArray[Any], NDArray[Any]]:
        """The model for the ``offset_*`` kernels: (covariance_type, c_k, means, precisions_cholesky).

        ``c_k`` are the variational E-step's offsets (expected log-weight and
        Wishart terms, docs/math.md#math-variational), computed in float64.
        """
        offsets = _native.variational_log_weights(
            self.covariance_type, self.weight_concentration_prior_type, self._posterior(np.float64)
        )
        return (
            self.covariance_type,
            native_array(offsets, dtype),
            native_array(self.means_, dtype),
            native_layout(self.precisions_cholesky_, self.covariance_type, dtype),
        )


def _in_memory(X):
    """X with a :class:`numpy.memmap` viewed as a plain array: the variational fit reads data in memory."""
    return np.asarray(X) if isinstance(X, np.memmap) else X
