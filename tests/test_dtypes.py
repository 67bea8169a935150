"""Input handling: the working-dtype rule, integer and list input, memory layouts, no mutation."""

import gmmcore as g
import numpy as np
import pytest
from conftest import make_problem
from numpy.testing import assert_array_equal

K, D, N = 3, 4, 50

FUNCS = {
    "forward": lambda w, mu, S, X, G: [g.forward(g.GMMParams(w, mu, S), X)],
    "expectation": lambda w, mu, S, X, G: [g.expectation(g.GMMParams(w, mu, S), X)],
    "log_likelihood": lambda w, mu, S, X, G: [g.log_likelihood(g.GMMParams(w, mu, S), X)],
    "negative_log_likelihood": lambda w, mu, S, X, G: [np.array(g.negative_log_likelihood(g.GMMParams(w, mu, S), X))],
    "backward": lambda w, mu, S, X, G: list(g.backward(g.GMMParams(w, mu, S), X, G)),
    "em_step": lambda w, mu, S, X, G: list(g.em_step(g.GMMParams(w, mu, S), X)),
    "em_train": lambda w, mu, S, X, G: list(g.em_train(g.GMMParams(w, mu, S), X, 2)),
}
ARRAY_FUNCS = [f for f in FUNCS if f != "negative_log_likelihood"]
ARGS = ["weights", "means", "covariances", "X", "grad_output"]


def problem(dtype=np.float64, seed=0):
    w, mu, Sigma, X = make_problem(N, D, K, dtype, seed)
    G = np.random.default_rng(seed + 1).standard_normal((N, K)).astype(dtype)
    return [w, mu, Sigma, X, G]


def assert_results_equal(actual, expected):
    assert len(actual) == len(expected)
    for a, b in zip(actual, expected):
        assert_array_equal(a, b, strict=True)


@pytest.mark.parametrize("fn", ARRAY_FUNCS)
@pytest.mark.parametrize("wide", [None, *ARGS])
def test_working_dtype(fn, wide):
    """float32 only when every array passed is float32; otherwise float64 on float64 values."""
    args = problem(np.float32)
    if wide is not None:
        args[ARGS.index(wide)] = args[ARGS.index(wide)].astype(np.float64)
    passed_wide = wide is not None and (wide != "grad_output" or fn == "backward")
    expected_dtype = np.float64 if passed_wide else np.float32
    results = FUNCS[fn](*args)
    for r in results:
        assert r.dtype == expected_dtype
    if passed_wide:
        assert_results_equal(results, FUNCS[fn](*(a.astype(np.float64) for a in args)))


@pytest.mark.parametrize("fn", list(FUNCS))
@pytest.mark.parametrize("param_dtype", [np.float64, np.float32])
def test_integer_X_works_in_float64(fn, param_dtype):
    w, mu, Sigma, X, G = problem(param_dtype)
    X_int = np.rint(3 * X).astype(np.int64)
    results = FUNCS[fn](w, mu, Sigma, X_int, G.astype(np.float64))
    expected = FUNCS[fn](*(a.astype(np.float64) for a in (w, mu, Sigma, X_int, G)))
    assert_results_equal(results, expected)


@pytest.mark.parametrize("fn", list(FUNCS))
@pytest.mark.parametrize("int_dtype", [np.int32, np.int64, np.uint8])
def test_integer_parameters_accepted(fn, int_dtype):
    w = np.array([1], dtype=int_dtype)
    mu = np.array([[1, 2]], dtype=int_dtype)
    Sigma = np.array([[[2, 1], [1, 3]]], dtype=int_dtype)
    X = np.array([[0, 1], [2, 2], [1, 5]], dtype=int_dtype)
    G = np.array([[1], [2], [3]], dtype=int_dtype)
    results = FUNCS[fn](w, mu, Sigma, X, G)
    expected = FUNCS[fn](*(a.astype(np.float64) for a in (w, mu, Sigma, X, G)))
    assert_results_equal(results, expected)


@pytest.mark.parametrize("fn", list(FUNCS))
def test_list_input(fn):
    args = problem()
    assert_results_equal(FUNCS[fn](*(a.tolist() for a in args)), FUNCS[fn](*args))


LAYOUTS = {
    "X-fortran": ("X", np.asfortranarray),
    "X-column-strided": ("X", lambda X: np.repeat(X, 2, axis=1)[:, ::2]),
    "X-row-strided": ("X", lambda X: np.repeat(X, 3, axis=0)[::3]),
    "X-negative-strides": ("X", lambda X: X[::-1, ::-1].copy()[::-1, ::-1]),
    "weights-strided": ("weights", lambda w: np.repeat(w, 2)[::2]),
    "means-fortran": ("means", np.asfortranarray),
    "means-strided": ("means", lambda mu: np.repeat(mu, 2, axis=1)[:, ::2]),
    "covariances-fortran": ("covariances", np.asfortranarray),
    "covariances-transposed-view": (
        "covariances",
        lambda S: np.ascontiguousarray(S.transpose(0, 2, 1)).transpose(0, 2, 1),
    ),
    "covariances-strided": ("covariances", lambda S: np.repeat(S, 2, axis=0)[::2]),
    "grad_output-fortran": ("grad_output", np.asfortranarray),
    "grad_output-strided": ("grad_output", lambda G: np.repeat(G, 2, axis=1)[:, ::2]),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fn", list(FUNCS))
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_non_contiguous_input_is_bitwise_identical(layout, fn, dtype):
    args = problem(dtype, seed=2)
    name, transform = LAYOUTS[layout]
    i = ARGS.index(name)
    changed = transform(args[i])
    assert not changed.flags.c_contiguous
    assert_array_equal(changed, args[i], strict=True)
    expected = FUNCS[fn](*args)
    args[i] = changed
    assert_results_equal(FUNCS[fn](*args), expected)


@pytest.mark.parametrize("axis", [0, 1])
def test_logsumexp_non_contiguous_is_bitwise_identical(axis):
    a = np.random.default_rng(0).standard_normal((30, 20))
    expected = g.logsumexp(a, axis=axis)
    assert_array_equal(g.logsumexp(np.asfortranarray(a), axis=axis), expected, strict=True)
    assert_array_equal(g.logsumexp(np.repeat(a, 2, axis=1)[:, ::2], axis=axis), expected, strict=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fn", list(FUNCS))
def test_inputs_not_modified(fn, dtype):
    args = problem(dtype, seed=3)
    copies = [a.copy() for a in args]
    FUNCS[fn](*args)
    for name, a, c in zip(ARGS, args, copies):
        assert_array_equal(a, c, strict=True, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logsumexp_dtype(dtype):
    assert g.logsumexp(np.zeros((2, 3), dtype=dtype)).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_negative_log_likelihood_is_python_float(dtype):
    w, mu, Sigma, X, _ = problem(dtype)
    assert type(g.negative_log_likelihood(g.GMMParams(w, mu, Sigma), X)) is float


@pytest.mark.parametrize("k, d", [(1, 1), (3, 2), (4, 5)])
@pytest.mark.parametrize("dtype", [None, np.float64, np.float32])
def test_init_params(k, d, dtype):
    p = g.init_params(k, d) if dtype is None else g.init_params(k, d, dtype=dtype)
    expected_dtype = np.float64 if dtype is None else dtype
    assert isinstance(p, g.GMMParams)
    assert_array_equal(p.weights, np.full(k, 1.0 / k, dtype=expected_dtype), strict=True)
    assert_array_equal(p.means, np.zeros((k, d), dtype=expected_dtype), strict=True)
    assert_array_equal(p.covariances, np.tile(np.eye(d, dtype=expected_dtype), (k, 1, 1)), strict=True)
    assert g.forward(p, np.zeros((2, d), dtype=expected_dtype)).shape == (2, k)


def test_result_types():
    assert g.GMMParams._fields == ("weights", "means", "covariances")
    assert g.Gradients._fields == ("weights", "means", "covariances", "input")
    w, mu, Sigma, X, G = problem()
    assert isinstance(g.em_step(g.GMMParams(w, mu, Sigma), X), g.GMMParams)
    assert isinstance(g.em_train(g.GMMParams(w, mu, Sigma), X, 1), g.GMMParams)
    assert isinstance(g.backward(g.GMMParams(w, mu, Sigma), X, G), g.Gradients)


def test_params_validated_at_call_not_at_construction():
    w, mu, Sigma, X, _ = problem()
    p = g.GMMParams(np.array([0.6, 0.6, -0.2]), mu, Sigma)
    with pytest.raises(ValueError, match="weights must be non-negative"):
        g.forward(p, X)
