"""scikit-learn's own estimator checks on gmmcore.BayesianGaussianMixture.

All checks pass; none is listed in ``expected_failed_checks`` (see
tests/test_mixture_checks.py for the skips that are scikit-learn's own).
"""

from gmmcore import BayesianGaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks


@parametrize_with_checks([BayesianGaussianMixture()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
