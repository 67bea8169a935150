"""Checks of an installed gmmcore as a package: ISA dispatch, show_config, the
C++ package it carries and the consumer example built against it.

Run against whatever ``gmmcore`` the interpreter imports (a source install in
``.ci/run``, the repaired wheel in ``.ci/wheel``):

    python -m pytest .ci/test_packaging.py

The consumer-example test needs ``cmake``, a C++ compiler and Eigen (found
through ``CMAKE_PREFIX_PATH`` or the system); without cmake or a compiler on
PATH it is skipped.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import gmmcore
import numpy as np
import pytest
from gmmcore import _build_info, _native

REPO = Path(__file__).resolve().parent.parent
LEVELS = ("x86-64-v2", "x86-64-v3", "x86-64-v4")
# Features /proc/cpuinfo reports for each level (the psABI's lists).
LEVEL_FLAGS = {
    "x86-64-v2": {"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"},
    "x86-64-v3": {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"},
    "x86-64-v4": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}
DISPATCHING = any(level in _build_info.modules for level in LEVELS)


def run_python(code, isa=None, check=True):
    env = dict(os.environ)
    env.pop("GMMCORE_ISA", None)
    if isa is not None:
        env["GMMCORE_ISA"] = isa
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=check)


def cpuinfo_levels():
    """Levels /proc/cpuinfo says this CPU has, independently of gmmcore._cpu."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    match = re.search(r"^flags\s*:(.*)$", text, re.MULTILINE)
    if not match:
        pytest.skip("/proc/cpuinfo has no flags line")
    flags = set(match.group(1).split())
    levels = []
    for level in LEVELS:
        if not LEVEL_FLAGS[level] <= flags:
            break
        levels.append(level)
    return levels


def test_package_is_imported_from_site_packages():
    # The tests must exercise the installed package, never the source tree.
    assert REPO / "python" not in Path(gmmcore.__file__).parents


def test_show_config_reports_what_is_used():
    out = run_python("import gmmcore; gmmcore.show_config()").stdout
    assert out.startswith(f"gmmcore {gmmcore.__version__}\n")
    for label in ("ISA level:", "OpenMP:", "Eigen:", "compiler:", "flags:", "C++ headers:", "CMake dir:"):
        assert label in out
    assert f"ISA level:    {_native.isa} " in out
    assert _build_info.eigen_version and _build_info.eigen_version in out
    if _native.openmp:
        assert re.search(r"OpenMP:\s+yes, \d+ threads", out)
    threads = subprocess.run(
        [sys.executable, "-c", "import gmmcore; gmmcore.show_config()"],
        env={**os.environ, "OMP_NUM_THREADS": "3"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if _native.openmp:
        assert "yes, 3 threads" in threads


@pytest.mark.skipif(not DISPATCHING, reason="single-ISA build (GMMCORE_NATIVE_ARCH or not x86-64)")
def test_default_level_is_the_best_the_cpu_supports():
    expected = os.environ.get("GMMCORE_EXPECTED_ISA") or cpuinfo_levels()[-1]
    assert run_python("from gmmcore import _native; print(_native.isa)").stdout.strip() == expected
    assert run_python("from gmmcore import _cpu; print(_cpu.supported_levels()[-1])").stdout.strip() == expected


@pytest.mark.skipif(not DISPATCHING, reason="single-ISA build (GMMCORE_NATIVE_ARCH or not x86-64)")
@pytest.mark.parametrize("cap", LEVELS)
def test_environment_variable_caps_the_level(cap):
    supported = cpuinfo_levels()
    expected = [level for level in supported if LEVELS.index(level) <= LEVELS.index(cap)][-1]
    code = (
        "import numpy as np, gmmcore as g\n"
        "from gmmcore import _native\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.normal(size=(3000, 5))\n"
        "p = g.init_params(4, 5)._replace(means=X[:4])\n"
        "p = g.em_train(p, X, 5, jitter=1e-6)\n"
        "print(_native.isa, _native.module_name)\n"
        "print(repr(g.negative_log_likelihood(p, X)))\n"
    )
    default = run_python(code).stdout.splitlines()
    capped = run_python(code, isa=cap).stdout.splitlines()
    assert capped[0].split()[0] == expected
    assert f"_native_{expected.replace('-', '_')}" in capped[0]
    # Different instruction sets round differently, but not by much.
    np.testing.assert_allclose(float(capped[1]), float(default[1]), rtol=1e-9)


@pytest.mark.parametrize("value", ["avx2", "x86-64-v5", "X86-64-V3", "native"])
def test_invalid_level_is_a_clear_error(value):
    result = run_python("import gmmcore", isa=value, check=False)
    assert result.returncode != 0
    assert f"GMMCORE_ISA={value!r}" in result.stderr
    if DISPATCHING:
        assert "x86-64-v2, x86-64-v3, x86-64-v4" in result.stderr


def test_empty_level_means_unset():
    assert run_python("from gmmcore import _native; print(_native.isa)", isa="").stdout.strip() == _native.isa


def test_errors_keep_their_python_types():
    p = gmmcore.init_params(2, 2)
    bad = p._replace(covariances=np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]]))
    with pytest.raises(np.linalg.LinAlgError):
        gmmcore.forward(bad, np.zeros((3, 2)))
    assert issubclass(_native.NotPositiveDefiniteError, np.linalg.LinAlgError)


def test_cli_prints_include_and_cmake_dirs():
    include = subprocess.run(
        [sys.executable, "-m", "gmmcore", "--include-dir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    cmake = subprocess.run(
        [sys.executable, "-m", "gmmcore", "--cmake-dir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert Path(include, "gmmcore", "gmmcore.hpp").is_file()
    for name in ("gmmcoreConfig.cmake", "gmmcoreConfigVersion.cmake", "gmmcoreTargets.cmake"):
        assert Path(cmake, name).is_file()
    shipped = sorted(p.name for p in Path(include, "gmmcore").glob("*.hpp"))
    source = sorted(p.name for p in (REPO / "cpp" / "include" / "gmmcore").glob("*.hpp"))
    assert shipped == source


def test_python_m_gmmcore_runs_the_demo():
    out = subprocess.run([sys.executable, "-m", "gmmcore", "demo"], capture_output=True, text=True, check=True).stdout
    assert "Old Faithful" in out and "converged:       yes" in out


@pytest.mark.skipif(
    shutil.which("cmake") is None or not any(map(shutil.which, ("c++", "g++", "clang++"))),
    reason="needs cmake and a C++ compiler",
)
def test_consumer_example_builds_against_the_installed_package(tmp_path):
    cmake_dir = subprocess.run(
        [sys.executable, "-m", "gmmcore", "--cmake-dir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    build = tmp_path / "example"
    for cmd in (
        [
            "cmake",
            "-S",
            str(REPO / "cpp" / "examples"),
            "-B",
            str(build),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-Dgmmcore_DIR={cmake_dir}",
        ],
        ["cmake", "--build", str(build), "-j", str(os.cpu_count() or 1)],
        [str(build / "fit_chunked")],
        [str(build / "fit_gmm")],
    ):
        result = subprocess.run(cmd, capture_output=True, text=True)
        assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stdout}\n{result.stderr}"
    assert "recovered the 3 components" in result.stdout
