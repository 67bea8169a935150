"""Out-of-core fit: the memory it needs is O(chunk + init sample + K D^2), not O(N).

Each test runs a fit in a subprocess whose address space is capped
(``RLIMIT_AS``) at what it holds after a warm-up plus a headroom ``HEADROOM``
well under the size of the data file (the file is about 2.5 times the headroom).
Inside the cap the subprocess first shows that the limit binds: reading the
file (``np.load``), mapping it whole (``np.load(mmap_mode='r')``) and
``np.empty`` of its size all fail. Then it fits the file twice, through a
``.npy`` path or through a chunk callable that reads one chunk at a time:

* from the default initialisation (k-means on the random init sample), which
  must find the known component means;
* from given initial parameters with ``tol=0``, which must give what the
  in-memory fit in this (unlimited) process gives from the same parameters,
  to 1e-10 relative.

If ``fit`` read the whole file, or mapped it whole, it would need the file's
size of address space and fail with MemoryError / ENOMEM, as the checks of
the limit in the subprocess do.

Why ``MALLOC_ARENA_MAX=1``: glibc gives a thread that first calls malloc an
arena of its own, and reserves for it 64 MiB of address space (transiently
128 MiB, to align it). Whether the fit's threads create a new arena after
the warm-up depends on timing, so under ``RLIMIT_AS`` with a headroom of this
size the fit failed at random (ENOMEM in a chunk's mmap) though it needs about
55 MiB. With a single arena, address space tracks what is allocated and the
runs are deterministic. (``RLIMIT_DATA`` would not see those reservations,
which are PROT_NONE, but neither does it see read-only file mappings, so it
could not show that the file is never mapped whole.)
"""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import gmmcore
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs Linux: RLIMIT_AS and /proc/self/status"
)

N_SAMPLES, N_FEATURES, N_COMPONENTS = 1_000_000, 32, 3
CHUNK_ROWS = 20_000  # 5 MiB of float64 rows
HEADROOM = 96 << 20  # address space allowed above the warmed-up process: the file is ~2.5 times that
TRUE_WEIGHTS = np.array([0.5, 0.3, 0.2])
GIVEN_INIT_ITERATIONS = 3

# Runs in the subprocess: argv = (mode, data path, result path, initial parameters path, chunk rows,
# headroom bytes, iterations of the fit from the given parameters); prints the address space it used as JSON.
SCRIPT = textwrap.dedent(
    """
    import json, os, resource, sys, warnings
    import numpy as np
    import gmmcore

    mode, path, result_path, init_path = sys.argv[1:5]
    chunk_rows, headroom, given_iterations = (int(a) for a in sys.argv[5:8])
    warnings.simplefilter("ignore")  # ConvergenceWarning of the tol=0 fits

    def status(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(field)

    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f)
        data_offset = f.tell()
    n, d = shape
    init = np.load(init_path)

    def chunks():
        # One chunk read at a time into a fresh array: never a map of the whole file.
        with open(path, "rb") as f:
            f.seek(data_offset)
            for start in range(0, n, chunk_rows):
                rows = min(chunk_rows, n - start)
                yield np.fromfile(f, dtype=dtype, count=rows * d).reshape(rows, d)

    source = path if mode == "path" else chunks

    # Warm up: OpenMP threads, lazy imports, both fit paths (in memory, chunked).
    rng = np.random.default_rng(0)
    small = rng.standard_normal((3000, d))
    gmmcore.GaussianMixture(3, max_iter=2, random_state=0).fit(small)
    gmmcore.GaussianMixture(3, max_iter=2, random_state=0).fit(lambda: iter([small[:1500], small[1500:]]))
    del small

    base = status("VmSize")
    limit = base + headroom
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    # The limit binds: the data cannot be read whole, mapped whole, or allocated.
    for what, attempt in [
        ("np.load", lambda: np.load(path)),
        ("np.load(mmap_mode='r')", lambda: np.load(path, mmap_mode="r")),
        ("np.empty", lambda: np.empty(os.path.getsize(path), np.uint8)),
    ]:
        try:
            attempt()
        except (MemoryError, OSError):
            pass
        else:
            raise AssertionError(f"{what} of the {os.path.getsize(path)} byte file fit under the limit")

    found = gmmcore.GaussianMixture(3, tol=1e-4, max_iter=100, random_state=0).fit(source, chunk_size=chunk_rows)
    given = gmmcore.GaussianMixture(
        3,
        tol=0.0,
        max_iter=given_iterations,
        weights_init=init["weights"],
        means_init=init["means"],
        precisions_init=init["precisions"],
    ).fit(source, chunk_size=chunk_rows)
    np.savez(
        result_path,
        found_means=found.means_,
        found_weights=found.weights_,
        given_means=given.means_,
        given_weights=given.weights_,
        given_covariances=given.covariances_,
        given_lower_bound=given.lower_bound_,
    )
    print(json.dumps(dict(
        base=base, limit=limit, peak=status("VmPeak"), peak_rss=status("VmHWM"),
        found_iterations=found.n_iter_, converged=bool(found.converged_),
    )))
    """
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """(path, true means, initial parameters path, in-memory fit from them) of a known 3-component mixture."""
    directory = tmp_path_factory.mktemp("out_of_core")
    rng = np.random.default_rng(20240601)
    means = rng.normal(scale=3.0, size=(N_COMPONENTS, N_FEATURES))
    labels = rng.choice(N_COMPONENTS, size=N_SAMPLES, p=TRUE_WEIGHTS)
    X = means[labels]
    X += rng.standard_normal((N_SAMPLES, N_FEATURES))
    path = directory / "X.npy"
    np.save(path, X)
    assert path.stat().st_size > 2.4 * HEADROOM

    # Initial parameters away from the truth: perturbed means, wide covariances, uniform weights.
    init = dict(
        weights=np.full(N_COMPONENTS, 1.0 / N_COMPONENTS),
        means=means + rng.normal(scale=0.5, size=means.shape),
        precisions=np.broadcast_to(np.eye(N_FEATURES) / 2.0, (N_COMPONENTS, N_FEATURES, N_FEATURES)).copy(),
    )
    init_path = directory / "init.npz"
    np.savez(init_path, **init)
    reference = gmmcore.GaussianMixture(
        N_COMPONENTS,
        tol=0.0,
        max_iter=GIVEN_INIT_ITERATIONS,
        weights_init=init["weights"],
        means_init=init["means"],
        precisions_init=init["precisions"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference.fit(X)
    return path, means, init_path, reference


def run_limited(mode, path, init_path, result_path):
    env = dict(os.environ, OMP_NUM_THREADS="2", MALLOC_ARENA_MAX="1")
    args = [mode, path, result_path, init_path, CHUNK_ROWS, HEADROOM, GIVEN_INIT_ITERATIONS]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *map(str, args)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"the memory-limited fit failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1]), np.load(result_path)


@pytest.mark.parametrize("mode", ["path", "callable"])
def test_fit_under_address_space_limit(data, mode, tmp_path):
    path, true_means, init_path, reference = data
    report, result = run_limited(mode, path, init_path, tmp_path / "result.npz")
    assert report["peak"] <= report["limit"]
    assert report["limit"] - report["base"] < path.stat().st_size / 2

    # The default initialisation finds the mixture: each fitted mean next to one true mean.
    found = result["found_means"]
    order = np.argmin(((found[:, None, :] - true_means[None, :, :]) ** 2).sum(-1), axis=0)
    assert sorted(order) == list(range(N_COMPONENTS))
    np.testing.assert_allclose(found[order], true_means, atol=0.02)
    np.testing.assert_allclose(result["found_weights"][order], TRUE_WEIGHTS, atol=0.01)

    # From the same initial parameters, the chunked fit is the in-memory fit.
    np.testing.assert_allclose(result["given_weights"], reference.weights_, rtol=1e-10)
    np.testing.assert_allclose(result["given_means"], reference.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result["given_covariances"], reference.covariances_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result["given_lower_bound"], reference.lower_bound_, rtol=1e-10)
