"""Fuzzing the model-file reader: a damaged file gives a clear error, never a crash or a bad model.

The property: loading a mutated model file either raises
:class:`~gmmcore._model_io.ModelFileError` (a ``ValueError``) with a short
message that starts with the file's name, or returns a *valid* model: the
saved one exactly when the mutation is semantically neutral (reordered keys,
whitespace, an unknown extra key), else one that differs only where the
mutation allows it (a metadata field set to another valid value, or payload
values) and that still holds finite, non-negative, normalised weights, an
upper-triangular precision Cholesky factor with a positive diagonal, and
precisions and covariances that agree with it. Any other exception is a crash.

Mutations, on small models (K=2, D=3) of every covariance type and dtype:

* truncation at every offset, and every single-bit flip of every file
  (unsealed: the SHA-256 trailer catches them);
* re-sealed mutations (the trailer recomputed, so the checks behind the
  checksum run): every header field, nested ones included, overwritten with
  hostile JSON (huge and negative ints, floats, NaN, Infinity, strings,
  null, lists, objects, 100000-deep nesting, ...); keys removed, added and
  reordered; the header-length and version fields rewritten; sizes that
  overflow int64; headers that are not UTF-8 or not a JSON object; payload
  values that break the model (NaN, inf, negative or unnormalised weights,
  non-positive Cholesky diagonals, inconsistent precisions and covariances);
* a seeded random campaign of byte edits: unsealed anywhere, re-sealed in
  the header text, re-sealed in the payload.

``GMMCORE_FUZZ_EXAMPLES`` (default 3000) is the number of random mutations
of each of the campaign's three kinds; run a longer campaign with, e.g.,
``GMMCORE_FUZZ_EXAMPLES=200000 python -m pytest tests/test_model_file_fuzz.py``.
Every test counts the files it loads in ``TRIED``; ``test_inputs_tried``
checks the total (143,499 by default) and records it, like each test its own
count, as the ``fuzz_inputs`` property (shown by ``--junitxml``).
"""

import copy
import hashlib
import io
import json
import math
import os
import random
import struct
from collections import Counter

import numpy as np
import pytest
from gmmcore import GaussianMixture, load
from gmmcore._model_io import ModelFileError

SEED = 20240611
EXAMPLES = int(os.environ.get("GMMCORE_FUZZ_EXAMPLES", "3000"))
NAME = "fuzz.gmm"
PREFIX = struct.Struct("<8sIQ")
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_")
PARAMS = (
    "tol",
    "reg_covar",
    "max_iter",
    "n_init",
    "init_params",
    "random_state",
    "warm_start",
    "verbose",
    "verbose_interval",
)
PAYLOAD_STATE = frozenset(FITTED) | {"lower_bound_", "lower_bounds_"}
METADATA_STATE = frozenset(PARAMS) | {"converged_", "n_iter_", "feature_names_in_"}
TRIED = Counter()  # files loaded, per test

# Raw JSON texts written in place of a header value (NaN, Infinity and the deep nestings are
# not JSON that json.dumps writes, so the values are spliced in as text).
HOSTILE = [
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "-0",
    "7",
    str(2**31),
    str(2**32 - 1),
    str(2**32),
    str(2**53 + 1),
    str(2**62),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    str(10**30),
    str(-(2**63)),
    str(-(2**63) - 1),
    "1" + "0" * 5000,
    "0.5",
    "2.0",
    "-0.0",
    "1e-320",
    "1e308",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    '""',
    '"x"',
    '"full"',
    '"float32"',
    '"<f4"',
    '"weights"',
    '"\\u0000"',
    '"\\ud800"',
    '"' + "a" * 100000 + '"',
    "null",
    "true",
    "false",
    "[]",
    "{}",
    "[1]",
    "[2,3]",
    "[3,3]",
    "[[2,3]]",
    "[null]",
    '["a","b","c"]',
    '{"a":1}',
    "[1099511627776,1099511627776]",
    "[" * 100000,
    "[" * 3000 + "]" * 3000,
    "[" * 900 + "]" * 900,
]


# ------------------------------------------------------------------ files


def to_bytes(model):
    buffer = io.BytesIO()
    model.save(buffer)
    return buffer.getvalue()


def load_bytes(data):
    buffer = io.BytesIO(data)
    buffer.name = NAME
    return load(buffer)


def split(data):
    """(header dict, payload bytes) of a well-formed file."""
    header_size = PREFIX.unpack_from(data)[2]
    return json.loads(data[PREFIX.size : PREFIX.size + header_size]), data[PREFIX.size + header_size : -32]


def seal(header_bytes, payload, version=1, header_size=None):
    """A file around these bytes with a valid SHA-256 trailer."""
    size = len(header_bytes) if header_size is None else header_size
    body = PREFIX.pack(b"GMMCORE\0", version, size) + header_bytes + payload
    return body + hashlib.sha256(body).digest()


def dump(header, **kwargs):
    return json.dumps(header, separators=(",", ":"), **kwargs).encode("utf-8")


def nodes(value, path=()):
    """Every path into a JSON value (the root included), parents first."""
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from nodes(child, path + (key,))


def at(value, path):
    for key in path:
        value = value[key]
    return value


def with_raw(header, path, raw):
    """The header's JSON text with the value at `path` replaced by the raw JSON text `raw`."""
    if not path:
        return raw.encode("utf-8")
    marker = "\x00fuzz\x00"
    parent = at(header, path[:-1])
    saved, parent[path[-1]] = parent[path[-1]], marker
    try:
        return dump(header).replace(json.dumps(marker).encode(), raw.encode("utf-8"))
    finally:
        parent[path[-1]] = saved


def may_change(path):
    """What a model loaded from a header edited at `path` may hold differently from the saved one."""
    if path[:1] == ("params",):
        return frozenset(PARAMS) if len(path) == 1 else frozenset({path[1]})
    if path[:1] == ("fit",):
        return frozenset({"converged_", "n_iter_"}) if len(path) == 1 else frozenset({path[1] + "_"})
    if path[:1] == ("feature_names",):
        return frozenset({"feature_names_in_"})
    return frozenset()


def expected_shapes(covariance_type, k, d, n_lower_bounds):
    p = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]
    return [(k,), (k, d), p, p, p, (), (n_lower_bounds,)]


def payload_views(header, buffer):
    """{name: writable array over its bytes in `buffer`}, from the header's table of arrays."""
    views, offset = {}, 0
    for entry in header["arrays"]:
        dtype, shape = np.dtype(entry["dtype"]), tuple(entry["shape"])
        count = math.prod(shape)
        views[entry["name"]] = np.frombuffer(buffer, dtype, count, offset).reshape(shape)
        offset += count * dtype.itemsize
    return views


# ------------------------------------------------------------------ the oracle


def state(model):
    """Everything a loaded model holds, bit for bit."""
    arrays = {name: getattr(model, name) for name in FITTED}
    result = {name: (array.dtype.str, array.shape, array.tobytes()) for name, array in arrays.items()}
    result.update(model.get_params())
    result["lower_bound_"] = np.float64(model.lower_bound_).tobytes()
    result["lower_bounds_"] = np.asarray(model.lower_bounds_, dtype=np.float64).tobytes()
    for name in ("converged_", "n_iter_", "n_features_in_"):
        result[name] = getattr(model, name)
    names = getattr(model, "feature_names_in_", None)
    result["feature_names_in_"] = None if names is None else tuple(names)
    return result


def invalid(model):
    """What makes a loaded model invalid, as a list of messages (empty when valid).

    The tolerances are far looser than the reader's: this catches arrays that
    disagree, not rounding.
    """
    problems = []
    try:
        model._validate_params()
    except ValueError as error:
        problems.append(f"invalid parameters ({error})")
    k, d = model.n_components, model.n_features_in_
    arrays = [getattr(model, name) for name in FITTED]
    shapes = expected_shapes(model.covariance_type, k, d, 0)[:5]
    dtype = arrays[1].dtype
    if not all(isinstance(a, np.ndarray) and (a.shape, a.dtype) == (s, dtype) for a, s in zip(arrays, shapes)):
        return problems + ["arrays of the wrong shapes or dtypes"]
    if arrays[1].dtype not in (np.float32, np.float64):
        return problems + [f"dtype {arrays[1].dtype}"]
    with np.errstate(all="ignore"):
        weights, _, covariances, chol, precisions = (a.astype(np.float64) for a in arrays)
        if not all(np.isfinite(a).all() for a in arrays):
            return problems + ["non-finite parameters"]
        total = weights.sum()
        if not (np.all(weights >= 0) and (abs(total - 1) <= 1e-2 if model.n_iter_ else 0 < total <= 1.01)):
            problems.append(f"weights {weights}")
        if model.covariance_type in ("full", "tied"):
            u = chol.reshape(-1, d, d)
            p, c = precisions.reshape(-1, d, d), covariances.reshape(-1, d, d)
            if np.tril(u, -1).any() or not np.all(np.diagonal(u, 0, 1, 2) > 0):
                problems.append("precisions_cholesky_ not upper triangular with a positive diagonal")
            uu, scale = u @ u.transpose(0, 2, 1), np.abs(u) @ np.abs(u).transpose(0, 2, 1)
            if not np.all(np.abs(p - uu).max(axis=(1, 2)) <= 1e-2 * scale.max(axis=(1, 2))):
                problems.append("precisions_ != precisions_cholesky_ @ its transpose")
            residual, scale = np.abs(c @ p - np.eye(d)), np.abs(c) @ np.abs(p)
            if not np.all(residual.max(axis=(1, 2)) <= 1e-2 * scale.max(axis=(1, 2))):
                problems.append("covariances_ is not the inverse of precisions_")
        else:
            if not np.all(chol > 0):
                problems.append("precisions_cholesky_ not positive")
            squares = np.allclose(precisions, chol**2, rtol=1e-2)
            if not (squares and np.allclose(covariances * precisions, 1, rtol=1e-2)):
                problems.append("precisions_cholesky_, precisions_ and covariances_ disagree")
    lower_bound, lower_bounds = model.lower_bound_, model.lower_bounds_
    if type(lower_bound) is not float or np.isnan(lower_bound) or lower_bound == np.inf:
        problems.append(f"lower_bound_ {lower_bound!r}")
    if not (isinstance(lower_bounds, list) and all(type(v) is float and np.isfinite(v) for v in lower_bounds)):
        problems.append("lower_bounds_ not a list of finite floats")
    if type(model.converged_) is not bool or type(model.n_iter_) is not int or model.n_iter_ < 0:
        problems.append(f"converged_ {model.converged_!r}, n_iter_ {model.n_iter_!r}")
    names = getattr(model, "feature_names_in_", None)
    if names is not None and not (names.shape == (d,) and all(isinstance(n, str) for n in names)):
        problems.append(f"feature_names_in_ {names!r}")
    return problems


class Campaign:
    """Loads mutated files, collecting every misbehaviour so that one failure lists them all."""

    def __init__(self, request):
        self.key, self.failures, self.tried = request.node.name, [], 0
        self.record = request.node.user_properties
        self.states = {}

    def state_of(self, original):
        if id(original) not in self.states:
            self.states[id(original)] = state(original)
        return self.states[id(original)]

    def load(self, data, original, what, outcome="valid", allowed=frozenset()):
        """Load `data`; `outcome` says what `original`'s mutation must give.

        "error": a ModelFileError. "identical": exactly `original`. "valid":
        a ModelFileError, or a valid model equal to `original` outside `allowed`.
        """
        TRIED[self.key] += 1
        self.tried += 1
        problem = None
        try:
            loaded = load_bytes(data)
        except ModelFileError as error:
            message = str(error)
            if not (message.startswith(NAME + ": ") and len(NAME) + 2 < len(message) <= 500):
                problem = f"unclear message {message[:200]!r}... ({len(message)} characters)"
            elif outcome == "identical":
                problem = f"rejected a neutral mutation: {message}"
        except Exception as error:  # noqa: BLE001 -- any other exception is the bug being hunted
            problem = f"crashed with {type(error).__name__}: {str(error)[:200]}"
        else:
            if outcome == "error":
                problem = "loaded a model"
            else:
                problem = "; ".join(invalid(loaded))
                if not problem:
                    before, after = self.state_of(original), state(loaded)
                    changed = {k for k in before if (type(before[k]), before[k]) != (type(after[k]), after[k])}
                    changed -= frozenset() if outcome == "identical" else allowed
                    if changed:
                        problem = f"loaded a different model ({', '.join(sorted(changed))} changed)"
        if problem:
            self.failures.append(f"{what}: {problem}")

    def check(self, minimum):
        self.record.append(("fuzz_inputs", self.tried))
        shown = "\n".join(self.failures[:30])
        assert not self.failures, f"{len(self.failures)} of {self.tried} mutated files misbehaved:\n{shown}"
        assert self.tried >= minimum


@pytest.fixture
def campaign(request):
    return Campaign(request)


def _training_data():
    rng = np.random.default_rng(SEED)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -2.0]])
    return centres[rng.integers(0, 2, 40)] + rng.normal(scale=[1.0, 0.6, 0.8], size=(40, 3))


@pytest.fixture(scope="module")
def saved():
    """{label: (model, its file's bytes)}: small models of every covariance type and dtype."""
    X = _training_data()
    models = {}
    for covariance_type in COVARIANCE_TYPES:
        for dtype in (np.float64, np.float32):
            model = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
            models[f"{covariance_type}-{np.dtype(dtype).name}"] = model.fit(X.astype(dtype))
    named = GaussianMixture(2, covariance_type="tied", tol=1e-4, random_state=0).fit(X)
    named.feature_names_in_ = np.array(["a", "b", "c"], dtype=object)
    models["tied-float64-feature-names"] = named
    # No EM iteration: lower_bound_ is -inf, lower_bounds_ is empty, and (as in scikit-learn) "k-means++"
    # leaves the weights of its 2 seed samples, 2/40 in all: each valid.
    models["full-float64-max_iter-0"] = GaussianMixture(2, max_iter=0, init_params="k-means++", random_state=0).fit(X)
    return {label: (model, to_bytes(model)) for label, model in models.items()}


def test_fixture_files_load_identically(saved, campaign):
    for label, (model, data) in saved.items():
        campaign.load(data, model, label, "identical")
    campaign.check(len(saved))


# ------------------------------------------------------------------ unsealed damage


def test_truncation_at_every_offset(saved, campaign):
    for label, (model, data) in saved.items():
        for keep in range(len(data)):
            campaign.load(data[:keep], model, f"{label} cut to {keep} bytes", "error")
    campaign.check(10000)


def test_every_bit_flip(saved, campaign):
    for label, (model, data) in saved.items():
        for bit in range(8 * len(data)):
            flipped = bytearray(data)
            flipped[bit // 8] ^= 1 << (bit % 8)
            campaign.load(bytes(flipped), model, f"{label} bit {bit} flipped", "error")
    campaign.check(80000)


# ------------------------------------------------------------------ re-sealed header damage


def test_every_header_field_overwritten_with_hostile_values(saved, campaign):
    for label, (model, data) in saved.items():
        header, payload = split(data)
        for path in nodes(header):
            for raw in HOSTILE:
                what = f"{label} header{list(path)} = {raw[:20]}"
                campaign.load(seal(with_raw(header, path, raw), payload), model, what, allowed=may_change(path))
    campaign.check(30000)


def test_header_keys_removed_added_and_reordered(saved, campaign):
    for label, (model, data) in saved.items():
        header, payload = split(data)
        for path in nodes(header):
            if not isinstance(at(header, path), dict):
                continue
            for key in at(header, path):
                edited = copy.deepcopy(header)
                del at(edited, path)[key]
                what = f"{label} header{list(path)} without {key!r}"
                campaign.load(seal(dump(edited), payload), model, what, allowed=may_change(path + (key,)))
            edited = copy.deepcopy(header)
            at(edited, path)["zz_unknown"] = [1, {"x": None}]
            what = f"{label} header{list(path)} with an unknown key"
            campaign.load(seal(dump(edited), payload), model, what, allowed=may_change(path))
        # Key order, whitespace and an unknown top-level key mean nothing: the model is the same.
        reordered = json.loads(json.dumps(header), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
        for text in (dump(reordered), json.dumps(header, indent=4).encode(), dump({**header, "comment": "hi"})):
            campaign.load(seal(text, payload), model, f"{label} neutral {text[:30]!r}", "identical")
    campaign.check(300)


def test_prefix_fields_rewritten(saved, campaign):
    for label, (model, data) in saved.items():
        header_size = PREFIX.unpack_from(data)[2]
        header_bytes, payload = data[PREFIX.size : PREFIX.size + header_size], data[PREFIX.size + header_size : -32]
        for size in (
            0,
            1,
            header_size - 2,
            header_size - 1,
            header_size + 1,
            header_size + 2,
            header_size + 8,
            len(data),
            2**26 + 1,
            2**32,
            2**63,
            2**64 - 1,
        ):
            what = f"{label} header length {size}"
            campaign.load(seal(header_bytes, payload, header_size=size), model, what, "error")
        for version in (0, 2, 2**31, 2**32 - 1):
            campaign.load(seal(header_bytes, payload, version=version), model, f"{label} version {version}", "error")
        for body in (
            b"",
            b" ",
            b"\xff\xfe",
            b"\xc0\xaf",
            header_bytes.replace(b'"', b"\xff", 1),
            b"\xef\xbb\xbf" + header_bytes,
            header_bytes + b"x",
            header_bytes + header_bytes,
            b"[" + header_bytes + b"]",
            b"null",
            b"3",
            b'"header"',
            b"true",
            b"[" * 100000,
        ):
            campaign.load(seal(body, payload), model, f"{label} header text {body[:20]!r}", "error")
    campaign.check(250)


def test_huge_lengths_and_overflowing_sizes_fail_fast(saved, campaign):
    """The worst sizes: each must be refused from the header alone, before anything is allocated."""
    for label, (model, data) in saved.items():
        header, payload = split(data)
        n = header["arrays"][-1]["shape"][0]
        header_bytes = dump(header)
        campaign.load(seal(header_bytes, payload, header_size=2**63), model, f"{label} header length 2**63", "error")
        size = len(payload)
        for nbytes in (2**63 - 1, 2**63, 2**64, 2**64 + size, size + 8, size - 8, -size, size + 0.5, float(size)):
            edited = {**header, "payload_nbytes": nbytes}
            campaign.load(seal(dump(edited), payload), model, f"{label} payload_nbytes {nbytes}", "error")
        for index in range(len(header["arrays"])):
            edited = copy.deepcopy(header)
            edited["arrays"][index]["shape"] = [2**40, 2**40]
            campaign.load(seal(dump(edited), payload), model, f"{label} arrays[{index}] shape 2**40 x 2**40", "error")
        # Whole headers that agree with themselves about an enormous model. Sizes wrap
        # around in int64 arithmetic (e.g. 4 * 2**62 == 0), so payload_nbytes is also
        # tried as the wrapped total a reader computing in int64 would expect.
        for k, d, m in (
            (2**62, 3, n),
            (4, 2**62, n),
            (2**32, 2**32, n),
            (2, 2**63, n),
            (2**63, 1, n),
            (2**64, 3, n),
            (1, 2**40, n),
            (2, 3, 2**62),
            (2, 3, 2**63),
            (2, 3, 2**64),
        ):
            edited = {**copy.deepcopy(header), "n_components": k, "n_features": d, "feature_names": None}
            shapes = expected_shapes(header["covariance_type"], k, d, m)
            itemsizes = [np.dtype(entry["dtype"]).itemsize for entry in edited["arrays"]]
            sizes = [size * math.prod(s) for size, s in zip(itemsizes, shapes)]
            wrapped = [size * ((math.prod(s) + 2**63) % 2**64 - 2**63) for size, s in zip(itemsizes, shapes)]
            for entry, shape in zip(edited["arrays"], shapes):
                entry["shape"] = list(shape)
            for nbytes in {sum(sizes), sum(sizes) % 2**64, sum(wrapped), len(payload)}:
                edited["payload_nbytes"] = nbytes
                what = f"{label} K={k} D={d} {m} lower bounds, payload_nbytes {nbytes}"
                campaign.load(seal(dump(edited), payload), model, what, "error")
    campaign.check(300)


# ------------------------------------------------------------------ re-sealed payload damage


def _set(index, value):
    def edit(array):
        array[index] = value
        return array

    return edit


def _payload_mutations(model):
    """(description, outcome, array name, edit: a copy of the array -> its new values) for one model."""
    arrays = {name.rstrip("_"): getattr(model, name) for name in FITTED}
    arrays.update(lower_bound=np.float64(model.lower_bound_), lower_bounds=np.asarray(model.lower_bounds_))
    for name, array in arrays.items():
        for index in np.ndindex(np.shape(array)):
            for value in (np.nan, np.inf, -np.inf):
                outcome = "valid" if (name, value) == ("lower_bound", -np.inf) else "error"  # as after max_iter=0
                yield f"{name}[{index}] = {value}", outcome, name, _set(index, value)
    unnormalised = "valid" if model.n_iter_ == 0 else "error"  # no EM step: the weights may sum to less than 1
    yield "weights [-0.25, 1.25]", "error", "weights", lambda w: [-0.25, 1.25]
    yield "weights doubled", unnormalised, "weights", lambda w: 2 * w
    yield "weights halved", unnormalised, "weights", lambda w: w / 2
    yield "weights zero", "error", "weights", lambda w: 0 * w
    yield "weights[0] + 0.01", unnormalised, "weights", lambda w: w + [0.01, 0]
    yield "weights [0.75, 0.75]", "error", "weights", lambda w: [0.75, 0.75]
    first = (0,) * model.covariances_.ndim
    yield "covariances' first entry doubled", "error", "covariances", lambda c: _set(first, 2 * c[first])(c)
    yield "precisions' first entry doubled", "error", "precisions", lambda p: _set(first, 2 * p[first])(p)
    yield "means[0, 0] = 1e30", "valid", "means", _set((0, 0), 1e30)  # far away, but a valid model
    chol = model.precisions_cholesky_
    for index in np.ndindex(chol.shape):
        i, j = index[-2:] if model.covariance_type in ("full", "tied") else (0, 0)
        if i == j:  # the diagonal (every entry for "diag" and "spherical") must be positive
            for value in (0.0, -chol[index]):
                yield f"precisions_cholesky[{index}] = {value}", "error", "precisions_cholesky", _set(index, value)
        elif i > j:  # the factor is upper triangular
            yield f"precisions_cholesky[{index}] = 0.5", "error", "precisions_cholesky", _set(index, 0.5)


def test_payload_values_that_break_the_model(saved, campaign):
    for label, (model, data) in saved.items():
        header, payload = split(data)
        header_bytes = dump(header)
        for what, outcome, name, edit in _payload_mutations(model):
            buffer = bytearray(payload)
            view = payload_views(header, buffer)[name]
            view[...] = edit(view.copy())
            campaign.load(seal(header_bytes, bytes(buffer)), model, f"{label} {what}", outcome, PAYLOAD_STATE)
    campaign.check(1000)


# ------------------------------------------------------------------ the random campaign


_JSON_BYTES = b'0123456789-+.eE"{}[],: \\ntrulfasNIy'


def _random_edits(rng, segment, alphabet=None):
    """`segment` with one to three random byte edits: overwrite, bit flip, insertion or deletion."""
    segment = bytearray(segment)
    for _ in range(rng.randint(1, 3)):
        byte = rng.choice(alphabet) if alphabet and rng.random() < 0.8 else rng.randrange(256)
        kind = rng.randrange(4) if segment else 2
        position = rng.randrange(len(segment) + (kind == 2))
        if kind == 0:
            segment[position] = byte
        elif kind == 1:
            segment[position] ^= 1 << rng.randrange(8)
        elif kind == 2:
            segment.insert(position, byte)
        else:
            del segment[position]
    return bytes(segment)


def test_random_campaign(saved, campaign):
    rng = random.Random(SEED)
    labels = sorted(saved)
    for example in range(EXAMPLES):
        label = rng.choice(labels)
        model, data = saved[label]
        header_size = PREFIX.unpack_from(data)[2]
        header_bytes, payload = data[PREFIX.size : PREFIX.size + header_size], data[PREFIX.size + header_size : -32]
        # Unsealed, anywhere: the trailer no longer matches (or nothing changed).
        campaign.load(_random_edits(rng, data), model, f"{label} random edit #{example}")
        # Re-sealed header text: an error, or the same arrays with valid metadata.
        edited = _random_edits(rng, header_bytes, _JSON_BYTES)
        campaign.load(seal(edited, payload), model, f"{label} header edit {edited!r}", allowed=METADATA_STATE)
        # Re-sealed payload bytes: an error, or a valid model.
        edited = _random_edits(rng, payload)
        campaign.load(seal(header_bytes, edited), model, f"{label} payload edit #{example}", allowed=PAYLOAD_STATE)
    campaign.check(3 * EXAMPLES)


def test_inputs_tried(request):
    """The campaign's size: every file loaded by the tests above (run the whole module)."""
    if len(TRIED) < 9:
        pytest.skip("counts only when the whole module runs")
    request.node.user_properties.append(("fuzz_inputs", sum(TRIED.values())))
    assert sum(TRIED.values()) >= 100000
