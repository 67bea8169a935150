"""GaussianMixture.fit, gmmcore next to scikit-learn, for each covariance type, in one run.

    python benchmarks/bench_estimator.py [--n-samples 100000] [--n-features 16] [--n-components 8]

Both estimators start from the same model (weights_init, means_init,
precisions_init) with default tol and max_iter, so they run the same
iterations; the script checks that they agree and prints the fit times and
their ratio (best of --repeat runs).
"""

import argparse
import time
import warnings

import gmmcore
import numpy as np
from sklearn.mixture import GaussianMixture as SkGaussianMixture

PRECISIONS = {
    "full": lambda k, d: np.broadcast_to(np.eye(d), (k, d, d)).copy(),
    "tied": lambda k, d: np.eye(d),
    "diag": lambda k, d: np.ones((k, d)),
    "spherical": lambda k, d: np.ones(k),
}


def best_fit(cls, X, params, repeat):
    times, model = [], None
    for _ in range(repeat):
        model = cls(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            model.fit(X)
        times.append(time.perf_counter() - start)
    return min(times), model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=16)
    parser.add_argument("--n-components", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, d, k = args.n_samples, args.n_features, args.n_components
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(k, d))
    X = centres[rng.integers(k, size=n)] + rng.standard_normal((n, d))
    means = X[rng.choice(n, k, replace=False)]
    print(f"GaussianMixture.fit on N={n}, D={d}, K={k}, float64, same initial model")
    print(
        f"{'covariance':10s} {'iterations':>10s} {'gmmcore s':>10s} {'sklearn s':>10s} "
        f"{'speed-up':>9s} {'max rel diff':>13s}"
    )
    for covariance_type, precisions in PRECISIONS.items():
        params = dict(
            n_components=k,
            covariance_type=covariance_type,
            weights_init=np.full(k, 1.0 / k),
            means_init=means,
            precisions_init=precisions(k, d),
        )
        ours, a = best_fit(gmmcore.GaussianMixture, X, params, args.repeat)
        theirs, b = best_fit(SkGaussianMixture, X, params, args.repeat)
        diff = max(
            np.max(np.abs(getattr(a, name) - getattr(b, name)) / (np.abs(getattr(b, name)) + 1e-300))
            for name in ("weights_", "means_", "covariances_")
        )
        print(
            f"{covariance_type:10s} {a.n_iter_:>4d} / {b.n_iter_:<3d} {ours:10.3f} {theirs:10.3f} "
            f"{theirs / ours:8.1f}x {diff:13.1e}"
        )


if __name__ == "__main__":
    main()
