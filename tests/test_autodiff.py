"""gmmcore._autodiff, the NumPy layer shared by gmmcore.torch and gmmcore.jax (needs neither framework).

The framework tests (test_torch.py, test_jax.py) check the gradients end to
end; here: the fused log-likelihood VJP against the component VJP of
g * gmmcore.expectation, the weight and covariance conventions against
gmmcore.backward, and that nothing passed in is modified.
"""

import gmmcore
import numpy as np
import pytest
from conftest import make_problem
from gmmcore import _autodiff


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features", [3, 13])
def test_log_likelihood_vjp_is_vjp_of_g_times_expectation(dtype, n_features):
    """The fused native pass equals the component VJP of G = g * gamma (gamma from gmmcore.expectation)."""
    p = make_problem(700, n_features, 4, dtype=dtype, seed=1)
    problem = _autodiff.Problem(p.weights * 2, p.means, p.covariances, p.X)
    g = np.random.default_rng(0).standard_normal(700).astype(dtype)
    G = gmmcore.expectation(gmmcore.GMMParams(*p[:3]), p.X) * g[:, None]
    want = problem.vjp(G, (True, True, True, True))
    got = problem.log_likelihood_vjp(g, (True, True, True, True))
    rtol = 2e-4 if dtype == np.float32 else 1e-10
    for a, b in zip(got, want):
        assert a is not None and b is not None and a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    # Only what is asked for, and the same bits for what is.
    part = problem.log_likelihood_vjp(g, (False, True, False, True))
    assert part[0] is None and part[2] is None
    np.testing.assert_array_equal(part[1], got[1])
    np.testing.assert_array_equal(part[3], got[3])


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
