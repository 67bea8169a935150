"""BayesianGaussianMixture, gmmcore next to scikit-learn, in one run.

    python benchmarks/bench_bayesian.py [--quick] [--max-iter 10] [--covariance-types full diag]
        [--sizes 100000x16x8 1000000x32x16] [--repeat 1]

For each size (n_samples x n_features x n_components) and covariance type,
both estimators start from the same posterior: scikit-learn's initialisation
(k-means, ``max_iter=0``, not timed) copied into gmmcore's estimator. Both
then run exactly ``--max-iter`` iterations (``warm_start=True``, ``tol=0``,
``n_init=1``; the non-convergence warning is silenced), which is what is
timed. The script prints each fit's time (best of ``--repeat``), the lower
bound reached (they must agree: same start, same iterations) and the ratio
scikit-learn / gmmcore. Data: n_components Gaussian blobs in n_features
dimensions, float64. ``--quick`` runs 20000 x 8 x 4 only.
"""

import argparse
import os
import time
import warnings

import gmmcore
import numpy as np
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture

COPIED = [
    "weight_concentration_",
    "mean_precision_",
    "means_",
    "degrees_of_freedom_",
    "covariances_",
    "precisions_cholesky_",
    "precisions_",
    "weights_",
    "lower_bound_",
    "converged_",
    "n_features_in_",
]


def blobs(n_samples, n_features, n_components, seed=0):
    rng = np.random.default_rng(seed)
    centres = 6.0 * rng.standard_normal((n_components, n_features))
    labels = rng.integers(0, n_components, n_samples)
    return centres[labels] + rng.standard_normal((n_samples, n_features))


def timed_fit(model, X, repeat, start):
    """Best time of ``repeat`` warm-started fits of ``model`` from the posterior ``start`` (dict of attributes)."""
    best = np.inf
    for _ in range(repeat):
        model.__dict__.update(start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model.fit(X)
            best = min(best, time.perf_counter() - t0)
    return best, model


def run(n_samples, n_features, n_components, covariance_type, max_iter, repeat):
    X = blobs(n_samples, n_features, n_components)
    params = dict(n_components=n_components, covariance_type=covariance_type, random_state=0)
    init = SkBayesianGaussianMixture(**params, max_iter=0).fit(X)
    start = {name: getattr(init, name) for name in COPIED}
    fixed = dict(params, warm_start=True, max_iter=max_iter, tol=0.0, n_init=1)
    sk_time, theirs = timed_fit(SkBayesianGaussianMixture(**fixed), X, repeat, start)
    our_time, ours = timed_fit(gmmcore.BayesianGaussianMixture(**fixed), X, repeat, start)
    sk_bound = float(np.ravel(theirs.lower_bound_)[0])
    agree = abs(ours.lower_bound_ - sk_bound) <= 1e-6 * abs(sk_bound)
    print(
        f"{n_samples:>8} x {n_features:>3}  K={n_components:<3} {covariance_type:<9} {max_iter:>3} it  "
        f"sklearn {sk_time:8.3f} s  gmmcore {our_time:7.3f} s  ratio {sk_time / our_time:6.1f}x  "
        f"lower bound {ours.lower_bound_:.6e} ({'agree' if agree else 'DIFFER: ' + repr(sk_bound)})",
        flush=True,
    )
    return sk_time / our_time


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one small size (20000 x 8, K=4)")
    parser.add_argument("--sizes", nargs="+", default=["100000x16x8", "1000000x32x16"])
    parser.add_argument("--covariance-types", nargs="+", default=["full", "tied", "diag", "spherical"])
    parser.add_argument("--max-iter", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    sizes = ["20000x8x4"] if args.quick else args.sizes
    print(
        f"gmmcore {gmmcore.__version__} ({gmmcore._native.isa}), {os.cpu_count()} CPUs, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; times are best of {args.repeat}"
    )
    for size in sizes:
        n, d, k = (int(v) for v in size.split("x"))
        for covariance_type in args.covariance_types:
            run(n, d, k, covariance_type, args.max_iter, args.repeat)


if __name__ == "__main__":
    main()
