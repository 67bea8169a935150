"""Writing model files, and what reading shares with it: the estimator-independent half of the format.

The format is documented in :mod:`gmmcore._model_io`, which reads files
back into an estimator. This module imports no estimator: it encodes a
fitted model from its attributes and finds the parameters to store in the
model's own ``_parameter_constraints``. So the dependencies run one way:
``_model_io`` imports ``_mixture`` (to build the estimator it loads) and
this module; ``_mixture`` imports only this module (``GaussianMixture.save``).
"""

import datetime
import hashlib
import json
import os
import secrets
import struct
from numbers import Integral, Real

import numpy as np

from ._covariance import parameter_shape
from ._version import __version__

__all__ = [
    "DIGEST_SIZE",
    "ARRAY_PRIORS",
    "DTYPES",
    "ESTIMATORS",
    "FORMAT_VERSION",
    "MAGIC",
    "PARAMS_ADDED_SINCE_VERSION_1",
    "PREFIX",
    "ModelFileError",
    "expected_arrays",
    "stored_params",
    "write",
]

MAGIC = b"GMMCORE\0"
FORMAT_VERSION = 1
PREFIX = struct.Struct("<8sIQ")  # magic, format version, header length
DIGEST_SIZE = hashlib.sha256().digest_size
DTYPES = {"float32": np.dtype("<f4"), "float64": np.dtype("<f8")}
# Constructor parameters with a header field of their own (never in a file's "params").
_NOT_IN_PARAMS = ("n_components", "covariance_type")
# Parameters that files written by earlier gmmcore versions (same format version) do not have.
PARAMS_ADDED_SINCE_VERSION_1 = ("learning_decay", "learning_offset")


def _seed(value):
    return int(value) if isinstance(value, Integral) and not isinstance(value, bool) else None


def _param_kind(constraints):
    """(JSON types a file may hold, conversion on writing) for a parameter's scikit-learn constraints."""
    if "array-like" in constraints:
        return None  # an array (weights_init, ...): not stored
    kind = _value_kind(constraints)
    if None not in constraints:
        return kind
    # An optional number (BayesianGaussianMixture's priors): null for None.
    types, convert = kind
    return (*(types if isinstance(types, tuple) else (types,)), type(None)), (
        lambda value: None if value is None else convert(value)
    )


def _value_kind(constraints):
    from sklearn.utils._param_validation import Interval, StrOptions

    for constraint in constraints:
        if isinstance(constraint, Interval):
            return ((int, float), float) if constraint.type is Real else (int, int)
        if isinstance(constraint, StrOptions):
            return str, str
        if constraint == "boolean":
            return bool, bool
        if constraint == "verbose":
            return int, int
        if constraint == "random_state":  # an int seed is kept; a RandomState or None is stored as null
            return (int, type(None)), _seed
    # A new kind of parameter: decide how a file stores it (and bump FORMAT_VERSION if it must).
    raise TypeError(f"model files have no type for a parameter constrained by {constraints!r}")


def stored_params(parameter_constraints):
    """``{name: (json types, conversion)}``: the scalar parameters a file's ``params`` holds.

    Derived from the estimator's ``_parameter_constraints`` (every parameter
    but the arrays and those with a header field of their own), so a new
    scalar parameter of the estimator is saved, loaded and type-checked
    without an edit here.
    """
    kinds = {}
    for name, constraints in parameter_constraints.items():
        kind = _param_kind(constraints)
        if kind is not None and name not in _NOT_IN_PARAMS:
            kinds[name] = kind
    return kinds


class ModelFileError(ValueError):
    """A model file that cannot be read: not one, truncated, corrupt, invalid or from a newer gmmcore."""


#: BayesianGaussianMixture's array-valued prior parameters (not in ``params``).
ARRAY_PRIORS = ("mean_prior", "covariance_prior")
#: The estimators a file may hold (its header's ``estimator``; absent means the first).
ESTIMATORS = ("GaussianMixture", "BayesianGaussianMixture")


def expected_arrays(covariance_type, n_components, n_features, dtype, n_lower_bounds, weight_prior_type=None):
    """The version-1 table of contents: ``[(name, dtype, shape), ...]`` in payload order.

    With ``weight_prior_type`` (a BayesianGaussianMixture's), the posterior and
    the priors it was fitted with follow the GaussianMixture arrays.
    """
    k, d = n_components, n_features
    shape = parameter_shape(covariance_type, k, d)
    f64 = DTYPES["float64"]
    arrays = [
        ("weights", dtype, (k,)),
        ("means", dtype, (k, d)),
        ("covariances", dtype, shape),
        ("precisions_cholesky", dtype, shape),
        ("precisions", dtype, shape),
    ]
    if weight_prior_type is not None:
        prior_shape = {"full": (d, d), "tied": (d, d), "diag": (d,), "spherical": ()}[covariance_type]
        arrays += [
            ("weight_concentration", dtype, (2 if weight_prior_type == "dirichlet_process" else 1, k)),
            ("mean_precision", dtype, (k,)),
            ("degrees_of_freedom", dtype, () if covariance_type == "tied" else (k,)),
            ("weight_concentration_prior", f64, ()),
            ("mean_precision_prior", f64, ()),
            ("mean_prior", f64, (d,)),
            ("degrees_of_freedom_prior", f64, ()),
            ("covariance_prior", f64, prior_shape),
        ]
    return [*arrays, ("lower_bound", f64, ()), ("lower_bounds", f64, (n_lower_bounds,))]


# ------------------------------------------------------------------ writing


def write(model, path):
    """Write a fitted estimator to ``path`` (atomically) or a binary file object: ``gmmcore._model_io.save``."""
    data = _encode(model)
    if hasattr(path, "write"):
        path.write(data)
        return
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = _new_file(folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _new_file(folder):
    """(fd, path) of a new temporary file in ``folder``, with the mode of any new file: 0o666 less the umask.

    Not ``tempfile.mkstemp``, whose files are 0o600 whatever the umask: the
    model file is this file renamed, and must be readable as an ordinary
    file is (by a service, a group). ``O_EXCL`` makes the name ours.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".gmmcore-{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def _encode(model):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    dtype = np.dtype(model.means_.dtype).newbyteorder("<")
    dtype_name = {np.dtype("<f4"): "float32", np.dtype("<f8"): "float64"}[dtype]
    n_components, n_features = model.means_.shape
    bayesian = hasattr(model, "weight_concentration_")  # a fitted BayesianGaussianMixture
    weight_prior_type = model.weight_concentration_prior_type if bayesian else None
    values = {
        "weights": model.weights_,
        "means": model.means_,
        "covariances": model.covariances_,
        "precisions_cholesky": model.precisions_cholesky_,
        "precisions": model.precisions_,
        "lower_bound": np.float64(model.lower_bound_),
        "lower_bounds": np.asarray(model.lower_bounds_, dtype=np.float64),
    }
    if bayesian:
        values["weight_concentration"] = np.atleast_2d(np.vstack(np.atleast_2d(model.weight_concentration_)))
        for name in ("mean_precision", "degrees_of_freedom", "mean_prior", "covariance_prior"):
            values[name] = np.asarray(getattr(model, name + "_"))
        for name in ("weight_concentration_prior", "mean_precision_prior", "degrees_of_freedom_prior"):
            values[name] = np.float64(getattr(model, name + "_"))
    toc = expected_arrays(
        model.covariance_type, n_components, n_features, dtype, len(values["lower_bounds"]), weight_prior_type
    )
    chunks = []
    for name, array_dtype, shape in toc:
        array = np.asarray(values[name])
        if array.shape != shape:
            raise ValueError(f"cannot save: {name} has shape {array.shape}, expected {shape}")
        # astype to the same kind of float only changes the byte order, never a value.
        chunks.append(np.ascontiguousarray(array.astype(array_dtype, copy=False)).tobytes(order="C"))
    payload = b"".join(chunks)
    names = getattr(model, "feature_names_in_", None)
    header = {
        "format": "gmmcore-model",
        "gmmcore_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "covariance_type": model.covariance_type,
        "n_components": int(n_components),
        "n_features": int(n_features),
        "dtype": dtype_name,
        "params": {
            name: convert(getattr(model, name))
            for name, (_, convert) in stored_params(type(model)._parameter_constraints).items()
        },
        "fit": {"converged": bool(model.converged_), "n_iter": int(model.n_iter_)},
        **(
            {
                "estimator": "BayesianGaussianMixture",
                # Array-valued priors the user gave (restored from the stored *_prior_ arrays on loading).
                "given_priors": [name for name in ARRAY_PRIORS if getattr(model, name) is not None],
            }
            if bayesian
            else {}
        ),
        "feature_names": None if names is None else [str(n) for n in names],
        "payload_nbytes": len(payload),
        "arrays": [{"name": n, "dtype": t.str, "shape": list(s)} for n, t, s in toc],
    }
    header_bytes = json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")
    body = PREFIX.pack(MAGIC, FORMAT_VERSION, len(header_bytes)) + header_bytes + payload
    return body + hashlib.sha256(body).digest()
