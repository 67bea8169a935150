"""gmmcore in PyTorch: the mixture log-density as an autograd operation over the native kernels.

Needs the ``torch`` extra: ``pip install "gmmcore[torch]"``. ``import gmmcore``
does not import torch; this module does.

- :func:`log_prob` and :func:`component_log_prob`: ``torch.autograd.Function``
  s whose forward and backward are gmmcore's C++ kernels, on CPU tensors of
  float32 or float64.
- :class:`GaussianMixtureModule`: a ``torch.nn.Module`` mixture with
  unconstrained parameters, convertible to and from a fitted
  :class:`gmmcore.GaussianMixture`.
"""

try:
    import torch  # noqa: F401  (the real torch: absolute imports do not see this package)
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError('gmmcore.torch needs PyTorch: install it with pip install "gmmcore[torch]"') from error

from ._function import component_log_prob, log_prob
from ._module import GaussianMixtureModule

__all__ = ["log_prob", "component_log_prob", "GaussianMixtureModule"]
