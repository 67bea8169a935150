"""gmmcore against scikit-learn (and PyTorch) on the performance issue's workloads, in one run.

    python benchmarks/bench_performance.py [--quick] [--skip-sklearn] [--threads-scaling]

For every workload (generated deterministically) it prints the time per EM
iteration of gmmcore (float64 and float32) and of scikit-learn, both fitted
by ``GaussianMixture`` from the same initial model with ``tol=0``; the ratio;
the fraction of the floor ``3 N K D^2`` flops (full) / ``6 N K D`` (diag) at
the DGEMM peak measured in the same run; and the extra peak memory (resident
set above what it was before the fit) as a fraction of the size of X. The
forward + backward (VJP) row compares with PyTorch autograd when torch is
installed. ``--threads-scaling`` reruns gmmcore with OMP_NUM_THREADS=1.
"""

import argparse
import os
import subprocess
import sys
import time
import warnings

import gmmcore
import numpy as np

# (name, N, D, K, covariance_type, gmmcore iterations, sklearn iterations)
# gmmcore runs enough iterations that the fit's fixed costs (validation of X,
# one pass) weigh as they do in a real fit; scikit-learn's are negligible next
# to one of its iterations, so it runs one or two.
WORKLOADS = [
    ("100k x 16, K=8, full", 100_000, 16, 8, "full", 20, 2),
    ("1M x 32, K=16, full", 1_000_000, 32, 16, "full", 10, 1),
    ("200k x 128, K=8, full", 200_000, 128, 8, "full", 10, 1),
    ("1M x 64, K=32, diag", 1_000_000, 64, 32, "diag", 10, 1),
]
QUICK = [
    ("100k x 16, K=8, full", 100_000, 16, 8, "full", 10, 2),
    ("100k x 32, K=16, diag", 100_000, 32, 16, "diag", 10, 2),
]


def rss_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def measure(fn):
    """(seconds, extra peak resident bytes) of one call."""
    reset_peak_rss()
    before = rss_bytes("VmRSS")
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    return seconds, max(0, rss_bytes("VmHWM") - before)


def gemm_peak(dtype, n=3000):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    a @ a
    start = time.perf_counter()
    a @ a
    return 2 * n**3 / (time.perf_counter() - start)


def make_data(n, d, k, dtype, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    X = (centres[rng.integers(k, size=n)] + rng.standard_normal((n, d))).astype(dtype)
    means = X[rng.choice(n, k, replace=False)].astype(np.float64)
    return X, means


def initial(covariance_type, k, d):
    return {
        "full": np.broadcast_to(np.eye(d), (k, d, d)).copy(),
        "tied": np.eye(d),
        "diag": np.ones((k, d)),
        "spherical": np.ones(k),
    }[covariance_type]


def fit_seconds(cls, X, means, covariance_type, n_iter):
    k, d = means.shape
    model = cls(
        k,
        covariance_type=covariance_type,
        tol=0.0,
        max_iter=n_iter,
        weights_init=np.full(k, 1.0 / k),
        means_init=means,
        precisions_init=initial(covariance_type, k, d),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds, extra = measure(lambda: model.fit(X))
    return seconds / n_iter, extra


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small workloads only (a smoke run)")
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--threads-scaling", action="store_true")
    parser.add_argument("--only-gmmcore", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    peak64, peak32 = gemm_peak(np.float64), gemm_peak(np.float32)
    if not args.only_gmmcore:
        print(
            f"cores={os.cpu_count()} OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} "
            f"DGEMM peak {peak64 / 1e9:.0f} GFLOP/s, SGEMM peak {peak32 / 1e9:.0f} GFLOP/s (NumPy, this run)"
        )
        print(
            f"{'workload':24s} {'ours f64 s/it':>13s} {'ours f32':>9s} {'f64/f32':>8s} {'sklearn':>9s} "
            f"{'speed-up':>9s} {'% floor':>8s} {'extra mem/X':>12s}"
        )
    for name, n, d, k, cov, ours_iter, sk_iter in QUICK if args.quick else WORKLOADS:
        X, means = make_data(n, d, k, np.float64)
        t64, extra = fit_seconds(gmmcore.GaussianMixture, X, means, cov, ours_iter)
        t32, _ = fit_seconds(gmmcore.GaussianMixture, X.astype(np.float32), means, cov, ours_iter)
        if args.only_gmmcore:
            print(f"{name}\t{t64}\t{t32}")
            continue
        sk = np.nan if args.skip_sklearn else fit_seconds(SkGaussianMixture, X, means, cov, sk_iter)[0]
        flops = 3 * n * k * d * d if cov == "full" else 6 * n * k * d
        print(
            f"{name:24s} {t64:13.4f} {t32:9.4f} {t64 / t32:7.2f}x {sk:9.3f} {sk / t64:8.1f}x "
            f"{100 * flops / peak64 / t64:7.1f}% {extra / X.nbytes:11.1%} ({extra / 2**20:.0f} MiB)"
        )
    if args.only_gmmcore:
        return
    small_fit(SkGaussianMixture, args.skip_sklearn)
    forward_backward(1_000_000 if not args.quick else 100_000, 32, 16)
    if args.threads_scaling:
        threads_scaling(args.quick)


def small_fit(sk_class, skip_sklearn):
    X, means = make_data(2000, 2, 3, np.float64)
    best = lambda cls: min(fit_seconds(cls, X, means, "full", 100)[0] for _ in range(5)) * 100  # noqa: E731
    ours = best(gmmcore.GaussianMixture)
    theirs = np.nan if skip_sklearn else best(sk_class)
    print(
        f"{'2000 x 2, K=3, full, whole fit of 100 iterations':50s} ours {ours:.4f} s, sklearn {theirs:.4f} s, "
        f"speed-up {theirs / ours:.1f}x"
    )


def forward_backward(n, d, k):
    rng = np.random.default_rng(1)
    X, means = make_data(n, d, k, np.float64)
    p = gmmcore.GMMParams(np.full(k, 1.0 / k), means, np.broadcast_to(np.eye(d), (k, d, d)).copy())
    G = rng.standard_normal((n, k))
    ours, _ = measure(lambda: (gmmcore.forward(p, X), gmmcore.backward(p, X, G)))
    line = f"forward+backward {n} x {d}, K={k}: ours {ours:.3f} s"
    try:
        import torch
    except ImportError:
        print(line + ", torch not installed")
        return
    w, mu, cov, x = [torch.from_numpy(np.array(a)).requires_grad_(True) for a in (*p, X)]
    start = time.perf_counter()
    y = torch.log(w) + torch.distributions.MultivariateNormal(mu, covariance_matrix=cov).log_prob(x[:, None, :])
    y.backward(torch.from_numpy(G))
    theirs = time.perf_counter() - start
    print(line + f", torch autograd {theirs:.3f} s, speed-up {theirs / ours:.1f}x")


def threads_scaling(quick):
    cmd = [sys.executable, __file__, "--only-gmmcore"] + (["--quick"] if quick else [])
    runs = {}
    for threads in ("1", "2"):
        out = subprocess.run(
            cmd, env=dict(os.environ, OMP_NUM_THREADS=threads), capture_output=True, text=True, check=True
        ).stdout
        runs[threads] = [line.split("\t") for line in out.strip().splitlines()]
    print("two threads vs one (float64, float32):")
    for one, two in zip(runs["1"], runs["2"]):
        print(f"  {one[0]:24s} {float(one[1]) / float(two[1]):.2f}x  {float(one[2]) / float(two[2]):.2f}x")


if __name__ == "__main__":
    main()
