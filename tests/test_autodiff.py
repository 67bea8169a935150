"""gmmcore._autodiff, the NumPy layer shared by gmmcore.torch and gmmcore.jax (needs neither framework).

The framework tests (test_torch.py, test_jax.py) check the gradients end to
end; here: the upstream gradient of log_prob against gmmcore.expectation, the
underflow rule, the weight and covariance conventions against gmmcore.backward,
and that nothing passed in is modified.
"""

import gmmcore
import numpy as np
import pytest
from conftest import make_problem
from gmmcore import _autodiff


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_responsibilities_times_is_expectation_times_g(dtype):
    p = make_problem(500, 3, 4, dtype=dtype, seed=1)
    problem = _autodiff.Problem(p.weights, p.means, p.covariances, p.X)
    log_prob, components = problem.log_prob()
    g = np.random.default_rng(0).standard_normal(500).astype(dtype)
    got = _autodiff.responsibilities_times(log_prob, components, g)
    want = gmmcore.expectation(gmmcore.GMMParams(*p[:3]), p.X) * g[:, None]
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-30)


@pytest.mark.parametrize(("dtype", "cut"), [(np.float32, -87.0), (np.float64, -708.0)])
def test_responsibilities_below_the_cut_off_are_exact_zeros(dtype, cut):
    """exp of a log-responsibility below the cut-off is 0, never a subnormal (which slows the backward)."""
    components = np.array([[0.0, cut - 0.5, cut + 0.5, -np.inf]], dtype=dtype)
    log_prob = np.zeros(1, dtype=dtype)
    got = _autodiff.responsibilities_times(log_prob, components, np.ones(1, dtype=dtype))
    assert got[0, 1] == 0 and got[0, 3] == 0
    assert got[0, 2] >= np.finfo(dtype).tiny  # just above: a normal number
    tiny = np.finfo(dtype).tiny
    assert not ((got != 0) & (np.abs(got) < tiny)).any()


def test_impossible_rows_get_uniform_responsibilities():
    components = np.array([[-np.inf, -np.inf], [0.0, -1.0]])
    log_prob = np.array([-np.inf, np.logaddexp(0.0, -1.0)])
    got = _autodiff.responsibilities_times(log_prob, components, np.array([2.0, 1.0]))
    np.testing.assert_array_equal(got[0], [1.0, 1.0])
    np.testing.assert_allclose(got[1].sum(), 1.0)


def test_vjp_conventions_against_backward():
    """Means, covariances, X: gmmcore.backward's gradients; weights: its projection for w / sum(w)."""
    p = make_problem(60, 3, 3, seed=2)
    scaled = p.weights * 3.0  # used through w / sum(w): the same mixture
    problem = _autodiff.Problem(scaled, p.means, p.covariances, p.X)
    G = np.random.default_rng(1).standard_normal((60, 3))
    got = problem.vjp(G, (True, True, True, True))
    want = gmmcore.backward(gmmcore.GMMParams(*p[:3]), p.X, G)
    np.testing.assert_allclose(got[1], want.means, rtol=1e-13)
    np.testing.assert_allclose(got[2], want.covariances, rtol=1e-13)
    np.testing.assert_allclose(got[3], want.input, rtol=1e-13)
    np.testing.assert_allclose(got[0], (want.weights - G.sum()) / 3.0, rtol=1e-12)
    # Only what is asked for.
    assert [a is None for a in problem.vjp(G, (False, True, False, False))] == [True, False, True, True]


def test_inputs_are_not_modified_and_layouts_are_accepted():
    p = make_problem(40, 3, 2, seed=3)
    arrays = [p.weights, p.means, p.covariances, np.asfortranarray(p.X)]
    copies = [a.copy() for a in arrays]
    problem = _autodiff.Problem(*arrays)
    problem.vjp(np.ones((40, 2)), (True, True, True, True))
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_allclose(problem.log_likelihood(), gmmcore.log_likelihood(gmmcore.GMMParams(*p[:3]), p.X))


def test_check_shapes_without_values():
    shapes = ((2,), (2, 3), (2, 3, 3), (10, 3))
    _autodiff.check_shapes(shapes, ("float32",) * 4)
    with pytest.raises(TypeError, match="share one dtype"):
        _autodiff.check_shapes(shapes, ("float32", "float32", "float64", "float32"))
    with pytest.raises(ValueError, match="X has shape"):
        _autodiff.check_shapes(((2,), (2, 3), (2, 3, 3), (10, 4)), ("float64",) * 4)
    with pytest.raises(ValueError, match="at least one component"):
        _autodiff.check_shapes(((0,), (0, 3), (0, 3, 3), (10, 3)), ("float64",) * 4)
