"""scikit-learn's own tests of BayesianGaussianMixture, run on gmmcore's.

Every public-behaviour test of ``sklearn/mixture/tests/test_bayesian_mixture.py``
(the installed scikit-learn's) runs with that module's
``BayesianGaussianMixture`` replaced by ``gmmcore.BayesianGaussianMixture``.
Not run as they are: the two tests of scikit-learn's private normalising
functions (``_log_dirichlet_norm``, ``_log_wishart_norm``; the lower bound is
checked against tests/reference_variational.py in test_bayesian.py), and
``test_compare_covar_type``, which calls the private ``_check_parameters`` and
``_initialize_parameters``: it is adapted below to the public ``max_iter=0``
fit, which stops after the same initial M-step.
"""

import numpy as np
import pytest
from gmmcore import BayesianGaussianMixture
from numpy.testing import assert_allclose

suite = pytest.importorskip("sklearn.mixture.tests.test_bayesian_mixture")

PRIVATE = {"test_log_dirichlet_norm", "test_log_wishart_norm", "test_compare_covar_type"}


@pytest.fixture(autouse=True)
def _ours(monkeypatch):
    monkeypatch.setattr(suite, "BayesianGaussianMixture", BayesianGaussianMixture)


for _name in dir(suite):
    if _name.startswith("test_") and _name not in PRIVATE:
        globals()[_name] = getattr(suite, _name)


@pytest.mark.parametrize("prior_type", suite.PRIOR_TYPE)
def test_compare_covar_type(prior_type):
    # The initial M-step of each covariance type, from the same k-means start:
    # tied = mean of the full scale matrices, diag = their diagonals, spherical = the diagonals' means.
    rng = np.random.RandomState(0)
    X = suite.RandomData(rng, scale=7).X["full"]
    n_components = suite.RandomData(np.random.RandomState(0), scale=7).n_components

    def initial(covariance_type):
        return BayesianGaussianMixture(
            weight_concentration_prior_type=prior_type,
            n_components=2 * n_components,
            covariance_type=covariance_type,
            max_iter=0,
            random_state=0,
        ).fit(X)

    full = initial("full")
    full_covariances = full.covariances_ * full.degrees_of_freedom_[:, np.newaxis, np.newaxis]
    tied = initial("tied")
    assert_allclose(tied.covariances_ * tied.degrees_of_freedom_, np.mean(full_covariances, 0), rtol=1e-10)
    diag = initial("diag")
    diag_covariances = diag.covariances_ * diag.degrees_of_freedom_[:, np.newaxis]
    assert_allclose(diag_covariances, np.array([np.diag(cov) for cov in full_covariances]), rtol=1e-10)
    spherical = initial("spherical")
    assert_allclose(spherical.covariances_ * spherical.degrees_of_freedom_, np.mean(diag_covariances, 1), rtol=1e-10)
