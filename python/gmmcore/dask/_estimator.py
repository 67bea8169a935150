"""``gmmcore.dask.GaussianMixture``: the estimator's EM over dask arrays and DataFrames.

The EM loop is the core's (``fit_mixture_distributed``, the same loop as the
in-memory and chunked fits): each iteration it asks for the statistics of all
the data under the current mixture, and this module answers by broadcasting
the parameters to the workers once, computing every block's statistics
natively there, and merging them in a tree of ``split_every``-input tasks;
the M-step and the convergence check then run on the client.
"""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.validation import _check_feature_names, check_is_fitted

from .. import _native
from .._mixture import GaussianMixture as _LocalGaussianMixture
from .._statistics import SufficientStatistics
from .._validation import working_dtype
from . import _init
from ._blocks import (
    DEFAULT_SPLIT_EVERY,
    Blocks,
    as_dask_array,
    broadcast,
    compute,
    is_dask_collection,
    is_dataframe,
    merge_statistics,
    rows_named,
    tree_reduce,
)


class GaussianMixture(_LocalGaussianMixture):
    """Gaussian mixture fitted by EM on a dask array or DataFrame, on a dask cluster.

    The parameters, attributes and results are those of
    :class:`gmmcore.GaussianMixture` (which this class extends); ``fit``,
    ``fit_predict`` and the evaluation methods also take dask collections.
    Each EM iteration sends the current parameters to every worker once,
    computes each block's sufficient statistics there with the native core
    (the GIL released, so threaded workers run in parallel), merges them in a
    tree, and runs the M-step and the convergence check on the client. For
    the same starting parameters the result equals the in-memory fit's, up to
    rounding (1e-9 relative in float64), whatever the chunking and the
    number of workers.

    Initialisation never collects the data: ``init_params='kmeans'`` and
    ``'k-means++'`` seed with k-means|| (Bahmani et al., 2012) over the blocks,
    ``'kmeans'`` then runs Lloyd's iterations over them; ``'random_from_data'``
    fetches ``n_components`` random rows; ``'random'`` computes, block by
    block, the same random responsibilities as the in-memory estimator.
    With an int ``random_state`` a fit is reproducible for a given chunking.

    ``predict``, ``predict_proba`` and ``score_samples`` of a dask
    collection return lazy dask arrays; ``score``, ``bic`` and ``aic`` return
    numbers. NumPy input is evaluated in memory, as by the base class.
    ``partial_fit`` and ``sample`` are the base class's (a dask batch is
    computed into memory). :meth:`to_local` and :meth:`from_local` convert
    to and from :class:`gmmcore.GaussianMixture`; :meth:`save` writes the same
    model file.

    See :class:`gmmcore.GaussianMixture` for the parameters and attributes.

    Examples
    --------
    >>> import dask.array as da
    >>> import gmmcore.dask
    >>> X = da.random.default_rng(0).normal(size=(10_000, 2), chunks=(2_500, 2))
    >>> gm = gmmcore.dask.GaussianMixture(2, random_state=0).fit(X)
    >>> gm.predict(X)
    dask.array<..., shape=(10000,), dtype=int64, chunksize=(2500,), chunktype=numpy.ndarray>
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: Any,
        y: object = None,
        sample_weight: Any = None,
        callback: Any = None,
        *,
        persist: bool = True,
        split_every: int = DEFAULT_SPLIT_EVERY,
    ) -> GaussianMixture:
        """Estimate the model parameters with EM over the blocks of ``X``.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
            The samples, in row blocks of any size (columns are joined into
            one block per row block). A NumPy array is wrapped in a one-block
            dask array. float32 data are fitted in float32.
        y : Ignored
        sample_weight : dask array, dask Series, array-like or str, default=None
            Non-negative weights aligned with the rows of ``X`` (rechunked to
            its blocks if needed); for a DataFrame, the name of a column
            (which is then not a feature).
        callback : callable, default=None
            Called after every EM iteration as
            ``callback(init, n_iter, lower_bound, change)``, on the client.
        persist : bool, default=True
            Hold the blocks (converted to the fit's dtype) in the workers'
            memory for the whole fit. With False each pass recomputes them
            from ``X``'s graph, for data larger than the cluster's memory.
        split_every : int, default=8
            Inputs of each merge task in the tree reduction of the blocks'
            statistics.

        Returns
        -------
        self : GaussianMixture
        """
        with self._unchanged_on_error():
            self._fit_blocks(X, sample_weight, callback, persist, split_every)
        return self

    def fit_predict(self, X: Any, y: object = None, sample_weight: Any = None, callback: Any = None, **kwargs: Any):
        """Fit (see :meth:`fit`) and return the lazy dask array of each sample's most probable component."""
        return self.fit(X, sample_weight=sample_weight, callback=callback, **kwargs).predict(X)

    def _fit_blocks(self, X, sample_weight, callback, persist, split_every):
        if isinstance(split_every, bool) or not isinstance(split_every, (int, np.integer)) or split_every < 2:
            raise ValueError(f"split_every must be an integer >= 2, got {split_every!r}")
        if isinstance(sample_weight, str):
            if not hasattr(X, "columns") or sample_weight not in X.columns:
                raise ValueError(f"sample_weight={sample_weight!r} must name a column of the DataFrame X")
            X, sample_weight = X.drop(columns=[sample_weight]), X[sample_weight]
        _check_feature_names(self, _frame_meta(X), reset=True)
        X = as_dask_array(X)
        dtype = working_dtype(X)
        blocks = Blocks(X, sample_weight, dtype, persist)
        n_samples, n_features = blocks.n_samples, blocks.n_features
        self.n_features_in_ = n_features
        if n_samples < 2:
            raise ValueError(
                f"Found array with {n_samples} sample(s) (shape=({n_samples}, {n_features})) "
                "while a minimum of 2 is required by GaussianMixture."
            )
        self._check_n_samples(n_samples)
        given, do_init, seed = self._starting_point(n_features, dtype)
        summary = None
        if do_init and not all(len(part) for part in (given[0], given[1], given[3])):
            summary = _init.Summary(blocks)
            if not (summary.total_weight > 0 and np.isfinite(summary.total_weight)):
                raise ValueError("sample_weight must have a positive, finite sum")

        def statistics_pass(weights, means, covariances, precisions_cholesky):
            return _merged_statistics(blocks, (self.covariance_type, weights, means, precisions_cholesky), split_every)

        def initial_statistics(init, init_seed):
            return _init.initial_statistics(
                self.init_params, self.covariance_type, self.n_components, blocks, summary, init_seed, split_every
            )

        result = _native.fit_mixture_distributed(
            statistics_pass, initial_statistics, n_features, *self._fit_settings(given, do_init, seed, callback)
        )
        self._set_fit_result(result, n_features)

    # ------------------------------------------------------------ evaluate

    def _blockwise(self, X, fn, kind):
        """``fn`` of the fitted model on each block of dask ``X``: a lazy array of one value per row
        (kind 'labels' or 'values') or per row and component ('proba')."""
        check_is_fitted(self)
        _check_feature_names(self, _frame_meta(X), reset=False)
        X = as_dask_array(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                "features as input."
            )
        dtype = working_dtype(X, self.means_)
        model = dask.delayed(self._model_args(dtype), pure=True, traverse=False)
        if kind == "proba":
            k = self.n_components
            return X.map_blocks(_block_eval, model, fn, dtype, dtype=dtype, chunks=(X.chunks[0], (k,)))
        out = np.int64 if kind == "labels" else dtype
        return X.map_blocks(_block_eval, model, fn, dtype, dtype=out, drop_axis=1)

    def predict(self, X):
        """Most probable component of each sample: a lazy dask array for dask ``X``."""
        if not is_dask_collection(X):
            return super().predict(X)
        return self._blockwise(X, "mixture_predict", "labels")

    def predict_proba(self, X):
        """Responsibilities of each sample, shape (n_samples, n_components): lazy for dask ``X``."""
        if not is_dask_collection(X):
            return super().predict_proba(X)
        return self._blockwise(X, "mixture_predict_proba", "proba")

    def score_samples(self, X):
        """Log-likelihood ``log p(x)`` of each sample: lazy for dask ``X``."""
        if not is_dask_collection(X):
            return super().score_samples(X)
        return self._blockwise(X, "mixture_score_samples", "values")

    def _total_log_likelihood(self, X):
        """(sum of log p(x_i), n_samples) of dask ``X``, computed on the cluster."""
        log_prob = self.score_samples(X)
        total, n = compute(log_prob.sum(dtype=np.float64), da.ones_like(log_prob, dtype=np.int64).sum())
        return float(total), int(n)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` (a number; computed on the cluster for dask ``X``)."""
        if not is_dask_collection(X):
            return super().score(X)
        total, n = self._total_log_likelihood(X)
        return total / n

    def bic(self, X):
        """Bayesian information criterion on ``X``; lower is better."""
        if not is_dask_collection(X):
            return super().bic(X)
        total, n = self._total_log_likelihood(X)
        return -2 * total + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion on ``X``; lower is better."""
        if not is_dask_collection(X):
            return super().aic(X)
        total, _ = self._total_log_likelihood(X)
        return -2 * total + 2 * self._n_parameters()

    def statistics(self, X, sample_weight=None, *, chunk_size=None, split_every=DEFAULT_SPLIT_EVERY):
        """The E-step statistics of the fitted model on ``X`` (see the base class); dask ``X`` block-wise."""
        if not is_dask_collection(X):
            return super().statistics(X, sample_weight, chunk_size=chunk_size)
        check_is_fitted(self)
        X = as_dask_array(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the model has {self.n_features_in_}")
        dtype = working_dtype(X, self.means_)
        blocks = Blocks(X, sample_weight, dtype, persist=False)
        return SufficientStatistics._from_native(_merged_statistics(blocks, self._model_args(dtype), split_every))

    # ------------------------------------------------------------ convert

    def to_local(self) -> _LocalGaussianMixture:
        """The fitted model as an in-memory :class:`gmmcore.GaussianMixture` (same parameters and attributes)."""
        return _copy_fitted(self, _LocalGaussianMixture(**self.get_params()))

    @classmethod
    def from_local(cls, model: _LocalGaussianMixture) -> GaussianMixture:
        """A dask estimator with the parameters and fitted attributes of ``model`` (e.g. from :func:`gmmcore.load`)."""
        if not isinstance(model, _LocalGaussianMixture):
            raise TypeError(f"model must be a gmmcore.GaussianMixture, got {type(model).__name__}")
        return _copy_fitted(model, cls(**model.get_params()))


def _frame_meta(X):
    """A dask DataFrame's empty pandas twin (its column names, as scikit-learn reads them), else X."""
    return X._meta if is_dataframe(X) else X


def _copy_fitted(source, target):
    """``target`` with copies of the attributes fitting set on ``source`` (scikit-learn's trailing underscore)."""
    for name, value in vars(source).items():
        if name.endswith("_") and not name.startswith("_"):
            setattr(target, name, value.copy() if hasattr(value, "copy") else value)
    return target


def _merged_statistics(blocks, model, split_every):
    """The E-step statistics of the native ``model`` over all blocks: broadcast, per block, merged in a tree."""
    return compute(tree_reduce(blocks.map(_block_statistics, broadcast(model)), merge_statistics, split_every))[0]


def _block_statistics(model, x, w, offset):
    with rows_named(offset, len(x)):
        return _native.mixture_statistics(*model, x, w)


def _block_eval(x, model, fn, dtype):
    from .._validation import native_array

    return getattr(_native, fn)(*model, native_array(x, dtype))
