"""Plots of fitted Gaussian mixtures, with matplotlib.

matplotlib is an optional dependency: ``pip install "gmmcore[plot]"``.
Importing this module does not import matplotlib; each function does, and
raises an ``ImportError`` that says how to install it when it is missing.
"""

import numpy as np

from ._covariance import full_covariances

__all__ = ["plot_mixture", "plot_criterion", "component_ellipse"]

_INSTALL_HINT = 'gmmcore.plot needs matplotlib: install it with  pip install "gmmcore[plot]"'


def _matplotlib():
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    return matplotlib


def _axes(ax):
    """``ax``, or pyplot's current axes when None."""
    _matplotlib()
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def _marginal_covariances(model, features):
    """The (n_components, 2, 2) covariances of the chosen pair of features."""
    i, j = features
    k, d = model.means_.shape
    cov = np.asarray(model.covariances_, dtype=np.float64)
    full = full_covariances(cov, model.covariance_type, k, d)
    return full[:, [i, j]][:, :, [i, j]]


def component_ellipse(mean, covariance, n_sigma=1.0):
    """Centre, axes and angle of the ``n_sigma`` ellipse of a 2-D Gaussian.

    The ellipse is the contour at Mahalanobis distance ``n_sigma`` from the
    mean: ``(x - mean)^T covariance^{-1} (x - mean) = n_sigma^2``. In two
    dimensions it holds 39.3% (1 sigma) and 86.5% (2 sigma) of the component.

    Parameters
    ----------
    mean : array-like of shape (2,)
    covariance : array-like of shape (2, 2)
        Symmetric positive definite.
    n_sigma : float, default=1.0

    Returns
    -------
    center : ndarray of shape (2,)
    width : float
        Full length of the major axis.
    height : float
        Full length of the minor axis.
    angle : float
        Counter-clockwise angle of the major axis from the x axis, in degrees
        (what ``matplotlib.patches.Ellipse`` takes).

    Examples
    --------
    >>> component_ellipse([0, 0], [[4, 0], [0, 1]], n_sigma=2)
    (array([0., 0.]), 8.0, 4.0, 0.0)
    """
    values, vectors = np.linalg.eigh(np.asarray(covariance, dtype=np.float64))
    values = np.clip(values, 0.0, None)
    major = vectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    # An axis direction, not an arrow: fold the angle into (-90, 90].
    if angle <= -90.0:
        angle += 180.0
    elif angle > 90.0:
        angle -= 180.0
    width = float(2.0 * n_sigma * np.sqrt(values[1]))
    height = float(2.0 * n_sigma * np.sqrt(values[0]))
    return np.asarray(mean, dtype=np.float64), width, height, angle + 0.0


def plot_mixture(model, X=None, ax=None, *, features=(0, 1), sigmas=(1.0, 2.0), feature_names=None, title=None):
    """Draw a fitted mixture: points coloured by component, and each component's ellipses.

    Each sample is coloured by its most probable component (``model.predict``
    on all its features); each component gets its mean (a cross) and one
    ellipse per entry of ``sigmas`` in the chosen pair of features (solid for
    the first, dashed after it). For more than two features, the ellipses are
    those of the marginal distribution of the pair.

    Parameters
    ----------
    model : GaussianMixture
        A fitted estimator with at least two features.
    X : array-like of shape (n_samples, n_features), default=None
        Samples to draw; None draws only the components.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; None uses ``matplotlib.pyplot.gca()``.
    features : (int, int), default=(0, 1)
        The features on the x and y axes.
    sigmas : sequence of float, default=(1.0, 2.0)
        Mahalanobis radii of the ellipses (see :func:`component_ellipse`).
    feature_names : sequence of str, default=None
        Names of all the features, for the axis labels; default
        ``model.feature_names_in_`` when it has one, else "feature i".
    title : str, default=None

    Returns
    -------
    ax : matplotlib.axes.Axes

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    ValueError
        When the model has one feature, ``features`` is not two distinct
        features of the model, or ``X`` has the wrong number of features.

    Examples
    --------
    >>> import numpy as np, gmmcore
    >>> from gmmcore.plot import plot_mixture
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> gm = gmmcore.GaussianMixture(2, random_state=0).fit(X)
    >>> ax = plot_mixture(gm, X)  # doctest: +SKIP
    """
    from sklearn.utils.validation import check_is_fitted

    _matplotlib()
    from matplotlib.patches import Ellipse

    check_is_fitted(model)
    n_components, n_features = model.means_.shape
    if n_features < 2:
        raise ValueError(f"plot_mixture needs at least 2 features; the model has {n_features}")
    features = tuple(int(f) for f in features)
    if len(features) != 2 or features[0] == features[1] or not all(0 <= f < n_features for f in features):
        raise ValueError(f"features must be two distinct feature indices in [0, {n_features}), got {features}")
    if feature_names is None:
        feature_names = getattr(model, "feature_names_in_", None)
    if feature_names is None:
        feature_names = [f"feature {i}" for i in range(n_features)]
    if len(feature_names) != n_features:
        raise ValueError(f"feature_names has {len(feature_names)} names, the model {n_features} features")
    ax = _axes(ax)
    i, j = features
    colors = [f"C{k % 10}" for k in range(n_components)]

    if X is not None:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != n_features:
            raise ValueError(f"X must have shape (n_samples, {n_features}), got {X.shape}")
        labels = model.predict(X)
        ax.scatter(
            X[:, i], X[:, j], c=np.asarray(colors, dtype=object)[labels], s=14, alpha=0.75, linewidths=0, zorder=2
        )

    covariances = _marginal_covariances(model, features)
    means = np.asarray(model.means_, dtype=np.float64)[:, [i, j]]
    for k in range(n_components):
        for index, n_sigma in enumerate(sigmas):
            center, width, height, angle = component_ellipse(means[k], covariances[k], n_sigma)
            ax.add_patch(
                Ellipse(
                    center,
                    width,
                    height,
                    angle=angle,
                    fill=False,
                    edgecolor=colors[k],
                    linewidth=2.0 if index == 0 else 1.2,
                    linestyle="-" if index == 0 else "--",
                    zorder=3,
                )
            )
        ax.plot(
            *means[k],
            marker="X",
            markersize=11,
            color=colors[k],
            markeredgecolor="black",
            linestyle="none",
            zorder=4,
            label=f"component {k} (weight {float(model.weights_[k]):.2f})",
        )
    ax.autoscale_view()
    ax.set_xlabel(str(feature_names[i]))
    ax.set_ylabel(str(feature_names[j]))
    if title is not None:
        ax.set_title(title)
    sigma_text = " and ".join(f"{s:g}" for s in sigmas)
    ax.legend(loc="best", fontsize="small", title=f"ellipses: {sigma_text} sigma", title_fontsize="small")
    return ax


def plot_criterion(n_components, values, ax=None, *, criterion="BIC", best=None):
    """Draw an information criterion against the number of components.

    Parameters
    ----------
    n_components : array-like of int of shape (n_models,)
    values : array-like of shape (n_models,)
        The criterion of each model (lower is better).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; None uses ``matplotlib.pyplot.gca()``.
    criterion : str, default="BIC"
        Its name, for the labels.
    best : int, default=None
        The chosen number of components, marked on the curve; default the
        one with the lowest value.

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> from gmmcore.plot import plot_criterion
    >>> ax = plot_criterion([1, 2, 3], [250.0, 210.0, 230.0])  # doctest: +SKIP
    """
    n_components = np.asarray(n_components)
    values = np.asarray(values, dtype=np.float64)
    if n_components.shape != values.shape or n_components.ndim != 1 or len(values) == 0:
        raise ValueError(
            f"n_components and values must be 1-D of one length, got {n_components.shape} and {values.shape}"
        )
    ax = _axes(ax)
    if best is None:
        best = int(n_components[np.argmin(values)])
    ax.plot(n_components, values, marker="o", color="C0", linewidth=2, zorder=2, label=criterion)
    at = np.flatnonzero(n_components == best)
    if len(at):
        ax.plot(
            [best],
            [values[at[0]]],
            marker="o",
            markersize=14,
            markerfacecolor="none",
            markeredgecolor="C3",
            markeredgewidth=2.5,
            linestyle="none",
            zorder=3,
            label=f"best: {best} components",
        )
    ax.set_xlabel("number of components")
    ax.set_ylabel(f"{criterion} (lower is better)")
    ax.set_xticks(n_components)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax
