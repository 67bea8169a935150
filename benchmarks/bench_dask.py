"""gmmcore.dask.GaussianMixture on a local dask cluster against the in-memory fit, in one run.

    python benchmarks/bench_dask.py [--n-samples 1000000] [--n-features 32] [--n-components 16]
        [--covariance-type full] [--chunk-rows 125000] [--iterations 10] [--workers 2] [--repeat 2]
        [--split-every 8] [--placement balanced]

The samples (float64, around K random centres) are drawn on the workers of a
``distributed.LocalCluster`` of ``--workers`` processes with ``cores //
workers`` threads each (a real cluster: the blocks, the parameters and the
statistics cross process boundaries), held there, and gathered once to the
client for the in-memory fit, which uses all the cores. The blocks are drawn
in equal runs on the workers (block i on worker ``i * workers // blocks``);
``--placement dask`` draws them with ``da.random`` and ``persist`` instead,
where the scheduler puts them (that can be very uneven: 7 blocks to 1).
Every EM fit starts from the same initial model (from a quick in-memory fit on
a subsample) with ``tol=0``. The script prints:

1. the seconds per EM iteration of ``gmmcore.dask.GaussianMixture.fit`` on
   the persisted dask array and of ``gmmcore.GaussianMixture.fit`` on the
   same NumPy array: ``(t(max_iter=1 + I) - t(max_iter=1)) / I`` for ``I =
   --iterations``, best of ``--repeat``, so the fixed costs of a fit
   (validation, the dask fit's graph set-up) drop out and are shown apart.
   Target: dask within 1.3x of in memory. Then where a dask pass spends its
   time: the block statistics computed on the workers (from the task stream),
   the broadcast of the parameters alone, and a pass of no-op tasks with the
   same graph (scheduler and transfer overhead);
2. the bytes each iteration moves: the pickled statistics of one block (from
   ``gmmcore._native.mixture_statistics`` on a real block) times the blocks
   and the merge tasks, the pickled parameters times the workers, and what
   the workers measured (``transfer_outgoing_log``: every ``get_data`` a
   worker served, to another worker or to the client, by dask's size
   estimate), by kind, per iteration: statistics, parameters, and data
   blocks, which move when the scheduler runs a block's task on a worker
   that does not hold the block;
3. the time of the initialisation alone (``init_params='kmeans'``,
   ``max_iter=0``, which still initialises): k-means|| and Lloyd's iterations
   over the blocks, with the number of graph computations it ran, against the
   in-memory k-means initialisation.

Timings on a shared machine are noisy: use ``--repeat`` to take the best of more runs.
"""

import argparse
import collections
import contextlib
import logging
import os
import pickle
import statistics
import time
import warnings

import dask
import dask.array as da
import gmmcore
import gmmcore.dask
import numpy as np
from dask.utils import key_split
from distributed import Client, LocalCluster, get_task_stream, wait
from gmmcore.dask import _blocks, _init

# Task names as dask.utils.key_split gives them (it drops leading underscores).
STATISTICS_TASKS = ("block_statistics", "merge_statistics")
# Names of the keys of scattered values: the parameters are scattered item by item.
SCATTERED = ("tuple", "ndarray", "str", "float", "int")


def _shift(z, labels, centres):
    """A block of samples: standard normal noise around the centre of each row's label."""
    return centres[labels[:, 0]] + z


def _draw_block(centres, seed, index, rows):
    rng = np.random.default_rng([seed, index])
    return centres[rng.integers(len(centres), size=rows)] + rng.standard_normal((rows, centres.shape[1]))


def make_data(client, n, d, k, chunk_rows, placement, seed=0):
    """The (n, d) float64 dask array of samples around k centres, drawn block by block on the workers and
    persisted there: with placement 'balanced' block i on worker i * workers // blocks, with 'dask' where the
    scheduler puts the tasks of ``da.random`` draws."""
    centres = np.random.default_rng(seed).normal(scale=3.0, size=(k, d))
    if placement == "dask":
        rng = da.random.default_rng(seed + 1)
        z = rng.standard_normal((n, d), chunks=(chunk_rows, d))
        labels = rng.integers(0, k, size=(n, 1), chunks=(chunk_rows, 1))
        X = da.map_blocks(_shift, z, labels, centres, dtype=np.float64).persist()
        wait(X)
        return X
    workers = sorted(client.scheduler_info()["workers"])
    starts = range(0, n, chunk_rows)
    futures = [
        client.submit(
            _draw_block,
            centres,
            seed + 1,
            i,
            min(chunk_rows, n - lo),
            workers=[workers[i * len(workers) // len(starts)]],
        )
        for i, lo in enumerate(starts)
    ]
    wait(futures)
    blocks = [da.from_delayed(f, (min(chunk_rows, n - lo), d), dtype=np.float64) for f, lo in zip(futures, starts)]
    return da.concatenate(blocks)


def _noop_block(shared, x, shapes):
    """A task of a pass's shape that computes nothing: statistics-sized zeros."""
    return tuple(np.zeros(shape) for shape in shapes)


def _noop_merge(parts):
    return parts[0]


def outgoing_transfers(client):
    """Bytes served by every worker's get_data since the logs were last cleared, by kind of key."""
    logs = client.run(lambda dask_worker: list(dask_worker.transfer_outgoing_log))
    kinds = {"statistics": 0, "parameters": 0, "data blocks (task away from its block)": 0}
    count = 0
    for log in logs.values():
        for entry in log:
            count += 1
            for key, size in entry["keys"].items():
                name = key_split(key)
                if name in STATISTICS_TASKS:
                    kinds["statistics"] += size
                elif name in SCATTERED:
                    kinds["parameters"] += size
                else:
                    kinds["data blocks (task away from its block)"] += size
    return kinds, count


def clear_transfer_logs(client):
    client.run(lambda dask_worker: dask_worker.transfer_outgoing_log.clear())


@contextlib.contextmanager
def counting_computes():
    """Count the graph computations of gmmcore.dask's initialisation (its module-level ``compute``)."""
    calls = [0]
    original = _init.compute

    def counted(*values):
        calls[0] += 1
        return original(*values)

    _init.compute = counted
    try:
        yield calls
    finally:
        _init.compute = original


def timed_fit(cls, X, params, max_iter, **fit_kwargs):
    model = cls(**params, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of tol=0
        start = time.perf_counter()
        model.fit(X, **fit_kwargs)
    seconds = time.perf_counter() - start
    if model.n_iter_ != max_iter:
        raise RuntimeError(f"{cls.__module__}.{cls.__name__} ran {model.n_iter_} iterations, not {max_iter}")
    return seconds, model


def max_rel_diff(a, b):
    return max(
        float(np.max(np.abs(getattr(a, name) - getattr(b, name)) / (np.abs(getattr(b, name)) + 1e-300)))
        for name in ("weights_", "means_", "covariances_")
    )


def kib(n_bytes):
    return n_bytes / 2**10


def mib(n_bytes):
    return n_bytes / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-features", type=int, default=32)
    parser.add_argument("--n-components", type=int, default=16)
    parser.add_argument("--covariance-type", default="full", choices=["full", "tied", "diag", "spherical"])
    parser.add_argument("--chunk-rows", type=int, default=125_000, help="rows per dask block")
    parser.add_argument("--iterations", type=int, default=10, help="EM iterations measured (tol=0)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the LocalCluster")
    parser.add_argument("--split-every", type=int, default=_blocks.DEFAULT_SPLIT_EVERY)
    parser.add_argument(
        "--placement",
        default="balanced",
        choices=["balanced", "dask"],
        help="blocks in equal runs on the workers, or wherever the scheduler put the da.random draws",
    )
    parser.add_argument("--repeat", type=int, default=2, help="best of this many timings of each fit")
    args = parser.parse_args()
    n, d, k, ct = args.n_samples, args.n_features, args.n_components, args.covariance_type
    cores = os.cpu_count() or 1
    threads_per_worker = max(1, cores // args.workers)

    cluster = LocalCluster(
        n_workers=args.workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        X = make_data(client, n, d, k, args.chunk_rows, args.placement)
        X_local = X.compute()
        n_blocks = X.npartitions
        per_worker = collections.Counter(w for holders in client.who_has(X).values() for w in holders)
        worker_threads = client.run(lambda: gmmcore._config.config()["threads"])
        omp_threads = sorted(set(worker_threads.values()))

        # The shared starting model, from a quick fit on a subsample.
        rng = np.random.default_rng(1)
        subsample = X_local[rng.choice(n, min(n, 500 * k), replace=False)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start_model = gmmcore.GaussianMixture(k, covariance_type=ct, max_iter=5, random_state=0).fit(subsample)
        params = dict(
            n_components=k,
            covariance_type=ct,
            tol=0.0,
            weights_init=start_model.weights_,
            means_init=start_model.means_,
            precisions_init=start_model.precisions_,
        )
        # Warm-up: OpenMP threads, lazy imports on the workers, the functions shipped to them.
        timed_fit(gmmcore.GaussianMixture, X_local, params, 1)
        timed_fit(gmmcore.dask.GaussianMixture, X, params, 1, split_every=args.split_every)

        print(
            f"gmmcore.dask.GaussianMixture on a distributed.LocalCluster ({args.workers} worker processes x "
            f"{threads_per_worker} threads, {'/'.join(map(str, omp_threads))} OpenMP thread(s) in each) "
            f"vs gmmcore.GaussianMixture in memory ({gmmcore._config.config()['threads']} threads), {cores} cores"
        )
        print(
            f"N={n}, D={d}, K={k}, {ct}, float64, data {mib(X_local.nbytes):.0f} MiB persisted on the workers in "
            f"{n_blocks} blocks of {args.chunk_rows} rows ({mib(args.chunk_rows * d * 8):.1f} MiB), "
            f"split_every={args.split_every}; blocks per worker ({args.placement} placement): "
            f"{sorted(per_worker.values(), reverse=True)}"
        )
        print()

        # 1. Seconds per EM iteration, and the dask pass's time split.
        a, b = 1, 1 + args.iterations
        times = {"memory": {a: [], b: []}, "dask": {a: [], b: []}}
        moved = {a: [], b: []}
        models = {}
        stream = None
        for _ in range(args.repeat):
            for max_iter in (a, b):
                seconds, models["memory"] = timed_fit(gmmcore.GaussianMixture, X_local, params, max_iter)
                times["memory"][max_iter].append(seconds)
            for max_iter in (a, b):
                clear_transfer_logs(client)
                with get_task_stream(client) as ts:
                    seconds, models["dask"] = timed_fit(
                        gmmcore.dask.GaussianMixture, X, params, max_iter, split_every=args.split_every
                    )
                times["dask"][max_iter].append(seconds)
                moved[max_iter].append(outgoing_transfers(client))
                if max_iter == b:
                    stream = ts.data
        print(
            f"EM from the same initial model, tol=0; s / iter = (t(max_iter={b}) - t(max_iter={a})) / {b - a}, "
            f"best of {args.repeat}; fixed = t(max_iter={a}) - s / iter"
        )
        print(f"{'fit':24s} {'s / iter':>9s} {'vs memory':>10s} {'fixed s':>8s} {'max rel diff':>13s}")
        per_iter = {}
        for name, label in [("memory", "in memory (NumPy)"), ("dask", "dask, LocalCluster")]:
            t_a, t_b = min(times[name][a]), min(times[name][b])
            per_iter[name] = (t_b - t_a) / (b - a)
            fixed = t_a - a * per_iter[name]
            ratio = per_iter[name] / per_iter["memory"]
            diff = f"{max_rel_diff(models[name], models['memory']):13.1e}" if name == "dask" else ""
            print(f"{label:24s} {per_iter[name]:9.3f} {ratio:9.2f}x {fixed:8.3f} {diff}")
        ratio = per_iter["dask"] / per_iter["memory"]
        verdict = "met" if ratio <= 1.3 else "NOT met"
        print(f"target: dask within 1.30x of in memory per iteration: {verdict} ({ratio:.2f}x)")
        print()

        # Where a dask pass spends its time: the task stream of the last max_iter=b fit, and two probes.
        compute_s = {name: 0.0 for name in STATISTICS_TASKS}
        busy_s, transfer_s, block_tasks = 0.0, 0.0, 0
        first, last = np.inf, -np.inf
        for task in stream:
            name = key_split(task["key"])
            for part in task["startstops"]:
                if part["action"] == "compute":
                    busy_s += part["stop"] - part["start"]
                    first, last = min(first, part["start"]), max(last, part["stop"])
                    if name in compute_s:
                        compute_s[name] += part["stop"] - part["start"]
                elif part["action"] == "transfer":
                    transfer_s += part["stop"] - part["start"]
            block_tasks += name == "block_statistics"
        passes = max(1, block_tasks // n_blocks)
        total_threads = args.workers * threads_per_worker
        model_args = models["dask"]._model_args(np.float64)
        stats = gmmcore._native.mixture_statistics(*model_args, X_local[: args.chunk_rows], np.empty(0))
        shapes = [np.shape(field) for field in stats if np.ndim(field)]
        broadcast_s, noop_s = [], []
        for _ in range(10):
            start = time.perf_counter()
            shared = client.scatter(model_args, broadcast=True, hash=False)
            broadcast_s.append(time.perf_counter() - start)
            del shared
        blocks = X.to_delayed().ravel()
        for _ in range(10):
            start = time.perf_counter()
            shared = _blocks.broadcast(model_args)
            parts = [dask.delayed(_noop_block, pure=True)(shared, x, shapes) for x in blocks]
            _blocks.compute(_blocks.tree_reduce(parts, _noop_merge, args.split_every))
            noop_s.append(time.perf_counter() - start)
            del shared, parts
        e_step = compute_s["block_statistics"] / passes
        print(f"where a dask iteration goes (task stream of the {passes}-iteration fit; probes)      ms")
        rows = [
            ("dask iteration (s / iter above)", per_iter["dask"]),
            ("  in-memory iteration, for comparison", per_iter["memory"]),
            (f"block statistics tasks, summed over {n_blocks} blocks", e_step),
            (f"  / {total_threads} worker threads: the compute if perfectly spread", e_step / total_threads),
            ("merge tasks, summed", compute_s["merge_statistics"] / passes),
            ("transfers of task inputs between workers, summed", transfer_s / passes),
            ("probe: broadcast of the parameters alone (median of 10)", statistics.median(broadcast_s)),
            ("probe: a pass of no-op tasks, same graph and sizes (median of 10)", statistics.median(noop_s)),
        ]
        for label, seconds in rows:
            print(f"  {label:68s} {1e3 * seconds:8.1f}")
        span = last - first
        print(
            f"  worker threads busy computing: {100 * busy_s / (span * total_threads):.0f}% of the fit's "
            f"{span:.2f} s from its first task to its last"
        )
        print()

        # 2. Bytes moved per iteration.
        stats_bytes = len(pickle.dumps(stats, protocol=pickle.HIGHEST_PROTOCOL))
        params_bytes = len(pickle.dumps(model_args, protocol=pickle.HIGHEST_PROTOCOL))
        merges, level = 0, n_blocks
        while level > 1:
            level = -(-level // args.split_every)
            merges += level
        model_total = stats_bytes * (n_blocks + merges) + params_bytes * args.workers
        print("bytes moved per EM iteration                                      KiB")
        print("  model, from pickled sizes:")
        rows = [
            ("one block's statistics tuple", stats_bytes),
            (f"x {n_blocks} blocks", stats_bytes * n_blocks),
            (f"+ the outputs of {merges} merge task(s)", stats_bytes * merges),
            (f"parameters {kib(params_bytes):.1f} KiB x {args.workers} workers", params_bytes * args.workers),
            ("total", model_total),
        ]
        for label, size in rows:
            print(f"    {label:56s} {kib(size):10.1f}")
        print("  measured: the workers' get_data (to a worker or the client), dask's size estimates, KiB")
        print(f"    {'':40s} {f'fit max_iter={a}':>16s} {f'fit max_iter={b}':>16s} {'per iteration':>14s}")
        (kinds_a, count_a), (kinds_b, count_b) = moved[a][-1], moved[b][-1]
        for kind in kinds_b:
            print(
                f"    {kind:40s} {kib(kinds_a[kind]):16.1f} {kib(kinds_b[kind]):16.1f} "
                f"{kib((kinds_b[kind] - kinds_a[kind]) / (b - a)):14.1f}"
            )
        print(f"    {'transfers (count)':40s} {count_a:16d} {count_b:16d} {(count_b - count_a) / (b - a):14.1f}")
        print(f"  (the data, for comparison: {kib(X_local.nbytes):.0f} KiB)")
        print()

        # 3. The initialisation alone.
        init = dict(n_components=k, covariance_type=ct, init_params="kmeans", random_state=0)
        start = time.perf_counter()
        gmmcore.GaussianMixture(**init, max_iter=0).fit(X_local)
        memory_init = time.perf_counter() - start
        with counting_computes() as calls:
            start = time.perf_counter()
            gmmcore.dask.GaussianMixture(**init, max_iter=0).fit(X, split_every=args.split_every)
            dask_init = time.perf_counter() - start
        print("initialisation (init_params='kmeans', max_iter=0)          s   vs memory")
        print(f"  in memory (k-means)                                {memory_init:8.2f}      1.00x")
        print(
            f"  dask (k-means|| + Lloyd over the blocks)           {dask_init:8.2f} {dask_init / memory_init:9.2f}x  "
            f"({calls[0]} graph computations, {1e3 * dask_init / max(1, calls[0]):.0f} ms each)"
        )
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
