"""gmmcore in JAX: the mixture log-density with a ``jax.custom_vjp`` over the native kernels.

Needs the ``jax`` extra: ``pip install "gmmcore[jax]"``. ``import gmmcore``
does not import jax; this module does.

:func:`log_prob` and :func:`component_log_prob` work under ``jax.jit``,
``jax.grad`` (first order) and ``jax.vmap``, in float32 and float64 (enable
``jax_enable_x64`` for the latter).
"""

try:
    import jax  # noqa: F401  (the real jax: absolute imports do not see this package)
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError('gmmcore.jax needs JAX: install it with pip install "gmmcore[jax]"') from error

from ._ops import component_log_prob, log_prob

__all__ = ["log_prob", "component_log_prob"]
