"""gmmcore.dask.GaussianMixture on a real dask.distributed LocalCluster (2 worker processes).

The distributed fit must give the in-memory fit's answer (same starting
parameters, 1e-9 relative in float64) whatever the chunking, the scheduler
and the number of workers; survive a worker killed mid-fit; initialise
without collecting the data, reproducibly; evaluate lazily; and refuse bad
input with errors that say where.
"""

import os
import signal
import threading

import dask
import dask.array as da
import dask.dataframe as dd
import distributed
import gmmcore
import gmmcore.dask
import numpy as np
import pandas as pd
import pytest
from conftest import FITTED_ATTRIBUTES
from gmmcore import GaussianMixture as LocalGaussianMixture

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
PARAMETERS = ("weights_", "means_", "covariances_", "precisions_cholesky_")


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 worker processes, 1 thread each, and its client (the default scheduler)."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def blobs(n=3000, d=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * d, [5.0] * d, [0.0, 6.0] + [6.0] * (d - 2)])
    X = np.concatenate([rng.normal(size=(n // 3, d)) @ rng.normal(size=(d, d)) * 0.5 + c for c in centres])
    return X[rng.permutation(len(X))].astype(dtype)


def starting_point(X, covariance_type, n_components=3):
    """Given starting parameters: a short in-memory fit, perturbed (so that EM still has work to do)."""
    gm = LocalGaussianMixture(n_components, covariance_type=covariance_type, random_state=0, max_iter=3).fit(X)
    return {"weights_init": gm.weights_, "means_init": gm.means_ + 0.2, "precisions_init": gm.precisions_}


def assert_same_fit(actual, expected, rtol):
    assert actual.n_iter_ == expected.n_iter_
    assert actual.converged_ == expected.converged_
    for name in PARAMETERS:
        a, e = getattr(actual, name), getattr(expected, name)
        assert a.dtype == e.dtype, name
        np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * np.max(np.abs(e)), err_msg=name)
    np.testing.assert_allclose(actual.lower_bounds_, expected.lower_bounds_, rtol=rtol)


# ---------------------------------------------------------------- same answers


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("chunk_rows", [3000, 1000, 577, 64])
def test_fit_equals_in_memory_fit_for_any_chunking(client, covariance_type, chunk_rows):
    X = blobs()
    start = starting_point(X, covariance_type)
    settings = dict(covariance_type=covariance_type, tol=1e-10, max_iter=200, **start)
    expected = LocalGaussianMixture(3, **settings).fit(X)
    actual = gmmcore.dask.GaussianMixture(3, **settings).fit(da.from_array(X, chunks=(chunk_rows, 3)))
    assert actual.converged_
    assert_same_fit(actual, expected, rtol=1e-9)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_fit_equals_in_memory_fit_on_local_schedulers(scheduler):
    X = blobs()
    settings = dict(covariance_type="full", tol=1e-10, max_iter=200, **starting_point(X, "full"))
    expected = LocalGaussianMixture(3, **settings).fit(X)
    with dask.config.set(scheduler=scheduler):
        actual = gmmcore.dask.GaussianMixture(3, **settings).fit(da.from_array(X, chunks=(700, 3)))
    assert_same_fit(actual, expected, rtol=1e-9)


def test_fit_with_sample_weight_equals_in_memory_weighted_fit(client):
    X = blobs()
    w = np.random.default_rng(1).uniform(0, 3, len(X))
    w[::7] = 0
    settings = dict(covariance_type="diag", tol=1e-10, max_iter=200, **starting_point(X, "diag"))
    expected = LocalGaussianMixture(3, **settings).fit(X, sample_weight=w)
    # Weights chunked differently from X: they are rechunked to X's blocks.
    actual = gmmcore.dask.GaussianMixture(3, **settings).fit(
        da.from_array(X, chunks=(500, 3)), sample_weight=da.from_array(w, chunks=800)
    )
    assert_same_fit(actual, expected, rtol=1e-9)


def test_random_init_equals_in_memory_random_init(client):
    """'random' responsibilities depend on a row's index only: the whole fit matches, whatever the blocks."""
    X = blobs()
    expected = LocalGaussianMixture(3, init_params="random", random_state=7, tol=1e-10, max_iter=300).fit(X)
    actual = gmmcore.dask.GaussianMixture(3, init_params="random", random_state=7, tol=1e-10, max_iter=300).fit(
        da.from_array(X, chunks=(450, 3))
    )
    assert_same_fit(actual, expected, rtol=1e-9)


def test_float32_fit_stays_float32_and_matches_in_memory(client):
    X = blobs(dtype=np.float32)
    settings = dict(covariance_type="full", tol=1e-6, max_iter=50, **starting_point(X, "full"))
    expected = LocalGaussianMixture(3, **settings).fit(X)
    actual = gmmcore.dask.GaussianMixture(3, **settings).fit(da.from_array(X, chunks=(400, 3)))
    for name in PARAMETERS:
        assert getattr(actual, name).dtype == np.float32
        np.testing.assert_allclose(getattr(actual, name), getattr(expected, name), rtol=2e-4, atol=2e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_continues_like_in_memory(client):
    X = blobs()
    settings = dict(covariance_type="tied", max_iter=2, tol=0, warm_start=True, **starting_point(X, "tied"))
    expected = LocalGaussianMixture(3, **settings)
    actual = gmmcore.dask.GaussianMixture(3, **settings)
    dX = da.from_array(X, chunks=(1000, 3))
    for _ in range(3):
        expected.fit(X)
        actual.fit(dX)
        assert_same_fit(actual, expected, rtol=1e-9)
    assert actual.lower_bounds_ != LocalGaussianMixture(3, **settings).fit(X).lower_bounds_


def test_persist_false_gives_the_same_fit(client):
    X = blobs()
    settings = dict(tol=1e-10, max_iter=100, **starting_point(X, "full"))
    dX = da.from_array(X, chunks=(1000, 3))
    a = gmmcore.dask.GaussianMixture(3, **settings).fit(dX)
    b = gmmcore.dask.GaussianMixture(3, **settings).fit(dX, persist=False, split_every=2)
    assert_same_fit(b, a, rtol=1e-12)


# ------------------------------------------------------------ initialisation


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data", "random"])
def test_initialisation_is_reproducible_for_a_chunking(client, init_params):
    dX = da.from_array(blobs(), chunks=(800, 3))
    fits = [
        gmmcore.dask.GaussianMixture(3, init_params=init_params, random_state=3, max_iter=5, tol=0).fit(dX)
        for _ in range(2)
    ]
    for name in PARAMETERS:
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_kmeans_parallel_finds_the_clusters(client, init_params):
    """k-means|| seeds one centre per well-separated cluster: the fit reaches the in-memory optimum."""
    X = blobs(6000)
    expected = LocalGaussianMixture(3, random_state=0).fit(X)
    for seed in range(3):
        gm = gmmcore.dask.GaussianMixture(3, init_params=init_params, random_state=seed).fit(
            da.from_array(X, chunks=(1000, 3))
        )
        assert gm.lower_bound_ == pytest.approx(expected.lower_bound_, abs=1e-3)


def test_kmeans_init_with_sample_weight_uses_the_weights(client):
    """A cluster with zero weight cannot hold a seed: the fit finds the weighted clusters only."""
    X = blobs(3000, d=2)
    rng = np.random.default_rng(0)
    far = rng.normal(size=(500, 2)) + 100.0  # zero weight: irrelevant to the weighted model
    Xw = np.concatenate([X, far])
    w = np.concatenate([np.ones(len(X)), np.zeros(len(far))])
    gm = gmmcore.dask.GaussianMixture(3, random_state=0, max_iter=0).fit(
        da.from_array(Xw, chunks=(600, 2)), sample_weight=da.from_array(w, chunks=600)
    )
    assert np.all(np.abs(gm.means_) < 20)


def test_initialisation_with_few_distinct_rows(client):
    """Duplicated rows leave k-means|| with fewer candidates than components: topped up, no failure."""
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 500, axis=0)
    gm = gmmcore.dask.GaussianMixture(3, random_state=0, max_iter=3, reg_covar=1e-3).fit(da.from_array(X, chunks=200))
    assert np.all(np.isfinite(gm.means_))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_n_init_equals_in_memory_n_init(client):
    """n_init 'random' starts: the same starts as in memory (row-indexed), the same best one kept."""
    settings = dict(init_params="random", n_init=3, random_state=0, max_iter=3, tol=0)
    X = blobs()
    expected = LocalGaussianMixture(3, **settings).fit(X)
    actual = gmmcore.dask.GaussianMixture(3, **settings).fit(da.from_array(X, chunks=(1000, 3)))
    assert_same_fit(actual, expected, rtol=1e-9)
    single = LocalGaussianMixture(3, **{**settings, "n_init": 1}).fit(X)
    assert actual.lower_bound_ >= single.lower_bound_


# ------------------------------------------------------------------ faults


def test_worker_killed_mid_fit_gives_the_same_answer(client):
    """A worker process SIGKILLed during the fit: dask recomputes its blocks and the fit ends as without it."""
    X = blobs(6000)
    settings = dict(tol=1e-10, max_iter=60, **starting_point(X, "full"))
    dX = da.from_array(X, chunks=(500, 3))
    expected = gmmcore.dask.GaussianMixture(3, **settings).fit(dX)

    killed = []

    def kill_one_worker(init, n_iter, lower_bound, change):
        if n_iter == 3 and not killed:
            pids = client.run(os.getpid)
            address, pid = sorted(pids.items())[0]
            # Kill it while the next pass is running, not between passes.
            threading.Timer(0.02, os.kill, (pid, signal.SIGKILL)).start()
            killed.append(address)

    actual = gmmcore.dask.GaussianMixture(3, **settings).fit(dX, callback=kill_one_worker)
    assert killed
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()).isdisjoint({None})
    assert_same_fit(actual, expected, rtol=1e-9)


# ------------------------------------------------------------------ inputs


def test_dataframe_with_weight_column(client):
    X = blobs()
    w = np.random.default_rng(2).uniform(0.5, 2, len(X))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(w=w)
    ddf = dd.from_pandas(frame, npartitions=4)
    settings = dict(tol=1e-10, max_iter=100, **starting_point(X, "full"))
    expected = LocalGaussianMixture(3, **settings).fit(X, sample_weight=w)
    actual = gmmcore.dask.GaussianMixture(3, **settings).fit(ddf, sample_weight="w")
    assert_same_fit(actual, expected, rtol=1e-9)
    assert list(actual.feature_names_in_) == ["a", "b", "c"]
    labels = actual.predict(ddf[["a", "b", "c"]])
    np.testing.assert_array_equal(labels.compute(), expected.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        actual.predict(ddf[["c", "b", "a"]]).compute()


def test_weight_column_must_exist(client):
    ddf = dd.from_pandas(pd.DataFrame(blobs(300), columns=["a", "b", "c"]), npartitions=2)
    with pytest.raises(ValueError, match="must name a column"):
        gmmcore.dask.GaussianMixture(2).fit(ddf, sample_weight="w")


def test_numpy_input_is_fitted_too(client):
    X = blobs()
    settings = dict(tol=1e-10, max_iter=100, **starting_point(X, "full"))
    assert_same_fit(
        gmmcore.dask.GaussianMixture(3, **settings).fit(X), LocalGaussianMixture(3, **settings).fit(X), rtol=1e-9
    )


def with_nan(X):
    X = X.copy()
    X[1234, 1] = np.nan
    return X


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (with_nan, ValueError, r"row 1234\b.*in the block of rows 1200 to 1399"),
        (lambda X: X[:, 0], ValueError, "2D"),
        (lambda X: X[:2], ValueError, "n_components"),
        (lambda X: X.astype(str), TypeError, "real numbers"),
    ],
)
def test_bad_data_are_refused_and_leave_the_estimator_unchanged(client, make, error, match):
    gm = gmmcore.dask.GaussianMixture(3, random_state=0, max_iter=2)
    with pytest.raises(error, match=match):
        gm.fit(da.from_array(make(blobs()), chunks=200))
    assert not hasattr(gm, "means_")


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (lambda n: -np.ones(n), "sample_weight"),
        (lambda n: np.ones(n + 1), "aligned"),
        (lambda n: np.zeros(n), "positive"),
        (lambda n: np.ones((n, 2)), "1-D"),
    ],
)
def test_bad_sample_weights_are_refused(client, weights, match):
    X = blobs()
    with pytest.raises(ValueError, match=match):
        gmmcore.dask.GaussianMixture(3, random_state=0, max_iter=2).fit(
            da.from_array(X, chunks=500), sample_weight=da.from_array(weights(len(X)))
        )


def test_split_every_is_checked(client):
    with pytest.raises(ValueError, match="split_every"):
        gmmcore.dask.GaussianMixture(2).fit(da.from_array(blobs(300)), split_every=1)


# ---------------------------------------------------------------- evaluation


@pytest.fixture(scope="module")
def fitted(client):
    X = blobs()
    dX = da.from_array(X, chunks=(700, 3))
    return gmmcore.dask.GaussianMixture(3, random_state=0).fit(dX), X, dX


def test_evaluations_are_lazy_and_equal_the_in_memory_model(fitted):
    gm, X, dX = fitted
    local = gm.to_local()
    assert type(local) is LocalGaussianMixture
    for method in ("predict", "predict_proba", "score_samples"):
        lazy = getattr(gm, method)(dX)
        assert isinstance(lazy, da.Array), method
        assert lazy.chunks[0] == dX.chunks[0]
        np.testing.assert_allclose(lazy.compute(), getattr(local, method)(X), rtol=1e-12, err_msg=method)
        np.testing.assert_allclose(getattr(gm, method)(X), getattr(local, method)(X), rtol=1e-12)
    for method in ("score", "bic", "aic"):
        value = getattr(gm, method)(dX)
        assert isinstance(value, float), method
        assert value == pytest.approx(getattr(local, method)(X), rel=1e-12)
    np.testing.assert_array_equal(gm.fit_predict(dX).compute(), gm.predict(X))


def test_evaluation_checks_features(fitted):
    gm, X, _ = fitted
    with pytest.raises(ValueError, match="features"):
        gm.predict(da.from_array(X[:, :2]))


def test_statistics_of_blocks_equal_in_memory(fitted):
    gm, X, dX = fitted
    w = np.linspace(0, 2, len(X))
    a = gm.statistics(dX, sample_weight=da.from_array(w, chunks=999))
    b = gm.to_local().statistics(X, sample_weight=w)
    np.testing.assert_allclose(a.m_step().means, b.m_step().means, rtol=1e-12)
    assert a.n_samples == b.n_samples
    assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-12)


def test_conversion_and_model_file_round_trip(fitted, tmp_path):
    gm, X, dX = fitted
    path = tmp_path / "model.gmm"
    gm.save(path)
    back = gmmcore.dask.GaussianMixture.from_local(gmmcore.load(path))
    assert type(back) is gmmcore.dask.GaussianMixture
    assert back.get_params() == gm.get_params()
    for name in FITTED_ATTRIBUTES:
        if hasattr(gm, name):
            np.testing.assert_array_equal(getattr(back, name), getattr(gm, name), err_msg=name)
    np.testing.assert_array_equal(back.predict(dX).compute(), gm.predict(X))
    with pytest.raises(TypeError, match="gmmcore.GaussianMixture"):
        gmmcore.dask.GaussianMixture.from_local(object())


def test_import_gmmcore_does_not_import_dask():
    import subprocess
    import sys

    code = "import sys, gmmcore; gmmcore.GaussianMixture; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("on_cluster", [True, False])
def test_a_pass_ships_the_parameters_once_not_per_task(client, on_cluster):
    """The graph of one EM pass holds the parameters once (one key, or one scattered future), whatever the
    number of blocks: its pickled size stays near one copy of them, not one per block."""
    import pickle

    from gmmcore.dask import _blocks
    from gmmcore.dask._estimator import _block_statistics

    rng = np.random.default_rng(0)
    k, d = 16, 32  # parameters of 135 KB; the rest of a task is a few KB
    params = ("full", np.full(k, 1 / k), rng.normal(size=(k, d)), np.tile(np.eye(d).ravel(), (k, 1)))
    size = len(pickle.dumps(params))
    dX = da.ones((4000, d), chunks=(100, d))  # 40 blocks, a graph without data
    with dask.config.set(scheduler=client.get if on_cluster else "threads"):
        blocks = _blocks.Blocks(dX, None, np.dtype(np.float64), persist=False)
        shared = _blocks.broadcast(params)
        assert isinstance(shared, distributed.Future) == on_cluster
        root = _blocks.tree_reduce(blocks.map(_block_statistics, shared), _blocks.merge_statistics, 8)
        # Each task pickled on its own, as it travels to its worker.
        graph_bytes = sum(len(pickle.dumps(task)) for task in dict(root.__dask_graph__()).values())
        assert graph_bytes < 3 * size, (graph_bytes, size)  # one copy per task would be 40 * size
        np.testing.assert_allclose(dask.compute(root)[0][2].sum(), 4000)


def test_conversion_carries_a_partial_fit_stream(fitted):
    """to_local keeps every fitted attribute, the stream's running statistics included."""
    gm, X, _ = fitted
    stream = gmmcore.dask.GaussianMixture.from_local(gm.to_local())
    stream.partial_fit(X[:500])
    local = stream.to_local()
    assert local.n_steps_ == stream.n_steps_
    assert local.statistics_ == stream.statistics_
    np.testing.assert_array_equal(local.partial_fit(X[500:900]).means_, stream.partial_fit(X[500:900]).means_)
