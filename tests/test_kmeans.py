"""The k-means of the estimator's initialisation against Lloyd's algorithm written from its definition.

Lloyd's iterations skip distances with Hamerly's bounds and rank them through
two kernels (the E-step's diagonal kernel up to 32 features, a GEMM with
exact re-ranking beyond): whatever the shortcut, the labels and centres must
be those of computing every distance, ties to the lowest index.
"""

import numpy as np
import pytest
from gmmcore import _native
from sklearn.cluster import kmeans_plusplus


def reference_lloyd(X, centres, max_iter, tol, sample_weight=None):
    """Lloyd's iterations as kmeans_lloyd documents them, every distance computed in float64."""
    X64 = X.astype(np.float64)
    w = np.ones(len(X)) if sample_weight is None else sample_weight.astype(np.float64)
    threshold = tol * X64.var(axis=0).mean()
    labels, stable = None, False
    for _ in range(max_iter):
        new = ((X64[:, None, :] - centres.astype(np.float64)[None]) ** 2).sum(-1).argmin(1)
        if labels is not None and np.array_equal(new, labels):
            stable = True
            break
        labels = new
        moved, shift = centres.copy(), 0.0
        for k in range(len(centres)):
            if w[labels == k].sum() > 0:  # else the cluster keeps its centre
                moved[k] = (np.average(X64[labels == k], axis=0, weights=w[labels == k])).astype(centres.dtype)
                shift += float(((moved[k].astype(np.float64) - centres[k]) ** 2).sum())
        centres = moved
        if shift <= threshold:
            break
    if not stable:
        labels = ((X64[:, None, :] - centres.astype(np.float64)[None]) ** 2).sum(-1).argmin(1)
    return labels, centres


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_features", [2, 16, 33, 48])
@pytest.mark.parametrize("max_iter", [1, 2, 5, 300])
def test_lloyd_equals_the_definition(dtype, n_features, max_iter):
    rng = np.random.default_rng(n_features)
    k = 11
    X = (rng.normal(scale=2.0, size=(k, n_features))[rng.integers(k, size=3000)]).astype(dtype)
    X += rng.normal(size=X.shape).astype(dtype)
    start = np.ascontiguousarray(X[rng.choice(len(X), k, replace=False)])
    labels, centres, _ = _native.kmeans_lloyd(X, np.empty(0, dtype), start, max_iter, 1e-4)
    expected_labels, expected_centres = reference_lloyd(X, start, max_iter, 1e-4)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_allclose(centres, expected_centres, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("n_features", [3, 40])
def test_exact_ties_go_to_the_lowest_index(n_features):
    """Points on an integer lattice equidistant from several centres: the first of them, as the definition."""
    rng = np.random.default_rng(0)
    X = rng.integers(-3, 4, size=(2000, n_features)).astype(np.float64)
    centres = np.zeros((6, n_features))
    centres[1:, 0] = [2, -2, 2, 0, 0]  # duplicated centres and mirror images: many exact ties
    centres[4, 1], centres[5, 1] = 2, -2
    labels, d2 = _native.nearest_centres(X, centres)
    distances = ((X[:, None, :] - centres[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels, distances.argmin(1))
    np.testing.assert_array_equal(d2, distances.min(1))
    for max_iter in (1, 3, 300):
        lloyd_labels, _, _ = _native.kmeans_lloyd(X, np.empty(0), centres, max_iter, 0.0)
        np.testing.assert_array_equal(lloyd_labels, reference_lloyd(X, centres, max_iter, 0.0)[0])


def test_far_from_the_origin_keeps_the_exact_labels():
    """Data offset by 1e6 with unit spread: the GEMM form would cancel without its re-ranking."""
    rng = np.random.default_rng(3)
    X = 1e6 + rng.normal(size=(2000, 40))
    start = np.ascontiguousarray(X[:5])
    labels, _ = _native.nearest_centres(X, start)
    np.testing.assert_array_equal(labels, ((X[:, None, :] - start[None]) ** 2).sum(-1).argmin(1))
    lloyd_labels, centres, _ = _native.kmeans_lloyd(X, np.empty(0), start, 300, 1e-4)
    expected_labels, expected_centres = reference_lloyd(X, start, 300, 1e-4)
    np.testing.assert_array_equal(lloyd_labels, expected_labels)
    np.testing.assert_allclose(centres, expected_centres, rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weighted_lloyd_equals_the_definition(dtype):
    """Weights over nine orders of magnitude (zeros too): the sums kept by adding the rows that move stay exact."""
    rng = np.random.default_rng(7)
    k = 9
    X = (rng.normal(scale=2.0, size=(k, 6))[rng.integers(k, size=4000)] + rng.normal(size=(4000, 6))).astype(dtype)
    w = (10.0 ** rng.uniform(-3, 6, size=len(X))).astype(dtype)
    w[::11] = 0
    start = np.ascontiguousarray(X[rng.choice(len(X), k, replace=False)])
    labels, centres, _ = _native.kmeans_lloyd(X, w, start, 300, 0.0)
    expected_labels, expected_centres = reference_lloyd(X, start, 300, 0.0, w)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_allclose(centres, expected_centres, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_a_cluster_that_empties_keeps_its_centre():
    """Cluster 0 loses both of its rows (fractional weights) at the second iteration and gains one at the third.

    While empty it keeps its centre exactly: sums kept by adding and removing
    rows would leave a rounding residue of weight, and a centre of residue / residue.
    """
    rng = np.random.default_rng(908)
    X = rng.normal(size=(12, 1)) * 3
    w = rng.choice([0.1, 0.2, 0.3, 0.7, 1.3], size=12)
    start = np.ascontiguousarray(X[rng.choice(12, 4, replace=False)])
    for max_iter in (2, 3, 50):
        labels, centres, _ = _native.kmeans_lloyd(X, w, start, max_iter, 0.0)
        expected_labels, expected_centres = reference_lloyd(X, start, max_iter, 0.0, w)
        np.testing.assert_array_equal(labels, expected_labels)
        np.testing.assert_allclose(centres, expected_centres, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_plusplus_draws_scikit_learns_seeds(dtype, weighted):
    """k-means++ draws from RandomState(seed) as scikit-learn's does: the same rows, whatever the shape."""
    rng = np.random.default_rng(17)
    for seed in range(8):
        n, d, k = int(rng.integers(20, 2000)), int(rng.integers(1, 40)), int(rng.integers(1, 20))
        X = (rng.normal(size=(n, d)) * rng.uniform(0.1, 5.0, d)).astype(dtype)
        w = rng.uniform(0.0, 3.0, n).astype(dtype) if weighted else None
        ours = _native.kmeans_plusplus(X, np.empty(0, dtype) if w is None else w, k, seed)
        _, theirs = kmeans_plusplus(X, k, random_state=seed, sample_weight=w)
        np.testing.assert_array_equal(ours, theirs)
