"""GaussianMixture under concurrent Python threads: bitwise the same results as serial work.

Eight threads (a ThreadPoolExecutor of 8) each fit their own estimator (different random_state, covariance
type, initialisation, sample weights, n_init) on 4000 x 8 data, and each calls predict, predict_proba,
score_samples, score, bic and aic on one shared, already fitted estimator. Barriers make the threads start
their fits, and then their predictions, at the same moment, so the native calls (which release the GIL)
really overlap. Every fitted attribute and every result must equal, bit for bit and with the same dtype, the
same work done serially in the main thread, and the shared estimator must be left unchanged. float64 and
float32.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import FITTED_ATTRIBUTES
from gmmcore import GaussianMixture

N_THREADS = 8
N_SAMPLES, N_FEATURES, N_COMPONENTS = 4000, 8, 4
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
# (random_state, covariance_type, init_params, weighted, n_init): one job per thread, all different.
JOBS = [(100 + i, COVARIANCE_TYPES[i % 4], INIT_PARAMS[(i // 2) % 4], i % 3 == 0, 1 + i % 2) for i in range(N_THREADS)]
BARRIER_TIMEOUT = 300  # seconds: a thread that fails early makes the others raise BrokenBarrierError, not hang


def make_data(dtype):
    """Four overlapping clusters in 8-D (EM needs a few dozen iterations), sample weights, query points."""
    rng = np.random.default_rng(0)
    centres = 3.0 * rng.standard_normal((N_COMPONENTS, N_FEATURES))
    labels = rng.integers(0, N_COMPONENTS, N_SAMPLES)
    X = centres[labels] + rng.standard_normal((N_SAMPLES, N_FEATURES)) * rng.uniform(0.5, 2.0, N_FEATURES)
    sample_weight = rng.uniform(0.0, 2.0, N_SAMPLES)
    queries = 4.0 * rng.standard_normal((3000, N_FEATURES))
    return X.astype(dtype), sample_weight.astype(dtype), queries.astype(dtype)


def snapshot(gm):
    """The fitted attributes, copied (lists as lists, arrays as arrays)."""
    return {
        name: (
            np.array(value, copy=True)
            if isinstance(value, np.ndarray)
            else list(value)
            if isinstance(value, list)
            else value
        )
        for name, value in ((name, getattr(gm, name)) for name in FITTED_ATTRIBUTES)
    }


def evaluate(gm, queries):
    return {
        "predict": gm.predict(queries),
        "predict_proba": gm.predict_proba(queries),
        "score_samples": gm.score_samples(queries),
        "score": gm.score(queries),
        "bic": gm.bic(queries),
        "aic": gm.aic(queries),
    }


def work(job, data, shared, barriers=None):
    """Fit this job's own estimator, then evaluate it and the shared one (waiting at the barriers if given)."""
    seed, covariance_type, init_params, weighted, n_init = job
    X, sample_weight, queries = data
    gm = GaussianMixture(
        N_COMPONENTS,
        covariance_type=covariance_type,
        init_params=init_params,
        n_init=n_init,
        tol=1e-6,
        max_iter=60,
        random_state=seed,
    )
    if barriers:
        barriers[0].wait(BARRIER_TIMEOUT)
    gm.fit(X, sample_weight=sample_weight if weighted else None)
    if barriers:
        barriers[1].wait(BARRIER_TIMEOUT)
    return {"fitted": snapshot(gm), "own": evaluate(gm, queries), "shared": evaluate(shared, queries)}


def assert_bitwise_equal(actual, desired, where):
    if isinstance(desired, dict):
        assert actual.keys() == desired.keys(), where
        for key in desired:
            assert_bitwise_equal(actual[key], desired[key], f"{where}.{key}")
    elif isinstance(desired, np.ndarray):
        assert isinstance(actual, np.ndarray), where
        assert actual.dtype == desired.dtype and actual.shape == desired.shape, where
        assert np.array_equal(actual, desired), where
        assert actual.tobytes() == desired.tobytes(), f"{where}: not bitwise identical"
    elif isinstance(desired, list):
        assert isinstance(actual, list) and len(actual) == len(desired), where
        assert [float(v).hex() for v in actual] == [float(v).hex() for v in desired], where
    elif isinstance(desired, float):
        assert type(actual) is type(desired), where  # float or numpy.float64 (bic, aic)
        assert float(actual).hex() == float(desired).hex(), f"{where}: {actual!r} != {desired!r}"
    else:
        assert type(actual) is type(desired) and actual == desired, f"{where}: {actual!r} != {desired!r}"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # "random" may stop at max_iter
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_concurrent_fits_and_shared_predictions_match_serial(dtype):
    data = make_data(dtype)
    X, sample_weight, queries = data
    shared = GaussianMixture(N_COMPONENTS, covariance_type="full", random_state=0)
    shared.fit(X, sample_weight=sample_weight)
    shared_before = snapshot(shared)

    serial = [work(job, data, shared) for job in JOBS]

    barriers = (threading.Barrier(N_THREADS), threading.Barrier(N_THREADS))
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        futures = [pool.submit(work, job, data, shared, barriers) for job in JOBS]
        concurrent = [future.result() for future in futures]

    for job, got, expected in zip(JOBS, concurrent, serial, strict=True):
        assert_bitwise_equal(got, expected, f"job {job}")
        assert got["fitted"]["weights_"].dtype == dtype
        assert got["own"]["predict_proba"].dtype == got["shared"]["score_samples"].dtype == dtype
    # The shared estimator is read-only for its users.
    assert_bitwise_equal(snapshot(shared), shared_before, "shared estimator")
    # The jobs really differ (otherwise bitwise equality across threads would prove less).
    assert len({result["fitted"]["lower_bound_"] for result in serial}) == N_THREADS
