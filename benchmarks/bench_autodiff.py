"""Forward + backward of the mixture log-likelihood: gmmcore inside PyTorch and JAX next to their own autodiff.

    python benchmarks/bench_autodiff.py [--quick] [--repeat 3]

For each size (N x D, K components) and dtype (float64, float32), the time of
one forward and backward pass of ``sum_i log p(x_i)``, with gradients for the
weights, means and covariances (not for X), measured in the same run:

  * ``gmmcore.torch.log_prob`` (the native kernels) next to PyTorch autograd
    through ``MixtureSameFamily(Categorical(probs=w), MultivariateNormal(mu, Sigma))``
    (``validate_args=False``), with ``torch.set_num_threads`` set to gmmcore's
    OpenMP thread count;
  * ``gmmcore.jax.log_prob`` under ``jax.jit(jax.grad(...))`` next to a pure-JAX
    log-likelihood (inverse Cholesky factors, batched products, ``logsumexp``)
    under the same ``jit(grad)`` (XLA's CPU thread pool: all cores).

The frameworks' own versions form (rows, K, D) intermediates, so they run over
equal chunks of rows (at most 512 MB of such an intermediate each: one chunk
at 1e5 x 16, 8 chunks at 1e6 x 32 in float64) and add the chunks' gradients,
which bounds their memory without recomputation; gmmcore needs no chunking. Each time is the best of
``--repeat`` runs after one warm-up run (which compiles the JAX functions).
Sizes: 1e5 x 16 with K = 8 and 1e6 x 32 with K = 16 (``--quick``: 1e4 x 16,
K = 8 only). Needs torch and jax (the torch and jax extras).
"""

import argparse
import os
import time

import gmmcore
import numpy as np

SIZES = [(100_000, 16, 8), (1_000_000, 32, 16)]
QUICK_SIZES = [(10_000, 16, 8)]
#: Bytes of one (rows, K, D) intermediate of the frameworks' own versions, per chunk of rows.
CHUNK_BYTES = 512 << 20


def best_time(fn, repeat):
    fn()  # warm-up (and JAX's compilation)
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
    A = rng.normal(size=(k, d, d))
    covariances = A @ A.transpose(0, 2, 1) / d + np.eye(d)
    weights = rng.dirichlet(np.full(k, 5.0))
    return [np.ascontiguousarray(a, dtype=dtype) for a in (X, weights, centres, covariances)]


def chunk_rows(n, d, k, itemsize):
    """Rows per chunk: a divisor of n (equal chunks: one compilation in JAX) within CHUNK_BYTES."""
    n_chunks = -(-n * k * d * itemsize // CHUNK_BYTES)
    while n % n_chunks:
        n_chunks += 1
    return n // n_chunks


def bench_torch(arrays, repeat, threads):
    import torch
    from gmmcore.torch import log_prob
    from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

    torch.set_num_threads(threads)
    x = torch.from_numpy(arrays[0])
    params = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays[1:]]
    n, d = arrays[0].shape
    rows = chunk_rows(n, d, len(arrays[1]), arrays[0].itemsize)

    def ours():
        for p in params:
            p.grad = None
        log_prob(x, *params).sum().backward()

    def theirs():
        for p in params:
            p.grad = None
        for start in range(0, n, rows):
            w, mu, cov = params
            mixture = MixtureSameFamily(
                Categorical(probs=w, validate_args=False),
                MultivariateNormal(mu, covariance_matrix=cov, validate_args=False),
                validate_args=False,
            )
            mixture.log_prob(x[start : start + rows]).sum().backward()

    return best_time(ours, repeat), best_time(theirs, repeat)


def bench_jax(arrays, repeat):
    import jax
    import jax.numpy as jnp
    from gmmcore.jax import log_prob
    from jax.scipy.special import logsumexp

    if arrays[0].dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    x, w, mu, cov = (jnp.asarray(a) for a in arrays)
    n, d = arrays[0].shape
    rows = chunk_rows(n, d, len(arrays[1]), arrays[0].itemsize)
    chunks = [x[start : start + rows] for start in range(0, n, rows)]

    def pure_jax(w, mu, cov, xc):
        # The usual fast formulation: inverse Cholesky factors once, then batched products (BLAS).
        factors = jnp.linalg.cholesky(cov)
        inverse = jax.scipy.linalg.solve_triangular(
            factors, jnp.broadcast_to(jnp.eye(d, dtype=x.dtype), cov.shape), lower=True
        )
        z = jnp.einsum("kij,nkj->nki", inverse, xc[:, None, :] - mu[None])
        log_det = 2 * jnp.log(jnp.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
        log_pdf = -0.5 * ((z * z).sum(axis=2) + log_det + d * jnp.log(2 * jnp.pi))
        return logsumexp(jnp.log(w / w.sum()) + log_pdf, axis=1).sum()

    ours_grad = jax.jit(jax.grad(lambda w, mu, cov: log_prob(x, w, mu, cov).sum(), argnums=(0, 1, 2)))
    theirs_grad = jax.jit(jax.grad(pure_jax, argnums=(0, 1, 2)))

    def theirs():
        # One jitted gradient per chunk, summed: memory bounded by a chunk, no recomputation.
        grads = [theirs_grad(w, mu, cov, xc) for xc in chunks]
        return jax.block_until_ready(jax.tree.map(lambda *g: sum(g), *grads))

    ours = best_time(lambda: jax.block_until_ready(ours_grad(w, mu, cov)), repeat)
    return ours, best_time(theirs, repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one small size only (a smoke test)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", help="indices of the sizes to run (default: all)")
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
    print(
        f"cores={os.cpu_count()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} "
        f"(torch threads={threads}), gmmcore module={gmmcore._native.module_name}; "
        "forward + backward of sum(log p(x)), gradients for weights, means, covariances; seconds, best of "
        f"{args.repeat}"
    )
    header = (
        f"{'N x D, K':>18s} {'dtype':>8s} | {'gmmcore.torch':>13s} {'torch autograd':>14s} {'ratio':>7s} | "
        f"{'gmmcore.jax':>11s} {'JAX jit':>9s} {'ratio':>7s}"
    )
    print(header)
    print("-" * len(header))
    sizes = QUICK_SIZES if args.quick else SIZES
    for n, d, k in [sizes[i] for i in args.sizes] if args.sizes else sizes:
        for dtype in (np.float64, np.float32):
            arrays = make_problem(n, d, k, dtype)
            t_ours, t_torch = bench_torch(arrays, args.repeat, threads)
            j_ours, j_jax = bench_jax(arrays, args.repeat)
            print(
                f"{f'{n:.0e} x {d}, {k}':>18s} {np.dtype(dtype).name:>8s} | {t_ours:13.4f} {t_torch:14.4f} "
                f"{t_torch / t_ours:6.1f}x | {j_ours:11.4f} {j_jax:9.4f} {j_jax / j_ours:6.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
