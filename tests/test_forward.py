"""forward, expectation, log_likelihood and negative_log_likelihood against the reference."""

import gmmcore as g
import numpy as np
import pytest
import reference as ref
import scipy.stats
from conftest import as_float64, assert_close, make_problem
from numpy.testing import assert_allclose, assert_array_equal

DTYPES = [np.float64, np.float32]
SIZES = [0, 1, 7, 1000]
DIMS = [(1, 1), (1, 3), (3, 1), (4, 3), (8, 5)]


def grid(fn):
    """Parametrize over dtype, N and (D, K)."""
    fn = pytest.mark.parametrize("dtype", DTYPES)(fn)
    fn = pytest.mark.parametrize("n", SIZES)(fn)
    return pytest.mark.parametrize("d, k", DIMS)(fn)


@grid
def test_forward_matches_reference(n, d, k, dtype):
    w, mu, Sigma, X = make_problem(n, d, k, dtype, seed=n + 10 * d + 100 * k)
    assert_close(g.forward(g.GMMParams(w, mu, Sigma), X), ref.ref_forward(*as_float64(w, mu, Sigma, X)), dtype)


@grid
def test_expectation_matches_reference(n, d, k, dtype):
    w, mu, Sigma, X = make_problem(n, d, k, dtype, seed=n + 10 * d + 100 * k)
    assert_close(g.expectation(g.GMMParams(w, mu, Sigma), X), ref.ref_expectation(*as_float64(w, mu, Sigma, X)), dtype)


@grid
def test_log_likelihood_matches_reference(n, d, k, dtype):
    w, mu, Sigma, X = make_problem(n, d, k, dtype, seed=n + 10 * d + 100 * k)
    assert_close(
        g.log_likelihood(g.GMMParams(w, mu, Sigma), X), ref.ref_log_likelihood(*as_float64(w, mu, Sigma, X)), dtype
    )


@grid
def test_negative_log_likelihood_matches_reference(n, d, k, dtype):
    w, mu, Sigma, X = make_problem(n, d, k, dtype, seed=n + 10 * d + 100 * k)
    nll = g.negative_log_likelihood(g.GMMParams(w, mu, Sigma), X)
    assert type(nll) is float
    assert_close(nll, ref.ref_nll(*as_float64(w, mu, Sigma, X)), dtype)


@pytest.mark.parametrize("d, k", [(1, 1), (2, 3), (5, 4)])
def test_forward_matches_scipy_logpdf(d, k):
    w, mu, Sigma, X = make_problem(50, d, k, seed=7)
    expected = np.stack(
        [np.log(w[j]) + scipy.stats.multivariate_normal.logpdf(X, mu[j], Sigma[j]) for j in range(k)], axis=1
    )
    assert_allclose(g.forward(g.GMMParams(w, mu, Sigma), X), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", [g.forward, g.expectation, g.log_likelihood])
def test_single_sample_matches_batch_row(fn, dtype):
    w, mu, Sigma, X = make_problem(5, 3, 4, dtype, seed=2)
    p = g.GMMParams(w, mu, Sigma)
    single = fn(p, X[3])
    batch = fn(p, X[3:4])
    assert np.ndim(single) == batch.ndim - 1
    assert np.asarray(single).dtype == dtype
    assert_allclose(single, batch[0], rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_likelihood_single_sample_is_numpy_scalar(dtype):
    w, mu, Sigma, X = make_problem(2, 3, 2, dtype, seed=4)
    value = g.log_likelihood(g.GMMParams(w, mu, Sigma), X[0])
    assert isinstance(value, (np.generic, np.ndarray))
    assert np.ndim(value) == 0 and value.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_samples(dtype):
    w, mu, Sigma, X = make_problem(0, 3, 4, dtype)
    p = g.GMMParams(w, mu, Sigma)
    for fn, shape in [(g.forward, (0, 4)), (g.expectation, (0, 4)), (g.log_likelihood, (0,))]:
        out = fn(p, X)
        assert out.shape == shape and out.dtype == dtype
    nll = g.negative_log_likelihood(p, X)
    assert type(nll) is float and nll == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [10, 1000])
def test_responsibilities_sum_to_one(n, dtype):
    w, mu, Sigma, X = make_problem(n, 4, 5, dtype, seed=n)
    R = g.expectation(g.GMMParams(w, mu, Sigma), X)
    assert np.all(R >= 0)
    assert_allclose(R.sum(axis=1), 1.0, rtol=50 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("zero", [0, 2])
def test_zero_weight_component(zero, dtype):
    w, mu, Sigma, X = make_problem(20, 2, 3, dtype, seed=zero)
    w = np.array([0.5, 0.5, 0.5], dtype=dtype)
    w[zero] = 0.0
    p = g.GMMParams(w, mu, Sigma)
    Y = g.forward(p, X)
    assert np.all(Y[:, zero] == -np.inf)
    assert np.all(np.isfinite(np.delete(Y, zero, axis=1)))
    assert_close(Y, ref.ref_forward(*as_float64(w, mu, Sigma, X)), dtype)
    R = g.expectation(p, X)
    assert np.all(R[:, zero] == 0.0)
    assert_close(R, ref.ref_expectation(*as_float64(w, mu, Sigma, X)), dtype)
    assert_close(g.log_likelihood(p, X), ref.ref_log_likelihood(*as_float64(w, mu, Sigma, X)), dtype)


def test_nll_is_sum_not_mean():
    w, mu, Sigma, X = make_problem(40, 2, 2, seed=9)
    p = g.GMMParams(w, mu, Sigma)
    assert_allclose(g.negative_log_likelihood(p, X), -np.sum(g.log_likelihood(p, X)), rtol=1e-12)


def test_far_samples_stay_finite():
    """Samples far from every mean underflow every component; log p(x) must stay finite."""
    w, mu, Sigma, X = make_problem(4, 3, 3, seed=1)
    X = X + 1e3
    p = g.GMMParams(w, mu, Sigma)
    ll = g.log_likelihood(p, X)
    assert np.all(np.isfinite(ll))
    assert_close(ll, ref.ref_log_likelihood(w, mu, Sigma, X), np.float64)
    R = g.expectation(p, X)
    assert_close(R, ref.ref_expectation(w, mu, Sigma, X), np.float64)
    assert_array_equal(np.isfinite(R), True)
