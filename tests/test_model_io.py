"""Model files: exact round trips, the documented layout, and clear errors for bad files."""

import hashlib
import io
import json
import os
import pickle
import struct

import numpy as np
import pytest
from gmmcore import GaussianMixture
from gmmcore import _model_io as model_io
from gmmcore._model_io import ModelFileError
from sklearn.exceptions import NotFittedError

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"]


def blobs(dtype=np.float64, n=300, seed=0):
    """Three well-separated clusters in 3-D: EM converges in a few iterations, without warnings."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 2.0], [0.0, 7.0, -3.0]])
    X = centres[rng.integers(0, 3, n)] + rng.normal(scale=[1.0, 0.5, 0.8], size=(n, 3))
    return X.astype(dtype)


def fitted(covariance_type="full", dtype=np.float64, **kwargs):
    X = blobs(dtype)
    return GaussianMixture(3, covariance_type=covariance_type, random_state=0, **kwargs).fit(X), X


def to_bytes(model):
    buffer = io.BytesIO()
    model_io.save(model, buffer)
    return buffer.getvalue()


def from_bytes(data, name="model.gmm"):
    buffer = io.BytesIO(data)
    buffer.name = name
    return model_io.load(buffer)


def split(data):
    """(version, header dict, payload bytes) of a file, read as the module docstring describes."""
    magic, version, header_size = struct.unpack_from("<8sIQ", data)
    assert magic == b"GMMCORE\0"
    header = json.loads(data[20 : 20 + header_size].decode("utf-8"))
    return version, header, data[20 + header_size : -32]


def join(version, header, payload):
    """A file with a valid checksum around whatever header and payload it is given."""
    header_bytes = json.dumps(header).encode("utf-8")
    body = struct.pack("<8sIQ", b"GMMCORE\0", version, len(header_bytes)) + header_bytes + payload
    return body + hashlib.sha256(body).digest()


# --------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_round_trip_is_bitwise(tmp_path, covariance_type, dtype):
    model, X = fitted(covariance_type, dtype)
    path = tmp_path / "model.gmm"
    model_io.save(model, path)
    loaded = model_io.load(path)
    for name in FITTED:
        saved, read = getattr(model, name), getattr(loaded, name)
        assert read.dtype == saved.dtype == np.dtype(dtype)
        assert read.shape == saved.shape
        assert read.tobytes() == saved.tobytes(), name
        assert read.flags.writeable and read.flags.c_contiguous
    assert loaded.lower_bound_ == model.lower_bound_
    assert loaded.lower_bounds_ == model.lower_bounds_
    assert (loaded.converged_, loaded.n_iter_, loaded.n_features_in_) == (model.converged_, model.n_iter_, 3)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.predict_proba(X).tobytes() == model.predict_proba(X).tobytes()
    assert loaded.score_samples(X).tobytes() == model.score_samples(X).tobytes()
    assert loaded.bic(X) == model.bic(X)
    assert loaded.sample(20)[0].tobytes() == model.sample(20)[0].tobytes()


def test_save_to_file_object_and_path_agree_and_leave_no_temporary_files(tmp_path):
    model, _ = fitted()
    model_io.save(model, tmp_path / "a.gmm")
    model_io.save(model, str(tmp_path / "b.gmm"))
    data = to_bytes(model)
    files = sorted(os.listdir(tmp_path))
    assert files == ["a.gmm", "b.gmm"]
    # Only the creation time may differ between two saves of one model.
    for name in files:
        other = (tmp_path / name).read_bytes()
        assert split(other)[2] == split(data)[2]
        assert {**split(other)[1], "created": None} == {**split(data)[1], "created": None}


def test_parameters_and_metadata_are_kept():
    model, _ = fitted("diag", tol=1e-4, reg_covar=1e-5, max_iter=50, n_init=2, init_params="k-means++")
    loaded = from_bytes(to_bytes(model))
    assert loaded.get_params() == model.get_params()
    assert loaded.random_state == 0
    header = split(to_bytes(model))[1]
    assert header["gmmcore_version"]
    assert header["created"].endswith("+00:00")
    assert header["dtype"] == "float64" and header["covariance_type"] == "diag"
    assert header["fit"] == {"converged": model.converged_, "n_iter": model.n_iter_}


def test_random_state_that_is_not_an_int_is_saved_as_none():
    X = blobs()
    model = GaussianMixture(3, random_state=np.random.RandomState(0)).fit(X)
    assert from_bytes(to_bytes(model)).random_state is None


def test_feature_names_round_trip():
    model, _ = fitted()
    model.feature_names_in_ = np.array(["a", "b", "c"], dtype=object)
    loaded = from_bytes(to_bytes(model))
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    assert not hasattr(from_bytes(to_bytes(fitted()[0])), "feature_names_in_")


def test_warm_start_from_a_loaded_model_continues_the_fit():
    model, X = fitted(max_iter=100)
    loaded = from_bytes(to_bytes(model)).set_params(warm_start=True, max_iter=5)
    loaded.fit(X)
    assert loaded.lower_bound_ >= model.lower_bound_ - 1e-12


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        model_io.save(GaussianMixture(2), tmp_path / "m.gmm")
    assert os.listdir(tmp_path) == []


def test_file_follows_the_documented_layout():
    model, _ = fitted("tied", np.float32)
    data = to_bytes(model)
    version, header, payload = split(data)
    assert version == model_io.FORMAT_VERSION == 1
    assert data[-32:] == hashlib.sha256(data[:-32]).digest()
    assert header["format"] == "gmmcore-model"
    assert header["payload_nbytes"] == len(payload)
    offset = 0
    for entry in header["arrays"]:
        dtype = np.dtype(entry["dtype"])
        count = int(np.prod(entry["shape"], dtype=np.int64))
        array = np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(entry["shape"])
        offset += count * dtype.itemsize
        expected = {"lower_bound": model.lower_bound_, "lower_bounds": model.lower_bounds_}.get(entry["name"])
        if expected is None:
            expected = getattr(model, entry["name"] + "_")
            assert dtype == np.dtype("<f4")
        np.testing.assert_array_equal(array, expected)
    assert offset == len(payload)
    assert [a["name"] for a in header["arrays"]] == [
        "weights",
        "means",
        "covariances",
        "precisions_cholesky",
        "precisions",
        "lower_bound",
        "lower_bounds",
    ]


# ------------------------------------------------------------------- bad files


@pytest.fixture(scope="module")
def good():
    return to_bytes(fitted()[0])


@pytest.mark.parametrize("keep", [5, 12, 19, 20, 100, -40, -1])
def test_truncated_file(good, keep):
    with pytest.raises(ModelFileError, match=r"^m\.gmm: model file is truncated"):
        from_bytes(good[:keep], "m.gmm")


def test_empty_file():
    with pytest.raises(ModelFileError, match="empty file, not a gmmcore model file"):
        from_bytes(b"")


@pytest.mark.parametrize("where", ["header", "payload", "checksum"])
def test_corrupt_file(good, where):
    data = bytearray(good)
    header_size = struct.unpack_from("<Q", good, 12)[0]
    index = {"header": 20 + header_size // 2, "payload": 20 + header_size + 10, "checksum": len(good) - 5}[where]
    data[index] ^= 0x01
    with pytest.raises(ModelFileError, match=r"model file is corrupt \(checksum mismatch\)"):
        from_bytes(bytes(data))


def test_trailing_bytes_are_corruption(good):
    with pytest.raises(ModelFileError, match="corrupt"):
        from_bytes(good + b"\0")


def test_damaged_header_length_is_corruption(good):
    data = bytearray(good)
    data[19] = 0x7F
    with pytest.raises(ModelFileError, match="corrupt"):
        from_bytes(bytes(data))


def test_future_version(good):
    data = bytearray(good)
    struct.pack_into("<I", data, 8, 7)
    with pytest.raises(ModelFileError, match=r"written by a newer gmmcore \(model format 7\).*upgrade gmmcore"):
        from_bytes(bytes(data))


def test_version_zero(good):
    data = bytearray(good)
    struct.pack_into("<I", data, 8, 0)
    with pytest.raises(ModelFileError, match="corrupt"):
        from_bytes(bytes(data))


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04 a zip, not a model file....", b"\x93NUMPY\x01\x00 an npy array.......", b"# text\n1,2,3\n" * 3],
)
def test_not_a_model_file(content):
    with pytest.raises(ModelFileError, match="not a gmmcore model file"):
        from_bytes(content)


class _Trap:
    """Unpickling this would create a file: proof that loading never unpickles."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_is_never_executed(tmp_path):
    trap = tmp_path / "unpickled"
    path = tmp_path / "evil.gmm"
    path.write_bytes(pickle.dumps(_Trap(str(trap))))
    with pytest.raises(ModelFileError, match="not a gmmcore model file"):
        model_io.load(path)
    assert not trap.exists()


def _edit(good, change):
    version, header, payload = split(good)
    change(header)
    return join(version, header, payload)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda h: h.update(covariance_type="bogus"), "unknown covariance_type 'bogus'"),
        (lambda h: h.update(dtype="object"), "unsupported dtype 'object'"),
        (lambda h: h.update(n_components=2), "table of arrays does not match"),
        (lambda h: h.update(n_features=0), "n_features must be a positive integer"),
        (lambda h: h["arrays"][0].update(dtype="|O"), "table of arrays does not match"),
        (lambda h: h["arrays"][2].update(shape=[3, 3]), "table of arrays does not match"),
        (lambda h: h["params"].update(max_iter="100"), r"params\.max_iter has the wrong type"),
        (lambda h: h["params"].update(extra=1), "params must have the keys"),
        (lambda h: h["params"].pop("tol"), "params must have the keys"),
        (lambda h: h["fit"].update(converged=1), "fit.converged must be a boolean"),
        (lambda h: h.update(feature_names=["a"]), "feature_names must be null or n_features strings"),
        (lambda h: h.update(format="other"), "'format' is not 'gmmcore-model'"),
        (lambda h: h.pop("params"), "'params'"),
    ],
)
def test_invalid_header_with_valid_checksum(good, change, message):
    with pytest.raises(ModelFileError, match=r"^m\.gmm: invalid model file \(.*" + message):
        from_bytes(_edit(good, change), "m.gmm")


def test_files_from_before_the_online_parameters_load_with_their_defaults(good):
    """gmmcore 0.1 wrote no learning_decay / learning_offset: such a file loads, with the defaults."""

    def as_written_by_0_1(header):
        del header["params"]["learning_decay"], header["params"]["learning_offset"]

    loaded = from_bytes(_edit(good, as_written_by_0_1))
    defaults = GaussianMixture().get_params()
    assert (loaded.learning_decay, loaded.learning_offset) == (defaults["learning_decay"], defaults["learning_offset"])
    np.testing.assert_array_equal(loaded.means_, from_bytes(good).means_)


def test_payload_size_mismatch_with_valid_checksum(good):
    version, header, payload = split(good)
    with pytest.raises(ModelFileError, match="invalid model file|truncated|corrupt"):
        from_bytes(join(version, header, payload[:-8]))


def test_header_that_is_not_json(good):
    body = struct.pack("<8sIQ", b"GMMCORE\0", 1, 5) + b"{nope"
    with pytest.raises(ModelFileError, match=r"corrupt \(invalid header\)"):
        from_bytes(body + hashlib.sha256(body).digest())


def test_errors_are_value_errors_and_missing_files_are_file_not_found(tmp_path):
    assert issubclass(ModelFileError, ValueError)
    with pytest.raises(FileNotFoundError):
        model_io.load(tmp_path / "missing.gmm")


# ------------------------------------------------------- the public Python API


def test_estimator_save_and_gmmcore_load_use_this_format(tmp_path):
    import gmmcore

    model, X = fitted("diag")
    model.save(tmp_path / "m.gmm")
    assert (tmp_path / "m.gmm").read_bytes()[:8] == model_io.MAGIC
    loaded = gmmcore.load(tmp_path / "m.gmm")
    assert isinstance(loaded, GaussianMixture)
    assert loaded.means_.tobytes() == model.means_.tobytes()
    assert "load" in gmmcore.__all__
    assert split(to_bytes(loaded))[2] == split((tmp_path / "m.gmm").read_bytes())[2]
