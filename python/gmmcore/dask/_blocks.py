"""Data held as a dask array, row block by row block, and the tasks that run on each block.

A :class:`Blocks` is the fit's view of the data: the row blocks of a dask
array with every column in each block, C-contiguous in the fit's dtype, their
sample weights aligned, and their row offsets. :meth:`Blocks.map` builds one
task per block; :func:`tree_reduce` merges their results with ``split_every``
inputs per task; :func:`broadcast` ships a value (the current parameters) to
the workers once, not once per task.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np
from dask.delayed import Delayed

from .. import _native
from .._validation import native_array

#: Inputs per merge task of a tree reduction.
DEFAULT_SPLIT_EVERY = 8


def is_dask_collection(X: object) -> bool:
    """Whether X is a dask array, DataFrame or Series (the inputs computed block-wise)."""
    return dask.is_dask_collection(X)


def is_dataframe(X: object) -> bool:
    """Whether X is a dask DataFrame (it has columns and converts to a dask array)."""
    return hasattr(X, "to_dask_array") and hasattr(X, "columns")


def _dask_array(value: Any, name: str, frame: str) -> da.Array:
    """``value`` as a dask array: a dask DataFrame or Series converted, NumPy input wrapped in one block."""
    if hasattr(value, "to_dask_array"):
        return value.to_dask_array()
    if isinstance(value, da.Array):
        return value
    if dask.is_dask_collection(value):
        raise TypeError(f"{name} must be a dask array or {frame}, got {type(value).__name__}")
    return da.from_array(np.asarray(value))


def as_dask_array(X: Any, name: str = "X") -> da.Array:
    """X (dask array, dask DataFrame, or anything NumPy reads) as a 2-D dask array, all columns per block."""
    X = _dask_array(X, name, "dask DataFrame")  # a DataFrame's block sizes are computed after persisting
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array for {name}, got an array of shape {X.shape}")
    kind = X.dtype.kind
    if kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.shape[1] < 1:
        raise ValueError(f"{name} must have at least one feature (column), got shape {X.shape}")
    return X.rechunk({1: -1})


def _contiguous(block: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return native_array(block, dtype)


@contextlib.contextmanager
def rows_named(offset: int, n_rows: int) -> Iterator[None]:
    """Re-raise a ValueError from a block's native call with rows numbered in the whole data, naming the block."""
    try:
        yield
    except ValueError as error:
        message = re.sub(r"\brow (\d+)", lambda m: f"row {int(m.group(1)) + offset}", str(error))
        raise ValueError(f"{message} (in the block of rows {offset} to {offset + n_rows - 1})") from error


class Blocks:
    """Row blocks of X (and their sample weights) for the block-wise passes of a fit.

    Parameters
    ----------
    X : dask.array.Array
        2-D, all columns in each block (see :func:`as_dask_array`).
    sample_weight : dask.array.Array, array-like, str or None
        Aligned with X's rows; a str names a column of the DataFrame ``frame``.
    dtype : float64 or float32
        The fit's dtype.
    persist : bool
        Hold the converted blocks in the workers' memory for all passes
        (else every pass recomputes them from X's graph).
    """

    def __init__(self, X: da.Array, sample_weight: Any, dtype: np.dtype, persist: bool) -> None:
        X = da.map_blocks(_contiguous, X, dtype, dtype=dtype)
        if persist:
            X = X.persist()
        X = _known_chunks(X)
        weights = None
        if sample_weight is not None:
            weights = da.map_blocks(_contiguous, _aligned_weights(sample_weight, X), dtype, dtype=dtype)
            if persist:
                weights = weights.persist()
        # The persisted arrays hold the futures of their blocks: released with them.
        self._persisted = (X, weights)
        self.dtype = dtype
        self.n_features = int(X.shape[1])
        rows = [int(c) for c in X.chunks[0]]
        self.offsets = np.concatenate([[0], np.cumsum(rows, dtype=np.int64)])
        self.n_samples = int(self.offsets[-1])
        self.x = list(X.to_delayed().ravel())
        empty = np.empty(0, dtype)
        self.weights = [empty] * len(self.x) if weights is None else list(weights.to_delayed().ravel())
        self.weighted = weights is not None

    def __len__(self) -> int:
        return len(self.x)

    def map(self, fn: Callable[..., Any], *args: Any) -> list[Delayed]:
        """One task per block: ``fn(*args, x_block, weight_block, row_offset)``."""
        task = dask.delayed(fn, pure=True)
        return [task(*args, x, w, int(offset)) for x, w, offset in zip(self.x, self.weights, self.offsets[:-1])]


def _known_chunks(a: da.Array) -> da.Array:
    """``a`` with its block sizes computed where dask does not know them (DataFrames, filtered arrays)."""
    if any(np.isnan(c) for c in a.chunks[0]):
        a.compute_chunk_sizes()
    return a


def _aligned_weights(sample_weight: Any, X: da.Array) -> da.Array:
    """sample_weight as a 1-D dask array with X's row blocks (X's block sizes known)."""
    sample_weight = _dask_array(sample_weight, "sample_weight", "Series")
    if sample_weight.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D, got shape {sample_weight.shape}")
    if sample_weight.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must hold real numbers, got dtype {sample_weight.dtype}")
    sample_weight = _known_chunks(sample_weight)
    if sample_weight.shape[0] != X.shape[0]:
        raise ValueError(
            f"sample_weight has {sample_weight.shape[0]} values but X has {X.shape[0]} rows: they must be aligned"
        )
    if sample_weight.chunks[0] != X.chunks[0]:
        sample_weight = sample_weight.rechunk((X.chunks[0],))
    return sample_weight


def broadcast(value: Any) -> Any:
    """``value`` as one input of many tasks, sent to each worker once.

    On a distributed cluster it is scattered to every worker (a future);
    otherwise it becomes one key of the graph.
    """
    client = _distributed_client()
    if client is not None:
        # In a list, so that a tuple travels as one object, not one future per element.
        return client.scatter([value], broadcast=True, hash=False)[0]
    return dask.delayed(value, pure=False, traverse=False)


def _distributed_client() -> Any:
    """The distributed Client that dask.compute would use now, or None."""
    scheduler = dask.base.get_scheduler()
    owner = getattr(scheduler, "__self__", None)
    try:
        from distributed import Client
    except ImportError:  # only the local schedulers
        return None
    return owner if isinstance(owner, Client) else None


def tree_reduce(parts: Sequence[Any], combine: Callable[[list[Any]], Any], split_every: int) -> Any:
    """A task tree over ``parts``: each task combines up to ``split_every`` results, the root all."""
    task = dask.delayed(combine, pure=True)
    level = list(parts)
    while len(level) > 1:
        level = [task(level[i : i + split_every]) for i in range(0, len(level), split_every)]
    return level[0] if level else None


def merge_statistics(parts: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Statistics tuples merged in order (the core's merge)."""
    return functools.reduce(_native.merge_statistics, parts)


def add_arrays(parts: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Tuples of arrays (or numbers) summed elementwise, in order."""
    return tuple(functools.reduce(np.add, values) for values in zip(*parts))


def compute(*values: Any) -> tuple[Any, ...]:
    return dask.compute(*values)
