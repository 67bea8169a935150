"""gmmcore.BayesianGaussianMixture against its oracle, sklearn.mixture.BayesianGaussianMixture.

From an integer random_state both estimators start from scikit-learn's
k-means (the same seeds), compared in test_fit_from_a_random_state_matches_sklearn.
The other tests pin the start independently of the seeding: scikit-learn fits with
``max_iter=0`` (its k-means start and the initial variational M-step), its
posterior is copied into ours, and both continue with ``warm_start=True``.
From there every iteration's lower bound, the iteration count, the
convergence flag and every fitted attribute must agree to 1e-8 relative in
float64, for every covariance type, both weight priors, default and given
priors. The initial M-step itself is compared from scikit-learn's own
responsibilities in test_initial_m_step_matches_sklearn.
"""

import warnings

import numpy as np
import pytest
from gmmcore import BayesianGaussianMixture, _native
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture
from sklearn.utils._param_validation import InvalidParameterError
from test_bayesian import COVARIANCE_TYPES, PRIOR_TYPES, blobs, non_default_priors

RTOL = 1e-8
POSTERIOR = ["mean_precision_", "means_", "degrees_of_freedom_", "covariances_", "precisions_cholesky_"]
FITTED = [*POSTERIOR, "weights_", "precisions_", "weight_concentration_", "lower_bound_", "converged_"]
PRIORS = [
    "weight_concentration_prior_",
    "mean_precision_prior_",
    "mean_prior_",
    "degrees_of_freedom_prior_",
    "covariance_prior_",
]


def sklearn_start(X, **params):
    """scikit-learn's estimator after its initialisation (max_iter=0: no iteration, no warning)."""
    return SkBayesianGaussianMixture(**{**params, "max_iter": 0}).fit(X)


def ours_from(theirs, **params):
    ours = BayesianGaussianMixture(**params)
    for name in [*FITTED, "n_features_in_"]:
        setattr(ours, name, getattr(theirs, name))
    return ours


def continue_both(X, theirs, ours, **params):
    with warnings.catch_warnings(record=True) as caught_theirs:
        warnings.simplefilter("always")
        theirs.set_params(**params).fit(X)
    with warnings.catch_warnings(record=True) as caught_ours:
        warnings.simplefilter("always")
        ours.set_params(**params).fit(X)
    kinds = [[w.category for w in caught] for caught in (caught_theirs, caught_ours)]
    assert kinds[0] == kinds[1]


def assert_same_fit(ours, theirs, rtol=RTOL):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert_allclose(ours.lower_bounds_, np.ravel(theirs.lower_bounds_), rtol=rtol)
    assert_allclose(ours.lower_bound_, float(np.ravel(theirs.lower_bound_)[0]), rtol=rtol)
    for name in [*POSTERIOR, "weights_", "precisions_"]:
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=rtol, atol=1e-12, err_msg=name)
    assert_allclose(
        np.vstack(np.atleast_2d(ours.weight_concentration_)),
        np.vstack(np.atleast_2d(theirs.weight_concentration_)),
        rtol=rtol,
    )
    for name in PRIORS:
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("priors", ["default", "custom"])
@pytest.mark.parametrize("weight_prior", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_iterations_match_sklearn(covariance_type, weight_prior, priors):
    X = blobs(n_per=80, n_features=3)
    params = dict(n_components=5, covariance_type=covariance_type, weight_concentration_prior_type=weight_prior)
    if priors == "custom":
        params.update(non_default_priors(covariance_type, X.shape[1]), reg_covar=1e-4)
    theirs = sklearn_start(X, random_state=0, **params)
    ours = ours_from(theirs, **params)
    # A fixed number of iterations, then to convergence at scikit-learn's default tol.
    continue_both(X, theirs, ours, warm_start=True, max_iter=15, tol=0)
    assert_same_fit(ours, theirs)
    continue_both(X, theirs, ours, max_iter=200, tol=1e-3)
    assert_same_fit(ours, theirs)
    assert theirs.converged_
    for method in ("predict_proba", "score_samples"):
        assert_allclose(getattr(ours, method)(X), getattr(theirs, method)(X), rtol=1e-10, atol=1e-13, err_msg=method)
    assert_allclose(ours.score(X), theirs.score(X), rtol=1e-12)
    assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_from_a_random_state_matches_sklearn(covariance_type):
    """An integer random_state gives scikit-learn's k-means start, hence its whole fit, restarts included."""
    X = blobs(n_per=200, n_features=2, centres=(0.0, 8.0, 16.0))
    bounds = set()
    for random_state, n_init in [(0, 1), (1, 1), (2, 2)]:
        params = dict(n_components=10, covariance_type=covariance_type, weight_concentration_prior=1e-3)
        params.update(max_iter=500, random_state=random_state, n_init=n_init)
        theirs = SkBayesianGaussianMixture(**params).fit(X)
        ours = BayesianGaussianMixture(**params).fit(X)
        assert_same_fit(ours, theirs)
        bounds.add(round(ours.lower_bound_, 6))
    assert len(bounds) > 1  # the premise: the seeds lead to different optima


@pytest.mark.parametrize("weight_prior", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_initial_m_step_matches_sklearn(covariance_type, weight_prior):
    """scikit-learn's _initialize from its own soft responsibilities against ours of the same statistics."""
    X = blobs(n_per=50)
    resp = np.random.default_rng(2).dirichlet(np.ones(4), size=len(X))
    theirs = SkBayesianGaussianMixture(
        n_components=4, covariance_type=covariance_type, weight_concentration_prior_type=weight_prior
    )
    theirs._check_parameters(X)
    theirs._initialize(X, resp)
    nk = resp.sum(axis=0)
    shifts = (resp.T @ X) / nk[:, None]
    diffs = X[:, None, :] - shifts[None]
    if covariance_type in ("full", "tied"):
        scatters = np.einsum("nk,nki,nkj->kij", resp, diffs, diffs).reshape(4, -1)
    else:
        scatters = np.einsum("nk,nki->ki", resp, diffs**2)
    sums = np.einsum("nk,nki->ki", resp, diffs)
    arrays = [np.ascontiguousarray(a) for a in (shifts, nk, sums, scatters)]
    covariance_prior = np.atleast_2d(np.asarray(theirs.covariance_prior_, np.float64))
    got = _native.variational_m_step(
        (covariance_type, *arrays, 0.0, float(len(X)), len(X)),
        theirs.reg_covar,
        weight_prior,
        theirs.weight_concentration_prior_,
        theirs.mean_precision_prior_,
        theirs.mean_prior_,
        float(theirs.degrees_of_freedom_prior_),
        np.ascontiguousarray(covariance_prior),
    )
    concentration, mean_precision, means, dof, covariances, chol, _ = got
    assert_allclose(concentration, np.vstack(np.atleast_2d(theirs.weight_concentration_)), rtol=RTOL)
    assert_allclose(mean_precision, theirs.mean_precision_, rtol=RTOL)
    assert_allclose(means, theirs.means_, rtol=RTOL)
    assert_allclose(dof, np.atleast_1d(theirs.degrees_of_freedom_), rtol=RTOL)
    assert_allclose(covariances.reshape(np.shape(theirs.covariances_)), theirs.covariances_, rtol=RTOL)
    assert_allclose(chol.reshape(np.shape(theirs.precisions_cholesky_)), theirs.precisions_cholesky_, rtol=RTOL)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_default_priors_match_sklearn(covariance_type):
    X = blobs(n_per=30)
    ours = BayesianGaussianMixture(n_components=2, covariance_type=covariance_type, random_state=0).fit(X)
    theirs = SkBayesianGaussianMixture(n_components=2, covariance_type=covariance_type, random_state=0).fit(X)
    for name in PRIORS:
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12, err_msg=name)
    # Same data, same (well-separated) clusters: the fits agree closely too.
    assert_allclose(np.sort(ours.means_[:, 0]), np.sort(theirs.means_[:, 0]), rtol=1e-6)


@pytest.mark.parametrize(
    "params",
    [
        {"weight_concentration_prior": 0.0},
        {"weight_concentration_prior": -1},
        {"weight_concentration_prior_type": "beta"},
        {"mean_precision_prior": 0},
        {"degrees_of_freedom_prior": 0},
        {"degrees_of_freedom_prior": 1.0},
        {"covariance_prior": -1.0, "covariance_type": "spherical"},
        {"mean_prior": [1.0]},
        {"covariance_prior": [[1.0, 0.0], [0.0, 1.0]]},
        {"covariance_prior": [[1.0, 3.0, 0.0], [3.0, 1.0, 0.0], [0.0, 0.0, 1.0]]},
        {"covariance_prior": [1.0, -1.0, 1.0], "covariance_type": "diag"},
        {"tol": -1},
        {"max_iter": -1},
        {"n_init": 0},
        {"reg_covar": -1.0},
        {"covariance_type": "other"},
    ],
)
def test_invalid_parameters_raise_as_sklearn(params):
    X = blobs(n_per=10)
    with pytest.raises((ValueError, InvalidParameterError)) as theirs:
        SkBayesianGaussianMixture(**params).fit(X)
    with pytest.raises(theirs.type) as ours:
        BayesianGaussianMixture(**params).fit(X)
    assert type(ours.value) is type(theirs.value)


def test_verbose_output_matches_sklearn(capsys):
    X = blobs(n_per=30)
    theirs = sklearn_start(X, n_components=3, random_state=0)
    ours = ours_from(theirs, n_components=3)
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.set_params(warm_start=True, max_iter=5, verbose=1, verbose_interval=2).fit(X)
        expected = capsys.readouterr().out
        ours.set_params(warm_start=True, max_iter=5, verbose=1, verbose_interval=2).fit(X)
    assert capsys.readouterr().out == expected
