"""Ctrl-C latency of a long native fit: SIGINT to KeyboardInterrupt, in seconds.

A child process fits ``GaussianMixture(16)`` (the default k-means
initialisation, ``tol=0`` so it never converges) to 400k x 32 float64 data;
the parent sends it SIGINT, as a terminal's Ctrl-C does, at several delays
after the fit started (early ones land in the k-means initialisation, later
ones in EM), and prints the time from the signal to the child's
``except KeyboardInterrupt`` (both clocks are the same machine's wall clock).
scikit-learn's fit of the same data, interrupted the same way, is measured
alongside with ``--sklearn``.

    python benchmarks/bench_interrupt.py [--delays 0.3 1 3 6] [--sklearn]
"""

import argparse
import subprocess
import sys
import time

CHILD = """
import sys, time
import numpy as np
rng = np.random.default_rng(0)
centres = rng.normal(scale=3.0, size=(16, 32))
X = centres[rng.integers(0, 16, 400_000)] + rng.normal(size=(400_000, 32))
if {sklearn!r}:
    from sklearn.mixture import GaussianMixture
else:
    from gmmcore import GaussianMixture
gm = GaussianMixture(16, max_iter=100000, tol=0, random_state=0)
print("fitting", flush=True)
try:
    gm.fit(X)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", time.time(), flush=True)
"""


def measure(delay, sklearn):
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(sklearn=sklearn)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "fitting"
    time.sleep(delay)
    sent = time.time()
    child.send_signal(subprocess.signal.SIGINT)
    line = child.stdout.readline().split()
    child.wait(timeout=600)
    if not line or line[0] != "interrupted":
        raise RuntimeError(f"the child did not report an interruption: {line}")
    return float(line[1]) - sent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delays", type=float, nargs="+", default=[0.3, 1.0, 3.0, 6.0])
    parser.add_argument("--sklearn", action="store_true", help="also interrupt scikit-learn's fit")
    args = parser.parse_args()
    print("400k x 32, K=16, full, float64; seconds from SIGINT to KeyboardInterrupt")
    print(f"{'signal after':>12}  {'gmmcore':>8}" + (f"  {'scikit-learn':>12}" if args.sklearn else ""))
    for delay in args.delays:
        ours = measure(delay, False)
        row = f"{delay:>11.1f}s  {ours:>8.3f}"
        if args.sklearn:
            row += f"  {measure(delay, True):>12.3f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
