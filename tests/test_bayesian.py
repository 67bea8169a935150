"""gmmcore.BayesianGaussianMixture against the NumPy reference of its formulas, and its own contract.

The oracle is tests/reference_variational.py (written from docs/math.md's
variational formulas with SciPy's digamma and log-gamma); scikit-learn is the
oracle in test_bayesian_sklearn.py.
"""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import reference_variational as ref
from gmmcore import BayesianGaussianMixture, _native
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import digamma
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]
TESTS_DIR = Path(__file__).resolve().parent


def blobs(n_per=120, n_features=3, centres=(0.0, 6.0, 12.0), seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return np.vstack([c + rng.standard_normal((n_per, n_features)) for c in centres]).astype(dtype)


def non_default_priors(covariance_type, n_features):
    cov = np.eye(n_features) * 2.0 + 0.3
    return {
        "weight_concentration_prior": 0.05,
        "mean_precision_prior": 0.3,
        "mean_prior": np.linspace(-1.0, 1.0, n_features),
        "degrees_of_freedom_prior": n_features + 1.5,
        "covariance_prior": {"full": cov, "tied": cov, "diag": np.diag(cov), "spherical": 1.7}[covariance_type],
    }


def posterior_of(model):
    return {
        "weight_concentration": model.weight_concentration_,
        "mean_precision": model.mean_precision_,
        "means": model.means_,
        "degrees_of_freedom": model.degrees_of_freedom_,
        "covariances": model.covariances_,
    }


def priors_of(model):
    return {
        "weight_concentration_prior_type": model.weight_concentration_prior_type,
        "weight_concentration_prior": model.weight_concentration_prior_,
        "mean_precision_prior": model.mean_precision_prior_,
        "mean_prior": model.mean_prior_,
        "degrees_of_freedom_prior": model.degrees_of_freedom_prior_,
        "covariance_prior": model.covariance_prior_,
    }


def quiet_fit(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


@pytest.mark.parametrize("x", [1e-8, 0.01, 0.5, 1.0, 1.4616321449683622, 2.5, 9.99, 10.0, 33.3, 1e4, 1e12])
def test_digamma_matches_scipy(x):
    # Relative to 2e-15; near the root x0 = 1.4616... the error is absolute, a few 1e-16.
    assert_allclose(_native.digamma(x), digamma(x), rtol=2e-15, atol=5e-16)


def test_digamma_is_nan_off_its_domain():
    assert np.isnan(_native.digamma(0.0)) and np.isnan(_native.digamma(-1.5))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("priors", ["default", "custom"])
@pytest.mark.parametrize("weight_prior", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_iteration_matches_reference(covariance_type, weight_prior, priors, dtype, weighted):
    """From a posterior, one iteration (E-step, M-step, lower bound) equals the reference's."""
    X = blobs(dtype=dtype)
    sample_weight = np.random.default_rng(1).uniform(0.2, 2.0, len(X)).astype(dtype) if weighted else None
    extra = non_default_priors(covariance_type, X.shape[1]) if priors == "custom" else {}
    model = BayesianGaussianMixture(
        n_components=4,
        covariance_type=covariance_type,
        weight_concentration_prior_type=weight_prior,
        max_iter=4,
        tol=0,
        random_state=0,
        **extra,
    )
    quiet_fit(model, X, sample_weight=sample_weight)
    before = posterior_of(model)
    model.set_params(warm_start=True, max_iter=1)
    quiet_fit(model, X, sample_weight=sample_weight)
    log_resp = ref.log_resp(X, before, covariance_type, weight_prior)
    want = ref.m_step(X, np.exp(log_resp), sample_weight, covariance_type, priors_of(model), model.reg_covar)
    want_bound = ref.lower_bound(log_resp, sample_weight, want, covariance_type, weight_prior)
    rtol = 1e-9 if dtype == np.float64 else 2e-3
    got = posterior_of(model)
    for name in ("mean_precision", "means", "degrees_of_freedom", "covariances"):
        assert_allclose(got[name], want[name], rtol=rtol, atol=rtol * 1e-2, err_msg=name)
        assert np.asarray(got[name]).dtype == dtype
    assert_allclose(
        np.vstack(np.atleast_2d(got["weight_concentration"])),
        np.vstack(np.atleast_2d(want["weight_concentration"])),
        rtol=rtol,
    )
    assert_allclose(model.lower_bound_, want_bound, rtol=rtol)
    # The evaluation uses the variational log-probabilities of the fitted posterior.
    log_resp_after = ref.log_resp(X, got, covariance_type, weight_prior)
    assert_allclose(model.predict_proba(X), np.exp(log_resp_after), rtol=rtol * 10, atol=rtol)
    assert_allclose(
        model.score_samples(X), ref.logsumexp(ref.log_rho(X, got, covariance_type, weight_prior), axis=1), rtol=rtol
    )


@pytest.mark.parametrize("weight_prior", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_of_given_responsibilities_matches_reference(covariance_type, weight_prior):
    """The initial M-step (scikit-learn's _initialize) from soft responsibilities, via their statistics."""
    X = blobs(n_per=40)
    rng = np.random.default_rng(3)
    resp = rng.dirichlet(np.ones(5), size=len(X))
    priors = {"weight_concentration_prior_type": weight_prior, **non_default_priors(covariance_type, X.shape[1])}
    nk = resp.sum(axis=0)
    shifts = (resp.T @ X) / nk[:, None]
    diffs = X[:, None, :] - shifts[None]
    if covariance_type in ("full", "tied"):
        scatters = np.einsum("nk,nki,nkj->kij", resp, diffs, diffs).reshape(5, -1)
    else:
        scatters = np.einsum("nk,nki->ki", resp, diffs**2)
    sums = np.einsum("nk,nki->ki", resp, diffs)
    arrays = [np.ascontiguousarray(a) for a in (shifts, nk, sums, scatters)]
    stats = (covariance_type, *arrays, 0.0, float(len(X)), len(X))
    d = X.shape[1]
    shape = {"full": (d, d), "tied": (d, d), "diag": (1, d), "spherical": (1, 1)}[covariance_type]
    got = _native.variational_m_step(
        stats,
        1e-4,
        weight_prior,
        priors["weight_concentration_prior"],
        priors["mean_precision_prior"],
        priors["mean_prior"],
        priors["degrees_of_freedom_prior"],
        np.ascontiguousarray(np.asarray(priors["covariance_prior"], np.float64).reshape(shape)),
    )
    want = ref.m_step(X, resp, None, covariance_type, priors, 1e-4)
    concentration, mean_precision, means, dof, covariances, _, weights = got
    assert_allclose(concentration, np.vstack(np.atleast_2d(want["weight_concentration"])), rtol=1e-12)
    assert_allclose(mean_precision, want["mean_precision"], rtol=1e-12)
    assert_allclose(means, want["means"], rtol=1e-12, atol=1e-13)
    assert_allclose(dof, np.atleast_1d(want["degrees_of_freedom"]), rtol=1e-12)
    assert_allclose(covariances.reshape(np.shape(want["covariances"])), want["covariances"], rtol=1e-10)
    assert_allclose(weights.sum(), 1.0, rtol=1e-14)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_over_specified_components_shrink_to_the_clusters(covariance_type):
    X = blobs(n_per=200, n_features=2, centres=(0.0, 8.0, 16.0))
    model = BayesianGaussianMixture(
        n_components=10,
        covariance_type=covariance_type,
        weight_concentration_prior=1e-3,
        max_iter=500,
        random_state=1,  # (0: tied splits a blob in two, as scikit-learn's does from the same seeds)
    ).fit(X)
    assert model.converged_
    assert int(np.sum(model.weights_ > 0.01)) == 3
    assert len(np.unique(model.predict(X))) == 3


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases(covariance_type):
    model = quiet_fit(
        BayesianGaussianMixture(n_components=6, covariance_type=covariance_type, max_iter=50, tol=0, random_state=2),
        blobs(),
    )
    bounds = np.asarray(model.lower_bounds_)
    assert len(bounds) == 50 and np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


@pytest.mark.parametrize("weight_prior", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_sample_weights_equal_repeated_rows(covariance_type, weight_prior):
    X = blobs(n_per=30)
    counts = np.random.default_rng(4).integers(0, 4, len(X))
    counts[:3] = 1  # at least n_components rows remain
    params = dict(
        n_components=3,
        covariance_type=covariance_type,
        weight_concentration_prior_type=weight_prior,
        tol=0,
        max_iter=8,
        init_params="random_from_data",
        random_state=0,
    )
    start = quiet_fit(BayesianGaussianMixture(**{**params, "max_iter": 1}), X[:3])
    weighted = BayesianGaussianMixture(**params, warm_start=True)
    repeated = BayesianGaussianMixture(**params, warm_start=True)
    for model in (weighted, repeated):
        model.__dict__.update({k: v for k, v in start.__dict__.items() if k.endswith("_")})
    quiet_fit(weighted, X, sample_weight=counts.astype(float))
    quiet_fit(repeated, np.repeat(X, counts, axis=0))
    for name in (
        "mean_prior_",
        "covariance_prior_",
        "mean_precision_",
        "means_",
        "covariances_",
        "degrees_of_freedom_",
        "weights_",
    ):
        assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-9, atol=1e-12, err_msg=name)
    assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-9)


def test_float32_is_fitted_in_float32_and_close_to_float64():
    X = blobs()
    ours32 = BayesianGaussianMixture(n_components=4, random_state=0).fit(X.astype(np.float32))
    ours64 = BayesianGaussianMixture(n_components=4, random_state=0).fit(X)
    for name in (
        "weights_",
        "means_",
        "covariances_",
        "precisions_cholesky_",
        "mean_precision_",
        "degrees_of_freedom_",
        "mean_prior_",
        "covariance_prior_",
    ):
        assert getattr(ours32, name).dtype == np.float32, name
        assert_allclose(getattr(ours32, name), getattr(ours64, name), rtol=2e-3, atol=1e-4, err_msg=name)
    assert ours32.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert_array_equal(ours32.predict(X), ours64.predict(X))


def test_warm_start_continues_the_fit():
    X = blobs()
    whole = quiet_fit(BayesianGaussianMixture(n_components=5, max_iter=10, tol=0, random_state=0), X)
    split = quiet_fit(BayesianGaussianMixture(n_components=5, max_iter=4, tol=0, random_state=0), X)
    split.set_params(warm_start=True, max_iter=6)
    quiet_fit(split, X)
    assert_allclose(split.lower_bounds_, whole.lower_bounds_[4:], rtol=1e-12)
    assert_allclose(split.means_, whole.means_, rtol=1e-12)


def test_n_init_keeps_the_best_start():
    X = blobs()
    one = quiet_fit(
        BayesianGaussianMixture(n_components=6, n_init=1, init_params="random", max_iter=20, random_state=5), X
    )
    many = quiet_fit(
        BayesianGaussianMixture(n_components=6, n_init=4, init_params="random", max_iter=20, random_state=5), X
    )
    assert many.lower_bound_ >= one.lower_bound_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_predict_equals_fit_then_predict(covariance_type):
    X = blobs()
    params = dict(n_components=5, covariance_type=covariance_type, max_iter=3, random_state=0)
    labels = quiet_fit_predict(BayesianGaussianMixture(**params), X)
    model = quiet_fit(BayesianGaussianMixture(**params), X)
    assert_array_equal(labels, model.predict(X))


def quiet_fit_predict(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit_predict(X)


def test_input_is_not_modified_and_non_convergence_warns():
    X = blobs()
    copy = X.copy()
    with pytest.warns(ConvergenceWarning):
        BayesianGaussianMixture(n_components=3, max_iter=1, random_state=0).fit(X)
    assert_array_equal(X, copy)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"weight_concentration_prior": 0.0}, InvalidParameterError, "weight_concentration_prior"),
        ({"weight_concentration_prior_type": "dirichlet"}, InvalidParameterError, "weight_concentration_prior_type"),
        ({"mean_precision_prior": -1.0}, InvalidParameterError, "mean_precision_prior"),
        ({"degrees_of_freedom_prior": 1.5}, ValueError, "should be greater than 2"),
        ({"mean_prior": [0.0, 1.0]}, ValueError, "'means' should have the shape"),
        ({"covariance_prior": np.eye(2)}, ValueError, "should have the shape"),
        ({"covariance_prior": -np.eye(3)}, ValueError, "symmetric, positive-definite"),
        ({"covariance_prior": [[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]}, ValueError, "symmetric"),
        ({"covariance_prior": [1.0, 0.0, 1.0], "covariance_type": "diag"}, ValueError, "should be positive"),
        ({"covariance_prior": [1.0, 2.0, 3.0], "covariance_type": "spherical"}, ValueError, "positive float"),
        ({"n_components": 0}, InvalidParameterError, "n_components"),
        ({"init_params": "bad"}, InvalidParameterError, "init_params"),
    ],
)
def test_bad_parameters_raise(params, error, match):
    with pytest.raises(error, match=match):
        BayesianGaussianMixture(**params).fit(blobs(n_per=10))


def test_hostile_inputs_raise_value_errors(tmp_path):
    X = blobs(n_per=10)
    with pytest.raises(ValueError, match="NaN"):
        BayesianGaussianMixture().fit(np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X))
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        BayesianGaussianMixture(n_components=5).fit(X[:4])
    with pytest.raises(ValueError, match="minimum of 2"):
        BayesianGaussianMixture().fit(X[:1])
    with pytest.raises(ValueError, match="Negative values"):
        BayesianGaussianMixture().fit(X, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="summing to more than 1"):
        BayesianGaussianMixture().fit(X, sample_weight=np.full(len(X), 0.01))
    path = tmp_path / "x.npy"
    np.save(path, X)
    with pytest.raises(TypeError, match="in memory"):
        BayesianGaussianMixture().fit(str(path))
    model = BayesianGaussianMixture(n_components=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])
    model.mean_precision_ = -model.mean_precision_
    with pytest.raises(ValueError, match="mean_precision must be positive"):
        model.predict(X)


def test_memmap_is_fitted_as_an_array(tmp_path):
    X = blobs(n_per=20)
    path = tmp_path / "x.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    a = BayesianGaussianMixture(n_components=2, random_state=0).fit(mapped)
    b = BayesianGaussianMixture(n_components=2, random_state=0).fit(X)
    assert_array_equal(a.means_, b.means_)


THREAD_SCRIPT = """
import hashlib, json, warnings
import numpy as np
from gmmcore import BayesianGaussianMixture
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = np.vstack([c + rng.standard_normal((5000, 3)) for c in (0.0, 8.0, 16.0)])
w = rng.uniform(0.5, 2.0, len(X))
out = {}
for dtype in (np.float64, np.float32):
    for ct in ("full", "tied", "diag", "spherical"):
        for prior in ("dirichlet_process", "dirichlet_distribution"):
            m = BayesianGaussianMixture(n_components=5, covariance_type=ct, weight_concentration_prior_type=prior,
                                        n_init=2, max_iter=5, random_state=0)
            m.fit(X.astype(dtype), sample_weight=w.astype(dtype))
            out["/".join((np.dtype(dtype).name, ct, prior))] = [
                hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
                for a in (m.means_, m.covariances_, m.weights_, m.predict_proba(X.astype(dtype)))
            ] + [float.hex(b) for b in m.lower_bounds_]
print(json.dumps(out))
"""


def test_fits_identical_across_openmp_thread_counts():
    def run(n_threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(n_threads))
        proc = subprocess.run(
            [sys.executable, "-c", THREAD_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
            cwd=TESTS_DIR,
        )
        return json.loads(proc.stdout)

    one, two = run(1), run(2)
    assert len(one) == 16
    assert sorted(key for key in one if one[key] != two[key]) == []
