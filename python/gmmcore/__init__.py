"""gmmcore: exact, fast Gaussian mixture models with gradients.

A C++ core (Eigen, OpenMP) under a NumPy API: per-component log-probabilities,
responsibilities, log-likelihoods, the VJP of the forward map and EM training.
The exact contract, edge cases included, is ``docs/math.md`` in the repository.
"""

from ._config import show_config
from ._core import (
    backward,
    em_step,
    em_train,
    expectation,
    forward,
    log_likelihood,
    logsumexp,
    negative_log_likelihood,
)
from ._params import GMMParams, Gradients, init_params
from ._statistics import MixtureParameters, SufficientStatistics
from ._version import __version__ as __version__


def __getattr__(name):
    # The estimator needs scikit-learn; import it (and sklearn) only when asked for.
    if name == "GaussianMixture":
        from ._mixture import GaussianMixture

        return GaussianMixture
    if name == "BayesianGaussianMixture":
        from ._bayesian import BayesianGaussianMixture

        return BayesianGaussianMixture
    if name == "load":
        from ._model_io import load

        return load
    if name == "plot":
        import importlib

        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module 'gmmcore' has no attribute {name!r}")


__all__ = [
    "GaussianMixture",
    "BayesianGaussianMixture",
    "load",
    "GMMParams",
    "SufficientStatistics",
    "MixtureParameters",
    "Gradients",
    "init_params",
    "forward",
    "expectation",
    "logsumexp",
    "log_likelihood",
    "negative_log_likelihood",
    "backward",
    "em_step",
    "em_train",
    "show_config",
]
