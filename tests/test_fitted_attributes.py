"""A fitted GaussianMixture whose attributes no longer agree is refused, never evaluated.

Changing ``weights_``, ``means_``, ``precisions_cholesky_`` (or the
``covariance_type``) after ``fit`` used to give finite garbage, ``-inf`` or
label 0 from the native kernels, which read the arrays past their end. Each
method must now raise a ``ValueError`` naming the attribute; the same goes for
a warm start from such a model. The functional API's native calls are checked
against C++ callers by ``cpp/tests/test_checks.cpp``.
"""

import numpy as np
import pytest
from gmmcore import GaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
METHODS = ["score_samples", "predict", "predict_proba", "score"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(loc=c, size=(60, 3)) for c in (0.0, 6.0, 12.0)])


@pytest.fixture(scope="module", params=COVARIANCE_TYPES)
def fitted(request, data):
    return GaussianMixture(3, covariance_type=request.param, random_state=0).fit(data)


def tampered(model, **attributes):
    out = GaussianMixture(**model.get_params())
    out.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    out.__dict__.update(attributes)
    return out


def cut_features(array, covariance_type):
    """The array of one fewer feature, as the covariance type stores it."""
    return {
        "full": lambda a: a[:, :-1, :-1],
        "tied": lambda a: a[:-1, :-1],
        "diag": lambda a: a[:, :-1],
        "spherical": lambda a: a,
    }[covariance_type](array)


def broken_models(model):
    """(description, tampered model, attribute the error must name)."""
    kind = model.covariance_type
    cases = [
        ("weights cut", tampered(model, weights_=model.weights_[:2]), "weights_"),
        ("means cut to fewer components", tampered(model, means_=model.means_[:2]), "weights_"),
        ("weights extended", tampered(model, weights_=np.r_[model.weights_, 0.0]), "weights_"),
    ]
    if kind != "spherical":
        chol = cut_features(model.precisions_cholesky_, kind)
        cases.append(
            (
                "precisions_cholesky cut to fewer features",
                tampered(model, precisions_cholesky_=chol),
                "precisions_cholesky_",
            )
        )
    if kind in ("full", "diag", "spherical"):
        cases.append(
            (
                "precisions_cholesky cut to fewer components",
                tampered(model, precisions_cholesky_=model.precisions_cholesky_[:2]),
                "precisions_cholesky_",
            )
        )
    if kind == "tied":
        cases.append(
            (
                "tied precision of a full model",
                tampered(model, precisions_cholesky_=np.stack([model.precisions_cholesky_] * 3)),
                "precisions_cholesky_",
            )
        )
    if kind == "spherical":
        cases.append(
            (
                "spherical precision of the wrong size",
                tampered(model, precisions_cholesky_=np.r_[model.precisions_cholesky_, 1.0]),
                "precisions_cholesky_",
            )
        )
    other = {"full": "diag", "tied": "full", "diag": "spherical", "spherical": "tied"}[kind]
    changed = tampered(model)
    changed.covariance_type = other
    cases.append((f"covariance_type changed to {other!r} after fit", changed, "precisions_cholesky_"))
    cases.append(
        ("means with a feature more", tampered(model, means_=np.c_[model.means_, model.means_[:, :1]]), "means_")
    )
    return cases


@pytest.mark.parametrize("method", METHODS)
def test_evaluation_refuses_inconsistent_attributes(fitted, data, method):
    for description, model, attribute in broken_models(fitted):
        with pytest.raises(ValueError, match=attribute) as error:
            getattr(model, method)(data)
        assert "shape" in str(error.value) or "features" in str(error.value), description


def test_sample_refuses_inconsistent_attributes(fitted):
    """sample() draws from weights_, means_ and covariances_: zip() used to cut them to the shortest."""
    for _description, model, attribute in broken_models(fitted):
        if attribute == "precisions_cholesky_":  # sample() does not use it; break covariances_ instead
            model = tampered(fitted, covariances_=model.precisions_cholesky_)
            attribute = "(covariances_|weights_|means_)"
            if model.covariances_.shape == fitted.covariances_.shape:
                continue
        with pytest.raises(ValueError, match=attribute):
            model.sample(10)


def test_warm_start_refuses_inconsistent_attributes(fitted, data):
    for description, model, attribute in broken_models(fitted):
        model.set_params(warm_start=True, max_iter=2)
        before = {k: v for k, v in model.__dict__.items()}
        # covariances_ is checked before precisions_cholesky_ here; both disagree with the type.
        with pytest.raises(
            ValueError,
            match=attribute.replace("precisions_cholesky_", "(covariances|precisions_cholesky)_")
            if "covariance_type" in description
            else attribute,
        ):
            model.fit(data)
        # A failed fit leaves the estimator as it was (the same objects, untouched).
        assert model.__dict__.keys() == before.keys(), description
        assert all(model.__dict__[k] is before[k] for k in before), description


@pytest.mark.parametrize("value_case", ["nan_mean", "negative_weight", "unnormalised", "bad_precision"])
def test_evaluation_refuses_invalid_values(fitted, data, value_case):
    means, weights, chol = fitted.means_.copy(), fitted.weights_.copy(), fitted.precisions_cholesky_.copy()
    if value_case == "nan_mean":
        means[1, 0] = np.nan
        model, match = tampered(fitted, means_=means), "means contains NaN"
    elif value_case == "negative_weight":
        weights[0] = -weights[0]
        model, match = tampered(fitted, weights_=weights), "weights must be non-negative"
    elif value_case == "unnormalised":
        model, match = tampered(fitted, weights_=weights * 2), "weights must have a positive sum of at most 1"
    else:
        chol.reshape(-1)[0] = -1.0  # a diagonal entry of P (full, tied) or a precision (diag, spherical)
        model, match = tampered(fitted, precisions_cholesky_=chol), r"precisions_cholesky\[0\] must be"
    for method in METHODS:
        with pytest.raises(ValueError, match=match):
            getattr(model, method)(data)


def test_untampered_copy_still_works(fitted, data):
    np.testing.assert_array_equal(tampered(fitted).score_samples(data), fitted.score_samples(data))
