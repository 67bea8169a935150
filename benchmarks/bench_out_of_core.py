"""Out-of-core GaussianMixture.fit and partial_fit against the in-memory fit, in one run.

    python benchmarks/bench_out_of_core.py [--n-samples 1000000] [--n-features 32] [--n-components 16] [--quick]

The samples (float64, drawn from a mixture) are written to a ``.npy`` file in
a temporary folder, which is read once so that it sits in the page cache.
Every fit starts from the same initial model (from a quick fit on a
subsample) with ``tol=0`` and ``--max-iter`` iterations, and runs in a fresh
subprocess, which reports:

1. the seconds per EM iteration of the in-memory fit (``np.load`` then
   ``fit(X)``) and of the chunked fits, through the ``.npy`` path and through
   a ``numpy.memmap``, with the ratio chunked / in-memory (target: within
   1.10) and the largest relative difference of the fitted parameters;
2. the peak resident set of each process (``VmHWM``; ``ru_maxrss`` where
   there is no /proc, but on Linux that keeps the parent's peak across exec)
   after the warm-up and after the fit, next to the size of the data: the fit through the path holds one
   chunk, not the data. (Through a memmap the pages read are mapped into the
   process and count in its resident set, though they are page cache that
   the kernel can reclaim.)

Then ``partial_fit`` makes one pass over the rows in batches of
``--batch-size`` (from the same initial model): its throughput, its time
against two EM iterations of the in-memory fit (target: less), and the mean
log-likelihood of held-out samples under the initial model, the
``partial_fit`` model and the batch fit, and how many components the pass
left with (almost) no weight.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

import gmmcore
import numpy as np

# Runs one fit in a fresh process: argv = (mode, data path, initial model path, held-out path, result path,
# max_iter, chunk_size); prints its times, resident sets and held-out score as JSON, saves the parameters.
FIT_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    import numpy as np
    import gmmcore

    mode, path, init_path, held_out_path, result_path = sys.argv[1:6]
    max_iter, chunk_size = int(sys.argv[6]), int(sys.argv[7]) or None
    warnings.simplefilter("ignore")  # ConvergenceWarning of tol=0
    init = np.load(init_path)
    k, d = init["means"].shape
    small = np.random.default_rng(0).standard_normal((2000, d))
    gmmcore.GaussianMixture(2, max_iter=2, random_state=0).fit(small)  # OpenMP threads, lazy imports

    def peak_rss():
        # VmHWM: the peak of this process image. ru_maxrss would do on a fresh process, but on Linux it
        # keeps the parent's peak across fork and exec, and the parent holds the data.
        try:
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
        except (OSError, StopIteration):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)

    before = peak_rss()
    if mode == "memory":
        X, kwargs = np.load(path), {}
    elif mode == "path":
        X, kwargs = path, {"chunk_size": chunk_size}
    else:
        X, kwargs = np.load(path, mmap_mode="r"), {"chunk_size": chunk_size}
    model = gmmcore.GaussianMixture(
        k, tol=0.0, max_iter=max_iter,
        weights_init=init["weights"], means_init=init["means"], precisions_init=init["precisions"],
    )
    start = time.perf_counter()
    model.fit(X, **kwargs)
    seconds = time.perf_counter() - start
    peak = peak_rss()
    np.savez(result_path, weights=model.weights_, means=model.means_, covariances=model.covariances_)
    score = model.score(np.load(held_out_path))
    print(json.dumps(dict(seconds=seconds, n_iter=model.n_iter_, before=before, peak=peak, score=score)))
    """
)


def make_mixture(n, d, k, seed=0):
    """(X, held-out samples) from a random mixture of k Gaussians with random full covariances."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(k, 5.0))
    means = rng.normal(scale=2.0, size=(k, d))
    factors = rng.normal(scale=1.0 / np.sqrt(d), size=(k, d, d)) + 0.5 * np.eye(d)

    def draw(m):
        labels = rng.choice(k, size=m, p=weights)
        out = np.empty((m, d))
        for j in range(k):
            rows = labels == j
            out[rows] = means[j] + rng.standard_normal((rows.sum(), d)) @ factors[j].T
        return out

    return draw(n), draw(max(10_000, n // 10))


def run_fit(mode, workdir, max_iter, chunk_size):
    result_path = os.path.join(workdir, f"result_{mode}.npz")
    files = [os.path.join(workdir, name) for name in ("X.npy", "init.npz", "held_out.npy")]
    args = [mode, *files, result_path, max_iter, chunk_size or 0]
    proc = subprocess.run([sys.executable, "-c", FIT_SCRIPT, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"the {mode} fit failed:\n{proc.stdout}\n{proc.stderr}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["params"] = dict(np.load(result_path))
    return report


def max_rel_diff(a, b):
    return max(np.max(np.abs(a[name] - b[name]) / (np.abs(b[name]) + 1e-300)) for name in a)


def mib(n_bytes):
    return n_bytes / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-features", type=int, default=32)
    parser.add_argument("--n-components", type=int, default=16)
    parser.add_argument("--max-iter", type=int, default=10, help="EM iterations of every fit (tol=0)")
    parser.add_argument("--chunk-size", type=int, default=None, help="rows per chunk (default: gmmcore's, ~64 MiB)")
    parser.add_argument("--batch-size", type=int, default=1000, help="rows per partial_fit call")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.n_samples, args.n_features, args.n_components, args.max_iter = 50_000, 8, 4, 4
        args.chunk_size = args.chunk_size or 8_000
    n, d, k = args.n_samples, args.n_features, args.n_components
    warnings.simplefilter("ignore")  # ConvergenceWarning of tol=0 and of the short initial fit

    workdir = tempfile.mkdtemp(prefix="bench_out_of_core_")
    try:
        X, held_out = make_mixture(n, d, k)
        path = os.path.join(workdir, "X.npy")
        np.save(path, X)
        np.save(os.path.join(workdir, "held_out.npy"), held_out)
        with open(path, "rb") as f:  # into the page cache
            while f.read(64 << 20):
                pass
        rng = np.random.default_rng(1)
        start_model = gmmcore.GaussianMixture(k, max_iter=5, random_state=0)
        start_model.fit(X[rng.choice(n, min(n, 50 * k * 10), replace=False)])
        init = dict(weights=start_model.weights_, means=start_model.means_, precisions=start_model.precisions_)
        np.savez(os.path.join(workdir, "init.npz"), **init)

        chunk_rows = args.chunk_size or gmmcore._chunks.default_chunk_rows(d, 8)
        threads = gmmcore._config.config()["threads"]
        print(
            f"GaussianMixture on N={n}, D={d}, K={k}, full, float64, {args.max_iter} EM iterations (tol=0) "
            f"from the same initial model; data {mib(os.path.getsize(path)):.0f} MiB (.npy in the page cache), "
            f"chunks of {chunk_rows} rows ({mib(chunk_rows * d * 8):.1f} MiB), {threads} threads"
        )
        print()
        print(
            f"{'fit':22s} {'s / iter':>9s} {'vs memory':>10s} {'max rel diff':>13s} "
            f"{'RSS before MiB':>15s} {'peak RSS MiB':>13s} {'peak - before':>14s}"
        )
        runs = {}
        for mode, label in [
            ("memory", "in memory (np.load)"),
            ("path", "chunked, .npy path"),
            ("memmap", "chunked, numpy.memmap"),
        ]:
            runs[mode] = r = run_fit(mode, workdir, args.max_iter, args.chunk_size)
            r["per_iter"] = r["seconds"] / max(1, r["n_iter"])
            ratio = r["per_iter"] / runs["memory"]["per_iter"]
            diff = max_rel_diff(r["params"], runs["memory"]["params"])
            print(
                f"{label:22s} {r['per_iter']:9.3f} {ratio:9.2f}x {diff:13.1e} "
                f"{mib(r['before']):15.0f} {mib(r['peak']):13.0f} {mib(r['peak'] - r['before']):14.0f}"
            )
        print(f"{'(size of the data)':22s} {'':9s} {'':10s} {'':13s} {'':15s} {'':13s} {mib(X.nbytes):14.0f}")
        print()

        # partial_fit: one pass in batches, from the same initial model.
        b = args.batch_size
        online = gmmcore.GaussianMixture(
            k, weights_init=init["weights"], means_init=init["means"], precisions_init=init["precisions"]
        )
        start = time.perf_counter()
        for lo in range(0, n, b):
            online.partial_fit(X[lo : lo + b])
        seconds = time.perf_counter() - start
        two_iterations = 2 * runs["memory"]["per_iter"]
        print(f"partial_fit, one pass over N={n} in {online.n_steps_} batches of {b} rows:")
        print(f"  {seconds:.2f} s, {n / seconds:,.0f} samples/s, {1e6 * seconds / online.n_steps_:.0f} us per call")
        print(
            f"  vs two EM iterations of the in-memory fit ({two_iterations:.2f} s): {seconds / two_iterations:.2f}x "
            f"(target < 1)"
        )
        dead = int(np.sum(online.weights_ < 1e-3 / k))
        print(f"  components left with weight < 1e-3 / K: {dead} of {k} (smallest weight {online.weights_.min():.1e})")
        scores = {
            "initial model": start_model.score(held_out),
            "partial_fit, one pass": online.score(held_out),
            f"batch fit, {args.max_iter} iterations": runs["memory"]["score"],
        }
        print(f"  mean log-likelihood of {held_out.shape[0]} held-out samples:")
        for name, value in scores.items():
            print(f"    {name:28s} {value:.5f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
