"""gmmcore.GaussianMixture: properties of the estimator that need no oracle.

Initialisation on separated blobs, float32, determinism, sampling, warm start,
n_init, the lower-bound history, degenerate data, sample weights, validation,
verbose output and callbacks, persistence. Comparisons with scikit-learn are in
test_mixture_sklearn.py, its estimator checks in test_mixture_checks.py and
thread-count determinism in test_mixture_threads.py.
"""

import pickle

import joblib
import numpy as np
import pytest
from conftest import assert_close, make_problem
from gmmcore import GaussianMixture
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import adjusted_rand_score

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
INIT_PARAMS = ["kmeans", "k-means++", "random", "random_from_data"]
DTYPES = [np.float64, np.float32]
PARAMETERS = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]
ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def make_blobs(n_per_blob=500, seed=0):
    """Four unit-variance blobs in 3-D, 10 apart, and the blob of each sample."""
    rng = np.random.default_rng(seed)
    centres = 10.0 * np.vstack([np.zeros(3), np.eye(3)])
    X = np.vstack([c + rng.standard_normal((n_per_blob, 3)) for c in centres])
    return X, np.repeat(np.arange(4), n_per_blob), centres


BLOBS, BLOB_LABELS, BLOB_CENTRES = make_blobs()


def blob_order(means):
    """Component order that puts the blob centres 0, 10e_x, 10e_y, 10e_z in that order."""
    return np.argsort(means @ np.array([1.0, 2.0, 3.0]))


def given_start(X, n_components, covariance_type):
    """weights_init/means_init/precisions_init: the k-means start of a max_iter=0 fit."""
    start = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=0, random_state=0).fit(X)
    return {"weights_init": start.weights_, "means_init": start.means_, "precisions_init": start.precisions_}


def assert_same_fit(actual, desired, rtol=None):
    """Same fitted model: bitwise when rtol is None, else to rtol (relative to each array's scale)."""
    for name in PARAMETERS:
        a, d = getattr(actual, name), getattr(desired, name)
        if rtol is None:
            assert_array_equal(a, d, err_msg=name, strict=True)
        else:
            assert_close(a, d, d.dtype, rtol=rtol)
    assert actual.n_iter_ == desired.n_iter_
    assert actual.converged_ is desired.converged_
    if rtol is None:
        assert actual.lower_bound_ == desired.lower_bound_
        assert actual.lower_bounds_ == desired.lower_bounds_
    else:
        assert_allclose(actual.lower_bound_, desired.lower_bound_, rtol=rtol)
        assert_allclose(actual.lower_bounds_, desired.lower_bounds_, rtol=rtol)


def assert_valid_model(gm, X):
    for name in PARAMETERS:
        assert np.all(np.isfinite(getattr(gm, name))), name
    assert_allclose(gm.weights_.sum(), 1.0, rtol=1e-6)
    covariances = gm.covariances_
    if gm.covariance_type in ("full", "tied"):
        assert np.all(np.linalg.eigvalsh(covariances.astype(np.float64)) > 0)
    else:
        assert np.all(covariances > 0)
    resp = gm.predict_proba(X)
    assert np.all(np.isfinite(resp))
    assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(np.isfinite(gm.score_samples(X)))


# ------------------------------------------------------------------ float32


@pytest.mark.parametrize("init", ["given", "kmeans", "random"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_fit_stays_float32_and_is_close_to_float64(covariance_type, init):
    X = make_problem(500, 3, 3, seed=12).X if init == "given" else BLOBS
    n_components = 3 if init == "given" else 4
    if init == "given":
        params = dict(given_start(X, n_components, covariance_type), tol=1e-6, max_iter=500)
    else:
        params = dict(init_params=init, random_state=0, n_init=3)
    double = GaussianMixture(n_components, covariance_type=covariance_type, **params).fit(X)
    single = GaussianMixture(n_components, covariance_type=covariance_type, **params).fit(X.astype(np.float32))

    for name in PARAMETERS:
        assert getattr(single, name).dtype == np.float32, name
    X32 = X.astype(np.float32)
    assert single.predict_proba(X32).dtype == np.float32
    assert single.score_samples(X32).dtype == np.float32
    assert single.predict_proba(X).dtype == np.float64
    assert isinstance(single.lower_bound_, float)
    order32, order64 = (slice(None),) * 2 if init == "given" else (blob_order(single.means_), blob_order(double.means_))
    assert_allclose(single.means_[order32], double.means_[order64], rtol=1e-3, atol=1e-3)
    assert_allclose(single.weights_[order32], double.weights_[order64], rtol=1e-3)
    assert_allclose(single.lower_bound_, double.lower_bound_, rtol=1e-4)
    assert adjusted_rand_score(double.predict(X), single.predict(X32)) > 0.99


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_sample_weight_fit_stays_float32(covariance_type):
    X = make_problem(200, 2, 2, seed=13).X.astype(np.float32)
    gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X, sample_weight=np.arange(200) % 3)
    for name in PARAMETERS:
        assert getattr(gm, name).dtype == np.float32, name


# ------------------------------------------------------------ initialisation


@pytest.mark.parametrize("init_params, n_init", [("kmeans", 1), ("k-means++", 1), ("random_from_data", 5)])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_recovers_separated_blobs(covariance_type, init_params, n_init):
    gm = GaussianMixture(
        4, covariance_type=covariance_type, init_params=init_params, n_init=n_init, random_state=0
    ).fit(BLOBS)
    assert gm.converged_
    assert adjusted_rand_score(BLOB_LABELS, gm.predict(BLOBS)) > 0.99
    assert_allclose(gm.means_[blob_order(gm.means_)], BLOB_CENTRES, atol=0.2)
    assert_allclose(gm.weights_, 0.25, atol=0.01)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_kmeans_initialisation_alone_recovers_blobs(covariance_type):
    gm = GaussianMixture(4, covariance_type=covariance_type, max_iter=0, random_state=0).fit(BLOBS)
    assert gm.n_iter_ == 0
    assert adjusted_rand_score(BLOB_LABELS, gm.predict(BLOBS)) > 0.99
    order = blob_order(gm.means_)
    true_means = np.stack([BLOBS[BLOB_LABELS == k].mean(axis=0) for k in range(4)])
    assert_allclose(gm.means_[order], true_means, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_seeded_initialisation_starts_from_distinct_samples(covariance_type, init_params, seed, dtype):
    """As scikit-learn: one sample per component, weights 1/n_samples, covariances reg_covar."""
    X = BLOBS.astype(dtype)
    gm = GaussianMixture(
        4, covariance_type=covariance_type, init_params=init_params, max_iter=0, random_state=seed
    ).fit(X)
    distances = np.linalg.norm(X[None, :, :].astype(np.float64) - gm.means_[:, None, :], axis=2)
    rows = distances.argmin(axis=1)
    assert len(set(rows)) == 4
    assert_allclose(gm.means_, X[rows], rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert_allclose(gm.weights_, 1.0 / len(X), rtol=1e-5)
    reg = 1e-6 * (np.eye(3) if covariance_type in ("full", "tied") else 1.0)
    rtol = 1e-2 if dtype == np.float32 else 1e-6
    assert gm.covariances_.dtype == dtype
    assert_allclose(gm.covariances_, np.broadcast_to(reg, gm.covariances_.shape), rtol=rtol, atol=rtol * 1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_random_initialisation_starts_near_the_data_mean(covariance_type):
    """Random responsibilities average out: every initial mean is near the overall mean (a poor start)."""
    gm = GaussianMixture(4, covariance_type=covariance_type, init_params="random", max_iter=0, random_state=0).fit(
        BLOBS
    )
    assert np.all(np.linalg.norm(gm.means_ - BLOBS.mean(axis=0), axis=1) < 0.5)
    assert_allclose(gm.weights_, 0.25, atol=0.02)


@ignore_convergence  # a poor start may need more than max_iter iterations
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_random_initialisation_gives_a_valid_but_no_better_model(covariance_type):
    random = GaussianMixture(4, covariance_type=covariance_type, init_params="random", random_state=0).fit(BLOBS)
    kmeans = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(BLOBS)
    assert_valid_model(random, BLOBS)
    assert random.lower_bound_ <= kmeans.lower_bound_ + kmeans.tol


@ignore_convergence  # the poor "random" start may need more than max_iter iterations
@pytest.mark.parametrize("init_params", INIT_PARAMS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_random_state_gives_identical_models(covariance_type, init_params):
    """An integer is its own seed (np.int64 too); a RandomState gives the seed it draws, and moves on."""
    params = dict(covariance_type=covariance_type, init_params=init_params, n_init=2, max_iter=20)
    first = GaussianMixture(4, random_state=3, **params).fit(BLOBS)
    assert_same_fit(GaussianMixture(4, random_state=np.int64(3), **params).fit(BLOBS), first)
    drawn = np.random.RandomState(3).randint(np.iinfo(np.int32).max)
    state = np.random.RandomState(3)
    from_state = GaussianMixture(4, random_state=state, **params).fit(BLOBS)
    assert_same_fit(from_state, GaussianMixture(4, random_state=drawn, **params).fit(BLOBS))
    assert state.randint(np.iinfo(np.int32).max) != drawn  # the RandomState moved on


# -------------------------------------------------------------------- sample


def full_covariances(gm):
    """The (K, D, D) covariance matrices of any covariance type."""
    K, D = gm.means_.shape
    if gm.covariance_type == "full":
        return gm.covariances_
    if gm.covariance_type == "tied":
        return np.broadcast_to(gm.covariances_, (K, D, D))
    if gm.covariance_type == "diag":
        return np.stack([np.diag(c) for c in gm.covariances_])
    return gm.covariances_[:, None, None] * np.eye(D)


def fitted_model(covariance_type, dtype=np.float64, n_components=3, n_features=2, random_state=0):
    X = make_problem(300, n_features, n_components, dtype=dtype, seed=14).X
    return GaussianMixture(n_components, covariance_type=covariance_type, random_state=random_state).fit(X)


@pytest.mark.parametrize("n_samples", [1, 7, 100])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_shapes_and_labels(covariance_type, n_samples):
    gm = fitted_model(covariance_type)
    X, y = gm.sample(n_samples)
    assert X.shape == (n_samples, 2)
    assert X.dtype == np.float64
    assert y.shape == (n_samples,)
    assert np.issubdtype(y.dtype, np.integer)
    assert np.all(np.diff(y) >= 0)  # grouped by component, in component order
    assert np.all((y >= 0) & (y < 3))
    assert np.bincount(y, minlength=3).sum() == n_samples


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_moments_match_the_model(covariance_type):
    n = 20000
    gm = fitted_model(covariance_type, n_components=2, n_features=3)
    X, y = gm.sample(n)
    counts = np.bincount(y, minlength=2)
    assert np.all(np.abs(counts - n * gm.weights_) < 5 * np.sqrt(n * gm.weights_ * (1 - gm.weights_)))
    full = full_covariances(gm)
    for k in range(2):
        Xk = X[y == k]
        standard_error = np.sqrt(np.diag(full[k]) / len(Xk))
        assert np.all(np.abs(Xk.mean(axis=0) - gm.means_[k]) < 5 * standard_error)
        assert_allclose(np.cov(Xk.T), full[k], atol=0.1 * np.abs(full[k]).max())


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_is_reproducible_with_an_integer_random_state(covariance_type):
    gm = fitted_model(covariance_type, random_state=5)
    X1, y1 = gm.sample(50)
    X2, y2 = gm.sample(50)
    assert_array_equal(X1, X2, strict=True)
    assert_array_equal(y1, y2, strict=True)


def test_sample_requires_a_positive_count():
    with pytest.raises(ValueError, match="Invalid value for 'n_samples'"):
        fitted_model("full").sample(0)


# ---------------------------------------------------------------- warm start


@pytest.mark.parametrize("start", ["given", "kmeans"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_warm_start_one_iteration_at_a_time_equals_one_long_fit(covariance_type, start):
    X = make_problem(300, 2, 3, seed=15).X
    n_calls = 6
    params = dict(n_components=3, covariance_type=covariance_type, tol=0.0, random_state=0)
    if start == "given":
        params.update(given_start(X, 3, covariance_type))
    warm = GaussianMixture(warm_start=True, max_iter=1, **params)
    bounds = []
    for _ in range(n_calls):
        with pytest.warns(ConvergenceWarning):
            warm.fit(X)
        assert warm.n_iter_ == 1
        assert warm.lower_bounds_ == [warm.lower_bound_]
        bounds.append(warm.lower_bound_)
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))
    with pytest.warns(ConvergenceWarning):
        single = GaussianMixture(max_iter=n_calls, **params).fit(X)
    for name in PARAMETERS:
        assert_close(getattr(warm, name), getattr(single, name), np.float64, rtol=1e-13)
    assert_allclose(bounds, single.lower_bounds_, rtol=1e-13)


def test_warm_start_runs_one_initialisation_after_the_first_fit():
    X = make_problem(300, 2, 3, seed=16).X
    gm = GaussianMixture(3, warm_start=True, n_init=3, random_state=0)
    calls = []
    gm.fit(X, callback=lambda *args: calls.append(args))
    assert {c[0] for c in calls} == {0, 1, 2}
    previous = gm.lower_bound_
    calls.clear()
    gm.fit(X, callback=lambda *args: calls.append(args))
    assert {c[0] for c in calls} == {0}
    # continues from the converged model: the first change is measured from the previous bound
    init, n_iter, lower_bound, change = calls[0]
    assert n_iter == 1
    assert_allclose(change, lower_bound - previous, rtol=1e-12, atol=1e-15)
    assert gm.converged_ and gm.n_iter_ == 1
    assert gm.lower_bound_ >= previous - 1e-12


# -------------------------------------------------------- n_init, lower bound


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_n_init_keeps_the_best_initialisation(covariance_type):
    X = make_problem(300, 2, 4, seed=17).X
    params = dict(
        n_components=4, covariance_type=covariance_type, init_params="random_from_data", random_state=0, max_iter=300
    )
    trajectories = {}

    def record(init, n_iter, lower_bound, change):
        trajectories.setdefault(init, []).append(lower_bound)
        assert n_iter == len(trajectories[init])

    best = GaussianMixture(n_init=5, **params).fit(X, callback=record)
    assert sorted(trajectories) == [0, 1, 2, 3, 4]
    finals = [trajectories[i][-1] for i in range(5)]
    assert len(set(finals)) > 1  # the restarts really differ
    assert best.lower_bound_ == max(finals)
    chosen = int(np.argmax(finals))
    assert best.lower_bounds_ == trajectories[chosen]
    assert best.n_iter_ == len(trajectories[chosen])

    single = GaussianMixture(n_init=1, **params).fit(X)
    assert single.lower_bounds_ == trajectories[0]  # the first initialisation is the n_init=1 one
    assert best.lower_bound_ >= single.lower_bound_
    assert_same_fit(GaussianMixture(n_init=5, **params).fit(X), best)


@ignore_convergence  # the history is the point here, not convergence
@pytest.mark.parametrize("init_params", INIT_PARAMS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_history(covariance_type, init_params):
    X = make_problem(400, 3, 3, seed=18).X
    gm = GaussianMixture(
        3, covariance_type=covariance_type, init_params=init_params, tol=1e-6, max_iter=60, random_state=1
    ).fit(X)
    history = np.array(gm.lower_bounds_)
    assert isinstance(gm.lower_bounds_, list)
    assert len(history) == gm.n_iter_ > 1
    assert history[-1] == gm.lower_bound_
    assert np.all(np.isfinite(history))
    assert np.all(np.diff(history) >= -1e-10 * np.abs(history[1:]))
    assert gm.converged_ == (abs(history[-1] - history[-2]) < gm.tol)


def test_max_iter_zero_keeps_the_initialisation_without_warning():
    gm = GaussianMixture(4, max_iter=0, random_state=0).fit(BLOBS)
    assert gm.n_iter_ == 0
    assert gm.converged_ is False
    assert gm.lower_bound_ == -np.inf
    assert gm.lower_bounds_ == []


# ------------------------------------------------------------ degenerate data


def degenerate_data(name):
    rng = np.random.default_rng(19)
    if name == "duplicates":
        return np.repeat(rng.standard_normal((5, 2)), 10, axis=0), 3
    if name == "outlier":
        return np.vstack([rng.standard_normal((50, 2)), [[50.0, 50.0]]]), 2
    if name == "identical-k1":
        return np.tile([1.0, -2.0, 3.0], (20, 1)), 1
    return np.tile([1.0, -2.0, 3.0], (20, 1)), 2  # identical-k2


@pytest.mark.parametrize("init_params", INIT_PARAMS)
@pytest.mark.parametrize("case", ["duplicates", "outlier", "identical-k1", "identical-k2"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_degenerate_data_gives_a_finite_model(covariance_type, case, init_params):
    X, n_components = degenerate_data(case)
    gm = GaussianMixture(n_components, covariance_type=covariance_type, init_params=init_params, random_state=0).fit(X)
    assert_valid_model(gm, X)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_component_collapsed_on_an_outlier_has_covariance_reg_covar(covariance_type):
    X, _ = degenerate_data("outlier")
    gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    k = int(np.argmax(gm.means_[:, 0]))
    assert_allclose(gm.means_[k], [50.0, 50.0], rtol=1e-12)
    assert_allclose(gm.weights_[k], 1.0 / 51, rtol=1e-6)
    reg = 1e-6 * (np.eye(2) if covariance_type == "full" else 1.0)
    assert_allclose(gm.covariances_[k], np.broadcast_to(reg, gm.covariances_[k].shape), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_identical_points_single_component_covariance_is_reg_covar(covariance_type):
    X, _ = degenerate_data("identical-k1")
    gm = GaussianMixture(1, covariance_type=covariance_type, reg_covar=1e-4).fit(X)
    assert_allclose(gm.means_, X[:1], rtol=1e-14)
    reg = 1e-4 * (np.eye(3) if covariance_type in ("full", "tied") else 1.0)
    assert_allclose(gm.covariances_, np.broadcast_to(reg, gm.covariances_.shape), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("case", ["identical-k1", "identical-k2"])
def test_zero_reg_covar_on_identical_points_raises(case, covariance_type, dtype):
    X, n_components = degenerate_data(case)
    with pytest.raises(ValueError, match="ill-defined empirical covariance") as error:
        GaussianMixture(n_components, covariance_type=covariance_type, reg_covar=0.0, random_state=0).fit(
            X.astype(dtype)
        )
    assert ("float32" in str(error.value)) == (dtype == np.float32)


# ------------------------------------------------------------- sample_weight


def weighted_problem(covariance_type, seed=20):
    X = make_problem(200, 2, 3, seed=seed).X
    return X, dict(
        n_components=3, covariance_type=covariance_type, tol=1e-6, max_iter=300, **given_start(X, 3, covariance_type)
    )


@pytest.mark.parametrize("weight_dtype", [np.int64, np.float64])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_samples(covariance_type, weight_dtype):
    X, params = weighted_problem(covariance_type)
    weights = np.random.default_rng(21).integers(0, 4, len(X))
    weighted = GaussianMixture(**params).fit(X, sample_weight=weights.astype(weight_dtype))
    repeated = GaussianMixture(**params).fit(np.repeat(X, weights, axis=0))
    assert_same_fit(weighted, repeated, rtol=1e-10)


@pytest.mark.parametrize("weight", [3.0, "array-3", "array-0.5"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_equal_weights_equal_no_weights(covariance_type, weight):
    X, params = weighted_problem(covariance_type)
    if isinstance(weight, str):
        weight = np.full(len(X), float(weight.split("-")[1]))
    weighted = GaussianMixture(**params).fit(X, sample_weight=weight)
    unweighted = GaussianMixture(**params).fit(X)
    assert_same_fit(weighted, unweighted, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_weights_equal_dropping_samples(covariance_type):
    X, params = weighted_problem(covariance_type)
    weights = np.random.default_rng(22).uniform(0.5, 2.0, len(X))
    weights[::3] = 0.0
    keep = weights > 0
    with_zeros = GaussianMixture(**params).fit(X, sample_weight=weights)
    dropped = GaussianMixture(**params).fit(X[keep], sample_weight=weights[keep])
    assert_same_fit(with_zeros, dropped, rtol=1e-10)
    ones = GaussianMixture(**params).fit(X, sample_weight=keep.astype(float))
    assert_same_fit(ones, GaussianMixture(**params).fit(X[keep]), rtol=1e-10)


def at_alignment(values, offset):
    """A copy of `values` whose data start `offset` items past a 64-byte boundary."""
    buffer = np.empty(len(values) + 64, dtype=values.dtype)
    start = (-buffer.ctypes.data % 64) // values.itemsize + offset
    copy = buffer[start : start + len(values)]
    copy[:] = values
    return copy


# Vectorised sums over a caller's buffer round differently at different addresses; the fit must not.
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_does_not_depend_on_the_alignment_of_sample_weight(covariance_type):
    X = make_problem(1000, 2, 1, seed=34).X
    weights = np.random.default_rng(34).uniform(0.5, 2.0, len(X))
    fits = [
        GaussianMixture(1, covariance_type=covariance_type).fit(X, sample_weight=at_alignment(weights, offset))
        for offset in range(8)
    ]
    for fit in fits[1:]:
        assert_same_fit(fit, fits[0])


@pytest.mark.parametrize(
    "sample_weight, message",
    [
        (np.r_[-1.0, np.ones(49)], "Negative values in data passed to `sample_weight`"),
        (np.ones(49), r"sample_weight.shape == \(49,\), expected \(50,\)"),
        (np.ones((50, 1)), r"sample_weight.shape == \(50, 1\), expected \(50,\)"),
        (np.zeros(50), "Sample weights sum to zero"),
        (np.r_[np.nan, np.ones(49)], "sample_weight contains NaN"),
        (np.r_[np.inf, np.ones(49)], "sample_weight contains infinity"),
    ],
    ids=["negative", "short", "2d", "all-zero", "nan", "inf"],
)
def test_invalid_sample_weight_raises(sample_weight, message):
    X = make_problem(50, 2, 2, seed=23).X
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2, random_state=0).fit(X, sample_weight=sample_weight)


# ----------------------------------------------- fit_predict, predict, score


@ignore_convergence  # max_iter=1 on purpose: fit_predict must still equal fit().predict
@pytest.mark.parametrize("max_iter", [1, 100])
@pytest.mark.parametrize("init_params", INIT_PARAMS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_predict_equals_fit_then_predict(covariance_type, init_params, max_iter):
    X = make_problem(300, 2, 3, seed=24).X
    params = dict(
        n_components=3, covariance_type=covariance_type, init_params=init_params, max_iter=max_iter, random_state=0
    )
    labels = GaussianMixture(**params).fit_predict(X)
    assert_array_equal(labels, GaussianMixture(**params).fit(X).predict(X), strict=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_predict_proba_score_and_predict_agree(covariance_type, dtype):
    gm = fitted_model(covariance_type, dtype=dtype)
    X = make_problem(100, 2, 3, dtype=dtype, seed=25).X
    resp = gm.predict_proba(X)
    assert resp.shape == (100, 3)
    assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert_array_equal(gm.predict(X), resp.argmax(axis=1))
    scores = gm.score_samples(X)
    assert scores.shape == (100,)
    assert gm.score(X) == float(scores.mean())  # accumulated in the working dtype, as scikit-learn
    assert_allclose(gm.score(X), scores.astype(np.float64).mean(), rtol=1e-12 if dtype == np.float64 else 1e-5)
    assert isinstance(gm.score(X), float)


# ---------------------------------------------------------------- validation


def test_fewer_samples_than_components_raises():
    with pytest.raises(ValueError, match="Expected n_samples >= n_components but got n_components = 5, n_samples = 3"):
        GaussianMixture(5).fit(np.arange(6.0).reshape(3, 2))


@pytest.mark.parametrize(
    "X, message",
    [
        (np.ones((1, 2)), "minimum of 2 is required"),
        (np.ones(5), "Expected 2D array"),
        (np.r_[np.nan, np.ones(9)].reshape(5, 2), "Input X contains NaN"),
        (np.r_[np.inf, np.ones(9)].reshape(5, 2), "Input X contains infinity"),
    ],
    ids=["one-sample", "1d", "nan", "inf"],
)
def test_invalid_training_data_raises(X, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(1).fit(X)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples", "score", "bic", "aic", "sample"])
def test_methods_before_fit_raise_not_fitted(method):
    gm = GaussianMixture(2)
    args = () if method == "sample" else (np.ones((4, 2)),)
    with pytest.raises(NotFittedError):
        getattr(gm, method)(*args)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples", "score", "bic", "aic"])
def test_wrong_feature_count_raises(method):
    gm = fitted_model("full")
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 2 features"):
        getattr(gm, method)(np.ones((4, 3)))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples"])
def test_nan_at_prediction_raises(method):
    with pytest.raises(ValueError, match="Input X contains NaN"):
        getattr(fitted_model("diag"), method)(np.array([[np.nan, 1.0]]))


# ------------------------------------------------------- verbose and callback


@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_prints_progress(capsys, verbose):
    X = make_problem(200, 2, 2, seed=26).X
    GaussianMixture(2, n_init=2, verbose=verbose, verbose_interval=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Initialization 1" in out
    assert "Iteration 1" in out and "Iteration 2" in out
    assert out.count("Initialization converged.") == 2
    assert ("time lapse" in out and "ll change" in out and "lower bound" in out) == (verbose == 2)


def test_verbose_reports_non_convergence(capsys):
    X = make_problem(200, 2, 2, seed=26).X
    with pytest.warns(ConvergenceWarning):
        GaussianMixture(2, verbose=1, max_iter=2, tol=0.0, random_state=0).fit(X)
    assert "Initialization did not converge." in capsys.readouterr().out


def test_verbose_interval_thins_iteration_lines(capsys):
    X = make_problem(200, 2, 2, seed=26).X
    gm = GaussianMixture(2, verbose=1, verbose_interval=3, tol=1e-8, max_iter=9, random_state=0)
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    lines = [line.strip() for line in capsys.readouterr().out.splitlines() if "Iteration" in line]
    assert lines == ["Iteration 3", "Iteration 6", "Iteration 9"]


def test_silent_by_default(capsys):
    GaussianMixture(2, random_state=0).fit(make_problem(200, 2, 2, seed=26).X)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("n_init", [1, 3])
@pytest.mark.parametrize("verbose", [0, 1])
def test_callback_called_once_per_iteration(n_init, verbose):
    X = make_problem(200, 2, 3, seed=27).X
    calls = []
    gm = GaussianMixture(3, n_init=n_init, verbose=verbose, random_state=0).fit(
        X, callback=lambda *args: calls.append(args)
    )
    assert sorted({c[0] for c in calls}) == list(range(n_init))
    bounds = []
    for init in range(n_init):
        mine = [c for c in calls if c[0] == init]
        assert [c[1] for c in mine] == list(range(1, len(mine) + 1))
        bounds.append([c[2] for c in mine])
        assert mine[0][3] == np.inf
        assert_allclose([c[3] for c in mine[1:]], np.diff(bounds[-1]), rtol=1e-12)
    # The fit keeps the first initialisation that reaches the best final bound.
    assert gm.lower_bound_ == max(b[-1] for b in bounds)
    assert gm.lower_bounds_ == next(b for b in bounds if b[-1] == gm.lower_bound_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_n_init_starts_at_once_give_the_fit_of_one_after_another(covariance_type, dtype):
    """Without a callback a small fit runs its starts at once; with one, in turn: the same bits."""
    X = make_problem(600, 3, 4, seed=29).X.astype(dtype)
    fits = [
        GaussianMixture(4, covariance_type=covariance_type, n_init=4, random_state=1).fit(X, callback=callback)
        for callback in (None, lambda *args: None)
    ]
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bounds_", "lower_bound_"):
        assert np.array_equal(getattr(fits[0], name), getattr(fits[1], name)), name
    assert fits[0].n_iter_ == fits[1].n_iter_


class CallbackError(Exception):
    pass


@pytest.mark.parametrize("verbose", [0, 2])
@pytest.mark.parametrize("at_iteration", [1, 3])
def test_callback_exception_propagates_out_of_fit(capsys, verbose, at_iteration):
    X = make_problem(200, 2, 3, seed=28).X
    calls = []

    def callback(init, n_iter, lower_bound, change):
        calls.append(n_iter)
        if n_iter == at_iteration:
            raise CallbackError(f"stop at {n_iter}")

    gm = GaussianMixture(3, verbose=verbose, tol=0.0, random_state=0)
    with pytest.raises(CallbackError, match=f"stop at {at_iteration}"):
        gm.fit(X, callback=callback)
    assert calls == list(range(1, at_iteration + 1))
    assert not hasattr(gm, "means_")  # no half-fitted model left behind
    gm.set_params(tol=1e-3).fit(X)  # still usable
    assert gm.converged_


# --------------------------------------------------------------- persistence


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_round_trip_gives_identical_predictions(tmp_path, how, dtype, covariance_type):
    gm = fitted_model(covariance_type, dtype=dtype, random_state=2)
    if how == "pickle":
        loaded = pickle.loads(pickle.dumps(gm))
    else:
        joblib.dump(gm, tmp_path / "gm.joblib")
        loaded = joblib.load(tmp_path / "gm.joblib")
    assert_same_fit(loaded, gm)
    X = make_problem(100, 2, 3, dtype=dtype, seed=29).X
    for method in ("predict", "predict_proba", "score_samples"):
        assert_array_equal(getattr(loaded, method)(X), getattr(gm, method)(X), strict=True)
    for a, b in zip(loaded.sample(20), gm.sample(20)):
        assert_array_equal(a, b, strict=True)


def test_clone_gives_an_unfitted_copy_that_refits_identically():
    X = make_problem(300, 2, 3, seed=30).X
    gm = GaussianMixture(3, covariance_type="diag", n_init=2, random_state=4, **given_start(X, 3, "diag")).fit(X)
    copy = clone(gm)
    assert not hasattr(copy, "means_")
    assert copy.get_params().keys() == gm.get_params().keys()
    for name, value in gm.get_params().items():
        assert_array_equal(copy.get_params()[name], value, err_msg=name)
    assert_same_fit(copy.fit(X), gm)


def test_get_params_set_params_round_trip():
    params = dict(
        n_components=3,
        covariance_type="tied",
        tol=1e-4,
        reg_covar=1e-5,
        max_iter=50,
        n_init=2,
        init_params="k-means++",
        weights_init=np.full(3, 1 / 3),
        means_init=np.zeros((3, 2)),
        precisions_init=np.eye(2),
        random_state=7,
        warm_start=True,
        verbose=0,
        verbose_interval=5,
        learning_decay=0.8,
        learning_offset=2.0,
    )
    gm = GaussianMixture(**params)
    assert gm.get_params() == params  # the very objects passed
    other = GaussianMixture().set_params(**gm.get_params())
    assert other.get_params() == params
    assert GaussianMixture().get_params() == GaussianMixture(1).get_params()


# ------------------------------------------------------------ input handling


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_does_not_modify_inputs(covariance_type, dtype):
    X = make_problem(200, 2, 3, dtype=dtype, seed=31).X
    weights = np.random.default_rng(32).uniform(0.5, 2.0, len(X)).astype(dtype)
    init = given_start(X.astype(np.float64), 3, covariance_type)
    before = {"X": X.copy(), "weights": weights.copy(), **{k: v.copy() for k, v in init.items()}}
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0, **init)
    gm.fit(X, sample_weight=weights)
    gm.fit_predict(X, sample_weight=weights)
    gm.predict_proba(X)
    gm.score(X)
    after = {"X": X, "weights": weights, **{k: getattr(gm, k) for k in init}}
    for name, value in before.items():
        assert_array_equal(after[name], value, err_msg=name, strict=True)
    for name, value in init.items():
        assert getattr(gm, name) is value, name


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_layout_and_container_of_X_do_not_matter(covariance_type):
    X = make_problem(300, 3, 3, seed=33).X
    reference = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    strided = np.repeat(X, 2, axis=1)[:, ::2]
    assert not strided.flags.c_contiguous
    for variant in (np.asfortranarray(X), X.tolist(), strided):
        assert_same_fit(GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(variant), reference)
    assert_array_equal(reference.predict_proba(strided), reference.predict_proba(X), strict=True)
