"""Determinism: identical bits for any OpenMP thread count and under concurrent Python threads."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gmmcore as g
import numpy as np
import pytest
from conftest import make_problem
from numpy.testing import assert_array_equal

TESTS_DIR = Path(__file__).resolve().parent

# Computes every function on a problem spanning many blocks and prints a SHA-256 per result,
# plus the thread count the OpenMP runtime loaded by gmmcore reports.
SCRIPT = """
import hashlib, json, sys
import numpy as np
sys.path.insert(0, {tests_dir!r})
import gmmcore as g
from conftest import make_problem
from threadpoolctl import threadpool_info

def digest(a):
    a = np.ascontiguousarray(a)
    return a.dtype.str + hashlib.sha256(a.tobytes()).hexdigest()

out = {{}}
for dtype in (np.float64, np.float32):
    w, mu, Sigma, X = make_problem(20000, 5, 4, dtype, seed=3)
    G = np.random.default_rng(4).standard_normal((20000, 4)).astype(dtype)
    p = g.GMMParams(w, mu, Sigma)
    name = np.dtype(dtype).name
    out[name + "/forward"] = digest(g.forward(p, X))
    out[name + "/expectation"] = digest(g.expectation(p, X))
    out[name + "/log_likelihood"] = digest(g.log_likelihood(p, X))
    out[name + "/nll"] = float.hex(g.negative_log_likelihood(p, X))
    for field, a in zip(g.Gradients._fields, g.backward(p, X, G)):
        out[name + "/backward." + field] = digest(a)
    start = g.GMMParams(np.full(4, 0.25, dtype=dtype), mu + dtype(0.5), Sigma)
    for field, a in zip(g.GMMParams._fields, g.em_train(start, X, 3)):
        out[name + "/em_train." + field] = digest(a)
omp = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"]
print(json.dumps({{"results": out, "openmp_threads": omp}}))
"""


def run_with_threads(n_threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(n_threads))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(tests_dir=str(TESTS_DIR))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def single_thread():
    return run_with_threads(1)


@pytest.mark.parametrize("n_threads", [2, 3])
def test_results_identical_across_openmp_thread_counts(single_thread, n_threads):
    many = run_with_threads(n_threads)
    assert many["results"] == single_thread["results"]
    assert len(many["results"]) == 2 * 11


@pytest.mark.parametrize("n_threads", [1, 2])
def test_openmp_runtime_honours_thread_count(n_threads):
    """The thread-count comparison above is only meaningful if OpenMP is really in use."""
    assert n_threads in run_with_threads(n_threads)["openmp_threads"]


def compute_all(seed):
    w, mu, Sigma, X = make_problem(20000, 4, 3, np.float64, seed=seed)
    G = np.random.default_rng(seed).standard_normal((20000, 3))
    p = g.GMMParams(w, mu, Sigma)
    return [
        g.forward(p, X),
        g.expectation(p, X),
        g.log_likelihood(p, X),
        np.array(g.negative_log_likelihood(p, X)),
        *g.backward(p, X, G),
        *g.em_train(p, X, 2),
        g.logsumexp(X, axis=0),
    ]


def test_concurrent_python_threads_match_serial():
    seeds = list(range(8)) * 2
    serial = {seed: compute_all(seed) for seed in set(seeds)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(compute_all, seeds))
    for seed, results in zip(seeds, concurrent):
        for actual, expected in zip(results, serial[seed], strict=True):
            assert_array_equal(actual, expected, strict=True)
