"""gmmcore.GaussianMixture gives the same bits for any OpenMP thread count.

Each thread count runs in its own interpreter (OMP_NUM_THREADS is read once, at
start-up), fits every covariance type x initialisation x dtype (plus sample
weights) on data spanning several row blocks, the same fit over chunks and a
partial_fit stream, and prints a SHA-256 of every fitted attribute.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent

SCRIPT = """
import hashlib, json, warnings
import numpy as np
from gmmcore import GaussianMixture

warnings.simplefilter("ignore")  # "random" may stop at max_iter; the bits are what matter here

def digest(a):
    a = np.ascontiguousarray(a)
    return a.dtype.str + hashlib.sha256(a.tobytes()).hexdigest()

rng = np.random.default_rng(0)
centres = 10.0 * np.vstack([np.zeros(3), np.eye(3)])
# 24000 rows (94 blocks of 256): enough work for every pass, k-means included, to run in parallel.
X = np.vstack([c + rng.standard_normal((6000, 3)) for c in centres])
sample_weight = rng.uniform(0.5, 2.0, len(X))


out = {}
for dtype in (np.float64, np.float32):
    for covariance_type in ("full", "tied", "diag", "spherical"):
        for init_params in ("kmeans", "k-means++", "random", "random_from_data"):
            for weighted in (False, True):
                key = "/".join([np.dtype(dtype).name, covariance_type, init_params, str(weighted)])
                gm = GaussianMixture(4, covariance_type=covariance_type, init_params=init_params,
                                     max_iter=5, random_state=0)
                gm.fit(X.astype(dtype), sample_weight=sample_weight.astype(dtype) if weighted else None)
                out[key] = [digest(getattr(gm, name)) for name in
                            ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")]
                out[key] += [gm.n_iter_, gm.converged_, float.hex(gm.lower_bound_),
                             [float.hex(b) for b in gm.lower_bounds_],
                             digest(gm.predict_proba(X.astype(dtype))), digest(gm.score_samples(X.astype(dtype)))]
def chunks():
    for start in range(0, len(X), 5000):
        yield X[start:start + 5000], sample_weight[start:start + 5000]

for covariance_type in ("full", "tied", "diag", "spherical"):
    chunked = GaussianMixture(4, covariance_type=covariance_type, max_iter=5, random_state=0).fit(chunks)
    stream = GaussianMixture(4, covariance_type=covariance_type, random_state=0)
    for start in range(0, len(X), 4000):
        stream.partial_fit(X[start:start + 4000])
    for name, gm in (("chunked", chunked), ("partial_fit", stream)):
        out[name + "/" + covariance_type] = [digest(getattr(gm, attribute)) for attribute in
                                             ("weights_", "means_", "covariances_", "precisions_cholesky_")]
# n_init starts: at once without a callback (small data), one after another with one.
for covariance_type in ("full", "tied", "diag", "spherical"):
    for callback in (None, lambda *args: None):
        gm = GaussianMixture(4, covariance_type=covariance_type, n_init=3, max_iter=5, random_state=0)
        gm.fit(X[:3000], callback=callback)
        out["n_init/" + covariance_type + ("" if callback is None else "/callback")] = [
            digest(getattr(gm, attribute)) for attribute in ("weights_", "means_", "covariances_")
        ] + [float.hex(gm.lower_bound_)]
print(json.dumps(out))
"""


def fit_with_threads(n_threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(n_threads))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, check=True, cwd=TESTS_DIR
    )
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def single_thread():
    return fit_with_threads(1)


@pytest.mark.parametrize("n_threads", [2])
def test_fits_identical_across_openmp_thread_counts(single_thread, n_threads):
    many = fit_with_threads(n_threads)
    # the in-memory fits, then chunked and partial_fit, then n_init with and without a callback
    assert len(single_thread) == 2 * 4 * 4 * 2 + 2 * 4 + 2 * 4
    mismatched = sorted(key for key in single_thread if many[key] != single_thread[key])
    assert mismatched == []
