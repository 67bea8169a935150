"""Time gmmcore's core next to scikit-learn and PyTorch, measured in one run.

    python benchmarks/bench_core.py [--n-samples 100000] [--n-features 16]
                                    [--n-components 8] [--epochs 20] [--repeat 3]

Prints, for float64 and float32:
  * ``em_train`` for ``--epochs`` steps next to scikit-learn's GaussianMixture
    fitted from the same initial model with ``tol=0, max_iter=epochs``
    (scikit-learn also runs one final E-step after its loop; that is its cost);
  * forward + backward (VJP) next to PyTorch autograd through
    ``log w + MultivariateNormal(mu, Sigma).log_prob(x)``, when torch is installed.
Each time is the best of ``--repeat`` runs. scikit-learn comes with gmmcore; PyTorch is optional.
"""

import argparse
import os
import time
import warnings

import gmmcore
import numpy as np


def best_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def make_problem(n, d, k, dtype, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, d))
    X = centres[rng.integers(k, size=n)] + rng.normal(size=(n, d))
    start = gmmcore.GMMParams(
        np.full(k, 1.0 / k), X[rng.choice(n, k, replace=False)], np.broadcast_to(np.eye(d), (k, d, d)).copy()
    )
    grad_output = rng.normal(size=(n, k))
    cast = lambda a: np.ascontiguousarray(a, dtype=dtype)  # noqa: E731
    return gmmcore.GMMParams(*map(cast, start)), cast(X), cast(grad_output)


def bench_em(params, X, epochs, repeat):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    ours = best_time(lambda: gmmcore.em_train(params, X, epochs, jitter=1e-6), repeat)

    def sklearn_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            GaussianMixture(
                len(params.weights),
                covariance_type="full",
                tol=0.0,
                max_iter=epochs,
                reg_covar=1e-6,
                weights_init=params.weights,
                means_init=params.means,
                precisions_init=np.linalg.inv(params.covariances),
            ).fit(X)

    theirs = best_time(sklearn_fit, repeat)
    return ours, theirs


def bench_grad(params, X, grad_output, repeat):
    ours = best_time(lambda: (gmmcore.forward(params, X), gmmcore.backward(params, X, grad_output)), repeat)
    try:
        import torch
    except ImportError:
        return ours, None
    tensors = [torch.from_numpy(np.array(a)) for a in (*params, X)]
    G = torch.from_numpy(grad_output)

    def torch_fwd_bwd():
        w, mu, cov, x = [t.clone().requires_grad_(True) for t in tensors]
        dist = torch.distributions.MultivariateNormal(mu, covariance_matrix=cov)
        y = torch.log(w) + dist.log_prob(x[:, None, :])
        y.backward(G)

    return ours, best_time(torch_fwd_bwd, repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=16)
    parser.add_argument("--n-components", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, d, k = args.n_samples, args.n_features, args.n_components
    print(
        f"N={n}, D={d}, K={k}; cores={os.cpu_count()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"OpenMP={gmmcore._native.openmp}"
    )
    print(f"{'workload':34s} {'gmmcore s':>10s} {'peer':>8s} {'peer s':>10s} {'speed-up':>9s}")
    for dtype in (np.float64, np.float32):
        params, X, grad_output = make_problem(n, d, k, dtype)
        name = np.dtype(dtype).name
        ours, theirs = bench_em(params, X, args.epochs, args.repeat)
        print(
            f"{f'em_train {args.epochs} steps, {name}':34s} {ours:10.3f} {'sklearn':>8s} {theirs:10.3f} "
            f"{theirs / ours:8.1f}x"
        )
        ours, theirs = bench_grad(params, X, grad_output, args.repeat)
        if theirs is None:
            print(f"{f'forward+backward, {name}':34s} {ours:10.3f} {'torch':>8s} {'n/a':>10s}")
        else:
            print(f"{f'forward+backward, {name}':34s} {ours:10.3f} {'torch':>8s} {theirs:10.3f} {theirs / ours:8.1f}x")


if __name__ == "__main__":
    main()
