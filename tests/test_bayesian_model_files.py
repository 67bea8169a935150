"""Model files of a fitted gmmcore.BayesianGaussianMixture (the format of gmmcore._model_io)."""

import hashlib
import io
import json
import struct
import warnings

import gmmcore
import numpy as np
import pytest
from gmmcore import BayesianGaussianMixture, GaussianMixture
from gmmcore._model_format import ModelFileError
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from test_bayesian import COVARIANCE_TYPES, PRIOR_TYPES, blobs, non_default_priors

FITTED = [
    "weights_",
    "means_",
    "covariances_",
    "precisions_cholesky_",
    "precisions_",
    "mean_precision_",
    "degrees_of_freedom_",
    "weight_concentration_prior_",
    "mean_precision_prior_",
    "mean_prior_",
    "degrees_of_freedom_prior_",
    "covariance_prior_",
    "converged_",
    "n_iter_",
    "lower_bound_",
    "lower_bounds_",
    "n_features_in_",
]


def fitted(dtype=np.float64, **params):
    model = BayesianGaussianMixture(n_components=3, max_iter=6, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(blobs(n_per=40, dtype=dtype))


def round_trip(model):
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    return gmmcore.load(buffer)


@pytest.mark.parametrize("given_priors", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weight_prior", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_round_trip_predicts_exactly_as_the_saved_model(covariance_type, weight_prior, dtype, given_priors):
    extra = non_default_priors(covariance_type, 3) if given_priors else {}
    model = fitted(dtype, covariance_type=covariance_type, weight_concentration_prior_type=weight_prior, **extra)
    loaded = round_trip(model)
    assert type(loaded) is BayesianGaussianMixture
    X = blobs(n_per=10, seed=5, dtype=dtype)
    for method in ("predict", "predict_proba", "score_samples"):
        assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X), err_msg=method)
    for name in FITTED:
        assert_array_equal(np.asarray(getattr(loaded, name)), np.asarray(getattr(model, name)), err_msg=name)
    assert_array_equal(
        np.vstack(np.atleast_2d(loaded.weight_concentration_)), np.vstack(np.atleast_2d(model.weight_concentration_))
    )
    assert type(loaded.weight_concentration_) is type(model.weight_concentration_)
    for name, value in model.get_params().items():
        assert_array_equal(np.asarray(loaded.get_params()[name]), np.asarray(value), err_msg=name)


def test_warm_start_from_a_loaded_model_continues_the_fit():
    model = fitted(covariance_type="diag")
    loaded = round_trip(model)
    X = blobs(n_per=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.set_params(warm_start=True, max_iter=3).fit(X)
        loaded.set_params(warm_start=True, max_iter=3).fit(X)
    assert loaded.lower_bounds_ == model.lower_bounds_
    assert_array_equal(loaded.means_, model.means_)


def split(data):
    _, version, size = struct.unpack_from("<8sIQ", data)
    return version, json.loads(data[20 : 20 + size]), data[20 + size : -32]


def join(version, header, payload):
    header_bytes = json.dumps(header).encode("utf-8")
    body = struct.pack("<8sIQ", b"GMMCORE\0", version, len(header_bytes)) + header_bytes + payload
    return body + hashlib.sha256(body).digest()


def test_header_names_the_estimator_and_a_gaussian_mixture_file_does_not():
    buffer = io.BytesIO()
    fitted(mean_prior=np.zeros(3)).save(buffer)
    _, header, _ = split(buffer.getvalue())
    assert header["estimator"] == "BayesianGaussianMixture" and header["given_priors"] == ["mean_prior"]
    names = [a["name"] for a in header["arrays"]]
    assert (
        names[5:8] == ["weight_concentration", "mean_precision", "degrees_of_freedom"] and names[-1] == "lower_bounds"
    )
    buffer = io.BytesIO()
    GaussianMixture(2, random_state=0).fit(blobs(n_per=20)).save(buffer)
    assert "estimator" not in split(buffer.getvalue())[1]


def _damaged(edit):
    buffer = io.BytesIO()
    fitted().save(buffer)
    version, header, payload = split(buffer.getvalue())
    payload = edit(header, bytearray(payload))
    return io.BytesIO(join(version, header, bytes(payload)))


def _offset(header, name):
    offset = 0
    for entry in header["arrays"]:
        if entry["name"] == name:
            return offset
        offset += np.dtype(entry["dtype"]).itemsize * int(np.prod(entry["shape"]))
    raise KeyError(name)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda h, p: h.update(estimator="Other") or p, "unknown estimator 'Other'"),
        (lambda h, p: h["params"].update(weight_concentration_prior_type="x") or p, "unknown weight prior type"),
        (lambda h, p: h.update(given_priors=["tol"]) or p, "given_priors must be a list"),
        (lambda h, p: h["params"].update(weight_concentration_prior="1") or p, "has the wrong type"),
        (lambda h, p: h["params"].update(mean_precision_prior=-1.0) or p, "mean_precision_prior"),
        (
            lambda h, p: (
                p.__setitem__(
                    slice(_offset(h, "mean_precision"), _offset(h, "mean_precision") + 8), struct.pack("<d", -1.0)
                )
                or p
            ),
            "mean_precision must be positive",
        ),
        (
            lambda h, p: (
                p.__setitem__(
                    slice(_offset(h, "degrees_of_freedom_prior"), _offset(h, "degrees_of_freedom_prior") + 8),
                    struct.pack("<d", 0.5),
                )
                or p
            ),
            "degrees_of_freedom_prior must be greater",
        ),
    ],
)
def test_damaged_bayesian_files_raise_model_file_errors(edit, message):
    with pytest.raises(ModelFileError, match="invalid model file.*" + message):
        gmmcore.load(_damaged(edit))
