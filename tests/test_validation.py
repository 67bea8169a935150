"""Every documented input error, raised with its message by every function it applies to."""

import gmmcore as g
import numpy as np
import pytest
from conftest import make_problem

K, D, N = 3, 3, 6

CALLS = {
    "forward": lambda p, X, G: g.forward(p, X),
    "expectation": lambda p, X, G: g.expectation(p, X),
    "log_likelihood": lambda p, X, G: g.log_likelihood(p, X),
    "negative_log_likelihood": lambda p, X, G: g.negative_log_likelihood(p, X),
    "backward": lambda p, X, G: g.backward(p, X, G),
    "em_step": lambda p, X, G: g.em_step(p, X),
    "em_train": lambda p, X, G: g.em_train(p, X, 2),
}
ALL = list(CALLS)
SAMPLE_WISE = ["forward", "expectation", "log_likelihood", "backward"]


def base(dtype=np.float64):
    """A valid problem (w, mu, Sigma, X, G) that each case then breaks in one place."""
    w, mu, Sigma, X = make_problem(N, D, K, dtype, seed=0)
    G = np.random.default_rng(1).standard_normal((N, K)).astype(dtype)
    return [w, mu, Sigma, X, G]


def call(name, w, mu, Sigma, X, G):
    return CALLS[name](g.GMMParams(w, mu, Sigma), X, G)


def names_and_shape(*names):
    """Regex: the message names one of `names` and contains 'shape'."""
    return r"(?s)^(?=.*\b({})\b)(?=.*shape)".format("|".join(names))


def broken(index, transform):
    def make(dtype):
        args = base(dtype)
        args[index] = transform(args[index])
        return args

    return make


def set_item(index, value):
    def apply(a):
        a = a.copy()
        a[index] = value
        return a

    return apply


W, MU, SIGMA, X_, G_ = range(5)

# (id, factory of broken args, exception, message regex, functions it applies to)
CASES = [
    ("X-nan", broken(X_, set_item((2, 1), np.nan)), ValueError, "X contains NaN or infinity", ALL),
    ("X-inf", broken(X_, set_item((0, 0), np.inf)), ValueError, "X contains NaN or infinity", ALL),
    ("X-neginf", broken(X_, set_item((5, 2), -np.inf)), ValueError, "X contains NaN or infinity", ALL),
    ("weights-nan", broken(W, set_item(0, np.nan)), ValueError, "weights contains NaN or infinity", ALL),
    ("weights-inf", broken(W, set_item(1, np.inf)), ValueError, "weights contains NaN or infinity", ALL),
    ("means-inf", broken(MU, set_item((1, 0), np.inf)), ValueError, "means contains NaN or infinity", ALL),
    ("means-nan", broken(MU, set_item((2, 2), np.nan)), ValueError, "means contains NaN or infinity", ALL),
    (
        "covariances-nan",
        broken(SIGMA, set_item((1, 0, 0), np.nan)),
        ValueError,
        "covariances contains NaN or infinity",
        ALL,
    ),
    (
        "covariances-inf",
        broken(SIGMA, set_item((2, (0, 1), (1, 0)), np.inf)),
        ValueError,
        "covariances contains NaN or infinity",
        ALL,
    ),
    (
        "grad_output-nan",
        broken(G_, set_item((3, 1), np.nan)),
        ValueError,
        "grad_output contains NaN or infinity",
        ["backward"],
    ),
    (
        "grad_output-inf",
        broken(G_, set_item((0, 2), -np.inf)),
        ValueError,
        "grad_output contains NaN or infinity",
        ["backward"],
    ),
    ("X-wrong-features", broken(X_, lambda X: X[:, :2]), ValueError, names_and_shape("X"), ALL),
    ("X-3d", broken(X_, lambda X: X[None]), ValueError, names_and_shape("X"), ALL),
    ("X-0d", broken(X_, lambda X: X[0, 0]), ValueError, names_and_shape("X"), ALL),
    ("means-1d", broken(MU, lambda mu: mu[0]), ValueError, names_and_shape("means"), ALL),
    ("means-3d", broken(MU, lambda mu: mu[None]), ValueError, names_and_shape("means"), ALL),
    (
        "means-wrong-features",
        broken(MU, lambda mu: mu[:, :2]),
        ValueError,
        names_and_shape("means", "covariances", "X"),
        ALL,
    ),
    ("means-wrong-components", broken(MU, lambda mu: mu[:2]), ValueError, names_and_shape("means", "weights"), ALL),
    ("weights-2d", broken(W, lambda w: w[None]), ValueError, names_and_shape("weights"), ALL),
    (
        "weights-wrong-components",
        broken(W, lambda w: w[:2] / w[:2].sum()),
        ValueError,
        names_and_shape("weights", "means", "covariances"),
        ALL,
    ),
    ("covariances-2d", broken(SIGMA, lambda S: S[0]), ValueError, names_and_shape("covariances"), ALL),
    (
        "covariances-wrong-components",
        broken(SIGMA, lambda S: S[:2]),
        ValueError,
        names_and_shape("covariances", "weights", "means"),
        ALL,
    ),
    (
        "covariances-wrong-features",
        broken(SIGMA, lambda S: S[:, :2, :2]),
        ValueError,
        names_and_shape("covariances"),
        ALL,
    ),
    ("covariances-not-square", broken(SIGMA, lambda S: S[:, :, :2]), ValueError, names_and_shape("covariances"), ALL),
    (
        "grad_output-wrong-components",
        broken(G_, lambda G: G[:, :2]),
        ValueError,
        names_and_shape("grad_output"),
        ["backward"],
    ),
    (
        "grad_output-wrong-samples",
        broken(G_, lambda G: G[:5]),
        ValueError,
        names_and_shape("grad_output"),
        ["backward"],
    ),
    ("grad_output-1d-for-batch", broken(G_, lambda G: G[0]), ValueError, names_and_shape("grad_output"), ["backward"]),
    (
        "weights-negative",
        broken(W, lambda w: np.array([0.6, 0.6, -0.2])),
        ValueError,
        "weights must be non-negative",
        ALL,
    ),
    ("weights-sum-2", broken(W, lambda w: 2 * w), ValueError, "weights must sum to 1", ALL),
    ("weights-sum-off-1e-5", broken(W, lambda w: w * (1 + 1e-5)), ValueError, "weights must sum to 1", ALL),
    ("weights-all-zero", broken(W, lambda w: np.zeros(K)), ValueError, "weights must sum to 1", ALL),
    (
        "covariances-not-symmetric",
        broken(SIGMA, set_item((1, 0, 1), 0.5)),
        ValueError,
        r"covariances\[1\] is not symmetric",
        ALL,
    ),
    (
        "covariances-indefinite",
        broken(SIGMA, set_item(2, np.diag([1.0, -1.0, 1.0]))),
        np.linalg.LinAlgError,
        r"covariances\[2\] is not positive definite",
        ALL,
    ),
    (
        "covariances-zero",
        broken(SIGMA, set_item(0, 0.0)),
        np.linalg.LinAlgError,
        r"covariances\[0\] is not positive definite",
        ALL,
    ),
    (
        "covariances-negative-definite",
        broken(SIGMA, set_item(1, -np.eye(D))),
        np.linalg.LinAlgError,
        r"covariances\[1\] is not positive definite",
        ALL,
    ),
]
CASES += [
    (f"{name}-{kind}", broken(index, convert), TypeError, "must be a real numeric array", funcs)
    for name, index, funcs in [
        ("X", X_, ALL),
        ("weights", W, ALL),
        ("means", MU, ALL),
        ("covariances", SIGMA, ALL),
        ("grad_output", G_, ["backward"]),
    ]
    for kind, convert in [
        ("complex", lambda a: a.astype(complex)),
        ("bool", lambda a: a > 0),
        ("str", lambda a: a.astype(str)),
        ("object", lambda a: a.astype(object)),
    ]
]

# Off by 1e-5 is within the float32 tolerance (1e-4), so that case is float64 only.
FLOAT64_ONLY = {"weights-sum-off-1e-5"}
PARAMS = [
    pytest.param(make, dtype, exc, msg, fn, id=f"{case_id}-{fn}-{np.dtype(dtype).name}")
    for case_id, make, exc, msg, funcs in CASES
    for fn in funcs
    for dtype in ([np.float64] if case_id in FLOAT64_ONLY else [np.float64, np.float32])
]


@pytest.mark.parametrize("make, dtype, exc, msg, fn", PARAMS)
def test_invalid_input_raises(make, dtype, exc, msg, fn):
    with pytest.raises(exc, match=msg):
        call(fn, *make(dtype))


SINGLE_CASES = [
    pytest.param(lambda X, G: (X[0, :2], G[0]), "X", fn, id=f"X-1d-wrong-length-{fn}") for fn in SAMPLE_WISE
] + [
    pytest.param(lambda X, G: (X[0], G[:1]), "grad_output", "backward", id="grad_output-2d-for-1d-X"),
    pytest.param(lambda X, G: (X[0], G[0, :2]), "grad_output", "backward", id="grad_output-wrong-length"),
]


@pytest.mark.parametrize("change, name, fn", SINGLE_CASES)
def test_invalid_single_sample_shapes(change, name, fn):
    w, mu, Sigma, X, G = base()
    X1, G1 = change(X, G)
    with pytest.raises(ValueError, match=names_and_shape(name)):
        call(fn, w, mu, Sigma, X1, G1)


@pytest.mark.parametrize("fn", ALL)
def test_no_components(fn):
    X = np.zeros((N, D))
    with pytest.raises(ValueError, match="at least one component"):
        call(fn, np.zeros(0), np.zeros((0, D)), np.zeros((0, D, D)), X, np.zeros((N, 0)))


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-8), (np.float32, 1e-5)])
def test_weight_sum_within_tolerance_accepted(fn, dtype, rel):
    w, mu, Sigma, X, G = base(dtype)
    call(fn, (w * (1 + rel)).astype(dtype), mu, Sigma, X, G)


@pytest.mark.parametrize("fn", ALL)
def test_float32_weight_sum_tolerance_rejected_at_1e_3(fn):
    w, mu, Sigma, X, G = base(np.float32)
    with pytest.raises(ValueError, match="weights must sum to 1"):
        call(fn, (w * (1 + 1e-3)).astype(np.float32), mu, Sigma, X, G)


@pytest.mark.parametrize("fn", ALL)
def test_weight_tolerance_follows_working_dtype(fn):
    """float32 weights off by 1e-5 pass in float32 work but fail once X makes the work float64."""
    w, mu, Sigma, X, G = base(np.float32)
    w = (w * (1 + 1e-5)).astype(np.float32)
    call(fn, w, mu, Sigma, X, G)
    with pytest.raises(ValueError, match="weights must sum to 1"):
        call(fn, w, mu, Sigma, X.astype(np.float64), G)


@pytest.mark.parametrize("fn", ALL)
def test_round_off_asymmetry_accepted(fn):
    w, mu, Sigma, X, G = base()
    Sigma[1, 0, 1] = np.nextafter(Sigma[1, 0, 1], np.inf)
    call(fn, w, mu, Sigma, X, G)


@pytest.mark.parametrize("epochs", [-1, -10])
def test_negative_epochs(epochs):
    w, mu, Sigma, X, _ = base()
    with pytest.raises(ValueError, match="epochs must be non-negative"):
        g.em_train(g.GMMParams(w, mu, Sigma), X, epochs)


@pytest.mark.parametrize("epochs", [2.5, 2.0, "3", None, np.float64(2.0)])
def test_non_integer_epochs(epochs):
    w, mu, Sigma, X, _ = base()
    with pytest.raises(TypeError, match="epochs must be an integer"):
        g.em_train(g.GMMParams(w, mu, Sigma), X, epochs)


def test_numpy_integer_epochs_accepted():
    w, mu, Sigma, X, _ = base()
    p = g.GMMParams(w, mu, Sigma)
    for a, b in zip(g.em_train(p, X, np.int64(2)), g.em_train(p, X, 2)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "step",
    [lambda p, X, j: g.em_step(p, X, jitter=j), lambda p, X, j: g.em_train(p, X, 2, jitter=j)],
    ids=["em_step", "em_train"],
)
@pytest.mark.parametrize("jitter", [-1e-6, np.nan, np.inf, -np.inf])
def test_invalid_jitter(step, jitter):
    w, mu, Sigma, X, _ = base()
    with pytest.raises(ValueError, match="jitter must be a finite non-negative number"):
        step(g.GMMParams(w, mu, Sigma), X, jitter)
