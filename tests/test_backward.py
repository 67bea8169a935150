"""backward (VJP of the forward map) against the reference and finite differences."""

import gmmcore as g
import numpy as np
import pytest
import reference as ref
from conftest import as_float64, assert_close, fd_gradients, make_problem, pair_sums
from numpy.testing import assert_allclose, assert_array_equal

DTYPES = [np.float64, np.float32]
FIELDS = ["weights", "means", "covariances", "input"]


def problem_with_grad(n, d, k, dtype, seed):
    w, mu, Sigma, X = make_problem(n, d, k, dtype, seed)
    G = np.random.default_rng(seed + 1).standard_normal((n, k)).astype(dtype)
    return w, mu, Sigma, X, G


def native_forward(w, mu, Sigma, X):
    return g.forward(g.GMMParams(w, mu, Sigma), X)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
# d = 13 and 32: float64 sums formed on transposed samples, across tile edges; 33: on rows.
@pytest.mark.parametrize("d, k", [(1, 1), (1, 3), (3, 1), (4, 3), (8, 5), (13, 2), (32, 2), (33, 2)])
def test_backward_matches_reference(n, d, k, dtype):
    w, mu, Sigma, X, G = problem_with_grad(n, d, k, dtype, seed=n + 10 * d + 100 * k)
    grads = g.backward(g.GMMParams(w, mu, Sigma), X, G)
    assert isinstance(grads, g.Gradients) and grads._fields == tuple(FIELDS)
    expected = ref.ref_backward(*as_float64(w, mu, Sigma, X, G))
    for field, actual, desired in zip(FIELDS, grads, expected):
        assert actual.shape == desired.shape, field
        assert_close(actual, desired, dtype, grad=True)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("d, k", [(1, 1), (2, 3), (3, 2), (4, 4)])
def test_backward_matches_finite_differences(d, k, seed):
    w, mu, Sigma, X, G = problem_with_grad(4, d, k, np.float64, seed)
    dw, dmu, dSigma, dX = g.backward(g.GMMParams(w, mu, Sigma), X, G)
    fw, fmu, fsym, fX = fd_gradients(native_forward, w, mu, Sigma, X, G)
    for name, analytic, numeric in [
        ("weights", dw, fw),
        ("means", dmu, fmu),
        ("covariances", pair_sums(dSigma), fsym),
        ("input", dX, fX),
    ]:
        assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max(), err_msg=name)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_covariance_gradient_along_random_symmetric_direction(seed):
    w, mu, Sigma, X, G = problem_with_grad(6, 3, 3, np.float64, seed)
    E = np.random.default_rng(seed + 7).standard_normal(Sigma.shape)
    E = E + E.transpose(0, 2, 1)
    h = 1e-6

    def loss(S):
        return np.sum(G * native_forward(w, mu, S, X))

    numeric = (loss(Sigma + h * E) - loss(Sigma - h * E)) / (2 * h)
    analytic = np.sum(g.backward(g.GMMParams(w, mu, Sigma), X, G).covariances * E)
    assert_allclose(analytic, numeric, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_covariance_gradient_is_symmetric(dtype):
    w, mu, Sigma, X, G = problem_with_grad(30, 4, 3, dtype, seed=3)
    dSigma = g.backward(g.GMMParams(w, mu, Sigma), X, G).covariances
    assert_allclose(dSigma, dSigma.transpose(0, 2, 1), rtol=0, atol=50 * np.finfo(dtype).eps * np.abs(dSigma).max())


def test_batched_parameter_gradients_are_sums_over_samples():
    w, mu, Sigma, X, G = problem_with_grad(9, 3, 4, np.float64, seed=5)
    p = g.GMMParams(w, mu, Sigma)
    batch = g.backward(p, X, G)
    singles = [g.backward(p, X[i], G[i]) for i in range(len(X))]
    for j, field in enumerate(FIELDS[:3]):
        assert_allclose(
            batch[j], sum(s[j] for s in singles), rtol=1e-12, atol=1e-12 * np.abs(batch[j]).max(), err_msg=field
        )
    assert_allclose(batch.input, np.stack([s.input for s in singles]), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_single_sample_matches_batch_of_one(dtype):
    w, mu, Sigma, X, G = problem_with_grad(3, 3, 2, dtype, seed=6)
    p = g.GMMParams(w, mu, Sigma)
    single = g.backward(p, X[1], G[1])
    batch = g.backward(p, X[1:2], G[1:2])
    assert single.input.shape == (3,)
    for field, s, b in zip(FIELDS, single, batch):
        assert s.dtype == dtype, field
        assert_allclose(s, b[0] if field == "input" else b, rtol=4 * np.finfo(dtype).eps, atol=0, err_msg=field)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_samples_give_zero_parameter_gradients(dtype):
    w, mu, Sigma, X, G = problem_with_grad(0, 3, 2, dtype, seed=0)
    grads = g.backward(g.GMMParams(w, mu, Sigma), X, G)
    for field, actual, shape in zip(FIELDS, grads, [(2,), (2, 3), (2, 3, 3), (0, 3)]):
        assert actual.shape == shape and actual.dtype == dtype, field
        assert_array_equal(actual, np.zeros(shape), err_msg=field)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("column, expected", [(1.0, np.inf), (-1.0, -np.inf), (0.0, np.nan)])
def test_zero_weight_gradient_follows_ieee(column, expected, dtype):
    """dL/dw_k = (sum_i G_ik) / 0: +inf, -inf or NaN; every other gradient stays finite."""
    w, mu, Sigma, X, G = problem_with_grad(5, 2, 3, dtype, seed=8)
    w = np.array([0.25, 0.0, 0.75], dtype=dtype)
    G[:, 1] = column
    grads = g.backward(g.GMMParams(w, mu, Sigma), X, G)
    assert_array_equal(grads.weights[1], expected)
    expected_all = ref.ref_backward(*as_float64(w, mu, Sigma, X, G))
    assert_close(np.delete(grads.weights, 1), np.delete(expected_all[0], 1), dtype, grad=True)
    for field, actual, desired in zip(FIELDS[1:], grads[1:], expected_all[1:]):
        assert np.all(np.isfinite(actual)), field
        assert_close(actual, desired, dtype, grad=True)
