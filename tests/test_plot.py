"""gmmcore.plot: ellipse geometry, what plot_mixture and plot_criterion draw, and the missing-matplotlib hint."""

import sys

import numpy as np
import pytest
from gmmcore import GaussianMixture
from gmmcore.plot import component_ellipse

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # no display in tests; set before pyplot is imported anywhere

from gmmcore.plot import plot_criterion, plot_mixture  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def blobs(n_features=2, n=300, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 1.0, 2.0], [1.0, 7.0, -3.0]])[:, :n_features]
    return centres[rng.integers(0, 3, n)] + rng.normal(scale=0.8, size=(n, n_features))


def axes():
    return Figure().subplots()


def ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


def boundary(ellipse, n=16):
    """Points on a matplotlib Ellipse, in data coordinates."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    a, b = ellipse.width / 2, ellipse.height / 2
    theta = np.radians(ellipse.angle)
    local = np.stack([a * np.cos(t), b * np.sin(t)], axis=1)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return np.asarray(ellipse.center) + local @ rotation.T


@pytest.mark.parametrize("n_sigma", [1.0, 2.0, 0.5])
@pytest.mark.parametrize(
    "covariance",
    [[[4.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 9.0]], [[2.0, 1.2], [1.2, 1.0]], [[1.0, -0.9], [-0.9, 1.0]]],
)
def test_ellipse_is_the_mahalanobis_contour(covariance, n_sigma):
    covariance = np.array(covariance)
    mean = np.array([1.0, -2.0])
    center, width, height, angle = component_ellipse(mean, covariance, n_sigma)
    assert width >= height > 0 and -90.0 < angle <= 90.0
    points = boundary(Ellipse(center, width, height, angle=angle))
    d = points - mean
    distance = np.sqrt(np.einsum("ni,ij,nj->n", d, np.linalg.inv(covariance), d))
    np.testing.assert_allclose(distance, n_sigma, rtol=1e-12)


def test_ellipse_axis_lengths():
    center, width, height, angle = component_ellipse([0, 0], [[4, 0], [0, 1]], n_sigma=2)
    assert (width, height, angle) == (8.0, 4.0, 0.0)
    assert component_ellipse([0, 0], [[1, 0], [0, 4]])[1:] == (4.0, 2.0, 90.0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_plot_mixture_draws_points_means_and_two_ellipses_per_component(covariance_type):
    X = blobs()
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    ax = plot_mixture(model, X, ax=axes())
    drawn = ellipses(ax)
    assert len(drawn) == 6
    points = ax.collections[0]
    np.testing.assert_array_equal(points.get_offsets(), X)
    # Each point has its component's colour.
    colours = points.get_facecolors()[:, :3]
    expected = np.array([matplotlib.colors.to_rgb(f"C{k}") for k in model.predict(X)])
    np.testing.assert_allclose(colours, expected)
    # Solid 1-sigma and dashed 2-sigma ellipses around each mean, on the Mahalanobis contours.
    covariances = {
        "full": lambda c: c,
        "tied": lambda c: np.broadcast_to(c, (3, 2, 2)),
        "diag": lambda c: c[:, :, None] * np.eye(2),
        "spherical": lambda c: c[:, None, None] * np.eye(2),
    }[covariance_type](model.covariances_)
    for k in range(3):
        for n_sigma, ellipse in zip((1, 2), drawn[2 * k : 2 * k + 2]):
            np.testing.assert_allclose(ellipse.center, model.means_[k])
            d = boundary(ellipse) - model.means_[k]
            distance = np.sqrt(np.einsum("ni,ij,nj->n", d, np.linalg.inv(covariances[k]), d))
            np.testing.assert_allclose(distance, n_sigma, rtol=1e-9)
        assert drawn[2 * k].get_linestyle() == "-" and drawn[2 * k + 1].get_linestyle() == "--"
    assert ax.get_xlabel() == "feature 0" and ax.get_ylabel() == "feature 1"
    # The view holds every point and every 2-sigma ellipse.
    x0, x1 = ax.get_xlim()
    assert x0 <= X[:, 0].min() and x1 >= X[:, 0].max()


def test_plot_mixture_on_a_chosen_pair_of_features_uses_the_marginal_covariance():
    X = blobs(n_features=3)
    model = GaussianMixture(3, random_state=0).fit(X)
    ax = plot_mixture(model, X, ax=axes(), features=(2, 0), feature_names=["a", "b", "c"], title="t")
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("c", "a", "t")
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), X[:, [2, 0]])
    first = ellipses(ax)[0]
    marginal = model.covariances_[0][np.ix_([2, 0], [2, 0])]
    d = boundary(first) - model.means_[0, [2, 0]]
    np.testing.assert_allclose(np.sqrt(np.einsum("ni,ij,nj->n", d, np.linalg.inv(marginal), d)), 1.0, rtol=1e-9)


def test_plot_mixture_without_data_and_with_other_sigmas():
    X = blobs()
    model = GaussianMixture(2, random_state=0).fit(X)
    ax = plot_mixture(model, ax=axes(), sigmas=(1, 2, 3))
    assert len(ellipses(ax)) == 6 and len(ax.collections) == 0


def test_plot_mixture_uses_the_current_axes_by_default():
    import matplotlib.pyplot as plt

    X = blobs()
    model = GaussianMixture(2, random_state=0).fit(X)
    fig = plt.figure()
    try:
        assert plot_mixture(model, X) is fig.gca()
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    "kwargs, X, message",
    [
        ({"features": (0, 0)}, None, "two distinct feature indices"),
        ({"features": (0, 5)}, None, "two distinct feature indices"),
        ({"feature_names": ["a"]}, None, "feature_names has 1 names"),
        ({}, np.zeros((4, 3)), r"X must have shape \(n_samples, 2\)"),
    ],
)
def test_plot_mixture_errors(kwargs, X, message):
    model = GaussianMixture(2, random_state=0).fit(blobs())
    with pytest.raises(ValueError, match=message):
        plot_mixture(model, X, ax=axes(), **kwargs)


def test_plot_mixture_needs_two_features():
    model = GaussianMixture(2, random_state=0).fit(blobs()[:, :1])
    with pytest.raises(ValueError, match="at least 2 features; the model has 1"):
        plot_mixture(model, ax=axes())


def test_plot_criterion():
    ax = plot_criterion([1, 2, 3, 4], [30.0, 10.0, 12.0, 20.0], ax=axes(), criterion="AIC")
    line, best = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(line.get_ydata(), [30.0, 10.0, 12.0, 20.0])
    assert (list(best.get_xdata()), list(best.get_ydata())) == ([2], [10.0])
    assert ax.get_ylabel() == "AIC (lower is better)"
    with pytest.raises(ValueError, match="1-D of one length"):
        plot_criterion([1, 2], [1.0], ax=axes())


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    model = GaussianMixture(2, random_state=0).fit(blobs())
    with pytest.raises(ImportError, match=r'pip install "gmmcore\[plot\]"'):
        plot_mixture(model)
    with pytest.raises(ImportError, match=r'pip install "gmmcore\[plot\]"'):
        plot_criterion([1], [1.0])
