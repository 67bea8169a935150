"""gmmcore.SufficientStatistics: the E-step statistics against a NumPy reference, merging, the M-step.

The reference is written straight from docs/math.md#math-statistics in
float64 (responsibilities from scipy's logsumexp); merges are checked in the
canonical form (N_k, the weighted means, the scatters about them), which does
not depend on the shifts the statistics were taken around.
"""

import pickle
import warnings

import numpy as np
import pytest
from conftest import full_covariances
from gmmcore import GaussianMixture, SufficientStatistics
from numpy.testing import assert_allclose
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
#: Bounds measured on these problems: float64 merges agree to ~1e-15; float32 to ~1e-6.
RTOL = {np.float64: 1e-12, np.float32: 2e-5}


def make_data(n=3000, d=3, offset=0.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = offset + 6.0 * rng.standard_normal((3, d))
    X = np.concatenate([c + rng.standard_normal((n // 3, d)) * (1 + i) for i, c in enumerate(centres)])
    return X[rng.permutation(len(X))], rng.uniform(0.0, 3.0, len(X))


def fitted(covariance_type, X, dtype=np.float64):
    """A model a few EM iterations into X (not converged: the statistics need not be at a fixed point)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(3, covariance_type=covariance_type, random_state=0, max_iter=5).fit(X.astype(dtype))


def reference_statistics(model, X, w):
    """N_k, weighted means, scatters about them (K, D, D or K, D), sum w log p, sum w: straight from the contract."""
    X = np.asarray(X, np.float64)
    log_prob = np.column_stack(
        [
            np.log(model.weights_[k]) + multivariate_normal(model.means_[k], c).logpdf(X)
            for k, c in enumerate(full_covariances(model))
        ]
    )
    log_p = logsumexp(log_prob, axis=1)
    r = np.exp(log_prob - log_p[:, None]) * w[:, None]
    n = r.sum(0)
    means = (r.T @ X) / n[:, None]
    diffs = X[None] - means[:, None]
    if model.covariance_type in ("full", "tied"):
        scatters = np.einsum("ki,kid,kie->kde", r.T, diffs, diffs)
    else:
        scatters = np.einsum("ki,kid->kd", r.T, diffs**2)
    return n, means, scatters, float(w @ log_p), float(w.sum())


def canonical(st):
    """(N_k, means, scatters about the means): independent of the shifts."""
    st = SufficientStatistics(
        st.covariance_type,
        *(np.asarray(getattr(st, f), np.float64) for f in ("shifts", "weight_sums", "sums", "scatters")),
        st.log_likelihood,
        st.total_weight,
        st.n_samples,
    )
    n, s = st.weight_sums, st.sums
    if st.covariance_type in ("full", "tied"):
        about_mean = st.scatters - np.einsum("kd,ke->kde", s, s) / n[:, None, None]
    else:
        about_mean = st.scatters - s**2 / n[:, None]
    return n, st.means, about_mean


def assert_same_statistics(actual, desired, rtol, n_samples=None):
    n_a, m_a, s_a = canonical(actual)
    n_d, m_d, s_d = canonical(desired)
    assert_allclose(n_a, n_d, rtol=rtol)
    assert_allclose(m_a, m_d, rtol=rtol, atol=rtol * np.abs(m_d).max())
    assert_allclose(s_a, s_d, rtol=rtol, atol=rtol * np.abs(s_d).max())
    assert actual.log_likelihood == pytest.approx(desired.log_likelihood, rel=rtol)
    assert actual.total_weight == pytest.approx(desired.total_weight, rel=rtol)
    assert actual.n_samples == (desired.n_samples if n_samples is None else n_samples)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_statistics_match_the_numpy_reference(covariance_type, weighted):
    X, w = make_data()
    model = fitted(covariance_type, X)
    st = model.statistics(X, w if weighted else None)
    n, means, scatters, log_lik, total = reference_statistics(model, X, w if weighted else np.ones(len(X)))
    n_got, means_got, scatters_got = canonical(st)
    assert_allclose(n_got, n, rtol=1e-11)
    assert_allclose(means_got, means, rtol=1e-10, atol=1e-12)
    assert_allclose(scatters_got, scatters, rtol=1e-10, atol=1e-9)
    assert st.log_likelihood == pytest.approx(log_lik, rel=1e-11)
    assert st.total_weight == pytest.approx(total, rel=1e-14)
    assert st.n_samples == len(X)
    assert_allclose(st.shifts, model.means_)  # taken around the model's means


def splits(n, rng):
    """Chunk boundaries: even chunks, single rows at the ends, empty chunks, random cuts."""
    yield [0, n // 2, n]
    yield [0, 1, 1, n - 1, n]
    yield [0, 0, 257, 1000, 1000, n]
    yield np.unique(np.concatenate([[0, n], rng.integers(0, n, 12)]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_merged_chunks_equal_the_whole_in_any_order(covariance_type, dtype):
    X, w = make_data(offset=50.0)
    X, w = X.astype(dtype), w.astype(dtype)
    model = fitted(covariance_type, X, dtype)
    whole = model.statistics(X, w)
    assert whole.shifts.dtype == dtype
    rng = np.random.default_rng(1)
    for bounds in splits(len(X), rng):
        parts = [model.statistics(X[a:b], w[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
        left = parts[0]
        for p in parts[1:]:
            left = left + p
        right = parts[-1]
        for p in parts[-2::-1]:
            right = p.merge(right)
        shuffled = [parts[i] for i in rng.permutation(len(parts))]
        while len(shuffled) > 1:  # a tree, pairs of neighbours
            shuffled = [a + b for a, b in zip(shuffled[::2], shuffled[1::2])] + shuffled[len(shuffled) // 2 * 2 :]
        for merged in (left, right, shuffled[0]):
            assert_same_statistics(merged, whole, RTOL[dtype])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_merge_across_shifts_is_exact_where_raw_moments_fail(covariance_type):
    """Two halves taken around different shifts (two models) far from the origin merge to the reference."""
    X, _ = make_data(offset=1e6, seed=3)
    model_a = fitted(covariance_type, X)
    # The same responsibilities (same weights and covariances) around other shifts: move the means of
    # model_b a little, compute b's statistics there, and the canonical form must not care.
    model_b = fitted(covariance_type, X)
    model_b.means_ = model_b.means_ + 0.37
    half = len(X) // 2
    a = model_a.statistics(X[:half])
    b_around_other = model_b.statistics(X[half:])
    b = model_a.statistics(X[half:])
    assert not np.array_equal(a.shifts, b_around_other.shifts)
    whole = model_a.statistics(X)
    assert_same_statistics(a + b, whole, 1e-12)
    # The merge across shifts: compare with the reference of the two different responsibility sets.
    n_a, m_a, s_a, _, _ = reference_statistics(model_a, X[:half], np.ones(half))
    n_b, m_b, s_b, _, _ = reference_statistics(model_b, X[half:], np.ones(len(X) - half))
    n = n_a + n_b
    d = m_b - m_a
    mean = m_a + (n_b / n)[:, None] * d
    if covariance_type in ("full", "tied"):
        scatter = s_a + s_b + (n_a * n_b / n)[:, None, None] * np.einsum("kd,ke->kde", d, d)
    else:
        scatter = s_a + s_b + (n_a * n_b / n)[:, None] * d**2
    n_got, mean_got, scatter_got = canonical(a + b_around_other)
    assert_allclose(n_got, n, rtol=1e-11)
    assert_allclose(mean_got, mean, rtol=1e-14)
    assert_allclose(scatter_got, scatter, rtol=1e-9, atol=1e-9 * np.abs(scatter).max())
    # What raw second moments would give here: sum x^2 - N mean^2 at |x| ~ 1e6 loses ~12 digits.
    assert np.abs(mean).min() > 1e5


def test_merge_is_commutative_and_associative_up_to_rounding():
    X, w = make_data(seed=4)
    model = fitted("full", X)
    other = fitted("full", X)
    other.means_ = other.means_ - 0.5
    a, b, c = model.statistics(X[:700], w[:700]), other.statistics(X[700:2000]), model.statistics(X[2000:])
    assert_same_statistics(a + b, b + a, 1e-13)
    assert_same_statistics((a + b) + c, a + (b + c), 1e-13)


def test_a_component_without_weight_on_one_side():
    X, _ = make_data(seed=5)
    model = fitted("diag", X)
    st = model.statistics(X[:10], np.zeros(10))
    assert st.total_weight == 0 and np.all(st.weight_sums == 0)
    other = model.statistics(X[10:])
    # The same statistics around shifts c + 1: s - N, and q - 2 s + N (diagonal scatters).
    n = other.weight_sums[:, None]
    other_shifted = SufficientStatistics(
        other.covariance_type, other.shifts + 1.0, other.weight_sums, other.sums - n,
        other.scatters - 2 * other.sums + n, other.log_likelihood, other.total_weight, other.n_samples,
    )  # fmt: skip
    for merged in (st + other_shifted, other_shifted + st):
        assert_same_statistics(merged, other, 1e-9, n_samples=len(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_of_the_statistics_is_one_em_iteration(covariance_type):
    X, w = make_data(seed=6)
    start = fitted(covariance_type, X)
    step = GaussianMixture(
        3,
        covariance_type=covariance_type,
        max_iter=1,
        weights_init=start.weights_,
        means_init=start.means_,
        precisions_init=start.precisions_,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        step.fit(X, sample_weight=w)
    params = start.statistics(X, w).m_step(reg_covar=step.reg_covar)
    for name, value in zip(("weights_", "means_", "covariances_", "precisions_cholesky_"), params):
        assert_allclose(value, getattr(step, name), rtol=1e-13, atol=1e-15)


def test_statistics_pickle_and_keep_their_dtype():
    X, _ = make_data()
    st = fitted("tied", X.astype(np.float32), np.float32).statistics(X.astype(np.float32))
    back = pickle.loads(pickle.dumps(st))
    assert back == st and back.scatters.dtype == np.float32
    assert (back + back).n_samples == 2 * st.n_samples
    assert "tied" in repr(st)


def test_scaled_multiplies_the_weights():
    X, w = make_data()
    model = fitted("full", X)
    st = model.statistics(X, w)
    assert_same_statistics(st.scaled(2.0), model.statistics(X, 2 * w), 1e-13)
    with pytest.raises(ValueError, match="factor"):
        st.scaled(-1.0)


def test_bad_statistics_are_refused_with_the_field_named():
    X, _ = make_data()
    model = fitted("full", X)
    st = model.statistics(X)
    diag = fitted("diag", X).statistics(X)
    with pytest.raises(ValueError, match="cannot merge statistics of covariance_type 'full'"):
        st + diag
    with pytest.raises(ValueError, match="3 features"):
        st + fitted("full", X[:, :2]).statistics(X[:, :2])
    bad = pickle.loads(pickle.dumps(st))
    bad.weight_sums = bad.weight_sums.copy()
    bad.weight_sums[1] = -1.0
    with pytest.raises(ValueError, match="weight_sums must be non-negative"):
        st + bad
    bad.weight_sums[1] = np.nan
    with pytest.raises(ValueError, match="weight_sums"):
        bad.m_step()
    bad = pickle.loads(pickle.dumps(st))
    bad.scatters = bad.scatters[:, :2]
    with pytest.raises(ValueError, match="scatters"):
        st + bad
    bad = pickle.loads(pickle.dumps(st))
    bad.sums = bad.sums.astype(np.float32)
    with pytest.raises(TypeError, match="sums has dtype float32"):
        bad.m_step()
    with pytest.raises(ValueError, match="covariance_type"):
        SufficientStatistics("round", st.shifts, st.weight_sums, st.sums, st.scatters).m_step()
    empty = model.statistics(X[:5], np.zeros(5))
    with pytest.raises(ValueError, match="no weight"):
        empty.m_step()
    with pytest.raises(ValueError, match="reg_covar"):
        st.m_step(reg_covar=-1.0)
    assert st.__add__(3) is NotImplemented


def test_m_step_reports_a_singular_covariance():
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0]]), 50, axis=0)
    model = GaussianMixture(2, random_state=0, reg_covar=0.0)
    model.set_params(reg_covar=1e-3).fit(X)
    with pytest.raises(np.linalg.LinAlgError):
        model.statistics(X).m_step(reg_covar=0.0)


@pytest.mark.parametrize(
    "field, value, error, message",
    [
        ("shifts", lambda st: st.shifts.ravel(), ValueError, "shifts must be a C-contiguous 2-D array"),
        ("scatters", lambda st: st.scatters[None], ValueError, "scatters must be a C-contiguous 2-D array"),
        ("weight_sums", lambda st: st.weight_sums[None], ValueError, "weight_sums must be a C-contiguous 1-D"),
        ("shifts", lambda st: st.shifts.astype(int), TypeError, "must be float64 or float32"),
        ("sums", lambda st: st.sums.astype(object), TypeError, "sums has dtype object"),
        ("log_likelihood", lambda st: np.inf, ValueError, "log_likelihood must be finite"),
        ("total_weight", lambda st: -1.0, ValueError, "total_weight must be finite and non-negative"),
        ("n_samples", lambda st: -1, ValueError, "n_samples must be a non-negative"),
        ("n_samples", lambda st: 2**70, ValueError, "n_samples must be a non-negative 64-bit integer"),
        ("covariance_type", lambda st: 5, ValueError, "covariance_type must be one of"),
        ("shifts", lambda st: np.zeros((0, 3)), ValueError, "at least one component"),
    ],
)
def test_hostile_fields_are_refused_by_every_operation(field, value, error, message):
    X, _ = make_data(n=300)
    st = fitted("full", X).statistics(X)
    bad = pickle.loads(pickle.dumps(st))
    setattr(bad, field, value(bad))
    for operation in (lambda: st + bad, lambda: bad.m_step(), lambda: bad.scaled(2.0)):
        with pytest.raises(error, match=message):
            operation()
    assert_same_statistics(st + st.scaled(0.0), st, 1e-15, n_samples=2 * st.n_samples)  # st is untouched
