"""gmmcore on dask: :class:`GaussianMixture` fitted over dask arrays and DataFrames on a cluster.

Needs the ``dask`` extra: ``pip install "gmmcore[dask]"`` (dask and
distributed). ``import gmmcore`` does not import dask; this module does.
"""

try:
    import dask.array  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        'gmmcore.dask needs dask: install it with pip install "gmmcore[dask]" (dask[array,distributed])'
    ) from error

from ._estimator import GaussianMixture

__all__ = ["GaussianMixture"]
