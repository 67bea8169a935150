"""The default fit as users run it, k-means included, against scikit-learn, in one run.

    python benchmarks/bench_end_to_end.py [--quick] [--workloads 0,1,2]

For each workload (clustered data, generated deterministically) it prints:

1. k-means, the estimator's initialisation: gmmcore's k-means++ seeding and
   Lloyd's iterations (the natives the fit runs, tol 1e-4, at most 300
   iterations) against scikit-learn's ``KMeans(n_init=1)`` with
   ``algorithm='lloyd'`` and ``'elkan'``, same data, each with its inertia;
2. the default fit, ``GaussianMixture(K, covariance_type=...,
   random_state=0).fit(X)``, gmmcore against scikit-learn, with the lower
   bound (mean log-likelihood) each reaches, the number of EM iterations, and
   the share of gmmcore's fit spent initialising (a ``max_iter=0`` fit);
3. the same default fit of gmmcore in float32, against float64.

Then, once: the latency of small calls (``bench_estimator.py --latency``:
``predict``, ``predict_proba``, ``score_samples`` of 1 to 100 rows, ``fit``
of 272 x 2 with K=2) against scikit-learn, and forward + backward of the
log-likelihood (gradients for weights, means and covariances) through
``gmmcore.torch`` against PyTorch autograd (``bench_autodiff.py``'s
comparison) at 1e5 x 16 and 2e5 x 128, K=8, both dtypes, when torch is
installed.

Targets (issue 14): k-means at least 5x scikit-learn's, the initialisation at
most a third of the fit, the default fit at least 30x scikit-learn's with a
lower bound at least as good, float32 at least 1.8x faster than float64,
predict of one row under 15 us, fit of 272 x 2 under 0.2 ms, forward +
backward at least 20x PyTorch autograd.
Timings on a shared machine are noisy: each gmmcore time is the best of
``--repeat`` runs; scikit-learn runs once.
"""

import argparse
import os
import time
import warnings

import gmmcore
import numpy as np
from bench_estimator import latency
from gmmcore import _native
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

# (name, N, D, K, covariance_type)
WORKLOADS = [
    ("1e5 x 16, K=8, full", 100_000, 16, 8, "full"),
    ("1e6 x 32, K=16, full", 1_000_000, 32, 16, "full"),
    ("1e6 x 64, K=32, diag", 1_000_000, 64, 32, "diag"),
]
# (N, D, K) of the forward + backward comparison
VJP_SIZES = [(100_000, 16, 8), (200_000, 128, 8)]
QUICK = [
    ("1e5 x 16, K=8, full", 100_000, 16, 8, "full"),
    ("2e5 x 32, K=16, full", 200_000, 32, 16, "full"),
    ("2e5 x 64, K=32, diag", 200_000, 64, 32, "diag"),
]


def make_data(n, d, k, seed=0):
    """K Gaussian clusters of random shapes and sizes."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    labels = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 5.0)))
    scales = rng.uniform(0.5, 2.0, size=(k, d))
    return centres[labels] + rng.normal(size=(n, d)) * scales[labels]


def best_time(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def gmmcore_kmeans(X, k):
    none = np.empty(0, X.dtype)
    seeds = _native.kmeans_plusplus(X, none, k, 0)
    labels, centres, n_iter = _native.kmeans_lloyd(X, none, np.ascontiguousarray(X[seeds]), 300, 1e-4)
    return centres, labels, n_iter


def inertia(X, centres, labels):
    return float(np.einsum("ij,ij->", X - centres[labels], X - centres[labels]))


def run(name, n, d, k, covariance_type, repeat):
    """Print the three comparisons of one workload."""
    X = make_data(n, d, k)
    print(f"\n== {name} ==")
    ours, (centres, labels, n_iter) = best_time(lambda: gmmcore_kmeans(X, k), repeat)
    print(f"k-means     gmmcore           {ours:8.3f}  {n_iter:3d} it  inertia {inertia(X, centres, labels):.6g}")
    for algorithm in ("lloyd", "elkan"):
        start = time.perf_counter()
        km = KMeans(k, n_init=1, random_state=0, algorithm=algorithm).fit(X)
        theirs = time.perf_counter() - start
        print(
            f"            sklearn {algorithm:5s}     {theirs:8.3f}  {km.n_iter_:3d} it  inertia {km.inertia_:.6g}"
            f"   ratio {theirs / ours:5.1f}x"
        )
    settings = dict(covariance_type=covariance_type, random_state=0)
    ours, gm = best_time(lambda: gmmcore.GaussianMixture(k, **settings).fit(X), repeat)
    init, _ = best_time(lambda: gmmcore.GaussianMixture(k, max_iter=0, **settings).fit(X), repeat)
    start = time.perf_counter()
    sk = SklearnGaussianMixture(k, **settings).fit(X)
    theirs = time.perf_counter() - start
    print(
        f"default fit gmmcore           {ours:8.3f}  {gm.n_iter_:3d} it  lower bound {gm.lower_bound_:.6f}"
        f"   initialisation {init:.3f} s ({init / ours:.0%} of the fit)"
    )
    print(
        f"            sklearn           {theirs:8.3f}  {sk.n_iter_:3d} it  lower bound {sk.lower_bound_:.6f}"
        f"   ratio {theirs / ours:5.1f}x"
    )
    X32 = X.astype(np.float32)
    ours32, gm32 = best_time(lambda: gmmcore.GaussianMixture(k, **settings).fit(X32), repeat)
    print(
        f"float32     gmmcore           {ours32:8.3f}  {gm32.n_iter_:3d} it  lower bound {gm32.lower_bound_:.6f}"
        f"   float64 / float32 {ours / ours32:.2f}x"
    )


def forward_backward(repeat):
    """gmmcore.torch against PyTorch autograd, at the VJP sizes of issue 14."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("\nforward + backward: torch not installed (pip install torch; see README.md)")
        return
    from bench_autodiff import bench_torch, make_problem

    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
    print(f"\nforward + backward of sum(log p(x)), gradients for w, mu, Sigma; torch threads={threads}")
    for n, d, k in VJP_SIZES:
        for dtype in (np.float64, np.float32):
            ours, theirs = bench_torch(make_problem(n, d, k, dtype), repeat, threads)
            print(
                f"{n:.0e} x {d}, K={k} {np.dtype(dtype).name:8s} gmmcore.torch {ours:8.4f}"
                f"   torch autograd {theirs:8.4f}   ratio {theirs / ours:5.1f}x"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads (about a minute)")
    parser.add_argument("--workloads", default=None, help="comma-separated indices of the workloads to run")
    parser.add_argument("--repeat", type=int, default=2, help="gmmcore runs per timing (best of)")
    args = parser.parse_args()
    workloads = QUICK if args.quick else WORKLOADS
    if args.workloads:
        workloads = [workloads[int(i)] for i in args.workloads.split(",")]
    warnings.simplefilter("ignore", ConvergenceWarning)
    print("gmmcore", gmmcore.__version__, "| times in seconds | ratio = scikit-learn / gmmcore")
    for workload in workloads:
        run(*workload, repeat=args.repeat)
    print()
    latency(number=50 if args.quick else 200, repeat=5 if args.quick else 15)
    forward_backward(args.repeat)


if __name__ == "__main__":
    main()
