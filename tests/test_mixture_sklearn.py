"""gmmcore.GaussianMixture against its oracle, sklearn.mixture.GaussianMixture.

Both estimators start from the same ``weights_init``/``means_init``/
``precisions_init`` (neither then draws random numbers), so every fitted
attribute, the lower-bound history, the iteration count and the convergence
flag must agree to round-off. Where the k-means start is compared, the data are
well-separated blobs on which any k-means finds the same partition.
"""

import contextlib
import re

import numpy as np
import pytest
from conftest import assert_close, make_problem, random_spd
from gmmcore import GaussianMixture
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.utils._param_validation import InvalidParameterError

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PARAMETERS = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]
RTOL = 1e-8


def initial_params(covariance_type, X, n_components, seed):
    """(weights_init, means_init, precisions_init) near the data, in the covariance type's shape."""
    rng = np.random.default_rng(seed)
    n_samples, n_features = X.shape
    weights = rng.dirichlet(np.full(n_components, 5.0))
    means = X[rng.choice(n_samples, n_components, replace=False)] + 0.1 * rng.standard_normal(
        (n_components, n_features)
    )
    covariances = random_spd(rng, n_components, n_features)
    variances = np.einsum("kii->ki", covariances)
    precisions = {
        "full": np.linalg.inv(covariances),
        "tied": np.linalg.inv(covariances[0]),
        "diag": 1.0 / variances,
        "spherical": 1.0 / variances.mean(axis=1),
    }[covariance_type]
    if covariance_type in ("full", "tied"):
        precisions = 0.5 * (precisions + np.swapaxes(precisions, -1, -2))
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


def fit_both(X, converges, **params):
    """Our fit and scikit-learn's with the same parameters; both warn iff they do not converge."""
    expect = contextlib.nullcontext() if converges else pytest.warns(ConvergenceWarning)
    with expect:
        ours = GaussianMixture(**params).fit(X)
    with expect:
        theirs = SkGaussianMixture(**params).fit(X)
    return ours, theirs


def copy_fitted(source, target):
    for name in [*PARAMETERS, "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_"]:
        setattr(target, name, getattr(source, name))
    return target


def matched(ours, theirs, attribute):
    """`attribute` of both models with components in the same order (sorted by first mean coordinate)."""
    a, b = getattr(ours, attribute), getattr(theirs, attribute)
    if ours.covariance_type == "tied" and attribute != "weights_" and attribute != "means_":
        return a, b
    return a[np.argsort(ours.means_[:, 0])], b[np.argsort(theirs.means_[:, 0])]


def blobs(n_per_blob=500, offset=10.0, seed=0):
    """Four unit-variance blobs in 3-D, `offset` apart, and their labels."""
    rng = np.random.default_rng(seed)
    centres = offset * np.vstack([np.zeros(3), np.eye(3)])
    X = np.vstack([c + rng.standard_normal((n_per_blob, 3)) for c in centres])
    return X, np.repeat(np.arange(4), n_per_blob)


# (name, n_samples, n_features, n_components, max_iter, tol, converges)
FIT_CASES = [
    ("seed0", 300, 3, 3, 100, 1e-3, True),
    ("seed1", 500, 2, 4, 200, 1e-3, True),
    ("d1", 200, 1, 2, 100, 1e-3, True),
    ("k1", 100, 2, 1, 100, 1e-3, True),
    ("k1d1", 50, 1, 1, 100, 1e-3, True),
    ("max_iter", 400, 4, 4, 3, 1e-8, False),
]


@pytest.mark.parametrize("case", FIT_CASES, ids=[c[0] for c in FIT_CASES])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_matches_sklearn(covariance_type, case):
    name, n, d, k, max_iter, tol, converges = case
    X = make_problem(n, d, k, seed=n + 10 * d + 100 * k).X
    params = dict(
        n_components=k,
        covariance_type=covariance_type,
        max_iter=max_iter,
        tol=tol,
        **initial_params(covariance_type, X, k, seed=len(name)),
    )
    ours, theirs = fit_both(X, converges, **params)

    assert ours.converged_ is theirs.converged_ is converges
    assert ours.n_iter_ == theirs.n_iter_
    if not converges:
        assert ours.n_iter_ == max_iter
    for attribute in PARAMETERS:
        assert getattr(ours, attribute).shape == getattr(theirs, attribute).shape, attribute
        assert_close(getattr(ours, attribute), getattr(theirs, attribute), np.float64, rtol=RTOL)
    assert_close(ours.lower_bound_, theirs.lower_bound_, np.float64, rtol=RTOL)
    assert len(ours.lower_bounds_) == len(theirs.lower_bounds_) == ours.n_iter_
    assert_close(np.array(ours.lower_bounds_), np.array(theirs.lower_bounds_, dtype=float), np.float64, rtol=RTOL)
    assert_close(ours.predict_proba(X), theirs.predict_proba(X), np.float64, rtol=RTOL)
    assert_close(ours.score_samples(X), theirs.score_samples(X), np.float64, rtol=RTOL)
    assert_allclose(ours.score(X), theirs.score(X), rtol=RTOL)
    assert_allclose(ours.bic(X), theirs.bic(X), rtol=RTOL)
    assert_allclose(ours.aic(X), theirs.aic(X), rtol=RTOL)
    assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_evaluation_matches_sklearn_on_same_parameters(covariance_type, dtype):
    """With our fitted parameters copied into scikit-learn, every evaluation method agrees."""
    X = make_problem(300, 3, 3, seed=4).X.astype(dtype)
    ours = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    theirs = copy_fitted(ours, SkGaussianMixture(3, covariance_type=covariance_type))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    X_new = make_problem(200, 3, 3, seed=5).X.astype(dtype)
    for data in (X, X_new):
        assert_close(ours.score_samples(data), theirs.score_samples(data), dtype, rtol=rtol)
        assert_close(ours.predict_proba(data), theirs.predict_proba(data), dtype, rtol=rtol)
        assert_array_equal(ours.predict(data), theirs.predict(data))
        assert_allclose(ours.score(data), theirs.score(data), rtol=rtol)
        assert_allclose(ours.bic(data), theirs.bic(data), rtol=rtol)
        assert_allclose(ours.aic(data), theirs.aic(data), rtol=rtol)


@pytest.mark.parametrize("n_components, n_features", [(1, 1), (1, 4), (3, 1), (4, 5)])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_n_parameters_match_sklearn(covariance_type, n_components, n_features):
    X = make_problem(50, n_features, n_components, seed=1).X
    ours = GaussianMixture(n_components, covariance_type=covariance_type, random_state=0).fit(X)
    theirs = copy_fitted(ours, SkGaussianMixture(n_components, covariance_type=covariance_type))
    assert ours._n_parameters() == theirs._n_parameters()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_kmeans_initialisation_matches_sklearn(covariance_type):
    """max_iter=0 keeps the k-means start: on blobs it is scikit-learn's, up to component order."""
    X, _ = blobs()
    params = dict(n_components=4, covariance_type=covariance_type, max_iter=0, random_state=0)
    ours, theirs = fit_both(X, converges=True, **params)  # max_iter=0 never warns
    assert ours.n_iter_ == theirs.n_iter_ == 0
    assert ours.converged_ is theirs.converged_ is False
    assert ours.lower_bound_ == theirs.lower_bound_ == -np.inf
    assert ours.lower_bounds_ == list(theirs.lower_bounds_) == []
    for attribute in PARAMETERS:
        assert_close(*matched(ours, theirs, attribute), np.float64, rtol=RTOL)


def overlapping_clusters():
    """Five overlapping clusters, fitted with eight components: each seed has its own local optimum."""
    rng = np.random.default_rng(3)
    centres = rng.normal(scale=2.0, size=(5, 3))
    scales = rng.uniform(0.5, 2.0, size=(5, 3))
    labels = rng.integers(5, size=1500)
    return centres[labels] + rng.normal(size=(1500, 3)) * scales[labels]


@pytest.mark.parametrize(
    ("covariance_type", "init_params"),
    [(c, "kmeans") for c in COVARIANCE_TYPES]
    # (tied from one-hot rows: scikit-learn's tied covariance sums X^T X over
    # every row, not only the responsibilities', so the starts differ.)
    + [(c, "k-means++") for c in ["full", "diag", "spherical"]],
)
@pytest.mark.parametrize("n_init", [1, 3])
def test_fit_from_a_random_state_matches_sklearn(covariance_type, init_params, n_init):
    """An integer random_state draws scikit-learn's k-means++ seeds, restart after restart: the same fit."""
    X = overlapping_clusters()
    bounds = set()
    for random_state in [0, 1, np.int64(2), 3]:
        params = dict(
            n_components=8,
            covariance_type=covariance_type,
            init_params=init_params,
            n_init=n_init,
            random_state=random_state,
            max_iter=500,
        )
        ours, theirs = fit_both(X, converges=True, **params)
        assert ours.n_iter_ == theirs.n_iter_
        # (one-hot starts put reg_covar variances in the first iterations: round-off grows there)
        assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-6)
        for attribute in PARAMETERS:
            assert_close(getattr(ours, attribute), getattr(theirs, attribute), np.float64, rtol=RTOL)
        bounds.add(round(theirs.lower_bound_, 6))
    assert len(bounds) > 1  # the premise: the seeds lead to different optima


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_initial_covariances_are_accurate_far_from_first_sample(covariance_type):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((200, 2)), 1e5 + rng.standard_normal((200, 2))])
    gm = GaussianMixture(2, covariance_type=covariance_type, max_iter=0, random_state=0).fit(X)
    order = np.argsort(gm.means_[:, 0])
    centred = [X[:200] - X[:200].mean(axis=0), X[200:] - X[200:].mean(axis=0)]
    scatter = [c.T @ c for c in centred]
    expected = {
        "full": np.stack([s / 200 for s in scatter]),
        "tied": (scatter[0] + scatter[1]) / 400,
        "diag": np.stack([np.diag(s) / 200 for s in scatter]),
        "spherical": np.array([np.trace(s) / 400 for s in scatter]),
    }[covariance_type]
    expected = expected + 1e-6 * (np.eye(2) if covariance_type in ("full", "tied") else 1.0)
    actual = gm.covariances_ if covariance_type == "tied" else gm.covariances_[order]
    assert_close(actual, expected, np.float64, rtol=RTOL)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_matches_sklearn_bitwise(covariance_type, dtype):
    X = make_problem(300, 3, 3, seed=6).X.astype(dtype)
    ours = GaussianMixture(3, covariance_type=covariance_type, random_state=7).fit(X)
    theirs = copy_fitted(ours, SkGaussianMixture(3, covariance_type=covariance_type, random_state=7))
    X_ours, y_ours = ours.sample(1000)
    X_theirs, y_theirs = theirs.sample(1000)
    assert_array_equal(X_ours, X_theirs, strict=True)
    assert_array_equal(y_ours, y_theirs, strict=True)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_warm_start_matches_sklearn(covariance_type):
    """warm_start=True, max_iter=1, called repeatedly: the same continuation as scikit-learn's."""
    X = make_problem(300, 2, 3, seed=8).X
    params = dict(
        n_components=3,
        covariance_type=covariance_type,
        warm_start=True,
        max_iter=1,
        tol=0.0,
        **initial_params(covariance_type, X, 3, seed=8),
    )
    ours, theirs = GaussianMixture(**params), SkGaussianMixture(**params)
    for _ in range(5):
        with pytest.warns(ConvergenceWarning):
            ours.fit(X)
        with pytest.warns(ConvergenceWarning):
            theirs.fit(X)
        assert ours.n_iter_ == theirs.n_iter_ == 1
        assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=RTOL)
        for attribute in PARAMETERS:
            assert_close(getattr(ours, attribute), getattr(theirs, attribute), np.float64, rtol=RTOL)


def mask_times(text):
    return re.sub(r"\d+\.\d+s", "<t>s", text)


@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_output_matches_sklearn(capsys, verbose):
    X = make_problem(300, 2, 3, seed=9).X
    params = dict(n_components=3, verbose=verbose, verbose_interval=2, n_init=2, **initial_params("full", X, 3, seed=9))
    GaussianMixture(**params).fit(X)
    ours = capsys.readouterr().out
    SkGaussianMixture(**params).fit(X)
    theirs = capsys.readouterr().out
    assert "Iteration 2" in ours
    assert mask_times(ours) == mask_times(theirs)


INVALID_HYPERPARAMETERS = [
    {"n_components": 0},
    {"n_components": 1.5},
    {"covariance_type": "bogus"},
    {"tol": -1},
    {"reg_covar": -1},
    {"max_iter": -1},
    {"n_init": 0},
    {"init_params": "bogus"},
    {"verbose_interval": 0},
    {"warm_start": "yes"},
    {"random_state": "seed"},
    {"weights_init": "uniform"},
]


@pytest.mark.parametrize("params", INVALID_HYPERPARAMETERS, ids=lambda p: "-".join(map(str, *p.items())))
def test_invalid_hyperparameters_raise_as_sklearn(params):
    X = make_problem(20, 2, 2, seed=0).X
    with pytest.raises(InvalidParameterError) as ours:
        GaussianMixture(**params).fit(X)
    with pytest.raises(InvalidParameterError) as theirs:
        SkGaussianMixture(**params).fit(X)
    assert sorted_sets(str(ours.value)) == sorted_sets(str(theirs.value))


def sorted_sets(message):
    """The message with the options inside each {...} sorted (set order is arbitrary)."""
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message)


D, K = 2, 3
SPD = np.array([[2.0, 0.5], [0.5, 1.0]])
NOT_SYMMETRIC = np.array([[2.0, 0.5], [-0.5, 1.0]])
INDEFINITE = np.array([[1.0, 2.0], [2.0, 1.0]])
INVALID_INITS = [
    ("weights-shape", "full", {"weights_init": np.full(K + 1, 1.0 / (K + 1))}),
    ("weights-2d", "full", {"weights_init": np.full((1, K), 1.0 / K)}),
    ("weights-not-normalized", "full", {"weights_init": np.full(K, 0.2)}),
    ("means-shape", "full", {"means_init": np.zeros((K, D + 1))}),
    ("means-components", "full", {"means_init": np.zeros((K - 1, D))}),
    ("full-shape", "full", {"precisions_init": np.stack([SPD] * (K - 1))}),
    ("full-not-symmetric", "full", {"precisions_init": np.stack([SPD, NOT_SYMMETRIC, SPD])}),
    ("full-indefinite", "full", {"precisions_init": np.stack([SPD, SPD, INDEFINITE])}),
    ("tied-shape", "tied", {"precisions_init": np.stack([SPD] * K)}),
    ("tied-not-symmetric", "tied", {"precisions_init": NOT_SYMMETRIC}),
    ("tied-indefinite", "tied", {"precisions_init": INDEFINITE}),
    ("diag-shape", "diag", {"precisions_init": np.ones(K)}),
    ("diag-zero", "diag", {"precisions_init": np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])}),
    ("diag-negative", "diag", {"precisions_init": -np.ones((K, D))}),
    ("spherical-shape", "spherical", {"precisions_init": np.ones((K, D))}),
    ("spherical-negative", "spherical", {"precisions_init": np.array([1.0, -1.0, 1.0])}),
]


@pytest.mark.parametrize("case", INVALID_INITS, ids=[c[0] for c in INVALID_INITS])
def test_invalid_initial_parameters_raise_sklearn_messages(case):
    _, covariance_type, init = case
    X = make_problem(30, D, K, seed=0).X
    with pytest.raises(ValueError) as ours:
        GaussianMixture(K, covariance_type=covariance_type, **init).fit(X)
    with pytest.raises(ValueError) as theirs:
        SkGaussianMixture(K, covariance_type=covariance_type, **init).fit(X)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("weights", [[-0.5, 0.75, 0.75], [1.5, -0.25, -0.25]])
def test_out_of_range_weights_init_raises(weights):
    """scikit-learn's text, except that we report max and min the right way round."""
    X = make_problem(30, D, K, seed=0).X
    with pytest.raises(ValueError, match=r"'weights' should be in the range \[0, 1\]") as ours:
        GaussianMixture(K, weights_init=np.array(weights)).fit(X)
    with pytest.raises(ValueError, match=r"'weights' should be in the range \[0, 1\]"):
        SkGaussianMixture(K, weights_init=np.array(weights)).fit(X)
    assert f"max value {max(weights):.5f}, min value {min(weights):.5f}" in str(ours.value)


# Data on which a zero reg_covar leaves a singular covariance for both implementations.
ILL_DEFINED = [
    ("full", np.ones((20, 3)), 1),
    ("tied", np.ones((20, 3)), 1),
    ("diag", np.zeros((20, 3)), 1),
    ("spherical", np.zeros((20, 3)), 1),
    ("diag", np.zeros((20, 1)), 1),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type, X, n_components", ILL_DEFINED)
def test_zero_reg_covar_on_degenerate_data_raises_as_sklearn(covariance_type, X, n_components, dtype):
    X = X.astype(dtype)
    params = dict(n_components=n_components, covariance_type=covariance_type, reg_covar=0.0, random_state=0)
    with pytest.raises(ValueError, match="ill-defined empirical covariance") as ours:
        GaussianMixture(**params).fit(X)
    with pytest.raises(ValueError, match="ill-defined empirical covariance") as theirs:
        SkGaussianMixture(**params).fit(X)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_identical_points_single_component_matches_sklearn(covariance_type):
    """All samples equal, K=1: reg_covar alone makes the covariance; same model as scikit-learn."""
    X = np.tile([1.0, -2.0, 3.0], (20, 1))
    ours, theirs = fit_both(X, True, n_components=1, covariance_type=covariance_type, random_state=0)
    for attribute in PARAMETERS:
        assert np.all(np.isfinite(getattr(ours, attribute)))
        assert_close(getattr(ours, attribute), getattr(theirs, attribute), np.float64, rtol=RTOL)
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=RTOL)
    assert ours.n_iter_ == theirs.n_iter_
