"""Initialisations over data held in blocks, without collecting the data.

``kmeans`` and ``k-means++`` seed with k-means|| (Bahmani, Moseley, Vattani,
Kumar and Vassilvitskii, "Scalable k-means++", VLDB 2012): a first row drawn
with probability proportional to its sample weight, then ``ROUNDS`` passes that
each keep every row independently with probability
``min(1, l s_i d2_i / phi)`` (``l = 2 K`` rows expected per round, ``d2_i``
the squared distance to the nearest row kept so far, ``phi = sum_i s_i d2_i``);
the kept rows, weighted by the sample weight nearest to each, are reduced to
``K`` seeds by greedy k-means++ on the client. ``k-means++`` then starts
from those seed rows as the in-memory estimator starts from its own;
``kmeans`` first runs Lloyd's iterations over the blocks (one pass each) and
starts from the final clusters. ``random_from_data`` draws ``K`` distinct rows
uniformly; ``random`` computes the in-memory estimator's random
responsibilities, which depend on a row's index only, block by block.

Every function returns the statistics (a native tuple) of the starting
responsibilities; the core turns them into the starting mixture.
"""

from __future__ import annotations

from typing import Any

import dask
import numpy as np

from .. import _native
from ._blocks import Blocks, add_arrays, broadcast, compute, merge_statistics, rows_named, tree_reduce

#: Sampling rounds of k-means||; each keeps about 2 K rows.
ROUNDS = 5
#: Lloyd's iterations and relative tolerance, as the in-memory estimator's k-means.
KMEANS_MAX_ITER = 300
KMEANS_TOL = 1e-4


class Summary:
    """What one pass over the data tells: rows, total weight, unweighted column means and variances."""

    def __init__(self, blocks: Blocks) -> None:
        parts = blocks.map(_moments)
        counts, weights, means, m2 = _merge_moments(compute(*parts))
        self.n_samples = int(counts)
        self.block_weights = weights
        self.total_weight = float(np.sum(weights))
        self.column_means = means
        self.mean_variance = float(np.mean(m2 / counts)) if counts else 0.0


def _moments(x: np.ndarray, w: np.ndarray, offset: int) -> tuple[int, float, np.ndarray, np.ndarray]:
    with rows_named(offset, len(x)):
        bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
        if bad.size:
            raise ValueError(f"X contains NaN or infinity (first at row {bad[0]})")
        bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
        if bad.size:
            raise ValueError(f"sample_weight must be finite and non-negative (first bad value at row {bad[0]})")
    xd = x.astype(np.float64)
    mean = xd.mean(axis=0) if len(x) else np.zeros(x.shape[1])
    weight = float(np.sum(w, dtype=np.float64)) if w.size else float(len(x))
    return len(x), weight, mean, ((xd - mean) ** 2).sum(axis=0)


def _merge_moments(parts: tuple[Any, ...]) -> tuple[int, np.ndarray, Any, Any]:
    """(rows, per-block weights, column means, column M2) by the pairwise update of Chan et al."""
    n, mean, m2 = 0, None, None
    for count, _, block_mean, block_m2 in parts:
        if count == 0:
            continue
        if mean is None:
            n, mean, m2 = count, block_mean, block_m2
            continue
        total = n + count
        delta = block_mean - mean
        mean = mean + delta * (count / total)
        m2 = m2 + block_m2 + delta**2 * (n * count / total)
        n = total
    weights = np.array([part[1] for part in parts])
    return n, weights, mean, m2


def take_rows(blocks: Blocks, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows (global indices, any order) of X and their sample weights, fetching only their blocks."""
    block_of = np.searchsorted(blocks.offsets, rows, side="right") - 1
    tasks = []
    for b in np.unique(block_of):
        local = rows[block_of == b] - blocks.offsets[b]
        tasks.append(_task(_take)(blocks.x[b], blocks.weights[b], local))
    parts = compute(*tasks)
    order = np.argsort(np.argsort(block_of, kind="stable"), kind="stable")
    x = np.concatenate([p[0] for p in parts])[order]
    w = np.concatenate([p[1] for p in parts])[order]
    return x, w


def _task(fn):
    return dask.delayed(fn, pure=True)


def _take(x: np.ndarray, w: np.ndarray, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x[local], (w[local] if w.size else np.ones(len(local), x.dtype))


def _weights_or_ones(w: np.ndarray, n: int) -> np.ndarray:
    return w.astype(np.float64) if w.size else np.ones(n)


def _nearest_d2(centres: np.ndarray, x: np.ndarray, w: np.ndarray, offset: int, d2: Any = None) -> np.ndarray:
    with rows_named(offset, len(x)):
        new = _native.nearest_centres(x, centres)[1]
    return new if d2 is None else np.minimum(d2, new)


def _cost(d2: np.ndarray, w: np.ndarray) -> float:
    return float(d2 @ _weights_or_ones(w, len(d2)))


def _sample(x: np.ndarray, w: np.ndarray, d2: np.ndarray, factor: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    p = factor * d2 * _weights_or_ones(w, len(d2))
    keep = np.random.default_rng(seed).random(len(d2)) < p
    return x[keep], (w[keep] if w.size else np.ones(int(keep.sum()), x.dtype))


def _candidate_weights(candidates: np.ndarray, x: np.ndarray, w: np.ndarray, offset: int) -> tuple[np.ndarray]:
    with rows_named(offset, len(x)):
        labels = _native.nearest_centres(x, candidates)[0]
    return (np.bincount(labels, weights=_weights_or_ones(w, len(x)), minlength=len(candidates)),)


def _first_row(blocks: Blocks, summary: Summary, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One row drawn with probability proportional to its sample weight."""
    p = summary.block_weights / summary.total_weight
    b = int(rng.choice(len(p), p=p))
    n = int(blocks.offsets[b + 1] - blocks.offsets[b])
    if blocks.weighted:
        (w,) = compute(blocks.weights[b])
        cumulative = np.cumsum(w, dtype=np.float64)
        local = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        local = min(local, n - 1)
    else:
        local = int(rng.integers(n))
    return take_rows(blocks, np.array([blocks.offsets[b] + local]))


def kmeans_parallel(
    blocks: Blocks, summary: Summary, n_clusters: int, rng: np.random.Generator, split_every: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-means|| candidates: rows (C, D) of the fit's dtype, their own sample weights, and the weight of
    the rows nearest to each."""
    candidates, own = _first_row(blocks, summary, rng)
    oversampling = 2 * n_clusters
    first = broadcast(candidates)
    d2 = blocks_persisted(
        [_task(_nearest_d2)(first, x, w, int(o)) for x, w, o in zip(blocks.x, blocks.weights, blocks.offsets)]
    )
    for _ in range(ROUNDS):
        phi = float(sum(compute(*[_task(_cost)(d, w) for d, w in zip(d2, blocks.weights)])))
        if not phi > 0 or not np.isfinite(phi):
            break
        seeds = rng.integers(np.iinfo(np.int64).max, size=len(blocks))
        parts = compute(
            *[
                _task(_sample)(x, w, d, oversampling / phi, int(seed))
                for x, w, d, seed in zip(blocks.x, blocks.weights, d2, seeds)
            ]
        )
        new = np.concatenate([p[0] for p in parts])
        if not len(new):
            continue
        candidates = np.concatenate([candidates, new])
        own = np.concatenate([own, *(p[1] for p in parts)])
        shared = broadcast(new)
        d2 = blocks_persisted(
            [
                _task(_nearest_d2)(shared, x, w, int(o), d)
                for x, w, o, d in zip(blocks.x, blocks.weights, blocks.offsets, d2)
            ]
        )
    if len(candidates) < n_clusters:  # few distinct rows: top up with rows drawn uniformly
        extra = rng.choice(blocks.n_samples, size=min(n_clusters, blocks.n_samples), replace=False)
        rows, weights = take_rows(blocks, np.sort(extra))
        candidates, own = np.concatenate([candidates, rows]), np.concatenate([own, weights])
    shared = broadcast(candidates)
    (nearest,) = compute(tree_reduce(blocks.map(_candidate_weights, shared), add_arrays, split_every))[0]
    return candidates, own, nearest


def blocks_persisted(tasks: list[Any]) -> list[Any]:
    """The tasks' results held where they were computed (one per block), for the next passes."""
    return list(dask.persist(*tasks))


def kmeans_seeds(candidates: np.ndarray, weights: np.ndarray, n_clusters: int, seed: int) -> np.ndarray:
    """Indices of K greedy k-means++ seeds among the weighted candidates."""
    return _native.kmeans_plusplus(candidates, weights.astype(candidates.dtype), n_clusters, seed)


def _lloyd_sums(centres: np.ndarray, x: np.ndarray, w: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    with rows_named(offset, len(x)):
        labels = _native.nearest_centres(x, centres)[0]
        return _native.cluster_sums(x, w, labels, len(centres))


def lloyd(blocks: Blocks, summary: Summary, centres: np.ndarray, split_every: int) -> np.ndarray:
    """Lloyd's iterations over the blocks from ``centres``, as the in-memory k-means (empty clusters stay)."""
    threshold = KMEANS_TOL * summary.mean_variance
    for _ in range(KMEANS_MAX_ITER):
        shared = broadcast(centres)
        sums, weights = compute(tree_reduce(blocks.map(_lloyd_sums, shared), add_arrays, split_every))[0]
        moved = centres.copy()
        filled = weights > 0
        moved[filled] = (sums[filled] / weights[filled, None]).astype(centres.dtype)
        shift = float(np.sum((moved.astype(np.float64) - centres) ** 2))
        centres = moved
        if shift <= threshold:
            break
    return centres


def _labelled(covariance_type: str, centres: np.ndarray, x: np.ndarray, w: np.ndarray, offset: int):
    with rows_named(offset, len(x)):
        labels = _native.nearest_centres(x, centres)[0]
        return _native.labelled_statistics(covariance_type, centres, x, w, labels)


def _random(covariance_type: str, shifts: np.ndarray, seed: int, x: np.ndarray, w: np.ndarray, offset: int):
    with rows_named(offset, len(x)):
        return _native.random_statistics(covariance_type, shifts, x, w, seed, offset)


def _seed_rows_statistics(covariance_type, rows, weights, summary):
    """Statistics of one-hot responsibilities at K seed rows, counting all the data's weight and samples."""
    fields = _native.labelled_statistics(
        covariance_type, rows, rows, weights.astype(rows.dtype), np.arange(len(rows), dtype=np.intc)
    )
    return (*fields[:6], summary.total_weight, summary.n_samples)


def initial_statistics(
    method: str,
    covariance_type: str,
    n_components: int,
    blocks: Blocks,
    summary: Summary,
    seed: int,
    split_every: int,
) -> tuple[Any, ...]:
    """The statistics of ``method``'s starting responsibilities for the generator seed ``seed``."""
    rng = np.random.default_rng(seed)
    if method == "random":
        shifts = np.tile(summary.column_means.astype(blocks.dtype), (n_components, 1))
        parts = blocks.map(_random, covariance_type, shifts, seed)
        return compute(tree_reduce(parts, merge_statistics, split_every))[0]
    if method == "random_from_data":
        chosen = rng.choice(blocks.n_samples, size=n_components, replace=False)
        rows, weights = take_rows(blocks, chosen)
        return _seed_rows_statistics(covariance_type, rows, weights, summary)
    candidates, own, candidate_weights = kmeans_parallel(blocks, summary, n_components, rng, split_every)
    seeds = kmeans_seeds(candidates, candidate_weights, n_components, int(rng.integers(2**63)))
    if method == "k-means++":
        # Each seed row counts with its own sample weight, as in the in-memory k-means++ start.
        return _seed_rows_statistics(covariance_type, candidates[seeds], own[seeds], summary)
    _, centres, _ = _native.kmeans_lloyd(
        candidates, candidate_weights.astype(candidates.dtype), candidates[seeds], KMEANS_MAX_ITER, KMEANS_TOL
    )
    centres = lloyd(blocks, summary, centres, split_every)
    parts = blocks.map(_labelled, covariance_type, broadcast(centres))
    return compute(tree_reduce(parts, merge_statistics, split_every))[0]
