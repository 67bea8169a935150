"""Self-checks of the NumPy oracle against SciPy, scikit-learn and finite differences."""

import numpy as np
import pytest
import reference as ref
import scipy.special
import scipy.stats
from conftest import fd_gradients, make_problem, pair_sums
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.mixture import GaussianMixture


@pytest.mark.parametrize("n, d, k", [(1, 1, 1), (9, 1, 3), (20, 3, 2), (50, 6, 4)])
def test_forward_matches_scipy_logpdf(n, d, k):
    w, mu, Sigma, X = make_problem(n, d, k, seed=n + d + k)
    expected = np.stack(
        [np.log(w[j]) + np.atleast_1d(scipy.stats.multivariate_normal.logpdf(X, mu[j], Sigma[j])) for j in range(k)],
        axis=1,
    )
    assert_allclose(ref.ref_forward(w, mu, Sigma, X), expected, rtol=1e-12, atol=1e-12)
    assert_allclose(ref.ref_forward(w, mu, Sigma, X[0]), expected[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (4, 0)])
def test_logsumexp_matches_scipy(shape):
    a = 50.0 * np.random.default_rng(1).standard_normal(shape)
    expected = scipy.special.logsumexp(a, axis=-1)
    assert_allclose(ref.ref_logsumexp(a), expected, rtol=1e-14)


@pytest.mark.parametrize(
    "row, expected",
    [
        ([-np.inf, -np.inf], -np.inf),
        ([np.inf, 0.0], np.inf),
        ([np.inf, -np.inf], np.inf),
        ([1e308, 1e308], 1e308),
        ([-1000.0, -1000.0], -1000.0 + np.log(2.0)),
        ([], -np.inf),
    ],
)
def test_logsumexp_edge_cases(row, expected):
    assert ref.ref_logsumexp(np.array(row)) == expected


@pytest.mark.parametrize("d, k", [(1, 1), (2, 3), (3, 2)])
def test_backward_matches_finite_differences(d, k):
    w, mu, Sigma, X = make_problem(4, d, k, seed=10 * d + k)
    G = np.random.default_rng(5).standard_normal((4, k))
    dw, dmu, dSigma, dX = ref.ref_backward(w, mu, Sigma, X, G)
    fw, fmu, fsym, fX = fd_gradients(ref.ref_forward, w, mu, Sigma, X, G)
    for analytic, numeric in [(dw, fw), (dmu, fmu), (pair_sums(dSigma), fsym), (dX, fX)]:
        assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6 * np.abs(analytic).max())
    assert_allclose(dSigma, dSigma.transpose(0, 2, 1), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("d, k, epochs, jitter", [(2, 2, 1, 1e-6), (3, 3, 5, 1e-6), (4, 3, 8, 1e-3)])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_em_matches_sklearn(d, k, epochs, jitter):
    w, mu, Sigma, X = make_problem(300, d, k, seed=d * k + epochs)
    mu = mu + 0.3
    w_new, mu_new, Sigma_new = ref.ref_em_train(w, mu, Sigma, X, epochs, jitter)
    gm = GaussianMixture(
        k,
        covariance_type="full",
        tol=0,
        max_iter=epochs,
        reg_covar=jitter,
        weights_init=w,
        means_init=mu,
        precisions_init=np.linalg.inv(Sigma),
        random_state=0,
    ).fit(X)
    assert_allclose(w_new, gm.weights_, rtol=1e-8)
    assert_allclose(mu_new, gm.means_, rtol=1e-8, atol=1e-10)
    assert_allclose(Sigma_new, gm.covariances_, rtol=1e-8, atol=1e-10)


def test_em_empty_component_keeps_parameters():
    w, mu, Sigma, X = make_problem(100, 2, 3, seed=3)
    w = np.array([0.5, 0.5 - 1e-200, 1e-200])
    mu[2] = [1e3, -1e3]
    assert np.all(ref.ref_expectation(w, mu, Sigma, X)[:, 2] == 0.0)
    w_new, mu_new, Sigma_new = ref.ref_em_step(w, mu, Sigma, X)
    assert_array_equal(mu_new[2], mu[2])
    assert_array_equal(Sigma_new[2], Sigma[2])
    assert_allclose(w_new.sum(), 1.0, rtol=1e-15)
    assert_allclose(w_new[2], 1e-200, rtol=1e-15)


def test_em_zero_samples_unchanged():
    w, mu, Sigma, X = make_problem(0, 3, 2)
    for new, old in zip(ref.ref_em_step(w, mu, Sigma, X), (w, mu, Sigma)):
        assert_array_equal(new, old)
