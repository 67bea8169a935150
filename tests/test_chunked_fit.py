"""GaussianMixture.fit on data read in chunks: .npy paths, memory maps, array-likes and chunk callables.

With the same starting point the chunked fit must equal the in-memory fit to
1e-10 relative (float64) whatever the chunking; its errors name the chunk.
The memory bound is in test_out_of_core_memory.py.
"""

import numpy as np
import pytest
from gmmcore import GaussianMixture
from numpy.testing import assert_allclose, assert_array_equal

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PARAMETERS = ["weights_", "means_", "covariances_", "precisions_cholesky_"]


def make_data(n=2400, d=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centres = 5.0 * rng.standard_normal((3, d))
    X = np.concatenate([c + rng.standard_normal((n // 3, d)) for c in centres])
    return X[rng.permutation(len(X))].astype(dtype), rng.uniform(0.5, 2.0, len(X)).astype(dtype)


class RowSliced:
    """An array-like as h5py and zarr datasets are: shape, dtype, row slicing; no NumPy array protocol."""

    def __init__(self, array):
        self._array = array
        self.shape, self.dtype = array.shape, array.dtype
        self.reads = 0

    def __getitem__(self, rows):
        self.reads += 1
        return self._array[rows].copy()


def chunk_callable(X, w=None, rows=500):
    def chunks():
        for a in range(0, len(X), rows):
            yield X[a : a + rows] if w is None else (X[a : a + rows], w[a : a + rows])

    return chunks


def starting_point(covariance_type, X):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0, max_iter=2)
    with pytest.warns(Warning):  # not converged in 2 iterations: the start is not a fixed point
        model.fit(X)
    return {"weights_init": model.weights_, "means_init": model.means_, "precisions_init": model.precisions_}


def assert_same_fit(chunked, in_memory, rtol=1e-10):
    for name in PARAMETERS:
        got, want = getattr(chunked, name), getattr(in_memory, name)
        assert got.dtype == want.dtype, name
        assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max(), err_msg=name)
    assert chunked.n_iter_ == in_memory.n_iter_
    assert chunked.converged_ == in_memory.converged_
    assert_allclose(chunked.lower_bounds_, in_memory.lower_bounds_, rtol=rtol)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_every_source_equals_the_in_memory_fit(covariance_type, weighted, tmp_path):
    X, w = make_data()
    w = w if weighted else None
    settings = dict(n_components=3, covariance_type=covariance_type, tol=1e-10, max_iter=30)
    settings.update(starting_point(covariance_type, X))
    reference = GaussianMixture(**settings).fit(X, sample_weight=w)
    path = tmp_path / "X.npy"
    np.save(path, X)
    sources = {
        "path": (str(path), 333),
        "pathlike": (path, 1000),
        "memmap": (np.load(path, mmap_mode="r"), 7),
        "array-like": (RowSliced(X), 2400),
        "callable": (chunk_callable(X, w, rows=401), None),
    }
    for name, (source, chunk_size) in sources.items():
        model = GaussianMixture(**settings)
        weights = None if name == "callable" else w
        model.fit(source, sample_weight=weights, chunk_size=chunk_size)
        assert_same_fit(model, reference)
        assert model.n_features_in_ == 3
        assert_array_equal(model.predict(X), reference.predict(X))


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_initialisation_on_all_rows_when_they_fit_the_sample(init_params, tmp_path):
    """Fewer rows than the initialisation sample holds: the sample is the data, in order, as in memory."""
    X, _ = make_data(n=900)
    settings = dict(n_components=3, init_params=init_params, random_state=7, n_init=2, max_iter=20, tol=1e-9)
    reference = GaussianMixture(**settings).fit(X)
    path = tmp_path / "X.npy"
    np.save(path, X)
    for source in (str(path), chunk_callable(X, rows=128)):
        assert_same_fit(GaussianMixture(**settings).fit(source, chunk_size=200), reference)


def test_a_large_source_is_initialised_on_a_sample(tmp_path, monkeypatch):
    """Beyond the sample's size, k-means runs on a uniform sample; the fit still finds the clusters."""
    from gmmcore import _chunks

    monkeypatch.setattr(_chunks, "_INIT_SAMPLE_ROWS", 300)
    rng = np.random.default_rng(0)
    X = np.concatenate([10.0 * k + rng.standard_normal((2000, 2)) for k in range(3)])[rng.permutation(6000)]
    settings = dict(n_components=3, random_state=0, tol=1e-10, max_iter=500)
    reference = GaussianMixture(**settings).fit(X)
    path = tmp_path / "X.npy"
    np.save(path, X)
    for source in (str(path), chunk_callable(X, rows=1000)):
        model = GaussianMixture(**settings).fit(source, chunk_size=700)
        assert model.converged_
        order = np.argsort(model.means_[:, 0])
        assert_allclose(model.means_[order], reference.means_[np.argsort(reference.means_[:, 0])], rtol=1e-6)
        again = GaussianMixture(**settings).fit(source, chunk_size=700)
        assert_array_equal(again.means_, model.means_)  # reproducible with random_state


def test_reservoir_sample_is_uniform_and_keeps_weights():
    from gmmcore._chunks import chunked_source

    X = np.arange(1000, dtype=np.float64).reshape(-1, 1)
    w = X[:, 0] + 1.0
    source = chunked_source(chunk_callable(X, w, rows=37), None, None)
    counts = np.zeros(1000)
    for seed in range(400):
        sample, weights = source.init_sample(100, np.random.default_rng(seed))
        assert sample.shape == (100, 1) and len(np.unique(sample)) == 100
        assert_array_equal(weights, sample[:, 0] + 1.0)
        counts[sample[:, 0].astype(int)] += 1
    # Each row is kept with probability 1/10: 40 times in 400 draws, binomial sd ~6.
    assert counts.mean() == pytest.approx(40.0)
    assert np.abs(counts.reshape(10, 100).mean(axis=1) - 40).max() < 4  # no part of the stream favoured


def test_float32_sources_fit_in_float32(tmp_path):
    X, _ = make_data(dtype=np.float32)
    settings = dict(n_components=3, tol=1e-6, max_iter=30, **starting_point("full", X))
    reference = GaussianMixture(**settings).fit(X)
    path = tmp_path / "X.npy"
    np.save(path, X)
    model = GaussianMixture(**settings).fit(str(path), chunk_size=256)
    assert model.means_.dtype == np.float32
    assert_same_fit(model, reference, rtol=2e-4)


def test_integer_npy_files_are_converted(tmp_path):
    X = np.round(make_data()[0] * 10).astype(np.int32)
    path = tmp_path / "X.npy"
    np.save(path, X)
    settings = dict(n_components=3, random_state=0)
    reference = GaussianMixture(**settings).fit(X.astype(np.float64))
    model = GaussianMixture(**settings).fit(str(path), chunk_size=500)
    assert model.means_.dtype == np.float64
    assert_same_fit(model, reference)


def test_fit_predict_and_statistics_on_chunks(tmp_path):
    X, w = make_data()
    path = tmp_path / "X.npy"
    np.save(path, X)
    model = GaussianMixture(3, random_state=0)
    labels = model.fit_predict(str(path), chunk_size=100)
    assert_array_equal(labels, model.predict(X))
    whole = model.statistics(X, w)
    chunked = model.statistics(str(path), sample_weight=w, chunk_size=333)
    assert_allclose(chunked.scatters, whole.scatters, rtol=1e-12)
    assert chunked.n_samples == len(X)


def test_warm_start_continues_over_chunks(tmp_path):
    X, _ = make_data()
    path = tmp_path / "X.npy"
    np.save(path, X)
    settings = dict(n_components=3, random_state=0, warm_start=True, max_iter=2)
    with pytest.warns(Warning):
        a = GaussianMixture(**settings).fit(X)
        a.fit(X)
    with pytest.warns(Warning):
        b = GaussianMixture(**settings).fit(str(path), chunk_size=300)
        b.fit(str(path), chunk_size=300)
    assert_same_fit(b, a)


def test_bad_chunked_data_get_clear_errors(tmp_path):
    X, w = make_data(n=300)
    bad = X.copy()
    bad[250, 1] = np.nan
    path = tmp_path / "bad.npy"
    np.save(path, bad)
    gm = GaussianMixture(2, random_state=0)
    with pytest.raises(ValueError, match="rows 200 to 299"):
        gm.fit(str(path), chunk_size=100)
    assert not hasattr(gm, "means_")  # a failed fit leaves the estimator as it was

    np.save(tmp_path / "one_d.npy", X[:, 0])
    with pytest.raises(ValueError, match="2-D"):
        gm.fit(str(tmp_path / "one_d.npy"))
    np.save(tmp_path / "fortran.npy", np.asfortranarray(X))
    with pytest.raises(ValueError, match="Fortran order"):
        gm.fit(str(tmp_path / "fortran.npy"))
    np.save(tmp_path / "complex.npy", X.astype(complex))
    with pytest.raises(ValueError, match="real numbers"):
        gm.fit(str(tmp_path / "complex.npy"))
    truncated = (tmp_path / "bad.npy").read_bytes()[:-100]
    (tmp_path / "truncated.npy").write_bytes(truncated)
    with pytest.raises(ValueError, match="truncated .npy file"):
        gm.fit(str(tmp_path / "truncated.npy"))
    (tmp_path / "not.npy").write_bytes(b"not a numpy file at all")
    with pytest.raises(ValueError, match="not a .npy file"):
        gm.fit(str(tmp_path / "not.npy"))
    with pytest.raises(ValueError, match=".npy files only"):
        gm.fit(str(tmp_path / "X.csv"))
    with pytest.raises(OSError, match="missing.npy"):
        gm.fit(str(tmp_path / "missing.npy"))
    with pytest.raises(ValueError, match="chunk_size"):
        gm.fit(str(path), chunk_size=0)

    def ragged():
        yield X[:100]
        yield X[100:200, :2]

    with pytest.raises(ValueError, match="chunk 1: X has 2 features"):
        gm.fit(lambda: ragged())

    def weights_then_none():
        yield X[:100], w[:100]
        yield X[100:]

    with pytest.raises(ValueError, match="chunk 1: every chunk must come with sample weights, or none"):
        gm.fit(weights_then_none)
    with pytest.raises(ValueError, match="sample_weight must be None when X is a callable"):
        gm.fit(chunk_callable(X), sample_weight=w)
    with pytest.raises(ValueError, match="no chunks"):
        gm.fit(lambda: iter(()))
    with pytest.raises(TypeError, match="iterable of chunks"):
        gm.fit(lambda: X)

    negative = w.copy()
    negative[150] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight\[150\] = -1.0, in the chunk of rows 100 to 199"):
        gm.fit(chunk_callable(X, negative, rows=100))

    passes = {"n": 0}

    def shrinking():
        passes["n"] += 1
        return iter([X] if passes["n"] < 5 else [X[:-1]])  # peek, sample, 2 EM passes, then fewer

    with pytest.raises(ValueError, match="every pass must give the same data"):
        GaussianMixture(2, random_state=0, tol=0, max_iter=5).fit(shrinking)


def test_errors_of_the_chunk_callable_propagate(tmp_path):
    X, _ = make_data(n=300)

    def failing():
        yield X[:100]
        raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        GaussianMixture(2, random_state=0).fit(failing)


def test_in_memory_inputs_are_not_chunked():
    from gmmcore._chunks import chunked_source

    X, _ = make_data(n=30)
    for in_memory in (X, X.tolist(), X.astype(np.float32)):
        assert chunked_source(in_memory, None, None) is None
    pandas = pytest.importorskip("pandas")
    assert chunked_source(pandas.DataFrame(X), None, None) is None
