"""Build and runtime configuration: ``gmmcore.show_config()`` and the C++ package paths."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import TextIO

import numpy as np

from . import _build_info, _cpu, _native

_PACKAGE_DIR = Path(__file__).resolve().parent


def include_dir():
    """Directory holding ``gmmcore/gmmcore.hpp`` (the C++ headers shipped in the package)."""
    return _PACKAGE_DIR / "include"


def cmake_dir():
    """Directory holding ``gmmcoreConfig.cmake`` (pass it as ``gmmcore_DIR`` to CMake)."""
    return _PACKAGE_DIR / "share" / "cmake" / "gmmcore"


def config():
    """The facts ``show_config`` prints, as a dict."""
    return {
        "version": _build_info.version,
        "isa": _native.isa,
        "isa_reason": _native.isa_reason,
        "module": f"gmmcore.{_native.module_name}",
        "cpu_levels": list(_cpu.supported_levels()),
        "built_levels": list(_build_info.modules),
        "isa_env": os.environ.get(_native.ENV_VAR),
        "openmp": bool(_native.openmp),
        "threads": int(_cpu.max_threads()),
        "eigen": _build_info.eigen_version,
        "compiler": _build_info.compiler,
        "build_type": _build_info.build_type,
        "flags": _native.compile_flags,
        "pybind11": _build_info.pybind11_version,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "include_dir": str(include_dir()),
        "cmake_dir": str(cmake_dir()),
    }


def show_config(file: TextIO | None = None) -> None:
    """Print how gmmcore was built and what it uses at run time.

    Shows the version, the instruction-set level of the native kernels chosen
    for this CPU (and why), OpenMP and its thread count, the Eigen version,
    the compiler and flags, and where the C++ headers and CMake package are.

    Parameters
    ----------
    file : file-like, optional
        Where to print; ``sys.stdout`` by default.

    Examples
    --------
    >>> import gmmcore
    >>> gmmcore.show_config()  # doctest: +SKIP
    gmmcore 0.1.0
      ISA level:   x86-64-v3 (best level the CPU supports; gmmcore._native_x86_64_v3)
      ...
    """
    c = config()
    env = f"{_native.ENV_VAR}={c['isa_env']}" if c["isa_env"] else f"{_native.ENV_VAR} unset"
    threads = f"yes, {c['threads']} threads" if c["openmp"] else "no (single-threaded)"
    lines = [
        f"gmmcore {c['version']}",
        f"  ISA level:    {c['isa']} ({c['isa_reason']}; {c['module']})",
        f"  CPU levels:   {', '.join(c['cpu_levels']) or 'none'} ({c['machine']}; {env})",
        f"  built levels: {', '.join(c['built_levels'])}",
        f"  OpenMP:       {threads}",
        f"  Eigen:        {c['eigen']}",
        f"  compiler:     {c['compiler']} ({c['build_type']})",
        f"  flags:        {c['flags']}",
        f"  pybind11:     {c['pybind11']}",
        f"  Python:       {c['python']}, NumPy {c['numpy']}",
        f"  C++ headers:  {c['include_dir']}",
        f"  CMake dir:    {c['cmake_dir']}",
    ]
    print("\n".join(lines), file=sys.stdout if file is None else file)
