"""scikit-learn's own estimator checks on gmmcore.GaussianMixture.

All checks pass; none is listed in ``expected_failed_checks``. scikit-learn
itself skips the checks whose optional dependencies are absent (pandas input,
array-API input without ``SCIPY_ARRAY_API``); those skips are its own, not
ours. The checks silence the warnings they provoke themselves, so the
project-wide ``filterwarnings = ["error"]`` stays in force: any warning that
escapes a check is a failure.
"""

from gmmcore import GaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks


@parametrize_with_checks([GaussianMixture()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
