"""Shared helpers: random well-posed GMM problems and dtype-aware comparisons."""

import importlib
import os
from typing import NamedTuple

import numpy as np
import pytest
from numpy.testing import assert_allclose

# rtol per working dtype for native-vs-reference comparisons of values.
RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}
# rtol per working dtype for gradients (float32 sums over a batch lose more).
GRAD_RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-3}


class Problem(NamedTuple):
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    X: np.ndarray


def random_spd(rng, k, d):
    """k symmetric positive definite (d, d) matrices A A^T / d + 0.5 I, exactly symmetric."""
    A = rng.standard_normal((k, d, d))
    S = A @ A.transpose(0, 2, 1) / d + 0.5 * np.eye(d)
    return 0.5 * (S + S.transpose(0, 2, 1))


def make_problem(n, d, k, dtype=np.float64, seed=0):
    """Random well-posed problem (weights, means, covariances, X), all of `dtype`.

    Weights come from a Dirichlet(5) (so none is tiny), means are spread with
    scale 2, and each sample is drawn from the mixture itself, so it lies near a mean.
    """
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.full(k, 5.0))
    mu = 2.0 * rng.standard_normal((k, d))
    Sigma = random_spd(rng, k, d)
    labels = rng.choice(k, size=n, p=w)
    L = np.linalg.cholesky(Sigma)
    X = mu[labels] + np.einsum("nij,nj->ni", L[labels], rng.standard_normal((n, d)))
    return Problem(*(np.asarray(a, dtype=dtype) for a in (w, mu, Sigma, X)))


def as_float64(*arrays):
    """float64 copies of exactly the values passed (the reference sees what the native code saw)."""
    return tuple(np.asarray(a, dtype=np.float64) for a in arrays)


def assert_close(actual, desired, dtype, rtol=None, grad=False):
    """Compare a native result to the float64 reference at the working dtype's tolerance.

    atol is rtol times the largest finite magnitude in `desired` (at least 1), which
    accounts for cancellation in entries near zero. Infinities must match exactly.
    A NumPy result must also have the working dtype.
    """
    dtype = np.dtype(dtype)
    if isinstance(actual, (np.ndarray, np.generic)):
        assert actual.dtype == dtype
    if rtol is None:
        rtol = (GRAD_RTOL if grad else RTOL)[dtype]
    actual = np.asarray(actual)
    desired = np.asarray(desired)
    assert actual.shape == desired.shape
    finite = np.abs(desired[np.isfinite(desired)])
    scale = max(1.0, finite.max(initial=0.0))
    assert_allclose(actual.astype(np.float64), desired, rtol=rtol, atol=rtol * scale)


def symmetric_basis(d):
    """Symmetric directions E_ij = e_i e_j^T + e_j e_i^T (i < j) and e_i e_i^T, keyed by (i, j)."""
    basis = {}
    for i in range(d):
        for j in range(i, d):
            E = np.zeros((d, d))
            E[i, j] = E[j, i] = 1.0
            basis[i, j] = E
    return basis


def pair_sums(dSigma):
    """sum(dSigma_k * E_ij) for every symmetric basis direction, as a (K, D, D) array."""
    diag = np.einsum("kii->ki", dSigma)
    out = dSigma + dSigma.transpose(0, 2, 1)
    idx = np.arange(dSigma.shape[-1])
    out[:, idx, idx] = diag
    return out


def fd_gradients(forward, w, mu, Sigma, X, G, h=1e-6, hw_rel=1e-7):
    """Central finite differences of L = sum(G * forward(w, mu, Sigma, X)) in float64.

    Returns (dw, dmu, dsym, dX); dsym[k, i, j] is the directional derivative along the
    symmetric direction E_ij of Sigma_k (compare with `pair_sums` of the analytic gradient).
    Weight steps are relative (hw_rel * w_k) so the weights still sum to 1 within 1e-6.
    """
    w, mu, Sigma, X, G = as_float64(w, mu, Sigma, X, G)

    def loss(w_, mu_, Sigma_, X_):
        return float(np.sum(G * np.asarray(forward(w_, mu_, Sigma_, X_), dtype=np.float64)))

    def central(arr, index, step, build):
        plus, minus = arr.copy(), arr.copy()
        plus[index] += step
        minus[index] -= step
        return (loss(*build(plus)) - loss(*build(minus))) / (2.0 * step)

    dw = np.array([central(w, k, hw_rel * w[k], lambda a: (a, mu, Sigma, X)) for k in range(w.shape[0])])
    dmu = np.array([central(mu, ix, h, lambda a: (w, a, Sigma, X)) for ix in np.ndindex(mu.shape)]).reshape(mu.shape)
    dX = np.array([central(X, ix, h, lambda a: (w, mu, Sigma, a)) for ix in np.ndindex(X.shape)]).reshape(X.shape)
    dsym = np.zeros(Sigma.shape)
    for k in range(Sigma.shape[0]):
        for (i, j), E in symmetric_basis(Sigma.shape[-1]).items():
            plus, minus = Sigma.copy(), Sigma.copy()
            plus[k] += h * E
            minus[k] -= h * E
            dsym[k, i, j] = dsym[k, j, i] = (loss(w, mu, plus, X) - loss(w, mu, minus, X)) / (2.0 * h)
    return dw, dmu, dsym, dX


def full_covariances(model):
    """Per-component covariance matrices (K, D, D) of any covariance type."""
    k, d = model.means_.shape
    cov = np.asarray(model.covariances_, np.float64)
    if model.covariance_type == "full":
        return cov
    if model.covariance_type == "tied":
        return np.broadcast_to(cov, (k, d, d))
    if model.covariance_type == "diag":
        return np.array([np.diag(c) for c in cov])
    return np.array([c * np.eye(d) for c in cov])


#: The attributes an EM fit sets (besides n_features_in_ and feature_names_in_).
FITTED_ATTRIBUTES = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
    "converged_",
    "n_iter_",
    "lower_bound_",
    "lower_bounds_",
)


#: Set by .ci/run: the optional frameworks (PyTorch, JAX) must be installed, so that their tests run
#: instead of being skipped (a CI without them would otherwise pass without testing them).
REQUIRE_FRAMEWORKS = os.environ.get("GMMCORE_REQUIRE_FRAMEWORKS", "") == "1"


def optional_import(name):
    """``pytest.importorskip(name)``, except that a missing module fails where REQUIRE_FRAMEWORKS is set."""
    if REQUIRE_FRAMEWORKS:
        return importlib.import_module(name)
    return pytest.importorskip(name)
