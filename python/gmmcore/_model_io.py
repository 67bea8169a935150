"""Model files: save and load a fitted :class:`gmmcore.GaussianMixture` or :class:`gmmcore.BayesianGaussianMixture`.

``GaussianMixture.save(path)``, :func:`gmmcore.load` and the ``gmmcore``
command line all use the format below. It is a small binary container rather
than pickle (loading a pickle can run arbitrary code) or ``.npz`` (a zip
archive: its members can be reordered, compressed or left out, and it has no
place for a format version or a whole-file checksum without extra
conventions). Everything here is read with ``struct``, ``json`` and
``numpy.frombuffer``: loading never executes code from the file.

Format, version 1
-----------------
All integers are little-endian. ``H`` is the header length, ``P`` the payload
length.

=========  =======  ====================================================
offset     size     content
=========  =======  ====================================================
0          8        magic bytes ``b"GMMCORE\\0"``
8          4        format version, uint32 (this module writes 1)
12         8        header length ``H``, uint64
20         H        header: a JSON object, UTF-8 (described below)
20+H       P        payload: the arrays, back to back, no padding
20+H+P     32       SHA-256 of every byte before it (offsets 0 to 20+H+P)
=========  =======  ====================================================

The header object has these keys (strict JSON: no NaN or Infinity, so every
float that must round-trip exactly is in the payload instead; every integer
fits in an int64 and every number is finite):

``format`` (``"gmmcore-model"``), ``gmmcore_version`` (the writer's version),
``created`` (UTC, ISO 8601), ``covariance_type`` (``"full"``, ``"tied"``,
``"diag"`` or ``"spherical"``), ``n_components``, ``n_features``, ``dtype``
(``"float32"`` or ``"float64"``, the dtype of the parameters),
``params`` (the estimator's scalar constructor parameters: ``tol``,
``reg_covar``, ``max_iter``, ``n_init``, ``init_params``, ``random_state``
(an int, or null when it was not an int), ``warm_start``, ``verbose``,
``verbose_interval``, ``learning_decay``, ``learning_offset``; files written
before the last two existed lack them, and load with their defaults; the state
of a ``partial_fit`` stream is not stored), ``fit`` (``converged``, ``n_iter``),
``feature_names`` (list of str, or null: the ``feature_names_in_`` of a model
fitted on a DataFrame), ``payload_nbytes`` (``P``) and ``arrays``, the payload's
table of contents: a list of ``{"name", "dtype", "shape"}`` in payload order,
where ``dtype`` is ``"<f4"`` or ``"<f8"`` and each array is stored in C order.

Version 1 stores, in this order: ``weights`` (n_components,), ``means``
(n_components, n_features), ``covariances``, ``precisions_cholesky`` and
``precisions`` (shape (n_components, n_features, n_features) for "full",
(n_features, n_features) for "tied", (n_components, n_features) for "diag",
(n_components,) for "spherical"), all of the model's dtype, then
``lower_bound`` (shape (), float64) and ``lower_bounds`` (shape (n,),
float64, one value per iteration of the best initialisation). The arrays are the fitted attributes' exact bits.

A :class:`gmmcore.BayesianGaussianMixture` is stored in the same format with
the header key ``estimator`` set to ``"BayesianGaussianMixture"`` (absent:
a GaussianMixture), its own scalar parameters in ``params``
(``weight_concentration_prior_type``, and ``weight_concentration_prior``,
``mean_precision_prior``, ``degrees_of_freedom_prior`` as numbers or null),
and ``given_priors``, the names among ``mean_prior`` and ``covariance_prior``
that were given as parameters (loading sets them to the stored fitted
priors). Between ``precisions`` and ``lower_bound`` its payload holds the
posterior, of the model's dtype: ``weight_concentration`` (2, n_components)
for "dirichlet_process" (the sticks' two Beta parameters) or
(1, n_components), ``mean_precision`` (n_components,),
``degrees_of_freedom`` (n_components,) or () for "tied"; then the fitted
priors in float64: ``weight_concentration_prior`` (), ``mean_precision_prior``
(), ``mean_prior`` (n_features,), ``degrees_of_freedom_prior`` () and
``covariance_prior`` ((n_features, n_features) for "full" and "tied",
(n_features,) for "diag", () for "spherical"). Its weights always sum to 1;
the posterior's concentrations and precisions must be positive, its degrees
of freedom above n_features - 1, and its covariance prior symmetric positive
semi-definite (or non-negative). gmmcore versions before
BayesianGaussianMixture refuse such files as invalid.

Reading checks, in order: the magic bytes (else "not a gmmcore model file"),
the version (a larger one: "was written by a newer gmmcore"), the length
(short: "is truncated"), the checksum (mismatch: "is corrupt"), then that the
header describes a valid model: its keys and their types, and a table of
arrays whose sizes (computed with Python ints, so they cannot overflow) add
up to the payload's, before any array is read. Then the arrays' values: all
finite (``lower_bound`` may be -inf, as after ``max_iter=0``); weights
non-negative and summing to 1 (with no EM iteration, ``n_iter`` 0, to at most
1: scikit-learn's "k-means++" and "random_from_data" initialisations weigh
only their K seed samples); the precision Cholesky factor positive ("diag",
"spherical") or upper triangular with a positive diagonal ("full", "tied");
the precisions equal to that factor times its transpose (its square for
"diag", "spherical") and the covariances their inverse. Those three are
computed from one another, so they need only agree to rounding: each entry
within a relative tolerance (1e-6 for float64, 1e-4 for float32, as in the
native code's checks; the weights' sum too) of a bound on its rounding error
that does not depend on the features' units, so an ill-conditioned model in
any units still passes. Last, the parameters must meet the estimator's own
constraints (``tol >= 0``, a known ``init_params``, ...).

Each failure raises :class:`ModelFileError`, a ``ValueError``, with the path
and a short reason in its message; no damage makes loading crash, hang or
allocate more than a few times the file's size. Readers of a later version
keep reading version 1.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import reprlib
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from ._covariance import COVARIANCE_TYPES
from ._mixture import GaussianMixture
from ._model_format import (
    ARRAY_PRIORS,
    DIGEST_SIZE,
    DTYPES,
    ESTIMATORS,
    FORMAT_VERSION,
    MAGIC,
    PARAMS_ADDED_SINCE_VERSION_1,
    PREFIX,
    ModelFileError,
    expected_arrays,
    stored_params,
    write,
)

if TYPE_CHECKING:
    from ._bayesian import BayesianGaussianMixture

__all__ = ["FORMAT_VERSION", "MAGIC", "ModelFileError", "load", "save"]

_MAX_HEADER_SIZE = 1 << 26  # far above any real header; a larger length field is damage
# How closely the weights' sum and the arrays derived from one another must agree: the native
# code's validation_rtol (cpp/include/gmmcore/checks.hpp), far above rounding.
_RTOL = {"float32": 1e-4, "float64": 1e-6}
_INT64 = range(-(1 << 63), 1 << 63)


def _describe(target):
    return os.fspath(target) if isinstance(target, (str, bytes, os.PathLike)) else getattr(target, "name", "<file>")


# ------------------------------------------------------------------ writing


def save(model: GaussianMixture | BayesianGaussianMixture, path: str | os.PathLike | BinaryIO) -> None:
    """Write a fitted :class:`~gmmcore.GaussianMixture` (or BayesianGaussianMixture) to a model file.

    The parameters are stored bit for bit; see the module docstring for the
    format. A path is written atomically (a temporary file in the same
    folder, then renamed), so a failed save never leaves half a file; the
    file gets the permissions of any new file (0o666 less the umask).

    Parameters
    ----------
    model : GaussianMixture or BayesianGaussianMixture
        A fitted estimator.
    path : str, os.PathLike or binary file object

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When ``model`` is not fitted.

    Examples
    --------
    >>> import numpy as np, gmmcore, tempfile, os
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> gm = gmmcore.GaussianMixture(2, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.gmm")
    >>> save(gm, path)
    >>> bool(np.array_equal(load(path).means_, gm.means_))
    True
    """
    write(model, path)


# ------------------------------------------------------------------ reading


def load(path: str | os.PathLike | BinaryIO) -> GaussianMixture | BayesianGaussianMixture:
    """Read a model file written by :func:`save` into the fitted estimator it holds.

    A :class:`~gmmcore.GaussianMixture`, or a
    :class:`~gmmcore.BayesianGaussianMixture` with its posterior and priors.

    Never executes code from the file. The returned estimator has the saved
    parameters bit for bit, its scalar constructor parameters and fit
    metadata (``converged_``, ``n_iter_``, ``lower_bound_``,
    ``lower_bounds_``, ``n_features_in_``, ``feature_names_in_`` when saved),
    so ``predict``, ``score``, ``sample`` and so on work at once.

    Parameters
    ----------
    path : str, os.PathLike or binary file object

    Returns
    -------
    model : GaussianMixture or BayesianGaussianMixture

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    ModelFileError
        (a ``ValueError``) when the file is not a gmmcore model file, is
        truncated or corrupt, describes an invalid model, or was written by a
        newer gmmcore.

    Examples
    --------
    >>> import numpy as np, gmmcore, tempfile, os
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.gmm")
    >>> save(gmmcore.GaussianMixture(2, random_state=0).fit(X), path)
    >>> load(path).predict(X[:3]).shape
    (3,)
    """
    name = _describe(path)
    if hasattr(path, "read"):
        data = path.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    header, arrays = _decode(data, name)
    return _build(header, arrays)


def _decode(data, name):
    """(header, {name: array}) from a whole file's bytes, after every check in the module docstring."""

    def fail(message):
        raise ModelFileError(f"{name}: {message}")

    if not data:
        fail("empty file, not a gmmcore model file")
    if len(data) < PREFIX.size:
        if MAGIC.startswith(data[: len(MAGIC)]):
            fail(f"model file is truncated ({len(data)} bytes)")
        fail("not a gmmcore model file")
    magic, version, header_size = PREFIX.unpack_from(data)
    if magic != MAGIC:
        fail("not a gmmcore model file")
    if version > FORMAT_VERSION:
        fail(
            f"was written by a newer gmmcore (model format {version}); this gmmcore reads "
            f"format {FORMAT_VERSION} and older: upgrade gmmcore to load it"
        )
    if version < 1:
        fail(f"model file is corrupt (format version {version})")
    if header_size > _MAX_HEADER_SIZE:
        fail(f"model file is corrupt (header length {header_size})")
    header_end = PREFIX.size + header_size
    if len(data) < header_end + DIGEST_SIZE:
        fail(f"model file is truncated ({len(data)} bytes, the header alone needs {header_end + DIGEST_SIZE})")
    try:
        header = _parse_json(data[PREFIX.size : header_end].decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        header = None
    payload_size = header.get("payload_nbytes") if isinstance(header, dict) else None
    expected_size = None
    if type(payload_size) is int and payload_size >= 0:
        expected_size = header_end + payload_size + DIGEST_SIZE
    if expected_size is not None and len(data) < expected_size:
        fail(f"model file is truncated ({len(data)} bytes, expected {expected_size})")
    if hashlib.sha256(data[:-DIGEST_SIZE]).digest() != data[-DIGEST_SIZE:]:
        fail("model file is corrupt (checksum mismatch)")
    if header is None or expected_size != len(data):
        fail("model file is corrupt (invalid header)")
    try:
        arrays = _check_header(header, data[header_end:-DIGEST_SIZE])
    except (ValueError, TypeError, KeyError) as error:
        reason = str(error)  # short, but the estimator's parameter errors quote the whole value
        fail(f"invalid model file ({reason if len(reason) <= 300 else reason[:300] + '...'})")
    return header, arrays


def _parse_json(text):
    """The header's JSON value; ValueError for an integer outside int64 or a non-finite number."""

    def integer(digits):
        value = int(digits)  # over 4300 digits: ValueError
        if value not in _INT64:
            raise ValueError("integer out of range")
        return value

    def number(digits):
        value = float(digits)
        if not math.isfinite(value):
            raise ValueError("number out of range")
        return value

    def constant(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_int=integer, parse_float=number, parse_constant=constant)


def _check_header(header, payload):
    """The payload's arrays, after checking that the header describes a valid version-1 model."""

    def require(condition, message):
        if not condition:
            raise ValueError(message)

    short = reprlib.repr  # values quoted in messages may be huge or deeply nested
    require(header.get("format") == "gmmcore-model", "'format' is not 'gmmcore-model'")
    covariance_type = header["covariance_type"]
    require(covariance_type in COVARIANCE_TYPES, f"unknown covariance_type {short(covariance_type)}")
    k, d = header["n_components"], header["n_features"]
    for key, value in (("n_components", k), ("n_features", d)):
        require(type(value) is int and value >= 1, f"{key} must be a positive integer, got {short(value)}")
    dtype_name = header["dtype"]
    require(isinstance(dtype_name, str) and dtype_name in DTYPES, f"unsupported dtype {short(dtype_name)}")
    params, fit = header["params"], header["fit"]
    estimator = header.get("estimator", ESTIMATORS[0])
    require(estimator in ESTIMATORS, f"unknown estimator {short(estimator)}")
    cls = _estimator_class(estimator)
    param_types = {name: types for name, (types, _) in stored_params(cls._parameter_constraints).items()}
    # A file from an earlier gmmcore lacks the parameters added since: they take their defaults.
    required = set(param_types) - set(PARAMS_ADDED_SINCE_VERSION_1)
    keys_ok = isinstance(params, dict) and required <= set(params) <= set(param_types)
    require(
        keys_ok, f"params must have the keys {sorted(param_types)} (or all but {list(PARAMS_ADDED_SINCE_VERSION_1)})"
    )
    for key, types in param_types.items():
        if key not in params:
            continue
        value = params[key]
        ok = isinstance(value, types) and not (types is not bool and isinstance(value, bool))
        require(ok, f"params.{key} has the wrong type ({short(value)})")
    require(isinstance(fit, dict) and type(fit["converged"]) is bool, "fit.converged must be a boolean")
    n_iter = fit["n_iter"]
    require(type(n_iter) is int and n_iter >= 0, "fit.n_iter must be a non-negative integer")
    names = header["feature_names"]
    require(
        names is None or (isinstance(names, list) and len(names) == d and all(isinstance(n, str) for n in names)),
        "feature_names must be null or n_features strings",
    )
    entries = header["arrays"]
    require(
        isinstance(entries, list) and all(isinstance(a, dict) and isinstance(a.get("shape"), list) for a in entries),
        "arrays must be a list of {name, dtype, shape} objects",
    )
    toc = [(a["name"], a["dtype"], tuple(a["shape"])) for a in entries]
    n_lower_bounds = toc[-1][2][0] if toc and len(toc[-1][2]) == 1 else -1
    require(type(n_lower_bounds) is int and n_lower_bounds >= 0, "lower_bounds must be a 1-D array")
    weight_prior_type = None
    if estimator == "BayesianGaussianMixture":
        weight_prior_type = params.get("weight_concentration_prior_type")
        require(weight_prior_type in ("dirichlet_process", "dirichlet_distribution"), "unknown weight prior type")
        given = header.get("given_priors")
        require(
            isinstance(given, list) and all(isinstance(n, str) for n in given) and set(given) <= set(ARRAY_PRIORS),
            f"given_priors must be a list of names among {list(ARRAY_PRIORS)}",
        )
    expected = expected_arrays(covariance_type, k, d, DTYPES[dtype_name], n_lower_bounds, weight_prior_type)
    require(toc == [(n, t.str, s) for n, t, s in expected], "the table of arrays does not match the model")
    sizes = [t.itemsize * math.prod(s) for _, t, s in expected]  # Python ints: no overflow, whatever the shapes
    require(sum(sizes) == header["payload_nbytes"] == len(payload), "payload size does not match the arrays")
    arrays, offset = {}, 0
    for (name, dtype, shape), size in zip(expected, sizes):
        # .copy(): writable arrays that own their memory, independent of the file's bytes.
        array = np.frombuffer(payload, dtype=dtype, count=size // dtype.itemsize, offset=offset).reshape(shape)
        arrays[name] = array.astype(dtype.newbyteorder("="), copy=True)
        offset += size
    if weight_prior_type is not None:
        _check_posterior(covariance_type, d, arrays)
    _check_values(covariance_type, arrays, _RTOL[dtype_name], em_ran=n_iter > 0 or weight_prior_type is not None)
    # The estimator's own constraints (tol >= 0, a known init_params, ...): InvalidParameterError is a ValueError.
    cls(n_components=k, covariance_type=covariance_type, **params)._validate_params()
    return arrays


def _estimator_class(name):
    if name == "BayesianGaussianMixture":
        from ._bayesian import BayesianGaussianMixture

        return BayesianGaussianMixture
    return GaussianMixture


def _check_posterior(covariance_type, n_features, arrays):
    """Raise ValueError unless a BayesianGaussianMixture's posterior and priors are usable (all finite already)."""
    for name in ("weight_concentration", "mean_precision", "weight_concentration_prior", "mean_precision_prior"):
        if not np.all(arrays[name] > 0):
            raise ValueError(f"{name} must be positive")
    for name in ("degrees_of_freedom", "degrees_of_freedom_prior"):
        if not np.all(arrays[name] > n_features - 1):
            raise ValueError(f"{name} must be greater than n_features - 1")
    prior = arrays["covariance_prior"].astype(np.float64)
    if covariance_type in ("full", "tied"):
        symmetric = np.allclose(prior, prior.T)
        if not (symmetric and np.linalg.eigvalsh(prior).min() >= -1e-10 * max(1.0, np.abs(prior).max())):
            raise ValueError("covariance_prior must be symmetric positive semi-definite")
    elif not np.all(prior >= 0):
        raise ValueError("covariance_prior must be non-negative")


def _check_values(covariance_type, arrays, rtol, em_ran):
    """Raise ValueError unless the arrays hold a usable model (see "Reading checks" in the module docstring)."""

    def require(condition, message):
        if not condition:
            raise ValueError(message)

    def within(difference, bound):
        return bool(np.all(np.abs(difference) <= bound) and np.all(np.isfinite(bound)))

    for name, array in arrays.items():
        finite = np.isfinite(array).all() or (name == "lower_bound" and array == -np.inf)
        require(finite, f"{name} has NaN or infinite values")
    names = ("weights", "precisions_cholesky", "precisions", "covariances")
    weights, u, p, c = (arrays[name].astype(np.float64, copy=False) for name in names)
    with np.errstate(all="ignore"):  # an overflow gives inf or NaN, which fails the checks below
        total = weights.sum()
        normalised = abs(total - 1) <= rtol if em_ran else 0 < total <= 1 + rtol
        require(np.all(weights >= 0) and normalised, "weights must be non-negative and sum to 1")
        if covariance_type in ("diag", "spherical"):
            require(np.all(u > 0), "precisions_cholesky must be positive")
            require(within(np.sqrt(p) - u, rtol * u), "precisions do not match precisions_cholesky")
            require(within(c * p - 1, rtol), "covariances are not the inverse of the precisions")
            return
        d = u.shape[-1]
        u, p, c = (a.reshape(-1, d, d) for a in (u, p, c))
        upper = not np.tril(u, -1).any() and np.all(np.diagonal(u, axis1=1, axis2=2) > 0)
        require(upper, "precisions_cholesky must be upper triangular with a positive diagonal")
        # Entry (i, j) against a bound on its rounding error that is the same in any units:
        # |U_i| |U_j| (row norms) for U U^T, sqrt(C_ii P_jj) * sum_k sqrt(C_kk P_kk) for C P.
        norms = np.sqrt(np.square(u).sum(axis=2))
        bound = rtol * norms[:, :, None] * norms[:, None, :]
        require(within(p - u @ u.transpose(0, 2, 1), bound), "precisions do not match precisions_cholesky")
        c_ii, p_ii = np.diagonal(c, axis1=1, axis2=2), np.diagonal(p, axis1=1, axis2=2)
        bound = rtol * np.sqrt(c_ii[:, :, None] * p_ii[:, None, :]) * np.sqrt(c_ii * p_ii).sum(axis=1)[:, None, None]
        require(within(c @ p - np.eye(d), bound), "covariances are not the inverse of the precisions")


def _build(header, arrays):
    """A fitted GaussianMixture or BayesianGaussianMixture from a checked header and its arrays."""
    cls = _estimator_class(header.get("estimator", ESTIMATORS[0]))
    model = cls(n_components=header["n_components"], covariance_type=header["covariance_type"], **header["params"])
    if cls is not GaussianMixture:
        _build_posterior(model, header, arrays)
    model.weights_ = arrays["weights"]
    model.means_ = arrays["means"]
    model.covariances_ = arrays["covariances"]
    model.precisions_cholesky_ = arrays["precisions_cholesky"]
    model.precisions_ = arrays["precisions"]
    model.converged_ = header["fit"]["converged"]
    model.n_iter_ = header["fit"]["n_iter"]
    model.lower_bound_ = float(arrays["lower_bound"])
    model.lower_bounds_ = [float(v) for v in arrays["lower_bounds"]]
    model.n_features_in_ = header["n_features"]
    if header["feature_names"] is not None:
        model.feature_names_in_ = np.asarray(header["feature_names"], dtype=object)
    return model


def _build_posterior(model, header, arrays):
    """A BayesianGaussianMixture's posterior and fitted priors (scikit-learn's types: tuples, floats)."""
    concentration = arrays["weight_concentration"]
    if model.weight_concentration_prior_type == "dirichlet_process":
        model.weight_concentration_ = (concentration[0], concentration[1])
    else:
        model.weight_concentration_ = concentration[0]
    model.mean_precision_ = arrays["mean_precision"]
    dof = arrays["degrees_of_freedom"]
    model.degrees_of_freedom_ = dof[()] if dof.ndim == 0 else dof
    for name in ("weight_concentration_prior", "mean_precision_prior", "degrees_of_freedom_prior"):
        setattr(model, name + "_", float(arrays[name]))
    model.mean_prior_ = arrays["mean_prior"]
    prior = arrays["covariance_prior"]
    model.covariance_prior_ = float(prior) if prior.ndim == 0 else prior
    for name in header["given_priors"]:
        setattr(model, name, getattr(model, name + "_"))
