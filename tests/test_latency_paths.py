"""The small-call shortcuts of GaussianMixture change nothing but the time a call takes.

Evaluation (predict, predict_proba, score_samples, score, bic, aic,
statistics) of plain input (``_validation.plain_samples``) skips
``validate_data`` and reuses the model arrays of the previous call
(``_evaluation_model``); ``fit`` on plain input skips ``validate_data``,
plainly valid parameters skip scikit-learn's parameter validation
(``_PLAIN_PARAMETERS``). With every shortcut turned off (``general_paths``) each
call must give the same bits, the same errors and the same warnings; fitted
attributes changed by hand (assigned, or changed in place) must be honoured;
the cache must never travel with the estimator. No timings here: see
benchmarks/bench_estimator.py --latency.
"""

import contextlib
import copy
import gc
import pickle
import warnings

import gmmcore
import numpy as np
import pytest
from conftest import FITTED_ATTRIBUTES
from gmmcore import GaussianMixture, _mixture
from gmmcore._validation import plain_samples
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
DTYPES = (np.float64, np.float32)
METHODS = ("predict", "predict_proba", "score_samples", "score", "bic", "aic", "statistics")
N_FEATURES = 3


@contextlib.contextmanager
def general_paths():
    """Every shortcut off: validate_data always, scikit-learn's parameter validation."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_mixture, "plain_samples", lambda *args: False)
        patch.setattr(_mixture, "_plain_parameters_valid", lambda state: False)
        yield


def outcome(call, *args):
    """What ``call(*args)`` does: ("returned", value, warnings) or ("raised", type, message, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = call(*args)
        except Exception as error:  # noqa: BLE001 - the error is the outcome compared
            return ("raised", type(error), str(error), [(w.category, str(w.message)) for w in caught])
    return ("returned", value, [(w.category, str(w.message)) for w in caught])


def assert_identical(a, b):
    """Same type, and for arrays the same dtype, shape and bits; statistics field by field."""
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
    elif isinstance(a, gmmcore.SufficientStatistics):
        for name in ("covariance_type", "shifts", "weight_sums", "sums", "scatters"):
            assert_identical(getattr(a, name), getattr(b, name))
        for name in ("log_likelihood", "total_weight", "n_samples"):
            assert repr(getattr(a, name)) == repr(getattr(b, name))
    elif isinstance(a, float):
        assert repr(a) == repr(b)  # the same bits, NaN included
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_identical(x, y)
    else:
        assert a == b


def assert_same_outcome(a, b):
    assert a[0] == b[0], (a, b)
    if a[0] == "raised":
        assert a[1:] == b[1:]
    else:
        assert_identical(a[1], b[1])
        assert a[2] == b[2]


def evaluate(model, method, X):
    return getattr(model, method)(X)


def blobs(n=300, d=N_FEATURES, seed=0):
    rng = np.random.default_rng(seed)
    centres = 4.0 * rng.standard_normal((3, d))
    return centres[rng.integers(3, size=n)] + rng.standard_normal((n, d))


@pytest.fixture(scope="module", params=[(c, t) for c in COVARIANCE_TYPES for t in DTYPES], ids=str)
def model(request):
    covariance_type, dtype = request.param
    return GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(blobs().astype(dtype))


def queries(n, dtype, seed=1):
    return np.ascontiguousarray(blobs(n, seed=seed), dtype=dtype)


def general_forms(X):
    """The same values in forms that only validate_data takes: non-contiguous, Fortran order, a list."""
    strided = np.empty((X.shape[0], 2 * X.shape[1]), X.dtype)[:, ::2]
    strided[...] = X
    return [strided, np.asfortranarray(X), X.tolist()] if X.dtype == np.float64 else [strided, np.asfortranarray(X)]


# ------------------------------------------------------------------ which path


def test_plain_input_skips_validate_data(model, monkeypatch):
    """The shortcut is really taken for plain input (else the tests below would compare a path with itself)."""
    X = queries(5, model.means_.dtype)
    model.predict(X)  # the model arrays are cached

    def refuse(*args, **kwargs):
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(GaussianMixture, "_checked_evaluation_args", refuse)
    monkeypatch.setattr(GaussianMixture, "_model_args", refuse)
    for method in METHODS:
        evaluate(model, method, X)


@pytest.mark.parametrize(
    "make",
    [
        lambda X: X.tolist(),
        np.asfortranarray,
        lambda X: X[::-1],
        lambda X: X.astype(np.float16),
        lambda X: X.astype(np.int64),
        lambda X: X.astype(X.dtype.newbyteorder()),
        lambda X: X.view(type("Sub", (np.ndarray,), {})),
    ],
    ids=["list", "fortran", "reversed", "float16", "int64", "byteswapped", "subclass"],
)
def test_other_input_goes_through_validate_data(make):
    X = queries(4, np.float64)
    assert plain_samples(X, N_FEATURES, 1)
    assert not plain_samples(make(X), N_FEATURES, 1)


def test_plain_samples_refuses_what_validate_data_refuses():
    X = queries(4, np.float64)
    assert not plain_samples(X, N_FEATURES + 1, 1)
    assert not plain_samples(X[0], N_FEATURES, 1)
    assert not plain_samples(X[None], N_FEATURES, 1)
    assert not plain_samples(X[:0], N_FEATURES, 1)
    assert plain_samples(X[:0], N_FEATURES, 0)
    assert not plain_samples(np.empty((4, 0)), None, 1)
    assert not plain_samples(X[:1], None, 2)
    for bad in (np.nan, np.inf, -np.inf):
        Y = X.copy()
        Y[2, 1] = bad
        assert not plain_samples(Y, N_FEATURES, 1)
        big = np.zeros((70_000, 2))
        big[-1, 0] = bad
        assert not plain_samples(big, 2, 1)  # the sum test of large arrays
    assert plain_samples(np.zeros((70_000, 2)), 2, 1)


# ------------------------------------------------------------------ same bits, errors, warnings


@pytest.mark.parametrize("n", [1, 10, 100])
@pytest.mark.parametrize("x_dtype", DTYPES)
def test_evaluation_same_bits(model, n, x_dtype):
    X = queries(n, x_dtype)
    for method in METHODS:
        fast = outcome(evaluate, model, method, X)
        assert fast[0] == "returned"
        with general_paths():
            assert_same_outcome(fast, outcome(evaluate, model, method, X))
        for other in general_forms(X):
            assert_same_outcome(fast, outcome(evaluate, model, method, other))


def test_repeated_calls_same_bits(model):
    X = queries(7, model.means_.dtype)
    first = [evaluate(model, method, X) for method in METHODS]
    for _ in range(3):
        for method, expected in zip(METHODS, first):
            assert_identical(evaluate(model, method, X), expected)


def test_score_is_the_mean_of_score_samples(model):
    for n in (1, 2, 7, 100, 1001):
        X = queries(n, model.means_.dtype, seed=n)
        assert_identical(model.score(X), float(model.score_samples(X).mean()))


def bad_inputs(dtype):
    X = queries(6, dtype)
    cases = {
        "1-D": X[0].copy(),
        "scalar": np.asarray(X[0, 0]),
        "3-D": X[None].copy(),
        "empty": X[:0].copy(),
        "no features": np.empty((3, 0), dtype),
        "more features": np.ascontiguousarray(np.c_[X, X[:, :1]]),
        "fewer features": np.ascontiguousarray(X[:, :-1]),
    }
    for name, bad in (("nan", np.nan), ("inf", np.inf), ("-inf", -np.inf)):
        Y = X.copy()
        Y[3, 1] = bad
        cases[name] = Y
    return cases


@pytest.mark.parametrize("method", METHODS)
def test_evaluation_same_errors(model, method):
    for name, X in bad_inputs(model.means_.dtype).items():
        fast = outcome(evaluate, model, method, X)
        if method == "statistics" and name == "empty":
            assert fast[0] == "returned", name  # statistics take empty X
        else:
            assert fast[0] == "raised", name
        with general_paths():
            assert_same_outcome(fast, outcome(evaluate, model, method, X))


@pytest.mark.parametrize("method", METHODS)
def test_not_fitted_same_error(method):
    X = queries(3, np.float64)
    fast = outcome(lambda: evaluate(GaussianMixture(2), method, X))
    assert fast[0] == "raised" and fast[1] is NotFittedError
    with general_paths():
        assert_same_outcome(fast, outcome(lambda: evaluate(GaussianMixture(2), method, X)))


def test_feature_names_same_warnings():
    pandas = pytest.importorskip("pandas")
    X = blobs()
    frame = pandas.DataFrame(X, columns=["a", "b", "c"])
    named = GaussianMixture(3, random_state=0).fit(frame)
    unnamed = GaussianMixture(3, random_state=0).fit(X)
    Q = queries(5, np.float64)
    for model, data in ((named, Q), (unnamed, pandas.DataFrame(Q, columns=["a", "b", "c"])), (named, Q[:0])):
        for method in METHODS:
            fast = outcome(evaluate, model, method, data)
            with general_paths():
                assert_same_outcome(fast, outcome(evaluate, model, method, data))
    assert "fitted with feature names" in str(outcome(named.predict, Q)[2])


# ------------------------------------------------------------------ fitted attributes changed by hand


def assert_as_general(model, X):
    """Every method on ``model`` gives what the general path gives (which reads the attributes afresh)."""
    for method in METHODS:
        fast = outcome(evaluate, model, method, X)
        with general_paths():
            assert_same_outcome(fast, outcome(evaluate, model, method, X))


def renormalised(weights):
    return weights / weights.sum()


# Each edit: (name, function that changes the model by hand). Every edit changes predict_proba.
EDITS = [
    ("means_ assigned", lambda m: setattr(m, "means_", m.means_ + 1.0)),
    ("means_ in place", lambda m: m.means_.__setitem__(0, m.means_[0] + 1.0)),
    ("means_ in place, +=", lambda m: m.means_.__iadd__(0.5)),
    ("weights_ in place", lambda m: m.weights_.__setitem__(slice(None), renormalised(m.weights_[::-1].copy()))),
    ("weights_ assigned", lambda m: setattr(m, "weights_", renormalised(m.weights_**2))),
    (
        "precisions_cholesky_ in place",
        lambda m: m.precisions_cholesky_.__imul__(m.precisions_cholesky_.dtype.type(1.5)),
    ),
    ("precisions_cholesky_ assigned", lambda m: setattr(m, "precisions_cholesky_", m.precisions_cholesky_ * 0.5)),
    ("means_ assigned non-contiguous", lambda m: setattr(m, "means_", np.asfortranarray(m.means_ + 2.0))),
    ("means_ assigned float32", lambda m: setattr(m, "means_", (m.means_ - 1.0).astype(np.float32))),
    ("means_ assigned float64", lambda m: setattr(m, "means_", (m.means_ - 1.0).astype(np.float64))),
    ("weights_ in place NaN", lambda m: m.weights_.__setitem__(0, np.nan)),
    ("means_ reshaped in place", lambda m: setattr(m.means_, "shape", (1, m.means_.size))),
    ("means_ cut", lambda m: setattr(m, "means_", m.means_[:2].copy())),
    ("means_ as a list", lambda m: setattr(m, "means_", (m.means_ + 1.0).tolist())),
]


@pytest.mark.parametrize("edit", [e[1] for e in EDITS], ids=[e[0] for e in EDITS])
def test_hand_edits_are_honoured(model, edit):
    model = copy.deepcopy(model)
    X = queries(20, model.means_.dtype)
    before = model.predict_proba(X)  # caches the model arrays
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        edit(model)
    assert_as_general(model, X)
    after = outcome(model.predict_proba, X)
    assert after[0] == "raised" or not np.array_equal(after[1], before), "the edit changed nothing: a vacuous test"


def test_covariance_type_changed_is_honoured():
    X = blobs()
    Q = queries(20, np.float64)
    for other in ("tied", "diag", "spherical"):
        model = GaussianMixture(3, random_state=0).fit(X)
        model.predict(Q)
        model.covariance_type = other  # by hand: the attributes no longer fit it
        assert_as_general(model, Q)
        assert outcome(model.predict, Q)[0] == "raised"
        model = GaussianMixture(3, random_state=0).fit(X)
        model.predict(Q)
        model.set_params(covariance_type=other)
        assert_as_general(model, Q)


def test_n_features_in_changed_is_honoured(model):
    model = copy.deepcopy(model)
    X = queries(4, model.means_.dtype)
    model.predict(X)
    model.n_features_in_ = N_FEATURES + 1
    assert_as_general(model, np.ascontiguousarray(np.c_[X, X[:, :1]]))
    del model.n_features_in_  # a model assembled by hand need not have it
    assert_as_general(model, X)


def test_refit_and_partial_fit_are_seen():
    X, Y = blobs(seed=0), blobs(seed=5) * 2.0
    Q = queries(30, np.float64)
    model = GaussianMixture(3, random_state=0).fit(X)
    before = model.predict_proba(Q)
    model.fit(Y)
    assert not np.array_equal(model.predict_proba(Q), before)
    assert_identical(model.predict_proba(Q), GaussianMixture(3, random_state=0).fit(Y).predict_proba(Q))
    before = model.score_samples(Q)
    model.partial_fit(X[:50])
    assert not np.array_equal(model.score_samples(Q), before)
    assert_as_general(model, Q)


# ------------------------------------------------------------------ the cache stays out of the estimator


def test_cache_does_not_travel():
    X = blobs()
    Q = queries(10, np.float64)
    model = GaussianMixture(3, random_state=0).fit(X)
    state = dict(model.__dict__)
    expected = model.predict_proba(Q)
    assert id(model) in _mixture._EVALUATION_MODELS
    assert model.__dict__.keys() == state.keys()  # evaluation leaves __dict__ alone
    assert all(model.__dict__[k] is v for k, v in state.items())
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model), copy.copy(model)):
        assert id(other) not in _mixture._EVALUATION_MODELS
        assert other.__dict__.keys() == model.__dict__.keys()
        assert_identical(other.predict_proba(Q), expected)
    assert id(clone(model)) not in _mixture._EVALUATION_MODELS


def test_cache_entry_goes_with_its_estimator():
    model = GaussianMixture(3, random_state=0).fit(blobs())
    model.predict(queries(3, np.float64))
    key = id(model)
    assert key in _mixture._EVALUATION_MODELS
    del model
    gc.collect()
    assert key not in _mixture._EVALUATION_MODELS


def test_fit_and_set_params_drop_the_cache():
    X = blobs()
    model = GaussianMixture(3, random_state=0).fit(X)
    model.predict(queries(3, np.float64))
    model.fit(X)
    assert id(model) not in _mixture._EVALUATION_MODELS
    model.predict(queries(3, np.float64))
    model.set_params(tol=1e-4)
    assert id(model) not in _mixture._EVALUATION_MODELS


def test_converted_models_are_not_cached():
    """A float32 model evaluated on float64 X is converted on every call: a copy could miss an edit in place."""
    model = GaussianMixture(3, random_state=0).fit(blobs().astype(np.float32))
    X = queries(8, np.float64)
    model._forget_evaluation_model()
    before = model.predict_proba(X)
    assert id(model) not in _mixture._EVALUATION_MODELS
    model.means_[0] += 1.0
    assert not np.array_equal(model.predict_proba(X), before)
    assert_as_general(model, X)


# ------------------------------------------------------------------ fit


FIT_SETTINGS = [
    dict(covariance_type="full", random_state=0),
    dict(covariance_type="tied", random_state=7, init_params="k-means++"),
    dict(covariance_type="diag", random_state=2**32 - 1, init_params="random", n_init=2),
    dict(covariance_type="spherical", random_state=3, init_params="random_from_data", tol=0, max_iter=5),
    dict(random_state=np.random.RandomState(4)),
    dict(random_state=np.int64(5), verbose=0, warm_start=False),
    dict(random_state=1, reg_covar=1e-3, verbose_interval=5, learning_decay=1.0, learning_offset=0),
    dict(random_state=1, means_init=np.zeros((3, N_FEATURES)), weights_init=np.full(3, 1 / 3)),
]


def fit_outcome(settings, X, seed_global=None):
    if seed_global is not None:
        np.random.seed(seed_global)  # noqa: NPY002 - what random_state=None draws from
    settings = copy.deepcopy(settings)  # a RandomState is consumed by the fit
    result = outcome(lambda: GaussianMixture(3, **settings).fit(X))
    if result[0] == "raised":
        return result
    model = result[1]
    attributes = [getattr(model, name) for name in (*FITTED_ATTRIBUTES, "n_features_in_")]
    return ("returned", attributes, result[2])


@pytest.mark.parametrize("settings", FIT_SETTINGS, ids=range(len(FIT_SETTINGS)))
@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_same_bits(settings, dtype):
    X = queries(272, dtype, seed=3)
    fast = fit_outcome(settings, X)
    assert fast[0] == "returned"
    with general_paths():
        assert_same_outcome(fast, fit_outcome(settings, X))
    for other in general_forms(X):
        assert_same_outcome(fast, fit_outcome(settings, other))


def test_fit_global_random_state_same_bits():
    X = queries(100, np.float64)
    fast = fit_outcome({}, X, seed_global=11)
    with general_paths():
        assert_same_outcome(fast, fit_outcome({}, X, seed_global=11))


def test_fit_drops_feature_names_as_validate_data_does():
    pandas = pytest.importorskip("pandas")
    X = blobs()
    model = GaussianMixture(3, random_state=0).fit(pandas.DataFrame(X, columns=["a", "b", "c"]))
    assert hasattr(model, "feature_names_in_")
    model.fit(X)
    assert not hasattr(model, "feature_names_in_") and model.n_features_in_ == N_FEATURES


@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_same_errors(dtype):
    X = queries(10, dtype)
    cases = {name: X for name in ("1-D", "3-D", "one sample", "empty", "fewer samples than components")}
    cases.update(
        {
            "1-D": X[0].copy(),
            "3-D": X[None].copy(),
            "one sample": X[:1].copy(),
            "empty": X[:0].copy(),
            "fewer samples than components": X[:2].copy(),
            "no features": np.empty((10, 0), dtype),
        }
    )
    for name, bad in (("nan", np.nan), ("inf", np.inf)):
        Y = X.copy()
        Y[4, 0] = bad
        cases[name] = Y
    for name, data in cases.items():
        fast = fit_outcome({"random_state": 0}, data)
        assert fast[0] == "raised", name
        with general_paths():
            assert_same_outcome(fast, fit_outcome({"random_state": 0}, data))


BAD_PARAMETERS = [
    dict(n_components=0),
    dict(n_components=1.5),
    dict(covariance_type="bogus"),
    dict(tol=-1.0),
    dict(tol=np.nan),
    dict(reg_covar=np.inf),
    dict(max_iter=-1),
    dict(n_init=0),
    dict(init_params="bogus"),
    dict(random_state=-1),
    dict(random_state=2**32),
    dict(random_state="seed"),
    dict(warm_start="yes"),
    dict(verbose=-1),
    dict(verbose_interval=0),
    dict(learning_decay=0.5),
    dict(learning_decay=1.5),
    dict(learning_offset=-0.1),
    dict(means_init=3),
]


@pytest.mark.parametrize("params", BAD_PARAMETERS, ids=[str(p) for p in BAD_PARAMETERS])
def test_fit_same_parameter_errors(params):
    X = queries(50, np.float64)
    fast = outcome(lambda: GaussianMixture(**{"n_components": 3, **params}).fit(X))
    assert fast[0] == "raised" and issubclass(fast[1], InvalidParameterError), fast
    with general_paths():
        assert_same_outcome(fast, outcome(lambda: GaussianMixture(**{"n_components": 3, **params}).fit(X)))


def test_plain_parameters_cover_every_parameter():
    names = set(GaussianMixture._get_param_names())
    assert set(_mixture._PLAIN_PARAMETERS) == names == set(GaussianMixture._parameter_constraints)


CANDIDATES = [
    None, True, False, np.bool_(True), 0, 1, 2, 3, -1, 10, 2**32 - 1, 2**32, np.int64(2), np.int32(1),
    10**400, -(10**400), 0.0, 0.25, 0.5, 0.6, 0.75, 1.0, 1.5, 10.0, -0.0, -1e-300, 1e300, np.nan, np.inf, -np.inf,
    np.float64(0.7),
    np.float32(0.7), "full", "tied", "diag", "spherical", "kmeans", "k-means++", "random", "random_from_data",
    "bogus", "", np.zeros(3), np.zeros((2, 2)), np.array(1.0), [1.0], (1.0,), np.random.RandomState(0),
    np.random.default_rng(0), object(),
]  # fmt: skip


@pytest.mark.parametrize("name", sorted(GaussianMixture._parameter_constraints))
def test_plain_parameters_accept_only_what_scikit_learn_accepts(name):
    """Every value the shortcut accepts passes scikit-learn's validation too; the rest is its verdict."""
    plain = _mixture._PLAIN_PARAMETERS[name]
    constraints = {name: GaussianMixture._parameter_constraints[name]}
    accepted = 0
    for value in CANDIDATES:
        if plain(value):
            validate_parameter_constraints(constraints, {name: value}, caller_name="GaussianMixture")
            accepted += 1
    assert accepted > 0


def test_default_parameters_are_plain():
    assert _mixture._plain_parameters_valid(GaussianMixture().__dict__)
    model = GaussianMixture()
    del model.tol
    assert not _mixture._plain_parameters_valid(model.__dict__)


def test_subclasses_use_scikit_learns_validation(monkeypatch):
    calls = []
    monkeypatch.setattr(_mixture, "_plain_parameters_valid", lambda state: calls.append(state) or True)

    class Sub(GaussianMixture):
        pass

    with pytest.raises(Exception, match="n_components"):
        Sub(n_components=0).fit(queries(10, np.float64))
    assert not calls


def test_partial_fit_start_same_bits():
    X = queries(80, np.float64)

    def run():
        model = GaussianMixture(3, random_state=0)
        for start in range(0, 80, 20):
            model.partial_fit(X[start : start + 20])
        return ("returned", [getattr(model, name) for name in FITTED_ATTRIBUTES], [])

    fast = run()
    with general_paths():
        assert_same_outcome(fast, run())
