"""The ``gmmcore`` command line, run for real in a subprocess on temporary files.

Every subcommand, exact model files, memory-mapped .npy input, PNG plots,
bad files and bad arguments; plus in-process tests of the data-file reader.
"""

import importlib.util
import os
import pty
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest
from gmmcore import GaussianMixture, _cli
from gmmcore import _model_io as model_io
from gmmcore._cli import CLIError, load_data


def gmmcore_command():
    """The installed ``gmmcore`` console script next to this Python, else ``python -m gmmcore._cli``."""
    script = shutil.which("gmmcore", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "gmmcore._cli"]


COMMAND = gmmcore_command()
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason='plots need matplotlib (pip install "gmmcore[plot]")'
)


def run(*args, cwd, status=0, env=None):
    """Run ``gmmcore ARGS`` in ``cwd``; check its exit status; return (stdout, stderr)."""
    result = subprocess.run(
        [*COMMAND, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == status, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout, result.stderr


def blobs(n=300, seed=0):
    """Three well-separated 2-D clusters: EM converges quickly, so every fit is warning-free."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [8.0, 1.0], [2.0, 9.0]])
    return centres[rng.integers(0, 3, n)] + rng.normal(scale=[1.0, 0.7], size=(n, 2))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with data files of every kind and a model fitted by the CLI (``model.gmm``)."""
    path = tmp_path_factory.mktemp("cli")
    X = blobs()
    np.savetxt(path / "data.csv", X, delimiter=",", header="x,y", comments="", fmt="%.17g")
    np.savetxt(path / "data.tsv", X, delimiter="\t", fmt="%.17g")
    np.save(path / "data.npy", X)
    np.save(path / "data32.npy", X.astype(np.float32))
    np.savetxt(path / "data3.csv", np.c_[X, X[:, 0]], delimiter=",", fmt="%.17g")
    np.savetxt(path / "data.txt", X)
    (path / "bad.csv").write_text("x,y\n1,2\n3,4\n5,oops\n")
    (path / "ragged.csv").write_text("1,2\n3,4\n5,6,7\n")
    np.save(path / "vector.npy", np.zeros(5))
    np.save(path / "objects.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    stdout, stderr = run("fit", "data.csv", "-k", 3, "-o", "model.gmm", cwd=path)
    run("fit", "data.npy", "-k", 3, "-o", "plain.gmm", cwd=path)  # no column names
    data = (path / "model.gmm").read_bytes()
    (path / "truncated.gmm").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[-40] ^= 0xFF
    (path / "corrupt.gmm").write_bytes(bytes(corrupt))
    future = bytearray(data)
    struct.pack_into("<I", future, 8, 2)
    (path / "future.gmm").write_bytes(bytes(future))
    return {"path": path, "X": X, "fit_stdout": stdout, "fit_stderr": stderr}


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def without_names(model):
    """The model evaluated on plain arrays: a model fitted on a CSV with a header keeps its column names,
    and scikit-learn warns when such a model is given an array without them."""
    if hasattr(model, "feature_names_in_"):
        del model.feature_names_in_
    return model


def assert_same_model(loaded, expected):
    for name in ["weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"]:
        assert same_bits(getattr(loaded, name), getattr(expected, name)), name
    assert loaded.lower_bounds_ == expected.lower_bounds_
    assert (loaded.n_iter_, loaded.converged_) == (expected.n_iter_, expected.converged_)


# ------------------------------------------------------------------ fit


def test_fit_prints_a_summary_and_writes_the_exact_model(work):
    X = np.loadtxt(work["path"] / "data.csv", delimiter=",", skiprows=1)
    expected = GaussianMixture(3, random_state=0).fit(X)
    loaded = model_io.load(work["path"] / "model.gmm")
    assert_same_model(loaded, expected)
    out = work["fit_stdout"]
    assert work["fit_stderr"] == ""  # not a terminal: no progress bar, and no warnings
    assert "fitted 3 components (full covariance, float64) to 300 samples x 2 features of data.csv" in out
    assert f"converged:       yes, after {expected.n_iter_} iterations" in out
    assert f"log-likelihood:  {expected.score(X) * 300:.3f}" in out
    assert f"BIC:             {expected.bic(X):.3f}" in out
    assert f"AIC:             {expected.aic(X):.3f}" in out
    assert "data:            delimiter ',' (detected); header detected, names kept in the model" in out
    table = summary_table(out)
    assert table["weight"] == pytest.approx(expected.weights_, rel=1e-5)
    assert table["mean x"] == pytest.approx(expected.means_[:, 0], rel=1e-5, abs=1e-6)
    assert table["mean y"] == pytest.approx(expected.means_[:, 1], rel=1e-5, abs=1e-6)
    assert list(loaded.feature_names_in_) == ["x", "y"]
    assert out.rstrip().endswith("model written to model.gmm")


def summary_table(out):
    """{row label: values} of the summary's table of weights and means (one column per component)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("component "))
    k = len(lines[start].split()) - 1
    table = {}
    for line in lines[start + 1 :]:
        parts = line.rsplit(None, k)
        if len(parts) != k + 1 or not parts[0].startswith(("weight", "mean ")):
            break
        table[parts[0].strip()] = [float(v) for v in parts[1:]]
    return table


@pytest.mark.parametrize(
    "data, options, dtype",
    [
        ("data32.npy", ["--covariance", "diag"], np.float32),
        ("data.npy", ["--covariance", "tied", "--float32"], np.float32),
        (
            "data.tsv",
            [
                "--covariance",
                "spherical",
                "--n-init",
                "2",
                "--max-iter",
                "50",
                "--tol",
                "1e-4",
                "--reg-covar",
                "1e-5",
                "--seed",
                "7",
                "--init",
                "k-means++",
            ],
            np.float64,
        ),
    ],
)
def test_fit_options_and_inputs(work, data, options, dtype):
    path = work["path"]
    out, err = run("fit", data, "-k", 3, *options, "-o", f"{data}.gmm", cwd=path)
    assert err == ""
    loaded = model_io.load(path / f"{data}.gmm")
    X = np.load(path / data) if data.endswith(".npy") else np.loadtxt(path / data, delimiter="\t")
    settings = dict(zip(options[::2], options[1::2]))
    expected = GaussianMixture(
        3,
        covariance_type=settings["--covariance"],
        n_init=int(settings.get("--n-init", 1)),
        max_iter=int(settings.get("--max-iter", 100)),
        tol=float(settings.get("--tol", 1e-3)),
        reg_covar=float(settings.get("--reg-covar", 1e-6)),
        random_state=int(settings.get("--seed", 0)),
        init_params=settings.get("--init", "kmeans"),
    ).fit(X.astype(dtype))
    assert loaded.means_.dtype == dtype
    assert loaded.get_params() == expected.get_params()
    assert_same_model(loaded, expected)
    assert f"{settings['--covariance']} covariance, {np.dtype(dtype)}" in out


def test_fit_bayesian_is_the_estimators_fit_and_says_how_many_components_are_in_use(work):
    """fit --bayesian: an over-specified K on three blobs, the model the Python API fits, its summary."""
    from gmmcore import BayesianGaussianMixture

    path = work["path"]
    out, _ = run("fit", "data.csv", "-k", 8, "--bayesian", "--weight-concentration", 0.01, "-o", "bayes.gmm", cwd=path)
    X = np.loadtxt(path / "data.csv", delimiter=",", skiprows=1)
    expected = BayesianGaussianMixture(n_components=8, weight_concentration_prior=0.01, random_state=0).fit(X)
    loaded = model_io.load(path / "bayes.gmm")
    assert type(loaded) is BayesianGaussianMixture
    assert_same_model(loaded, expected)
    for name in ["weight_concentration_", "mean_precision_", "degrees_of_freedom_"]:
        assert same_bits(getattr(loaded, name), getattr(expected, name)), name
    assert f"lower bound:     {expected.lower_bound_:.3f} (dirichlet_process prior on the weights)" in out
    assert "in use:          3 of 8 components have weight >= 0.01" in out
    assert "BIC" not in out
    labels, _ = run("predict", "bayes.gmm", "data.csv", cwd=path)
    np.testing.assert_array_equal(np.loadtxt(labels.splitlines(), dtype=int), expected.predict(X))
    out, _ = run(
        "fit",
        "data.csv",
        "-k",
        3,
        "--bayesian",
        "--weight-prior",
        "dirichlet_distribution",
        "-o",
        "dirichlet.gmm",
        cwd=path,
    )
    assert model_io.load(path / "dirichlet.gmm").weight_concentration_prior_type == "dirichlet_distribution"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weight-prior", "dirichlet_process"], "--weight-prior is an option of the variational fit: add --bayesian"),
        (["--weight-concentration", "0.5"], "--weight-concentration is an option of the variational fit"),
        (["--bayesian", "--chunk-size", "10"], "the variational fit (--bayesian) reads DATA whole"),
        (["--bayesian", "--weight-concentration", "0"], "expected a positive number, got '0'"),
    ],
)
def test_fit_bayesian_options_are_checked(work, args, message):
    _, err = run("fit", "data.csv", "-k", 3, *args, "-o", "never.gmm", cwd=work["path"], status=2)
    assert message in err
    assert not (work["path"] / "never.gmm").exists()


# --------------------------------------------------- predict, score, sample


def test_predict_labels_to_stdout(work):
    model = without_names(model_io.load(work["path"] / "model.gmm"))
    out, err = run("predict", "model.gmm", "data.csv", cwd=work["path"])
    assert err == ""
    np.testing.assert_array_equal(np.array(out.split(), dtype=int), model.predict(work["X"]))


@pytest.mark.parametrize("output", ["proba.csv", "proba.npy"])
def test_predict_probabilities_to_a_file(work, output):
    path = work["path"]
    model = without_names(model_io.load(path / "model.gmm"))
    out, err = run("predict", "model.gmm", "data.npy", "--proba", "-o", output, cwd=path)
    assert (out, err) == ("", "")
    if output.endswith(".npy"):
        written = np.load(path / output)
    else:
        assert (path / output).read_text().splitlines()[0] == "p0,p1,p2"
        written = np.loadtxt(path / output, delimiter=",", skiprows=1)
    assert same_bits(written, model.predict_proba(work["X"]))  # text output reads back exactly


def test_score_mean_and_per_sample(work):
    path = work["path"]
    model = without_names(model_io.load(path / "model.gmm"))
    out, _ = run("score", "model.gmm", "data.tsv", cwd=path)
    assert float(out) == model.score(work["X"])
    out, err = run("score", "model.gmm", "data.csv", "-o", "scores.tsv", cwd=path)
    assert err == "" and out.startswith("mean log-likelihood: ")
    assert same_bits(np.loadtxt(path / "scores.tsv"), model.score_samples(work["X"]))


def test_sample_is_seeded(work):
    path = work["path"]
    model = model_io.load(path / "model.gmm")
    model.random_state = 5
    expected, _ = model.sample(40)
    out, err = run("sample", "model.gmm", "-n", 40, "--seed", 5, "--no-shuffle", cwd=path)
    assert err == "" and out.splitlines()[0] == "x,y"  # the names of data.csv's header
    assert same_bits(np.loadtxt(out.splitlines()[1:], delimiter=","), expected)
    out, err = run("sample", "plain.gmm", "-n", 40, "--seed", 5, "--no-shuffle", cwd=path)
    assert err == "" and out.splitlines()[0] == "x0,x1"  # a model fitted on a file without names


# ------------------------------------------------------------------ select


@needs_matplotlib
def test_select_prints_a_table_the_best_k_and_plots_the_curve(work):
    path = work["path"]
    out, err = run("select", "data.npy", "-k", "1..5", "--plot", "bic.png", "-o", "best.gmm", cwd=path)
    assert err == ""  # the best K is inside the range: no warning
    lines = out.splitlines()
    assert lines[0].split() == ["covariance", "K", "log-likelihood", "BIC", "AIC", "converged", "iterations", "seconds"]
    rows = [line.split() for line in lines[1:6]]
    assert [row[0] for row in rows] == ["full"] * 5
    assert [int(row[1]) for row in rows] == [1, 2, 3, 4, 5]
    bics = [float(row[3]) for row in rows]
    assert int(rows[int(np.argmin(bics))][1]) == 3
    assert "<- best BIC" in lines[3]
    assert "best by BIC: K=3, full covariance" in out
    best = model_io.load(path / "best.gmm")
    assert best.n_components == 3
    assert float(rows[2][3]) == pytest.approx(best.bic(work["X"]), abs=1e-3)
    image = read_png(path / "bic.png")
    assert count(image, "C0") > 300  # the curve
    assert count(image, "C3") > 30  # the ring around the best K


def test_select_by_aic_with_a_list_of_k(work):
    out, _ = run("select", "data.csv", "-k", "2,4,3", "--criterion", "aic", "--covariance", "diag", cwd=work["path"])
    lines = out.splitlines()
    assert lines[0] == "data: delimiter ',' (detected); header detected, names kept in the model"
    assert [line.split()[:2] for line in lines[2:5]] == [["diag", "2"], ["diag", "3"], ["diag", "4"]]
    assert "best by AIC: K=" in out


# -------------------------------------------------------------------- demo


def test_demo_with_no_arguments(tmp_path):
    out, err = run("demo", cwd=tmp_path)
    assert err == ""
    assert "272 eruptions" in out
    assert "fitted 2 components (full covariance, float64) to 272 samples x 2 features of old_faithful.csv" in out
    assert "converged:       yes" in out
    # The classic maximum-likelihood fit of Old Faithful (mclust's too): log-likelihood -1130.264,
    # weights 0.356 / 0.644, means (2.04, 54.5) and (4.29, 80.0).
    loglik = float(re.search(r"log-likelihood:  (\S+)", out).group(1))
    assert loglik == pytest.approx(-1130.264, abs=0.01)
    table = summary_table(out)
    components = sorted(zip(table["weight"], table["mean eruptions"], table["mean waiting"]))
    assert [weight for weight, _, _ in components] == pytest.approx([0.3559, 0.6441], abs=2e-3)
    assert components[0][1:] == pytest.approx((2.0365, 54.4799), abs=0.05)
    assert components[1][1:] == pytest.approx((4.2898, 79.9695), abs=0.05)
    assert os.listdir(tmp_path) == []


@needs_matplotlib
def test_demo_plot(tmp_path):
    out, err = run("demo", "--plot", "demo.png", "-o", "faithful.gmm", cwd=tmp_path)
    assert err == "" and "plot written to demo.png" in out
    assert model_io.load(tmp_path / "faithful.gmm").n_components == 2
    image = read_png(tmp_path / "demo.png")
    # Two clusters in their own colours: short eruptions with short waits (left, low) and long ones.
    blue, orange = where(image, "C0"), where(image, "C1")
    assert len(blue) > 300 and len(orange) > 300
    centres = sorted([np.median(blue, axis=0), np.median(orange, axis=0)], key=lambda centre: centre[1])
    (left_row, left_col), (right_row, right_col) = centres
    assert right_col - left_col > 200
    assert left_row - right_row > 100  # rows grow downwards: the left cluster is lower
    assert count_points(image) > 200


def read_png(path):
    """The image as (height, width, 4) floats in [0, 1], after checking its size and that it is not blank."""
    import matplotlib.image

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (800, 600)
    image = matplotlib.image.imread(path)
    assert image.shape == (600, 800, 4)
    assert np.all(image[0, 0, :3] == 1.0) and np.all(image[-1, -1, :3] == 1.0)  # white background
    ink = np.any(image[..., :3] < 0.9, axis=-1).mean()
    assert 0.02 < ink < 0.5
    return image


def where(image, colour, tolerance=0.06):
    import matplotlib.colors

    rgb = np.array(matplotlib.colors.to_rgb(colour))
    return np.argwhere(np.all(np.abs(image[..., :3] - rgb) < tolerance, axis=-1))


def count(image, colour):
    return len(where(image, colour))


def count_points(image):
    """Pixels of the scatter points: each component's colour at alpha 0.75 over white."""
    import matplotlib.colors

    total = 0
    for colour in ("C0", "C1"):
        blended = 0.75 * np.array(matplotlib.colors.to_rgb(colour)) + 0.25
        total += int(np.all(np.abs(image[..., :3] - blended) < 0.04, axis=-1).sum())
    return total


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "missing.csv", "-k", 2, "-o", "m.gmm"], r"missing\.csv: no such file"),
        (["fit", "bad.csv", "-k", 2, "-o", "m.gmm"], r"bad\.csv, line 4, column 2: cannot parse 'oops' as a number"),
        (["fit", "ragged.csv", "-k", 2, "-o", "m.gmm"], r"ragged\.csv, line 3: expected 2 fields, got 3"),
        (["fit", "data.txt", "-k", 2, "-o", "m.gmm"], r"unsupported data file extension '\.txt'"),
        (["fit", "vector.npy", "-k", 2, "-o", "m.gmm"], r"expected a 2-D array .* got shape \(5,\)"),
        (["fit", "objects.npy", "-k", 2, "-o", "m.gmm"], r"objects\.npy: not a readable \.npy array"),
        (
            ["fit", "data.csv", "-k", 301, "-o", "m.gmm"],
            r"-k 301 is larger than the number of samples in data\.csv \(300\)$",
        ),
        (["select", "data.csv", "-k", "2..400"], r"-k 400 is larger than the number of samples"),
        (["fit", "data.csv", "-k", 2, "-o", "nowhere/m.gmm"], r"no such folder"),
        (["fit", "data.csv", "-k", 2, "-o", "."], r"\.: is a directory"),
        (
            ["predict", "model.gmm", "data3.csv"],
            r"data3\.csv: has 3 features \(columns\), but the model in model\.gmm was fitted on 2$",
        ),
        (["score", "model.gmm", "data3.csv"], r"has 3 features"),
        (["predict", "missing.gmm", "data.csv"], r"missing\.gmm: no such file"),
        (["predict", "data.csv", "data.csv"], r"data\.csv: not a gmmcore model file"),
        (["score", "truncated.gmm", "data.csv"], r"truncated\.gmm: model file is truncated"),
        (["score", "corrupt.gmm", "data.csv"], r"corrupt\.gmm: model file is corrupt \(checksum mismatch\)"),
        (["sample", "future.gmm", "-n", 3], r"future\.gmm: was written by a newer gmmcore \(model format 2\)"),
        (["predict", "model.gmm", "data.csv", "-o", "out.xlsx"], r"out\.xlsx: unsupported output file extension"),
        (["select", "data.csv", "--plot", "curve.pdf"], r"curve\.pdf: --plot writes a PNG image"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(work, args, message):
    out, err = run(*args, cwd=work["path"], status=2)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("gmmcore: error: "), err
    assert re.search(message, err), err


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "the following arguments are required: COMMAND"),
        (["fit", "data.csv", "-o", "m.gmm"], "the following arguments are required: -k"),
        (["fit", "data.csv", "-k", "0", "-o", "m.gmm"], "expected a positive integer, got '0'"),
        (["fit", "data.csv", "-k", "2", "-o", "m.gmm", "--tol", "-1"], "expected a number >= 0"),
        (["fit", "data.csv", "-k", "2", "-o", "m.gmm", "--covariance", "round"], "invalid choice: 'round'"),
        (["select", "data.csv", "-k", "4..2"], r"empty range '4..2'"),
        (["select", "data.csv", "-k", "1..x"], "expected a positive integer, got 'x'"),
        (["sample", "model.gmm"], "the following arguments are required: -n"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_bad_arguments_exit_2_with_usage(work, args, message):
    out, err = run(*args, cwd=work["path"], status=2)
    assert out == "" and "usage: gmmcore" in err and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("where_", ["after", "before"])
def test_debug_shows_the_traceback(work, where_):
    args = ["fit", "missing.csv", "-k", "2", "-o", "m.gmm"]
    args = [*args, "--debug"] if where_ == "after" else ["--debug", *args]
    _, err = run(*args, cwd=work["path"], status=1)
    assert "Traceback (most recent call last)" in err and "CLIError: missing.csv: no such file" in err


def test_plot_without_matplotlib_says_how_to_install_before_fitting(tmp_path):
    fake = tmp_path / "fake"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(fake), os.environ.get("PYTHONPATH")])))
    out, err = run("demo", "--plot", "demo.png", cwd=tmp_path, status=2, env=env)
    assert out == "" and 'pip install "gmmcore[plot]"' in err
    assert not (tmp_path / "demo.png").exists()


def test_console_script_and_python_m_gmmcore(tmp_path):
    assert COMMAND[0].endswith("gmmcore"), "the gmmcore console script is not installed next to this Python"
    result = subprocess.run([sys.executable, "-m", "gmmcore", "fly"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2 and "usage: gmmcore" in result.stderr


def test_version(tmp_path):
    import gmmcore

    out, _ = run("--version", cwd=tmp_path)
    assert out.strip() == f"gmmcore {gmmcore.__version__}"


# ----------------------------------------------------------------- progress


def run_on_a_terminal(args, cwd):
    """Run with stderr on a pseudo-terminal; return (exit status, stdout, what was drawn on the terminal)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*COMMAND, *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, text=True
    )
    os.close(slave)
    drawn = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    out = process.stdout.read()
    process.stdout.close()
    return process.wait(timeout=300), out, drawn.decode("utf-8", "replace")


@pytest.mark.skipif(not hasattr(pty, "openpty") or sys.platform == "win32", reason="needs a POSIX pty")
def test_progress_bar_on_a_terminal_unless_quiet(work):
    # (Every other test runs with stderr on a pipe and checks that nothing is drawn there.)
    args = ["fit", "data.csv", "-k", "3", "--tol", "0", "--max-iter", "5", "-o", "progress.gmm"]
    status, out, drawn = run_on_a_terminal(args, work["path"])
    assert status == 0
    assert "EM:" in drawn and "5/5" in drawn
    assert "lower bound -" in drawn and "change " in drawn
    assert "converged:       NO: stopped at --max-iter 5" in out  # no ConvergenceWarning text
    status, out, drawn = run_on_a_terminal([*args, "--quiet"], work["path"])
    assert status == 0 and drawn == "" and "converged:       NO" in out


# ------------------------------------------------ data files, in process


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, columns",
    [
        ("a,b\n1,2\n3,4\n", ["a", "b"]),
        ('"","eruptions","waiting"\n1,1,2\n2,3,4\n', ["eruptions", "waiting"]),  # R's write.csv: row names
        ("1,2\n3,4\n", None),
        ("# a comment\n\nx , y\n1,2\n# another\n\n3,4\n", ["x", "y"]),
        ("\ufeffa,b\n1,2\n3,4\n", ["a", "b"]),
        ("a,b\r\n1,2\r\n3,4\r\n", ["a", "b"]),
        ('a,b\n"1","2"\n3,4\n', ["a", "b"]),
        ("a,b\n1e3,-2.5E-1\n3,4\n", ["a", "b"]),
    ],
)
def test_csv_header_detection(tmp_path, text, columns):
    X, found = load_data(write(tmp_path / "d.csv", text))
    assert found == columns
    assert X.shape == (2, 2) and X.dtype == np.float64
    assert X[1].tolist() == [3.0, 4.0]


def test_tsv_and_one_column(tmp_path):
    X, columns = load_data(write(tmp_path / "d.tsv", "a\tb\n1\t2\n3\t4\n"))
    assert columns == ["a", "b"] and X.tolist() == [[1, 2], [3, 4]]
    X, columns = load_data(write(tmp_path / "d.csv", "v\n1\n2\n3\n"))
    assert columns == ["v"] and X.shape == (3, 1)


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b\n1,2\n\n# c\n3,x\n", r"line 5, column 2: cannot parse 'x' as a number"),
        ("1,2\n3,\n", r"line 2, column 2: cannot parse '' as a number"),
        ("1,2\nabc,4\n", r"line 2, column 1: cannot parse 'abc'"),
        ("1,x\n1,2\n", r"line 1, column 2: cannot parse 'x'"),  # a first row with a number is data
        ("1,2\n3,inf\n", r"line 2, column 2: 'inf' is not a finite number"),
        ("1,2\nnan,4\n", r"line 2, column 1: 'nan' is not a finite number"),
        ("a,b,c\n1,2\n", r"line 2: expected 3 fields, got 2"),
        ("1,2\n3,4,5\n", r"line 2: expected 2 fields, got 3"),
        ("a,b\n", r"no data rows"),
        ("", r"no data rows"),
        ("# only a comment\n", r"no data rows"),
    ],
)
def test_csv_errors_name_the_line(tmp_path, text, message):
    with pytest.raises(CLIError, match=message):
        load_data(write(tmp_path / "d.csv", text))


def test_binary_file_named_csv(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(CLIError, match="not a UTF-8 text file"):
        load_data(path)


def test_npy_is_memory_mapped_and_fitted_in_place(tmp_path):
    X = blobs()
    np.save(tmp_path / "c.npy", X)
    loaded, columns = load_data(tmp_path / "c.npy")
    assert isinstance(loaded, np.memmap) and columns is None
    assert not loaded.flags.writeable
    args = type("Args", (), {"float32": False})()
    assert _cli._prepare(loaded, args) is loaded  # C-ordered float64: the estimator reads the mapped file
    args.float32 = True
    assert _cli._prepare(loaded, args).dtype == np.float32
    np.save(tmp_path / "f.npy", np.asfortranarray(X))
    fortran, _ = load_data(tmp_path / "f.npy")
    assert isinstance(fortran, np.memmap) and fortran.flags.f_contiguous
    prepared = _cli._prepare(fortran, type("Args", (), {"float32": False})())
    assert prepared.flags.c_contiguous and same_bits(prepared, X)
    np.save(tmp_path / "i.npy", np.arange(6).reshape(3, 2))
    assert load_data(tmp_path / "i.npy")[0].dtype.kind == "i"


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((0, 2)), r"no data \(shape \(0, 2\)\)"),
        (np.zeros((2, 2, 2)), "expected a 2-D array"),
        (np.zeros((3, 2), dtype=complex), "expected an array of real numbers, got dtype complex128"),
        (np.array([["a", "b"]]), "expected an array of real numbers"),
    ],
)
def test_bad_npy(tmp_path, array, message):
    np.save(tmp_path / "d.npy", array)
    with pytest.raises(CLIError, match=message):
        load_data(tmp_path / "d.npy")


@pytest.mark.parametrize(
    "text, expected",
    [("3", [3]), ("1..4", [1, 2, 3, 4]), ("2,8,4", [2, 4, 8]), ("1..3,5, 7", [1, 2, 3, 5, 7]), ("2..2", [2])],
)
def test_k_ranges(text, expected):
    assert _cli._k_range(text) == expected


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_written_text_reads_back_exactly(tmp_path, dtype, capsys):
    values = np.array([[0.1, 1 / 3], [1e-300 if dtype == np.float64 else 1e-30, -2.5e10]], dtype=dtype)
    _cli._write_table(str(tmp_path / "v.csv"), values, ["a", "b"])
    assert same_bits(np.loadtxt(tmp_path / "v.csv", delimiter=",", skiprows=1, dtype=dtype), values)
    _cli._write_table(None, values[:, 0])
    assert capsys.readouterr().out.splitlines() == [str(v) for v in values[:, 0]]


def test_fit_reads_a_npy_file_in_chunks(tmp_path):
    """`--chunk-size`: a .npy DATA file is fitted by the chunked EM, the same model as in memory."""
    import gmmcore
    from gmmcore import GaussianMixture

    X = blobs(900)
    np.save(tmp_path / "d.npy", X)
    run("fit", "d.npy", "-k", 3, "--chunk-size", 100, "--tol", "1e-8", "-o", "m.gmm", cwd=tmp_path)
    model = gmmcore.load(tmp_path / "m.gmm")
    reference = GaussianMixture(3, random_state=0, tol=1e-8).fit(X)
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-10)
    run("fit", "d.npy", "-k", 3, "--chunk-size", 0, "-o", "m.gmm", cwd=tmp_path, status=2)
