"""GaussianMixture, gmmcore next to scikit-learn, in one run: large fits, or small-call latency.

    python benchmarks/bench_estimator.py [--n-samples 100000] [--n-features 16] [--n-components 8]
    python benchmarks/bench_estimator.py --latency [--number 200] [--repeat 15]

Fits (the default): for each covariance type both estimators start from the
same model (weights_init, means_init, precisions_init) with default tol and
max_iter, so they run the same iterations; the script checks that they agree
and prints the fit times and their ratio (best of --repeat runs).

Latency (--latency): the time of one call where the fixed cost per call
(input validation, conversions) is what counts: predict, predict_proba and
score_samples of 1, 10 and 100 rows of a C-contiguous float64 array, and fit
of 272 x 2 samples with K=2 and default settings (the size of the Old
Faithful data), each the best of --repeat timings of --number calls, in
microseconds per call, with scikit-learn's time over gmmcore's.
"""

import argparse
import functools
import time
import timeit
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


def per_call_us(call, number, repeat):
    """Best of ``repeat`` timings of ``number`` calls, in microseconds per call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fit that stops short warns; its time still counts
        return min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6


def old_faithful_like(rng, n=272):
    """Two elongated clusters in 2-D with Old Faithful's size and scales (eruption minutes, waiting minutes)."""
    short = rng.random(n) < 0.35
    duration = np.where(short, rng.normal(2.0, 0.28, n), rng.normal(4.3, 0.43, n))
    waiting = np.where(short, 54.5 + 5.9 * rng.standard_normal(n), 80.0 + 5.9 * rng.standard_normal(n))
    return np.column_stack([duration, waiting + 6.0 * (duration - duration.mean())])


def fit_new(cls, X):
    return cls(n_components=2, random_state=0).fit(X)


def latency(number, repeat):
    X = old_faithful_like(np.random.default_rng(0))
    estimators = {"gmmcore": gmmcore.GaussianMixture, "sklearn": SkGaussianMixture}
    fitted = {name: cls(n_components=2, random_state=0).fit(X) for name, cls in estimators.items()}
    print(f"Small-call latency: fitted on {X.shape[0]} x {X.shape[1]} float64, K=2, default settings")
    print(f"microseconds per call, best of {repeat} x {number} calls")
    print(f"{'call':24s} {'rows':>5s} {'gmmcore us':>11s} {'sklearn us':>11s} {'speed-up':>9s}")

    def row(label, rows, ours, theirs):
        print(f"{label:24s} {rows:5d} {ours:11.1f} {theirs:11.1f} {theirs / ours:8.1f}x")

    for method in ("predict", "predict_proba", "score_samples"):
        for rows in (1, 10, 100):
            x = np.ascontiguousarray(X[:rows])
            times = [per_call_us(functools.partial(getattr(m, method), x), number, repeat) for m in fitted.values()]
            row(method, rows, *times)
    fit_number = max(1, number // 10)
    times = [per_call_us(functools.partial(fit_new, cls, X), fit_number, repeat) for cls in estimators.values()]
    row(f"fit ({X.shape[0]} x {X.shape[1]}, K=2)", X.shape[0], *times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=16)
    parser.add_argument("--n-components", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=None, help="timings per figure, best shown (3; latency: 15)")
    parser.add_argument("--latency", action="store_true", help="small-call latency instead of large fits")
    parser.add_argument("--number", type=int, default=200, help="calls per latency timing (fit: a tenth)")
    args = parser.parse_args()
    if args.latency:
        latency(args.number, args.repeat or 15)
        return
    args.repeat = args.repeat or 3
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
