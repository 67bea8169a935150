"""em_step / em_train against the reference and scikit-learn, and EM's properties."""

import gmmcore as g
import numpy as np
import pytest
import reference as ref
from conftest import assert_close, make_problem
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.mixture import GaussianMixture

DTYPES = [np.float64, np.float32]
FIELDS = ["weights", "means", "covariances"]


def start_params(problem, seed):
    """Initial parameters away from the truth: uniform weights, shifted means, unit covariances."""
    w, mu, Sigma, X = problem
    k, d = mu.shape
    dtype = X.dtype
    shift = np.random.default_rng(seed).standard_normal(mu.shape)
    return g.GMMParams(
        np.full(k, 1.0 / k, dtype=dtype), (mu + shift).astype(dtype), np.tile(np.eye(d, dtype=dtype), (k, 1, 1))
    )


def assert_params_equal(actual, desired):
    for field, a, b in zip(FIELDS, actual, desired):
        assert a.dtype == np.asarray(b).dtype, field
        assert_array_equal(a, b, err_msg=field, strict=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
@pytest.mark.parametrize("d, k", [(1, 1), (1, 3), (3, 1), (4, 3), (8, 5)])
def test_em_step_matches_reference(n, d, k, dtype):
    problem = make_problem(n, d, k, dtype, seed=n + 10 * d + 100 * k)
    p = start_params(problem, seed=n)
    new = g.em_step(p, problem.X, jitter=1e-4)
    assert isinstance(new, g.GMMParams)
    for actual, desired in zip(new, ref.ref_em_step(*p, problem.X, jitter=1e-4)):
        assert_close(actual, desired, dtype, grad=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [50, 1000])
@pytest.mark.parametrize("d, k", [(1, 1), (2, 3), (4, 3)])
def test_em_train_matches_reference(n, d, k, dtype):
    problem = make_problem(n, d, k, dtype, seed=n + d + k)
    p = start_params(problem, seed=1)
    new = g.em_train(p, problem.X, 5)
    expected = ref.ref_em_train(*p, problem.X, 5)
    rtol = {np.float64: 1e-8, np.float32: 1e-3}[dtype]
    for actual, desired in zip(new, expected):
        assert_close(actual, desired, dtype, rtol=rtol)


@pytest.mark.parametrize("d, k, epochs, jitter", [(1, 1, 1, 1e-6), (2, 3, 5, 1e-6), (4, 3, 10, 1e-3), (5, 4, 20, 1e-6)])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_em_train_matches_sklearn(d, k, epochs, jitter):
    problem = make_problem(400, d, k, seed=d + k + epochs)
    p = start_params(problem, seed=2)
    new = g.em_train(p, problem.X, epochs, jitter=jitter)
    gm = GaussianMixture(
        k,
        covariance_type="full",
        tol=0,
        max_iter=epochs,
        reg_covar=jitter,
        weights_init=p.weights,
        means_init=p.means,
        precisions_init=np.linalg.inv(p.covariances),
        random_state=0,
    )
    gm.fit(problem.X)
    assert_allclose(new.weights, gm.weights_, rtol=1e-8)
    assert_allclose(new.means, gm.means_, rtol=1e-8, atol=1e-10)
    assert_allclose(new.covariances, gm.covariances_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("jitter", [0.0, 1e-6])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_log_likelihood_never_decreases(seed, jitter):
    problem = make_problem(500, 3, 3, seed=seed)
    p = start_params(problem, seed)
    nll = [g.negative_log_likelihood(p, problem.X)]
    for _ in range(30):
        p = g.em_step(p, problem.X, jitter=jitter)
        nll.append(g.negative_log_likelihood(p, problem.X))
    nll = np.array(nll)
    assert np.all(np.diff(nll) <= 1e-9 * np.abs(nll[:-1]))
    assert nll[-1] < nll[0] - 1.0


@pytest.mark.parametrize("dtype, tiny_weight", [(np.float64, 1e-200), (np.float32, 1e-30)])
def test_empty_component_keeps_its_parameters(dtype, tiny_weight):
    """A far component with a tiny weight gets responsibilities exactly 0 and is left alone."""
    w, mu, Sigma, X = make_problem(200, 2, 3, dtype, seed=4)
    w = np.array([0.5, 0.5 - tiny_weight, tiny_weight], dtype=dtype)
    mu[2] = [1e3, -1e3]
    p = g.GMMParams(w, mu, Sigma)
    assert np.all(g.expectation(p, X)[:, 2] == 0.0)
    new = g.em_step(p, X)
    assert_array_equal(new.means[2], mu[2], strict=True)
    assert_array_equal(new.covariances[2], Sigma[2], strict=True)
    assert_allclose(new.weights.sum(), 1.0, rtol=4 * np.finfo(dtype).eps)
    assert_allclose(new.weights[2], tiny_weight, rtol=4 * np.finfo(dtype).eps)
    for actual, desired in zip(new, ref.ref_em_step(w, mu, Sigma, X)):
        assert_close(actual, desired, dtype, grad=True)


@pytest.mark.parametrize("dtype, distance", [(np.float64, 8.0), (np.float32, 4.0)])
def test_near_empty_component_below_threshold_keeps_its_parameters(dtype, distance):
    """0 < N_k <= 10 * eps * N: the component keeps its mean and covariance exactly."""
    _, mu, Sigma, X = make_problem(100, 2, 2, dtype, seed=11)
    w = np.array([0.45, 0.45, 0.1], dtype=dtype)
    mu = np.vstack([mu, X.max(axis=0) + [distance, 0.0]]).astype(dtype)
    Sigma = np.concatenate([Sigma, 0.5 * np.eye(2, dtype=dtype)[None]])
    n_k = ref.ref_expectation(w, mu, Sigma, X)[:, 2].sum()
    assert 0.0 < n_k < np.finfo(dtype).eps * len(X)
    new = g.em_step(g.GMMParams(w, mu, Sigma), X)
    assert_array_equal(new.means[2], mu[2], strict=True)
    assert_array_equal(new.covariances[2], Sigma[2], strict=True)
    assert_allclose(new.weights.sum(), 1.0, rtol=4 * np.finfo(dtype).eps)
    for actual, desired in zip(new, ref.ref_em_step(w, mu, Sigma, X)):
        assert_close(actual, desired, dtype, grad=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_weight_component_stays_zero(dtype):
    w, mu, Sigma, X = make_problem(60, 3, 3, dtype, seed=5)
    w = np.array([0.6, 0.0, 0.4], dtype=dtype)
    new = g.em_train(g.GMMParams(w, mu, Sigma), X, 3)
    assert new.weights[1] == 0.0
    assert_array_equal(new.means[1], mu[1], strict=True)
    assert_array_equal(new.covariances[1], Sigma[1], strict=True)
    assert_allclose(new.weights.sum(), 1.0, rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "step", [lambda p, X: g.em_step(p, X), lambda p, X: g.em_train(p, X, 3)], ids=["em_step", "em_train"]
)
def test_zero_samples_leave_model_unchanged(step, dtype):
    w, mu, Sigma, X = make_problem(0, 3, 2, dtype)
    new = step(g.GMMParams(w, mu, Sigma), X)
    assert isinstance(new, g.GMMParams)
    assert_params_equal(new, (w, mu, Sigma))


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_epochs_leave_model_unchanged(dtype):
    w, mu, Sigma, X = make_problem(50, 3, 2, dtype, seed=6)
    new = g.em_train(g.GMMParams(w, mu, Sigma), X, 0)
    assert isinstance(new, g.GMMParams)
    assert_params_equal(new, (w, mu, Sigma))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("epochs", [1, 4])
def test_em_train_equals_repeated_em_step(epochs, dtype):
    problem = make_problem(300, 3, 3, dtype, seed=7)
    p = start_params(problem, seed=7)
    trained = g.em_train(p, problem.X, epochs, jitter=1e-4)
    stepped = p
    for _ in range(epochs):
        stepped = g.em_step(stepped, problem.X, jitter=1e-4)
    assert_params_equal(trained, stepped)


@pytest.mark.parametrize("dtype", DTYPES)
def test_default_jitter_is_1e_6(dtype):
    problem = make_problem(100, 2, 2, dtype, seed=8)
    p = start_params(problem, seed=8)
    assert_params_equal(g.em_step(p, problem.X), g.em_step(p, problem.X, jitter=1e-6))
    assert_params_equal(g.em_train(p, problem.X, 2), g.em_train(p, problem.X, 2, jitter=1e-6))


@pytest.mark.parametrize("dtype", DTYPES)
def test_jitter_is_added_to_the_diagonal(dtype):
    problem = make_problem(100, 3, 2, dtype, seed=9)
    p = start_params(problem, seed=9)
    plain = g.em_step(p, problem.X, jitter=0.0)
    jittered = g.em_step(p, problem.X, jitter=1e-2)
    assert_params_equal(jittered[:2], plain[:2])
    assert_allclose(
        jittered.covariances - plain.covariances,
        np.broadcast_to(1e-2 * np.eye(3), (2, 3, 3)),
        rtol=0,
        atol=20 * np.finfo(dtype).eps,
    )


@pytest.mark.parametrize("dtype, offset, rtol", [(np.float64, 1e6, 1e-8), (np.float32, 1e3, 1e-3)])
def test_large_offset_does_not_cancel(dtype, offset, rtol):
    """Covariances are accumulated around a shift, so a large common offset costs no accuracy."""
    problem = make_problem(1000, 3, 2, np.float64, seed=10)
    X = (problem.X + offset).astype(dtype)
    p = g.GMMParams(
        problem.weights.astype(dtype), (problem.means + offset).astype(dtype), problem.covariances.astype(dtype)
    )
    new = g.em_step(p, X)
    expected = ref.ref_em_step(*p, X)
    assert_allclose(new.covariances, expected[2], rtol=rtol, atol=rtol * np.abs(expected[2]).max())
    assert_allclose(new.means, expected[1], rtol=rtol)
    assert_allclose(new.weights, expected[0], rtol=rtol)


@pytest.mark.parametrize("step", [lambda p, X: g.em_step(p, X), lambda p, X: g.em_train(p, X, 2)])
def test_overflowing_second_moments_raise(step):
    """Squared deviations beyond float64 must raise, not return inf covariances."""
    X = np.array([[1e200], [-1e200], [3e200]])
    p = g.GMMParams(np.ones(1), np.zeros((1, 1)), np.ones((1, 1, 1)))
    with pytest.raises(ValueError, match="non-finite means or covariances"):
        step(p, X)
