"""``gmmcore.GaussianMixture``: scikit-learn's estimator, fitted natively.

Parameters, defaults, validation, attributes and methods follow
``sklearn.mixture.GaussianMixture``; initialisation (k-means, k-means++,
random, random_from_data) and the whole EM loop (convergence, ``n_init``
restarts, warm start) run in C++, which calls back into Python only for
``verbose`` output. ``fit`` also accepts ``sample_weight``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
import warnings
import weakref
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _model_format, _native
from ._chunks import ChunkedSource, chunked_source, init_sample_rows
from ._covariance import COVARIANCE_TYPES, native_layout, parameter_shape, user_layout
from ._statistics import SufficientStatistics
from ._validation import native_array, plain_samples, working_dtype

__all__ = ["GaussianMixture"]

#: ``fit``'s ``callback(init, n_iter, lower_bound, change)``.
_Callback = Callable[[int, int, float, float], object]
#: What ``fit`` reads in chunks besides arrays (see ``_chunks.chunked_source``).
_ChunkedData = str | os.PathLike | Callable[[], Any]


def _check_shape(param, shape, name):
    if param.shape != shape:
        raise ValueError(f"The parameter '{name}' should have the shape of {shape}, but got {param.shape}")


def _check_init_array(value, allow_nd=False):
    """``check_array(value, dtype=[float64, float32], ensure_2d=False, allow_nd=allow_nd)``.

    What a ``*_init`` parameter usually is, a finite non-empty float ndarray,
    skips check_array's per-call overhead (a sizeable part of a small fit);
    anything else goes through check_array, for its exact errors.
    """
    if (
        isinstance(value, np.ndarray)
        and value.dtype in (np.float64, np.float32)
        and value.size > 0
        and value.ndim >= 1
        and (allow_nd or value.ndim <= 2)
        and np.isfinite(value).all()
    ):
        return value
    return check_array(value, dtype=[np.float64, np.float32], ensure_2d=False, allow_nd=allow_nd)


def _check_weights(weights, n_components, dtype):
    weights = _check_init_array(weights)
    _check_shape(weights, (n_components,), "weights")
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got max value "
            f"{np.max(weights):.5f}, min value {np.min(weights):.5f}"
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if not np.allclose(np.abs(1.0 - np.sum(weights)), 0.0, atol=atol):
        raise ValueError(f"The parameter 'weights' should be normalized, but got sum(weights) = {np.sum(weights):.5f}")
    return native_array(weights, dtype)


def _check_means(means, n_components, n_features, dtype):
    means = _check_init_array(means)
    _check_shape(means, (n_components, n_features), "means")
    return native_array(means, dtype)


def _check_precisions(precisions, covariance_type, n_components, n_features):
    """Validated precisions (sklearn's rules), as float64."""
    precisions = _check_init_array(precisions, allow_nd=covariance_type == "full")
    name = f"{covariance_type} precision"
    _check_shape(precisions, parameter_shape(covariance_type, n_components, n_features), name)
    precisions = precisions.astype(np.float64)
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0.0):
            raise ValueError(f"'{name}' should be positive")
    else:
        matrices = precisions.reshape(-1, n_features, n_features)
        if not (np.allclose(matrices, np.swapaxes(matrices, 1, 2)) and np.all(np.linalg.eigvalsh(matrices) > 0.0)):
            raise ValueError(f"'{name}' should be symmetric, positive-definite")
    return precisions


def _precisions_to_native(precisions, covariance_type, dtype):
    """(covariances, precisions_cholesky) in the native (rows, cols) layout.

    For a precision matrix ``Lambda`` the upper-triangular ``U`` with
    ``Lambda = U U^T`` is the flipped Cholesky factor of the flipped matrix.
    """
    if covariance_type in ("diag", "spherical"):
        covariances, chol = 1.0 / precisions, np.sqrt(precisions)
    else:
        matrices = precisions.reshape(-1, *precisions.shape[-2:])
        chol = np.flip(np.linalg.cholesky(np.flip(matrices, (1, 2))), (1, 2))
        covariances = np.linalg.inv(matrices)
    return native_layout(covariances, covariance_type, dtype), native_layout(chol, covariance_type, dtype)


def _check_sample_weight(sample_weight, X, require_positive_sum=True):
    n_samples = X.shape[0]
    if sample_weight is None:
        return np.empty(0, dtype=X.dtype)
    if isinstance(sample_weight, Real):
        sample_weight = np.full(n_samples, sample_weight)
    sample_weight = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=X.dtype,
        input_name="sample_weight",
        ensure_min_samples=1 if require_positive_sum else 0,
    )
    if sample_weight.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {sample_weight.shape}, expected ({n_samples},)!")
    if np.any(sample_weight < 0):
        raise ValueError("Negative values in data passed to `sample_weight`")
    if require_positive_sum and not np.sum(sample_weight) > 0:
        raise ValueError("Sample weights sum to zero: at least one weight must be positive")
    return native_array(sample_weight)


def _tied_as(covariance, covariance_type, n_components):
    """A tied covariance (D, D) as every component's covariance of ``covariance_type``, in user layout."""
    if covariance_type == "full":
        return np.repeat(covariance[None], n_components, axis=0)
    if covariance_type == "tied":
        return covariance
    variances = np.diag(covariance)
    if covariance_type == "diag":
        return np.repeat(variances[None], n_components, axis=0)
    return np.full(n_components, variances.mean(), dtype=covariance.dtype)


def _implied_statistics(model, dtype):
    """Statistics per unit weight whose M-step is ``model``'s parameters (with its ``reg_covar``).

    ``N_k = w_k`` around ``mu_k`` with ``sums = 0`` and scatters
    ``w_k (Sigma_k - reg_covar I)``: a stream's start (docs/math.md#math-statistics).
    """
    k, d = model.means_.shape
    weights = np.asarray(model.weights_, np.float64)
    weights = weights / weights.sum()
    covariances = np.asarray(model.covariances_, np.float64)
    if model.covariance_type in ("full", "tied"):
        covariances = np.broadcast_to(covariances, (k, d, d)) - model.reg_covar * np.eye(d)
        scatters = weights[:, None, None] * covariances
    else:
        variances = np.broadcast_to(covariances.reshape(k, -1), (k, d)) - model.reg_covar
        scatters = weights[:, None] * variances
    return SufficientStatistics(
        model.covariance_type,
        np.array(model.means_, dtype),
        weights.astype(dtype),
        np.zeros((k, d), dtype),
        scatters.astype(dtype),
        0.0,
        1.0,
        0,
    )


def _statistics_as(st, dtype):
    """``st`` with its arrays in ``dtype`` (partial_fit batches of another dtype than the stream's)."""
    return SufficientStatistics(
        st.covariance_type,
        *(np.asarray(getattr(st, name), dtype) for name in ("shifts", "weight_sums", "sums", "scatters")),
        st.log_likelihood,
        st.total_weight,
        st.n_samples,
    )


#: The initialisations of ``init_params``.
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


def _native_seed(random_state) -> int:
    """The native seed of ``random_state``.

    The native generator is NumPy's ``RandomState(seed)`` stream, and the
    k-means++ seeding draws from it as scikit-learn's draws from
    ``check_random_state(random_state)``: an integer is therefore its own
    seed, which gives scikit-learn's seeds (for float64 data; see the user
    guide for float32). A ``RandomState`` or None is drawn from on every call
    (so successive fits differ, as scikit-learn's do), and the number drawn is
    the seed.
    """
    if isinstance(random_state, Integral) and 0 <= int(random_state) < 2**32:
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _finite_real(value, low, high, closed):
    """``value`` is an int or a finite float (not a bool) in the interval: inside scikit-learn's ``Interval(Real)``."""
    if type(value) is float:
        if not math.isfinite(value):  # Interval refuses NaN; an unbounded end refuses infinity
            return False
    elif type(value) is not int:
        return False
    low_ok = value >= low if closed in ("left", "both") else value > low
    return low_ok and (high is None or (value <= high if closed in ("right", "both") else value < high))


def _int_at_least(low):
    return lambda value: type(value) is int and value >= low


#: For each parameter, a predicate that accepts only values its ``_parameter_constraints``
#: entry accepts (usually a strict subset: no bools for ints, no NumPy scalars, nothing
#: infinite); whatever it refuses goes to scikit-learn's validation for the verdict and
#: the error message. See ``GaussianMixture._validate_params``; tests/test_latency_paths.py
#: checks the subset relation.
_PLAIN_PARAMETERS: dict[str, Callable[[Any], bool]] = {
    "n_components": _int_at_least(1),
    "covariance_type": lambda value: type(value) is str and value in COVARIANCE_TYPES,
    "tol": lambda value: _finite_real(value, 0.0, None, "left"),
    "reg_covar": lambda value: _finite_real(value, 0.0, None, "left"),
    "max_iter": _int_at_least(0),
    "n_init": _int_at_least(1),
    "init_params": lambda value: type(value) is str and value in INIT_PARAMS,
    "weights_init": lambda value: value is None or type(value) is np.ndarray,
    "means_init": lambda value: value is None or type(value) is np.ndarray,
    "precisions_init": lambda value: value is None or type(value) is np.ndarray,
    "random_state": lambda value: (
        value is None or (type(value) is int and 0 <= value <= 2**32 - 1) or type(value) is np.random.RandomState
    ),
    "warm_start": lambda value: type(value) is bool,
    "verbose": lambda value: (type(value) is int and value >= 0) or type(value) is bool,
    "verbose_interval": _int_at_least(1),
    "learning_decay": lambda value: _finite_real(value, 0.5, 1.0, "right"),
    "learning_offset": lambda value: _finite_real(value, 0.0, None, "left"),
}


def _plain_parameters_valid(state: dict[str, Any]) -> bool:
    """Whether every parameter in ``state`` (an estimator's ``__dict__``) passes ``_PLAIN_PARAMETERS``."""
    for name, plain in _PLAIN_PARAMETERS.items():
        if name not in state or not plain(state[name]):
            return False
    return True


#: id(estimator) -> (weakref to it, weights_, means_, precisions_cholesky_, key, model):
#: the model arrays of its last evaluation (``GaussianMixture._evaluation_model``). Kept
#: here, not on the estimator, so that evaluation leaves ``__dict__`` as it was (a
#: scikit-learn estimator check) and pickles, copies and clones never carry it; an
#: entry goes when its estimator does.
_EVALUATION_MODELS: dict[int, tuple[Any, ...]] = {}


def _forget_evaluation_model(ref: weakref.ref, key: int) -> None:
    """Weak-reference callback: drop the cached model of an estimator that is being freed."""
    entry = _EVALUATION_MODELS.get(key)
    if entry is not None and entry[0] is ref:
        _EVALUATION_MODELS.pop(key, None)


def _mean(values: NDArray[np.floating[Any]]) -> float:
    """``float(values.mean())`` of a non-empty 1-D array, the same bits without ``mean``'s Python overhead.

    ``ndarray.mean`` sums with ``np.add.reduce`` (pairwise, in the array's
    float dtype) and divides by the count in that dtype: so does this.
    """
    return float(np.add.reduce(values) / values.shape[0])


def information_criteria(model: GaussianMixture, X: ArrayLike) -> tuple[float, float, float]:
    """(total log-likelihood, BIC, AIC) of a fitted ``model`` on ``X``, from one pass over ``X``.

    The one implementation of :meth:`GaussianMixture.bic` and
    :meth:`GaussianMixture.aic`; internal to gmmcore (the command line
    prints all three), not part of the public API.
    """
    log_prob = model.score_samples(X)  # validates X, once
    n_samples = log_prob.shape[0]
    mean = _mean(log_prob)  # as score() computes it
    n_parameters = model._n_parameters()
    bic = -2 * mean * n_samples + n_parameters * np.log(n_samples)
    aic = -2 * mean * n_samples + 2 * n_parameters
    return mean * n_samples, bic, aic


class _BaseMixture(DensityMixin, BaseEstimator):
    """What GaussianMixture and BayesianGaussianMixture share: the fit's guard, verbose output and the evaluation.

    A subclass provides ``_model_args(dtype)``, the fitted model as the
    ``_native`` kernels named ``{_KERNELS}_predict``, ``_predict_proba`` and
    ``_score_samples`` take it: (covariance_type, weights or log-weights,
    means, precisions_cholesky).
    """

    #: Prefix of the ``_native`` evaluation kernels: "mixture" (weights) or "offset" (log-weights).
    _KERNELS = "mixture"

    def set_params(self, **params: Any) -> _BaseMixture:
        """Set the parameters of this estimator (scikit-learn's ``set_params``).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
        """
        self._forget_evaluation_model()
        return super().set_params(**params)

    def _fit(self, X, sample_weight, callback, chunk_size=None):
        """EM on X; returns the validated X (C-contiguous, float64 or float32) or its ChunkedSource.

        A fit that raises (bad input, Ctrl-C, an error in ``callback``)
        leaves the estimator as it was before the call.
        """
        with self._unchanged_on_error():
            source = chunked_source(X, sample_weight, chunk_size)
            if source is not None:
                self._fit_source(source, callback)
                return source
            return self._fit_unguarded(X, sample_weight, callback)

    @contextlib.contextmanager
    def _unchanged_on_error(self):
        """Restore the estimator's attributes if the block raises (bad input, Ctrl-C, a callback's error)."""
        state = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit_samples(self, X):
        """``validate_data(self, X, dtype=[float64, float32], ensure_min_samples=2)``, cheaper for plain X.

        For X that ``plain_samples`` accepts validate_data would only record
        ``n_features_in_`` and drop ``feature_names_in_`` (an ndarray has no
        column names): done here without its fixed cost; anything else goes
        through validate_data.
        """
        if plain_samples(X, None, 2):
            if hasattr(self, "feature_names_in_"):
                delattr(self, "feature_names_in_")
            self.n_features_in_ = X.shape[1]
            return X
        return validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)

    def _check_n_samples(self, n_samples):
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components but got "
                f"n_components = {self.n_components}, n_samples = {n_samples}"
            )

    def _do_init_and_seed(self):
        """(do_init, seed): whether this fit initialises (not a warm start) and the native seed."""
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        return do_init, _native_seed(self.random_state)

    def _report_initialisations_without_iterations(self, do_init):
        """verbose output of a fit with max_iter = 0, whose (absent) iterations report nothing."""
        if self.verbose and self.max_iter == 0:
            for init in range(self.n_init if do_init else 1):
                print(f"Initialization {init}")

    def _warn_if_not_converged(self):
        """scikit-learn's ConvergenceWarning after a fit whose best start did not converge."""
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, "
                "or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=7,  # the user's fit or fit_predict call, through _fit and _fit_context
            )

    def _precisions_from_cholesky(self):
        chol = self.precisions_cholesky_
        if self.covariance_type == "full":
            return np.matmul(chol, np.swapaxes(chol, 1, 2))
        if self.covariance_type == "tied":
            return chol @ chol.T
        return chol**2

    def _iteration_callback(self, user_callback):
        """What C++ calls once per iteration: verbose printing and the user's callback, or None."""
        if not self.verbose:
            return user_callback
        start = {"init": time.time(), "iter": time.time()}

        def report(init, n_iter, lower_bound, change):
            now = time.time()
            if n_iter == 1:
                print(f"Initialization {init}")
                start["init"] = start["iter"] = now
            if n_iter % self.verbose_interval == 0:
                if self.verbose == 1:
                    print(f"  Iteration {n_iter}")
                else:
                    print(f"  Iteration {n_iter}\t time lapse {now - start['iter']:.5f}s\t ll change {change:.5f}")
                    start["iter"] = now
            converged = abs(change) < self.tol
            if converged or n_iter == self.max_iter:
                message = "converged" if converged else "did not converge"
                if self.verbose == 1:
                    print(f"Initialization {message}.")
                else:
                    print(
                        f"Initialization {message}. time lapse {now - start['init']:.5f}s\t "
                        f"lower bound {lower_bound:.5f}."
                    )
            if user_callback is not None:
                user_callback(init, n_iter, lower_bound, change)

        return report

    def _evaluation_args(self, X, ensure_min_samples=1):
        """Validated X and model arrays in one working dtype for ``_native``.

        When X is plain (``plain_samples``: a C-contiguous, finite float64 or
        float32 ndarray with ``n_features_in_`` columns), the model was fitted
        without feature names and its arrays are plain too
        (``_evaluation_model``), the checks below would all pass and change
        nothing: they are skipped, with their fixed cost (about 0.1 ms, most of
        a call on a few rows). Everything else takes the path below, whose
        errors and warnings are the reference.
        """
        n_features = getattr(self, "n_features_in_", None)
        if (
            type(n_features) is int
            and getattr(self, "feature_names_in_", None) is None
            and not hasattr(self, "__sklearn_is_fitted__")
            and plain_samples(X, n_features, ensure_min_samples)
        ):
            model = self._evaluation_model(X.dtype)
            if model is not None:
                dtype, *args = model
                return (*args, native_array(X, dtype))
        return self._checked_evaluation_args(X, ensure_min_samples)

    def _checked_evaluation_args(self, X, ensure_min_samples=1):
        """``_evaluation_args`` through scikit-learn's checks, for any X."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32], ensure_min_samples=ensure_min_samples)
        dtype = working_dtype(X, self.means_)
        return (*self._model_args(dtype), native_array(X, dtype))

    def _check_fitted_shapes(self, *names):
        """Raise ValueError unless the fitted attributes ``names`` agree with ``means_`` and each other.

        The native core checks again, but an attribute changed by hand after
        ``fit`` (or a model assembled by hand) deserves an error that names it.
        """
        means = np.asarray(self.means_)
        if means.ndim != 2 or means.shape[0] < 1 or means.shape[1] < 1:
            raise ValueError(f"means_ must have shape (n_components, n_features), got {means.shape}")
        n_components, n_features = means.shape
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {sorted(COVARIANCE_TYPES)}, got {self.covariance_type!r}")
        if getattr(self, "n_features_in_", n_features) != n_features:
            raise ValueError(
                f"means_ has {n_features} features but n_features_in_ is {self.n_features_in_}: "
                "the fitted attributes do not belong together"
            )
        expected = {
            "weights_": (n_components,),
            "covariances_": parameter_shape(self.covariance_type, n_components, n_features),
        }
        expected["precisions_cholesky_"] = expected["covariances_"]
        for name in names:
            value = getattr(self, name)
            shape = np.shape(value)
            if shape != expected[name]:
                raise ValueError(
                    f"{name} has shape {shape}, expected {expected[name]} for covariance_type "
                    f"{self.covariance_type!r} with means_ of shape {means.shape}"
                )

    def _evaluation_model(self, x_dtype: np.dtype[Any]) -> tuple[Any, ...] | None:
        """(working dtype, ``*_model_args(dtype)``) for X of ``x_dtype``, for a fitted model; None if not plain.

        The model is plain when ``weights_``, ``means_`` and
        ``precisions_cholesky_`` are ndarrays that ``_model_args`` passes on
        as they are (C-contiguous, in the working dtype): its result then
        holds these very arrays (or views of them), so it can be reused
        while they are the same objects with the same shape, strides and
        dtype, and ``covariance_type`` and ``n_features_in_`` are unchanged,
        which a key of those checks on every call. Values changed in place
        are seen (the native call reads the arrays themselves, and checks
        their values every time); an attribute assigned anew, reshaped or
        retyped misses the key and is checked again. A model whose arrays
        need converting (say float32 parameters evaluated on float64 X) is
        converted on every call, as before. With these fitted attributes
        present, ``check_is_fitted`` would pass (the caller has made sure
        that no ``__sklearn_is_fitted__`` says otherwise).
        """
        state = self.__dict__
        weights, means, chol = state.get("weights_"), state.get("means_"), state.get("precisions_cholesky_")
        covariance_type = self.covariance_type
        if not (
            type(weights) is np.ndarray
            and type(means) is np.ndarray
            and type(chol) is np.ndarray
            and type(covariance_type) is str
        ):
            return None
        dtype = np.float32 if x_dtype == np.float32 and means.dtype == np.float32 else np.float64  # working_dtype
        key = (
            covariance_type,
            state.get("n_features_in_"),
            dtype,
            weights.shape,
            weights.strides,
            weights.dtype,
            means.shape,
            means.strides,
            means.dtype,
            chol.shape,
            chol.strides,
            chol.dtype,
        )
        entry = _EVALUATION_MODELS.get(id(self))
        if (
            entry is not None
            and entry[0]() is self
            and entry[1] is weights
            and entry[2] is means
            and entry[3] is chol
            and entry[4] == key
        ):
            return entry[5]
        model = (dtype, *self._model_args(dtype))  # checks the shapes; raises as the general path would
        if model[2] is weights and model[3] is means and native_array(chol, dtype) is chol:
            ref = weakref.ref(self, functools.partial(_forget_evaluation_model, key=id(self)))
            _EVALUATION_MODELS[id(self)] = (ref, weights, means, chol, key, model)
        return model

    def _forget_evaluation_model(self) -> None:
        """Drop the cached model of ``_evaluation_model`` (new parameters: fit, partial_fit, set_params)."""
        _EVALUATION_MODELS.pop(id(self), None)

    def score_samples(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Log-likelihood ``log p(x)`` of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        return getattr(_native, self._KERNELS + "_score_samples")(*self._evaluation_args(X))

    def score(self, X: ArrayLike, y: object = None) -> float:
        """Mean log-likelihood of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        float
        """
        return _mean(self.score_samples(X))

    def predict(self, X: ArrayLike) -> NDArray[np.int64]:
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return getattr(_native, self._KERNELS + "_predict")(*self._evaluation_args(X))

    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Responsibilities of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        return getattr(_native, self._KERNELS + "_predict_proba")(*self._evaluation_args(X))

    def sample(self, n_samples: int = 1) -> tuple[NDArray[np.floating[Any]], NDArray[np.int_]]:
        """Draw samples from the fitted mixture (as scikit-learn does, with its RNG calls).

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component of each sample.
        """
        check_is_fitted(self)
        self._check_fitted_shapes("weights_", "covariances_")
        if n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples} . The sampling requires at least one sample.")
        n_features = self.means_.shape[1]
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_.astype(np.float64))
        if self.covariance_type == "full":
            parts = [rng.multivariate_normal(m, c, int(n)) for m, c, n in zip(self.means_, self.covariances_, counts)]
        elif self.covariance_type == "tied":
            parts = [rng.multivariate_normal(m, self.covariances_, int(n)) for m, n in zip(self.means_, counts)]
        else:
            parts = [
                m + rng.standard_normal(size=(n, n_features)) * np.sqrt(c)
                for m, c, n in zip(self.means_, self.covariances_, counts)
            ]
        labels = np.concatenate([np.full(n, k, dtype=int) for k, n in enumerate(counts)])
        return np.vstack(parts), labels

    def save(self, path: str | os.PathLike | BinaryIO) -> None:
        """Write the fitted model to a file, bit for bit; read it back with :func:`gmmcore.load`.

        The format is versioned and documented in ``gmmcore._model_io``; it
        is not pickle, so loading never runs code from the file.

        Parameters
        ----------
        path : str, os.PathLike or binary file object

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import gmmcore
        >>> X = np.random.default_rng(0).normal(size=(50, 2))
        >>> path = os.path.join(tempfile.mkdtemp(), "model.gmm")
        >>> gmmcore.GaussianMixture(2, random_state=0).fit(X).save(path)
        >>> gmmcore.load(path).n_components
        2
        """
        _model_format.write(self, path)


class GaussianMixture(_BaseMixture):
    """Gaussian mixture model fitted by EM, natively; a drop-in for scikit-learn's.

    Same parameters, defaults and attributes as
    :class:`sklearn.mixture.GaussianMixture`. Differences: k-means
    initialisation runs in gmmcore's C++ (k-means++ seeding and Lloyd
    iterations; an empty cluster keeps its centre), so a given
    ``random_state`` gives a different, but deterministic, start than
    scikit-learn; ``fit`` accepts ``sample_weight``; float32 input is fitted
    in float32 throughout.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Form of the covariance of each component.
    tol : float, default=1e-3
        Convergence threshold on the change of the lower bound (the mean
        log-likelihood).
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default=100
        EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the best lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How responsibilities are initialised.
    weights_init : array-like of shape (n_components,), default=None
        Initial mixing weights (non-negative, summing to 1); by default they
        come from ``init_params``.
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means; by default they come from ``init_params``.
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances); by default they come from
        ``init_params``. Shape (n_components, n_features, n_features) for 'full',
        (n_features, n_features) for 'tied', (n_components, n_features) for
        'diag', (n_components,) for 'spherical'.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation (and :meth:`sample`); an int gives the same
        fit on every run, whatever the number of threads, and for
        ``init_params="kmeans"`` or ``"k-means++"`` scikit-learn's k-means++
        seeds (the same draws from ``RandomState(random_state)``). A
        ``RandomState`` or None gives the seed drawn from it.
    warm_start : bool, default=False
        Start from the previous fit's parameters (one initialisation).
    verbose : int, default=0
        1 prints each initialisation, every ``verbose_interval``-th iteration
        and whether it converged; 2 also the times and lower-bound changes.
    verbose_interval : int, default=10
        Iterations between two verbose reports.
    learning_decay : float in (0.5, 1], default=0.6
        ``kappa`` of :meth:`partial_fit`'s step sizes
        ``eta_t = (t + learning_offset) ** -kappa``: smaller forgets the
        early batches faster, 1 averages all batches equally.
    learning_offset : float >= 0, default=10.0
        ``t0`` of the step sizes: larger damps the first steps.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    covariances_ : ndarray
        Component covariances, shaped like ``precisions_init`` for the
        covariance type.
    precisions_ : ndarray
        Inverses of the covariances, same shape.
    precisions_cholesky_ : ndarray
        Upper-triangular factors ``P`` with ``precisions_ = P P^T`` (full,
        tied), or square roots of the precisions (diag, spherical).
    converged_ : bool
        Whether the best initialisation reached ``tol`` within ``max_iter``.
    n_iter_ : int
        EM iterations run by the best initialisation.
    lower_bound_ : float
        Lower bound (mean log-likelihood) of the best initialisation.
    lower_bounds_ : list of float
        Lower bound after each iteration of the best initialisation.
    statistics_ : SufficientStatistics
        Only after :meth:`partial_fit`: the running statistics, per unit of
        sample weight.
    n_steps_ : int
        Only after :meth:`partial_fit`: updates of the running statistics
        since the stream began, its start included.
    n_features_in_ : int
        Number of features seen by ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when fitted on a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmcore import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> np.sort(gm.means_[:, 0])
    array([ 1., 10.])
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(INIT_PARAMS))],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "learning_decay": [Interval(Real, 0.5, 1.0, closed="right")],
        "learning_offset": [Interval(Real, 0.0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        learning_decay=0.6,
        learning_offset=10.0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    def _validate_params(self):
        """scikit-learn's parameter validation, without its fixed cost when every parameter is plainly valid.

        ``validate_parameter_constraints`` (with ``get_params``, which inspects
        ``__init__``'s signature each time) costs about 0.1 ms, a quarter of a
        small fit. Parameters of the usual types, in range
        (``_PLAIN_PARAMETERS``), are accepted here; any other value, and any
        subclass, goes through scikit-learn's validation, whose errors stay
        the reference.
        """
        if type(self) is GaussianMixture and _plain_parameters_valid(self.__dict__):
            return
        super()._validate_params()

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: ArrayLike | _ChunkedData,
        y: object = None,
        sample_weight: ArrayLike | None = None,
        callback: _Callback | None = None,
        *,
        chunk_size: int | None = None,
    ) -> GaussianMixture:
        """Estimate the model parameters with EM, on data in memory or read in chunks.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or chunked data
            Samples in memory, or data read ``chunk_size`` rows at a time, one
            pass per EM iteration, never held whole: a path to a ``.npy``
            file; a :class:`numpy.memmap`; an array-like with a 2-D ``shape``,
            a numeric ``dtype`` and row slicing (an HDF5 or zarr dataset); or a
            callable returning a fresh iterable of chunks on each call, each an
            array or a pair ``(X_chunk, sample_weight_chunk)``. Unless
            ``weights_init``, ``means_init`` and ``precisions_init`` are all
            given, chunked data are initialised (``init_params``) on a uniform
            random sample of up to 100,000 rows (128 MiB), drawn in one pass
            (reservoir sampling for a callable); data with fewer rows are
            initialised on all of them, as in memory. With the same starting
            point, the result equals the in-memory fit's up to rounding.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight is equivalent to repeating
            the sample that many times. For chunked ``X`` it may be an
            array-like sliced alongside (None for a callable, whose chunks
            bring their own).
        callback : callable, default=None
            Called after every EM iteration as
            ``callback(init, n_iter, lower_bound, change)`` (e.g. for a
            progress bar); an exception it raises aborts the fit.
        chunk_size : int, default=None
            Rows per chunk of chunked ``X`` (default: about 64 MiB of rows).

        Returns
        -------
        self : GaussianMixture
        """
        self._fit(X, sample_weight, callback, chunk_size)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(
        self,
        X: ArrayLike | _ChunkedData,
        y: object = None,
        sample_weight: ArrayLike | None = None,
        callback: _Callback | None = None,
        *,
        chunk_size: int | None = None,
    ) -> NDArray[np.int64]:
        """Fit the model and return the most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or chunked data
            See :meth:`fit`.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
        callback : callable, default=None
            See :meth:`fit`.
        chunk_size : int, default=None
            See :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        samples = self._fit(X, sample_weight, callback, chunk_size)
        if isinstance(samples, ChunkedSource):
            model = self._model_args(samples.dtype)  # the chunks come in the fit's dtype
            parts = [_native.mixture_predict(*model, x) for x, _ in samples.chunks()]
            return np.concatenate(parts) if parts else np.empty(0, np.int64)
        # samples is validated and contiguous in the model's dtype already: no second validation pass.
        return _native.mixture_predict(*self._model_args(samples.dtype), samples)

    def _fit_unguarded(self, X, sample_weight, callback):
        X = self._fit_samples(X)
        n_samples, n_features = X.shape
        self._check_n_samples(n_samples)
        X = native_array(X)
        sample_weight = _check_sample_weight(sample_weight, X)
        given, do_init, seed = self._starting_point(n_features, X.dtype)
        result = _native.fit_mixture(X, sample_weight, *self._fit_settings(given, do_init, seed, callback))
        self._set_fit_result(result, n_features)
        return X

    def _fit_source(self, source: ChunkedSource, callback):
        """EM over chunked data, one pass per iteration (see :meth:`fit`)."""
        n_features = source.n_features
        if n_features < 1:
            raise ValueError(f"X must have at least one feature (column), got shape ({source.n_samples}, 0)")
        if source.n_samples is not None:
            if source.n_samples < 2:
                raise ValueError(
                    f"Found array with {source.n_samples} sample(s) (shape=({source.n_samples}, {n_features})) "
                    "while a minimum of 2 is required by GaussianMixture."
                )
            self._check_n_samples(source.n_samples)
        # What validate_data(reset=True) records for in-memory X; chunked data have no column names.
        self.n_features_in_ = n_features
        self.__dict__.pop("feature_names_in_", None)
        dtype = source.dtype
        given, do_init, seed = self._starting_point(n_features, dtype)
        if all(len(part) for part in (given[0], given[1], given[3])):
            init_X, init_weights = np.empty((0, n_features), dtype), np.empty(0, dtype)
        else:
            size = init_sample_rows(self.n_components, n_features, dtype.itemsize)
            init_X, init_weights = source.init_sample(size, np.random.default_rng(seed))
        result = _native.fit_mixture_chunked(
            source.chunks, n_features, init_X, init_weights, *self._fit_settings(given, do_init, seed, callback)
        )
        self._set_fit_result(result, n_features)

    def _starting_point(self, n_features, dtype):
        """(given, do_init, seed): the native starting values (warm start: the fitted ones) and the seed."""
        given = self._initial_values(n_features, dtype)
        do_init, seed = self._do_init_and_seed()
        if not do_init:
            given = self._fitted_native(dtype)
        return given, do_init, seed

    def _fitted_native(self, dtype):
        """(weights, means, covariances, precisions_cholesky) of the fitted model, native layout."""
        self._check_fitted_shapes("weights_", "covariances_", "precisions_cholesky_")
        return (
            native_array(self.weights_, dtype),
            native_array(self.means_, dtype),
            native_layout(self.covariances_, self.covariance_type, dtype),
            native_layout(self.precisions_cholesky_, self.covariance_type, dtype),
        )

    def _fit_settings(self, given, do_init, seed, callback):
        """The settings that ``_native.fit_mixture`` and ``fit_mixture_chunked`` take after the data."""
        self._report_initialisations_without_iterations(do_init)
        return (
            self.covariance_type,
            self.n_components,
            float(self.tol),
            float(self.reg_covar),
            int(self.max_iter),
            int(self.n_init),
            self.init_params,
            int(seed),
            *given,
            not do_init,
            float(self.lower_bound_) if not do_init else -np.inf,
            self._iteration_callback(callback),
        )

    def _set_parameters(self, weights, means, covariances, chol, n_features):
        """The fitted parameters from native-layout arrays."""
        self._forget_evaluation_model()
        self.weights_ = weights
        self.means_ = means
        self.covariances_ = user_layout(covariances, self.covariance_type, n_features)
        self.precisions_cholesky_ = user_layout(chol, self.covariance_type, n_features)
        self.precisions_ = self._precisions_from_cholesky()

    def _set_fit_result(self, result, n_features):
        weights, means, covariances, chol, converged, n_iter, lower_bound, lower_bounds = result
        self._set_parameters(weights, means, covariances, chol, n_features)
        self.__dict__.pop("statistics_", None)  # a new fit ends any partial_fit stream
        self.__dict__.pop("n_steps_", None)
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)
        self.lower_bound_ = float(lower_bound)
        self.lower_bounds_ = list(lower_bounds)
        self._warn_if_not_converged()

    def partial_fit(self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None) -> GaussianMixture:
        """One step of stepwise online EM on a batch of a stream (Cappe and Moulines, 2009).

        The running statistics ``s`` (per unit of sample weight, see
        :class:`SufficientStatistics`) move toward the batch's,
        ``s <- (1 - eta_t) s + eta_t s_batch`` with
        ``eta_t = (t + learning_offset) ** -learning_decay`` for the ``t``-th
        update, and the parameters become the M-step of ``s``. The stream's
        start (``t = 0``) is the fitted model when the estimator is fitted, or
        else the first batch's initialisation: ``init_params`` on it for the
        weights and means, and for every component the batch's pooled
        within-component covariance (unless ``precisions_init`` is given),
        which keeps a component that the first batch hardly sampled from
        starting near-singular and dying. :meth:`fit` ends the stream. Use it
        when the data come as a stream of batches from one distribution
        (shuffle data in any other order) or allow one pass only; for data
        that can be read again, :meth:`fit` on chunked data gives the exact
        EM fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The batch; the first needs at least ``n_components`` samples.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GaussianMixture

        Notes
        -----
        After each call ``lower_bound_`` is the batch's mean log-likelihood
        under the parameters before the step (after it, for the first batch),
        ``lower_bounds_`` holds just that value, ``n_iter_`` is ``n_steps_``
        and ``converged_`` is False.
        """
        with self._unchanged_on_error():
            self._partial_fit(X, sample_weight)
        return self

    def _partial_fit(self, X, sample_weight):
        if not hasattr(self, "statistics_"):
            self._validate_params()
            if not hasattr(self, "converged_"):
                self._start_stream(X, sample_weight)
                return
            # A fitted model is the stream's start; this batch is its first step.
            self._check_fitted_shapes("weights_", "covariances_", "precisions_cholesky_")
            self.statistics_ = _implied_statistics(self, self.means_.dtype)
            self.n_steps_ = 1
        X = self._batch(X)
        dtype = working_dtype(X, self.means_)
        X = native_array(X, dtype)
        sample_weight = _check_sample_weight(sample_weight, X)
        running = self.statistics_
        if running.shifts.dtype != dtype:
            running = _statistics_as(running, dtype)
        eta = min(1.0, (self.n_steps_ + self.learning_offset) ** -self.learning_decay)
        fields, weights, means, covariances, chol, log_likelihood, weight = _native.online_em_step(
            *self._model_args(dtype), X, sample_weight, running._to_native(), eta, float(self.reg_covar)
        )
        self.statistics_ = SufficientStatistics._from_native(fields)
        self.n_steps_ += 1
        self._set_parameters(weights, means, covariances, chol, X.shape[1])
        self._set_stream_bound(log_likelihood / weight)

    def _start_stream(self, X, sample_weight):
        """Initialise a stream on its first batch: init_params's weights and means, one pooled covariance.

        Every component starts with the batch's pooled within-component
        covariance (the 'tied' estimate, reduced to the covariance type)
        rather than its own: a first batch holds few samples of each
        component, and their own scatter would be near singular for a small
        component, which then never recovers its weight. Unless
        ``precisions_init`` is given.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=1)
        n_samples, n_features = X.shape
        self._check_n_samples(n_samples)
        X = native_array(X)
        sample_weight = _check_sample_weight(sample_weight, X)
        given, _, seed = self._starting_point(n_features, X.dtype)  # not fitted: the *_init values
        pooled = self.precisions_init is None
        start_type = "tied" if pooled else self.covariance_type
        weights, means, covariances, *_ = _native.fit_mixture(
            X, sample_weight, start_type, self.n_components, 0.0, float(self.reg_covar), 0, 1, self.init_params,
            int(seed), *given, False, -np.inf, None,
        )  # fmt: skip
        covariances = user_layout(covariances, start_type, n_features)
        if pooled:
            covariances = _tied_as(covariances, self.covariance_type, self.n_components)
        self.covariances_ = covariances
        self.weights_, self.means_ = weights, means
        self.statistics_ = _implied_statistics(self, X.dtype)
        weights, means, covariances, chol = _native.statistics_m_step(
            self.statistics_._to_native(), float(self.reg_covar)
        )
        self._set_parameters(weights, means, covariances, chol, n_features)
        self.n_steps_ = 1
        batch = SufficientStatistics._from_native(
            _native.mixture_statistics(*self._model_args(X.dtype), X, sample_weight)
        )
        self._set_stream_bound(batch.log_likelihood / batch.total_weight)

    def _set_stream_bound(self, mean_log_likelihood):
        self.lower_bound_ = mean_log_likelihood
        self.lower_bounds_ = [mean_log_likelihood]
        self.n_iter_ = self.n_steps_
        self.converged_ = False

    def _batch(self, X):
        """A later batch of partial_fit, validated; a plain float array skips validate_data's overhead.

        That overhead is most of a small batch's cost. What it would check is
        checked anyway: the shape here, finite values by the native pass.
        """
        if (
            type(X) is np.ndarray
            and X.dtype in (np.float64, np.float32)
            and X.ndim == 2
            and X.shape[0] >= 1
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        ):
            return X
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32], ensure_min_samples=1)

    def statistics(
        self, X: ArrayLike | _ChunkedData, sample_weight: ArrayLike | None = None, *, chunk_size: int | None = None
    ) -> SufficientStatistics:
        """The E-step statistics of the fitted model on ``X``, around its means.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or chunked data
            As :meth:`fit` takes it; chunked data are read once and their
            chunks' statistics merged.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (all zero is allowed).
        chunk_size : int, default=None
            See :meth:`fit`.

        Returns
        -------
        SufficientStatistics
            float32 when both ``X`` and the model are float32, else float64.
        """
        check_is_fitted(self)
        source = chunked_source(X, sample_weight, chunk_size)
        if source is None:
            covariance_type, weights, means, chol, samples = self._evaluation_args(X, ensure_min_samples=0)
            weights_of_samples = _check_sample_weight(sample_weight, samples, require_positive_sum=False)
            fields = _native.mixture_statistics(covariance_type, weights, means, chol, samples, weights_of_samples)
            return SufficientStatistics._from_native(fields)
        if source.n_features != self.n_features_in_:
            raise ValueError(
                f"X has {source.n_features} features, but GaussianMixture is expecting {self.n_features_in_} features "
                "as input."
            )
        dtype = working_dtype(source, self.means_)
        model = self._model_args(dtype)
        total = None
        for x, w in source.chunks():
            part = SufficientStatistics._from_native(
                _native.mixture_statistics(*model, native_array(x, dtype), native_array(w, dtype))
            )
            total = part if total is None else total + part
        if total is None:
            raise ValueError("the chunked data hold no samples")
        return total

    def _initial_values(self, n_features, dtype):
        """User-given starting values, validated as scikit-learn does; empty when absent."""
        k = self.n_components
        weights = np.empty(0, dtype) if self.weights_init is None else _check_weights(self.weights_init, k, dtype)
        means = (
            np.empty((0, 0), dtype) if self.means_init is None else _check_means(self.means_init, k, n_features, dtype)
        )
        if self.precisions_init is None:
            covariances = chol = np.empty((0, 0), dtype)
        else:
            precisions = _check_precisions(self.precisions_init, self.covariance_type, k, n_features)
            covariances, chol = _precisions_to_native(precisions, self.covariance_type, dtype)
        return weights, means, covariances, chol

    # ------------------------------------------------------------ evaluate

    def _model_args(self, dtype: DTypeLike) -> tuple[str, NDArray[Any], NDArray[Any], NDArray[Any]]:
        """The fitted model as ``_native`` takes it: (covariance_type, weights, means, precisions_cholesky)."""
        self._check_fitted_shapes("weights_", "precisions_cholesky_")
        return (
            self.covariance_type,
            native_array(self.weights_, dtype),
            native_array(self.means_, dtype),
            native_layout(self.precisions_cholesky_, self.covariance_type, dtype),
        )

    def _n_parameters(self):
        return _native.n_parameters(self.covariance_type, self.n_components, self.means_.shape[1])

    def bic(self, X: ArrayLike) -> float:
        """Bayesian information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        float
        """
        return information_criteria(self, X)[1]

    def aic(self, X: ArrayLike) -> float:
        """Akaike information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        float
        """
        return information_criteria(self, X)[2]
