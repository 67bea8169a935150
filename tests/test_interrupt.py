"""Ctrl-C stops long native work: KeyboardInterrupt, nothing changed, nothing leaked.

The signal is delivered to the main thread as Ctrl-C delivers it
(``signal.pthread_kill(main, SIGINT)``) while a call that would run for
hundreds of iterations is inside the native core with the GIL released. The
core polls for signals every 50 ms, so the call must end after a small
fraction of its work. The bound is relative to the same call's cost measured
in the same test (never an absolute time): before the core polled, the
KeyboardInterrupt only surfaced after the whole call, so these tests failed.
"""

import signal
import threading
import time

import gmmcore as g
import numpy as np
import pytest
from gmmcore import GaussianMixture

# Fits stopped after max_iter iterations on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# SIGINT arrives this long after the call starts; the call is given at least
# MIN_WORK seconds (and WORK_FACTOR units) of work, and must end before a
# quarter of it is done.
DELAY = 0.1
MIN_WORK = 2.0
WORK_FACTOR = 200


def interrupt_after(seconds):
    """Send SIGINT to the main thread after ``seconds``; returns the timer."""
    timer = threading.Timer(seconds, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    timer.start()
    return timer


def units_of_work(unit_seconds):
    return max(WORK_FACTOR, int(np.ceil(MIN_WORK / unit_seconds)))


def assert_interrupted(call, units, unit_seconds, fixed=0.0):
    """``call`` (``fixed`` seconds, then ``units`` units of work) must raise KeyboardInterrupt before a
    quarter of the units are done."""
    timer = interrupt_after(DELAY)
    start = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        timer.cancel()
    elapsed = time.perf_counter() - start
    assert elapsed < DELAY + fixed + units * unit_seconds / 4, (elapsed, fixed, units, unit_seconds)


def unit_time(call):
    """Seconds of one unit of work (the best of three runs)."""
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(6, 8))
    return centres[rng.integers(0, 6, 60_000)] + rng.normal(size=(60_000, 8))


def iteration_cost(X, **params):
    """(seconds of a 1-iteration fit, seconds per further EM iteration), by difference."""

    def fit(max_iter):
        return lambda: GaussianMixture(6, random_state=0, tol=0, max_iter=max_iter, **params).fit(X)

    first = unit_time(fit(1))
    return first, max(unit_time(fit(11)) - first, 1e-4) / 10


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_stops_and_leaves_the_estimator_unchanged(blobs, init_params, dtype):
    X = blobs.astype(dtype)
    gm = GaussianMixture(6, init_params=init_params, random_state=0, max_iter=1, tol=0).fit(X)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in gm.__dict__.items()}
    first, per_iteration = iteration_cost(X, init_params=init_params)
    units = units_of_work(per_iteration)
    gm.set_params(max_iter=units)
    assert_interrupted(lambda: gm.fit(X), units, per_iteration, fixed=first)
    assert gm.__dict__.keys() == before.keys()
    for key, value in before.items():
        if key == "max_iter":
            continue
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(gm.__dict__[key], value)
        else:
            assert gm.__dict__[key] == value, key
    # Nothing is left behind: the same fit, uninterrupted, gives the same bits as before.
    gm.set_params(max_iter=1)
    np.testing.assert_array_equal(gm.fit(X).means_, before["means_"])


def test_unfitted_estimator_stays_unfitted(blobs):
    first, per_iteration = iteration_cost(blobs)
    units = units_of_work(per_iteration)
    gm = GaussianMixture(6, max_iter=units, tol=0, random_state=0)
    assert_interrupted(lambda: gm.fit(blobs), units, per_iteration, fixed=first)
    assert not hasattr(gm, "n_features_in_") and not hasattr(gm, "means_")


def test_em_train_stops(blobs):
    p = g.init_params(n_components=6, n_features=8)._replace(means=blobs[:6])
    one_epoch = unit_time(lambda: g.em_train(p, blobs, epochs=1, jitter=1e-6))
    units = units_of_work(one_epoch)
    assert_interrupted(lambda: g.em_train(p, blobs, epochs=units, jitter=1e-6), units, one_epoch)


def test_single_long_pass_stops():
    """One call of many blocks (the log-likelihood of a large X), no iterations."""
    rng = np.random.default_rng(2)
    K, D, rows = 48, 96, 1024
    p = g.init_params(n_components=K, n_features=D)._replace(means=rng.normal(size=(K, D)))
    one_unit = unit_time(lambda: g.log_likelihood(p, rng.normal(size=(rows, D))))
    units = min(units_of_work(one_unit), 400)  # X of at most 300 MiB
    X = rng.normal(size=(units * rows, D))
    assert_interrupted(lambda: g.log_likelihood(p, X), units, one_unit)


def test_kmeans_initialisation_stops():
    """The k-means initialisation alone (max_iter=0) is interruptible too."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40_000, 16))  # no clusters: Lloyd runs its 300 iterations
    one_init = unit_time(lambda: GaussianMixture(24, max_iter=0, n_init=1, random_state=0).fit(X))
    units = units_of_work(one_init)
    gm = GaussianMixture(24, max_iter=0, n_init=units, random_state=0)
    assert_interrupted(lambda: gm.fit(X), units, one_init)


def test_other_threads_are_not_interrupted(blobs):
    """Ctrl-C reaches the main thread only; a fit in a worker thread runs to the end."""
    expected = GaussianMixture(6, max_iter=30, tol=0, random_state=0).fit(blobs).means_
    result = {}

    def worker():
        result["means"] = GaussianMixture(6, max_iter=30, tol=0, random_state=0).fit(blobs).means_

    thread = threading.Thread(target=worker)
    thread.start()
    timer = interrupt_after(0.05)
    try:
        with pytest.raises(KeyboardInterrupt):
            while thread.is_alive():
                time.sleep(0.01)
    finally:
        timer.cancel()
        thread.join()
    np.testing.assert_array_equal(result["means"], expected)
