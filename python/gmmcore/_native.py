"""The native core, compiled for the best instruction set this CPU supports.

The bindings (``cpp/bindings/native.cpp``) are compiled once per x86-64
micro-architecture level into ``_native_x86_64_v2``, ``_native_x86_64_v3``
(AVX2, FMA) and ``_native_x86_64_v4`` (AVX-512). At import this module asks
``_cpu`` (compiled for the baseline, so it loads anywhere) which levels the
CPU supports, imports the highest one, and re-exports its contents, so
``from . import _native`` sees one module whatever was chosen.

The environment variable ``GMMCORE_ISA`` (``x86-64-v2``, ``x86-64-v3`` or
``x86-64-v4``) caps the level: the highest level that is supported and not
above the cap is used. A developer build with ``GMMCORE_NATIVE_ARCH=ON`` has
one ``_native_host`` module (``-march=native``); other architectures have one
``_native_generic`` module; those builds accept no ``GMMCORE_ISA``.
"""

import importlib
import os

from . import _build_info, _cpu

#: The dispatch levels, lowest first.
LEVELS = ("x86-64-v2", "x86-64-v3", "x86-64-v4")
#: Name of the environment variable that caps the level.
ENV_VAR = "GMMCORE_ISA"


def _choose():
    """(isa, reason) for the module to import, or raise ImportError/ValueError."""
    built = _build_info.modules
    requested = os.environ.get(ENV_VAR, "").strip()
    if requested and requested not in LEVELS:
        raise ValueError(
            f"{ENV_VAR}={requested!r} is not an ISA level; use one of {', '.join(LEVELS)} (or leave it unset)"
        )
    if not any(level in built for level in LEVELS):
        (isa,) = built  # a single native or generic build
        if requested:
            raise ImportError(
                f"{ENV_VAR}={requested!r} is set, but this gmmcore build has no per-level kernels, only "
                f"{isa!r} ({built[isa][1] or 'default flags'}); unset {ENV_VAR} or install a dispatching build"
            )
        return isa, "the only kernels in this build"
    supported = set(_cpu.supported_levels())
    candidates = [level for level in LEVELS if level in built and level in supported]
    if requested:
        candidates = [level for level in candidates if LEVELS.index(level) <= LEVELS.index(requested)]
    if not candidates:
        raise ImportError(
            "gmmcore needs an x86-64 CPU with at least the x86-64-v2 instruction set (SSE4.2, POPCNT); "
            f"this CPU supports {sorted(supported) or 'none of the levels'}"
        )
    reason = f"capped by {ENV_VAR}={requested}" if requested else "best level the CPU supports"
    return candidates[-1], reason


isa, isa_reason = _choose()
module_name, compile_flags = _build_info.modules[isa]
_module = importlib.import_module(f".{module_name}", __package__)
globals().update({name: value for name, value in vars(_module).items() if not name.startswith("_")})
