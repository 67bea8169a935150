"""logsumexp: SciPy semantics along any axis, with the -inf / +inf / overflow edge cases."""

import gmmcore as g
import numpy as np
import pytest
import reference as ref
import scipy.special
from numpy.testing import assert_allclose, assert_array_equal

SHAPES_AXES = [
    ((7,), -1),
    ((7,), 0),
    ((3, 5), -1),
    ((3, 5), 0),
    ((3, 5), 1),
    ((3, 5), -2),
    ((2, 3, 4), 0),
    ((2, 3, 4), 1),
    ((2, 3, 4), -1),
    ((1, 1), -1),
    ((1000, 3), 0),
]


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-6)])
@pytest.mark.parametrize("shape, axis", SHAPES_AXES)
def test_matches_scipy_and_reference(shape, axis, dtype, rtol):
    a = (30.0 * np.random.default_rng(len(shape) + axis).standard_normal(shape)).astype(dtype)
    out = g.logsumexp(a, axis=axis)
    expected = scipy.special.logsumexp(a.astype(np.float64), axis=axis)
    assert out.dtype == dtype and out.shape == expected.shape
    assert_allclose(out, expected, rtol=rtol, atol=rtol)
    assert_allclose(out, ref.ref_logsumexp(np.moveaxis(a, axis, -1)), rtol=rtol, atol=rtol)


def test_default_axis_is_last():
    a = np.random.default_rng(0).standard_normal((4, 6))
    assert_array_equal(g.logsumexp(a), g.logsumexp(a, axis=-1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "row, expected",
    [
        ([-np.inf, -np.inf, -np.inf], -np.inf),
        ([-np.inf], -np.inf),
        ([np.inf, 0.0], np.inf),
        ([1.0, np.inf, -np.inf], np.inf),
        ([np.inf, np.inf], np.inf),
        ([-np.inf, 3.0, -np.inf], 3.0),
        ([-1000.0, -1000.0], -1000.0 + np.log(2.0)),
        ([1000.0, 1000.0], 1000.0 + np.log(2.0)),
        ([], -np.inf),
    ],
)
def test_edge_rows(row, expected, dtype):
    out = g.logsumexp(np.array(row, dtype=dtype))
    assert np.ndim(out) == 0 and np.asarray(out).dtype == dtype
    assert_allclose(out, expected, rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e308), (np.float32, 3e38)])
@pytest.mark.parametrize("signs", [(1, 1), (1, -1), (-1, -1)])
def test_huge_values_do_not_overflow(dtype, big, signs):
    a = np.array([signs[0] * big, signs[1] * big], dtype=dtype)
    out = g.logsumexp(a)
    expected = a.max() + (np.log(2.0) if signs[0] == signs[1] else 0.0)
    assert np.isfinite(out)
    assert_allclose(out, expected, rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_all_minus_inf_slices_give_minus_inf(axis):
    a = np.random.default_rng(1).standard_normal((4, 4))
    a[1, :] = -np.inf
    a[:, 2] = -np.inf
    out = g.logsumexp(a, axis=axis)
    expected = scipy.special.logsumexp(a, axis=axis)
    assert not np.any(np.isnan(out))
    assert_allclose(out, expected, rtol=1e-13)
    assert np.sum(out == -np.inf) == 1


@pytest.mark.parametrize(
    "shape, axis, out_shape",
    [
        ((0,), -1, ()),
        ((3, 0), -1, (3,)),
        ((0, 3), -1, (0,)),
        ((0, 3), 0, (3,)),
        ((2, 0, 4), 1, (2, 4)),
    ],
)
def test_empty_axis_gives_minus_inf(shape, axis, out_shape):
    out = g.logsumexp(np.zeros(shape), axis=axis)
    assert np.shape(out) == out_shape
    assert_array_equal(out, np.full(out_shape, -np.inf))


def test_integer_and_list_input():
    out = g.logsumexp([[1, 2, 3], [4, 5, 6]])
    assert out.dtype == np.float64
    assert_allclose(out, scipy.special.logsumexp([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], axis=-1), rtol=1e-14)


@pytest.mark.parametrize("a", [[np.nan], [1.0, np.nan, np.inf], [[0.0, 1.0], [np.nan, -np.inf]]])
def test_nan_rejected(a):
    with pytest.raises(ValueError, match="a contains NaN"):
        g.logsumexp(np.array(a))


@pytest.mark.parametrize("axis", [2, -3])
def test_axis_out_of_range(axis):
    with pytest.raises((ValueError, IndexError)):
        g.logsumexp(np.zeros((2, 3)), axis=axis)


@pytest.mark.parametrize(
    "a",
    [np.ones(3, dtype=complex), np.ones(3, dtype=bool), np.array(["1", "2"]), np.array([1.0, 2.0], dtype=object)],
    ids=["complex", "bool", "str", "object"],
)
def test_non_real_rejected(a):
    with pytest.raises(TypeError, match="must be a real numeric array"):
        g.logsumexp(a)


def test_input_not_modified():
    a = np.array([[1.0, -np.inf, 2.0], [np.inf, 0.0, 1.0]])
    before = a.copy()
    g.logsumexp(a, axis=0)
    g.logsumexp(a, axis=1)
    assert_array_equal(a, before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_axis_none_reduces_everything(dtype):
    a = np.random.default_rng(0).standard_normal((3, 4, 2)).astype(dtype)
    out = g.logsumexp(a, axis=None)
    assert out.dtype == dtype and np.ndim(out) == 0
    assert_allclose(out, scipy.special.logsumexp(a.astype(np.float64)), rtol=1e-6)
