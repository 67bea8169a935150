"""Time gmmcore's large workloads under several builds or ISA levels, in one run.

    python benchmarks/bench_isa.py \\
        --variant native=/tmp/venv-native/bin/python \\
        --variant wheel=build/wheel-ci/venv/bin/python \\
        --variant "wheel, GMMCORE_ISA=x86-64-v3=build/wheel-ci/venv/bin/python@x86-64-v3" \\
        [--n-samples 1000000] [--n-features 32] [--n-components 16] [--epochs 3] [--rounds 3]
        [--repeat 1] [--clock wall|cpu]

A variant is ``NAME=PYTHON[@ISA]``: the interpreter whose gmmcore is timed
and, optionally, the GMMCORE_ISA it runs with. Every variant runs in its own
process, once per round; rounds interleave the variants so that drift on the
machine affects all of them alike, and each time is the best over the rounds.
Within a process each workload runs ``--repeat`` times (best kept).
The first variant is the reference of the ratio columns. Only gmmcore is timed:
``em_train`` for ``--epochs`` steps and forward + backward (VJP), in float64
and float32, on the problem of ``bench_core.py``. ``--clock cpu`` measures the
process's CPU time instead of wall time: on a machine shared with other jobs
it is far less noisy (use it with OMP_NUM_THREADS=1, or OpenMP's spinning
threads count too).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(args):
    import numpy as np

    sys.path.insert(0, str(HERE))
    import gmmcore
    from bench_core import make_problem
    from gmmcore import _native

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = {}
    for dtype in (np.float64, np.float32):
        params, X, grad_output = make_problem(args.n_samples, args.n_features, args.n_components, dtype)
        name = np.dtype(dtype).name
        for _ in range(args.repeat):
            start = clock()
            gmmcore.em_train(params, X, args.epochs, jitter=1e-6)
            key = f"em_train {args.epochs} steps, {name}"
            times[key] = min(clock() - start, times.get(key, float("inf")))
        for _ in range(args.repeat):
            start = clock()
            gmmcore.forward(params, X)
            gmmcore.backward(params, X, grad_output)
            key = f"forward+backward, {name}"
            times[key] = min(clock() - start, times.get(key, float("inf")))
        del params, X, grad_output
    print(json.dumps({"isa": _native.isa, "flags": _native.compile_flags, "times": times}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=PYTHON[@ISA]",
        help="a gmmcore to time (repeat); default: this interpreter",
    )
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-features", type=int, default=32)
    parser.add_argument("--n-components", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each workload per process (best kept)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall time or process CPU time")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    variants = []
    for spec in args.variant or [f"this={sys.executable}"]:
        name, _, target = spec.rpartition("=")
        python, _, isa = target.partition("@")
        variants.append((name, python, isa or None))
    problem = [
        "--n-samples",
        str(args.n_samples),
        "--n-features",
        str(args.n_features),
        "--n-components",
        str(args.n_components),
        "--epochs",
        str(args.epochs),
        "--clock",
        args.clock,
        "--repeat",
        str(args.repeat),
    ]
    best, info = {}, {}
    for round_ in range(args.rounds):
        for name, python, isa in variants:
            env = dict(os.environ)
            env.pop("GMMCORE_ISA", None)
            if isa:
                env["GMMCORE_ISA"] = isa
            out = subprocess.run(
                [python, str(Path(__file__).resolve()), "--worker", *problem],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            info[name] = result
            for workload, seconds in result["times"].items():
                best[name, workload] = min(seconds, best.get((name, workload), float("inf")))
            print(f"round {round_ + 1}/{args.rounds}: {name} done", file=sys.stderr)

    names = [v[0] for v in variants]
    print(
        f"N={args.n_samples}, D={args.n_features}, K={args.n_components}; cores={os.cpu_count()}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; {args.clock} time, "
        f"best of {args.rounds} rounds x {args.repeat} runs"
    )
    for name in names:
        print(f"  {name}: ISA {info[name]['isa']}, flags {info[name]['flags']}")
    workloads = list(info[names[0]]["times"])
    widths = [max(24, len(n)) for n in names]
    print(f"{'workload':30s}" + "".join(f" {n:>{w}s}" for n, w in zip(names, widths)))
    for workload in workloads:
        ref = best[names[0], workload]
        cells = [f"{ref:10.3f} s"]
        for name in names[1:]:
            t = best[name, workload]
            cells.append(f"{t:10.3f} s ({t / ref:5.3f}x)")
        print(f"{workload:30s}" + "".join(f" {c:>{w}s}" for c, w in zip(cells, widths)))


if __name__ == "__main__":
    main()
