"""The command line on files as people write them: pandas, the csv module, spreadsheets, pyarrow.

Each case of issue 17's "What was found" is here: an index column, a header of
numbers, column names kept and matched, delimiters and quoting, model-file
permissions, broken pipes, sample order and labels, select over covariance
types, summaries of many features; and the CLI against the Python API on
scikit-learn's bundled iris and wine data.
"""

import csv
import os
import re
import stat
import subprocess

import numpy as np
import pytest
from gmmcore import GaussianMixture
from gmmcore import _model_io as model_io
from gmmcore.cli import CLIError, load_data
from test_cli import COMMAND, blobs, run, summary_table, without_names

pd = pytest.importorskip("pandas")


def fitted(X, k=3, **options):
    return GaussianMixture(k, random_state=0, **options).fit(np.asarray(X, dtype=np.float64))


def assert_same_parameters(loaded, expected, rtol=1e-12):
    for name in ["weights_", "means_", "covariances_", "precisions_cholesky_"]:
        np.testing.assert_allclose(getattr(loaded, name), getattr(expected, name), rtol=rtol, atol=0, err_msg=name)


@pytest.fixture(scope="module")
def frame():
    return pd.DataFrame(blobs(), columns=["x", "y"])


# ------------------------------------------------------ 1. index columns


def test_pandas_default_to_csv_drops_its_index_column(tmp_path, frame):
    frame.to_csv(tmp_path / "d.csv")  # pandas' default: an unnamed index column first
    out, err = run("fit", "d.csv", "-k", 3, "-o", "m.gmm", cwd=tmp_path)
    assert err == ""
    assert "x 2 features" in out and "dropped the unnamed first column" in out
    model = model_io.load(tmp_path / "m.gmm")
    assert_same_parameters(model, fitted(frame.to_numpy()))
    assert list(model.feature_names_in_) == ["x", "y"]


def test_an_unnamed_index_of_labels_is_dropped_too(tmp_path, frame):
    labelled = frame.set_axis([f"row{i}" for i in range(len(frame))])
    labelled.to_csv(tmp_path / "d.csv")
    X, columns = load_data(tmp_path / "d.csv")
    assert columns == ["x", "y"] and np.array_equal(X, frame.to_numpy())


@pytest.mark.parametrize("header", [True, False])
def test_a_first_column_0_to_n_minus_1_is_an_index(tmp_path, frame, header):
    frame.rename_axis("id").to_csv(tmp_path / "d.csv", header=header)
    out, _ = run("fit", "d.csv", "-k", 3, "-o", "m.gmm", cwd=tmp_path)
    assert "x 2 features" in out
    assert ("dropped column 'id'" if header else "dropped the first column") in out
    assert_same_parameters(model_io.load(tmp_path / "m.gmm"), fitted(frame.to_numpy()))
    out, _ = run("fit", "d.csv", "-k", 3, "-o", "m.gmm", "--keep-index", cwd=tmp_path)
    assert "x 3 features" in out
    assert_same_parameters(model_io.load(tmp_path / "m.gmm"), fitted(frame.reset_index().to_numpy()))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0,1.5\n1,2.5\n2,3.5\n", [[1.5], [2.5], [3.5]]),  # 0, 1, 2: an index
        ("x,y\n0,5\n", [[0, 5]]),  # one row: 0 is a value, not an index
        ("x,y\n0,5\n1,6.5\n", [[0, 5], [1, 6.5]]),  # two rows: likewise
        ("0,1.5\n2,2.5\n1,3.5\n", [[0, 1.5], [2, 2.5], [1, 3.5]]),  # not in order
    ],
)
def test_index_detection_by_values(tmp_path, text, expected):
    (tmp_path / "d.csv").write_text(text)
    assert load_data(tmp_path / "d.csv")[0].tolist() == expected


def test_predict_notes_a_dropped_index_column_on_stderr(tmp_path, frame):
    frame.to_csv(tmp_path / "d.csv")
    run("fit", "d.csv", "-k", 3, "-o", "m.gmm", cwd=tmp_path)
    out, err = run("predict", "m.gmm", "d.csv", cwd=tmp_path)
    assert err.startswith("gmmcore: note: d.csv: dropped the unnamed first column") and err.count("\n") == 1
    model = without_names(model_io.load(tmp_path / "m.gmm"))
    np.testing.assert_array_equal(np.array(out.split(), dtype=int), model.predict(frame.to_numpy()))


# ------------------------------------------------- 2. a header of numbers


@pytest.mark.parametrize("names", [[2019, 2020], [0, 1]])  # years; pandas' default column names
def test_a_header_of_numbers_is_never_read_as_a_sample(tmp_path, frame, names):
    frame.set_axis(names, axis=1).to_csv(tmp_path / "d.csv", index=False)
    _, err = run("fit", "d.csv", "-k", 3, "-o", "m.gmm", cwd=tmp_path, status=2)
    assert "d.csv, line 1: is its first row a header of numbers" in err and "--header or --no-header" in err
    assert not (tmp_path / "m.gmm").exists()
    out, _ = run("fit", "d.csv", "-k", 3, "-o", "m.gmm", "--header", cwd=tmp_path)
    assert "to 300 samples" in out and "header (--header)" in out
    model = model_io.load(tmp_path / "m.gmm")
    assert_same_parameters(model, fitted(frame.to_numpy()))
    assert list(model.feature_names_in_) == [str(n) for n in names]
    # --no-header reads the first row as a sample, as asked: it is then a parse of that row
    out, _ = run("fit", "d.csv", "-k", 3, "-o", "m.gmm", "--no-header", cwd=tmp_path)
    assert "to 301 samples" in out and "no header (--no-header)" in out


def test_a_numeric_header_with_the_pandas_index_is_a_header(tmp_path, frame):
    frame.set_axis([2019, 2020], axis=1).to_csv(tmp_path / "d.csv")  # ",2019,2020"
    X, columns = load_data(tmp_path / "d.csv")
    assert columns == ["2019", "2020"] and np.array_equal(X, frame.to_numpy())


# ------------------------------------------------------ 3. feature names


@pytest.fixture()
def named(tmp_path, frame):
    """A model fitted by the CLI on a CSV with a header, and files with its columns reordered, missing or extra."""
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame[["y", "x"]].to_csv(tmp_path / "reordered.csv", index=False)
    frame[["x"]].assign(z=1.0).to_csv(tmp_path / "other.csv", index=False)
    frame.assign(z=1.0).to_csv(tmp_path / "extra.csv", index=False)
    run("fit", "d.csv", "-k", 3, "-o", "m.gmm", cwd=tmp_path)
    return tmp_path


def test_the_model_file_keeps_the_header_names(named):
    assert list(model_io.load(named / "m.gmm").feature_names_in_) == ["x", "y"]
    out, _ = run("sample", "m.gmm", "-n", 5, "--seed", 0, cwd=named)
    assert out.splitlines()[0] == "x,y"


@pytest.mark.parametrize("command", ["predict", "score"])
def test_reordered_columns_are_matched_by_name(named, frame, command):
    expected, err = run(command, "m.gmm", "d.csv", cwd=named)
    assert err == ""
    out, err = run(command, "m.gmm", "reordered.csv", cwd=named)
    assert out == expected
    assert err == "gmmcore: note: reordered.csv: columns taken by name, in the model's order (x, y)\n"


@pytest.mark.parametrize(
    "data, message",
    [("other.csv", r"missing y; not in the model: z\)$"), ("extra.csv", r"\(not in the model: z\)$")],
)
def test_missing_or_extra_columns_are_named(named, data, message):
    _, err = run("predict", "m.gmm", data, cwd=named, status=2)
    assert f"{data}: its columns do not match the features the model in m.gmm was fitted on" in err
    assert re.search(message, err.strip()), err


def test_a_model_saved_from_a_dataframe_matches_by_name(tmp_path, frame):
    model = GaussianMixture(3, random_state=0).fit(frame)
    model.save(tmp_path / "m.gmm")
    frame[["y", "x"]].to_csv(tmp_path / "reordered.csv", index=False)
    out, err = run("predict", "m.gmm", "reordered.csv", cwd=tmp_path)
    assert "columns taken by name" in err
    np.testing.assert_array_equal(np.array(out.split(), dtype=int), model.predict(frame))
    with pytest.raises(ValueError, match="feature names"):  # the Python API still refuses the reordering
        model.predict(frame[["y", "x"]])


def test_files_without_names_match_by_position(named, frame):
    np.savetxt(named / "plain.csv", frame.to_numpy(), delimiter=",", fmt="%.17g")
    expected, _ = run("predict", "m.gmm", "d.csv", cwd=named)
    out, err = run("predict", "m.gmm", "plain.csv", cwd=named)
    assert (out, err) == (expected, "")


def test_a_model_file_from_before_this_change_still_loads(tmp_path, frame):
    # Written by gmmcore 0.1.0 before the CLI stored names (feature_names null), from blobs() with K=3.
    path = os.path.join(os.path.dirname(__file__), "data", "model_without_names.gmm")
    model = model_io.load(path)
    assert not hasattr(model, "feature_names_in_")
    frame.to_csv(tmp_path / "d.csv", index=False)
    out, err = run("predict", path, "d.csv", cwd=tmp_path)
    assert err == ""
    np.testing.assert_array_equal(np.array(out.split(), dtype=int), model.predict(frame.to_numpy()))


def test_repeated_header_names_are_refused(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,a\n1,2,3\n4,5,6.5\n")
    with pytest.raises(CLIError, match="line 1: the header repeats the column names a"):
        load_data(tmp_path / "d.csv")


# -------------------------------------------------- 4. model-file modes


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_model_files_have_the_mode_of_a_new_file(tmp_path, umask):
    X = blobs()
    np.save(tmp_path / "d.npy", X)
    previous = os.umask(umask)
    try:
        GaussianMixture(2, random_state=0).fit(X).save(tmp_path / "api.gmm")
        run("fit", "d.npy", "-k", 2, "-o", "cli.gmm", cwd=tmp_path)  # the child inherits the umask
        run("fit", "d.npy", "-k", 3, "-o", "cli.gmm", cwd=tmp_path)  # replaced, still atomically
    finally:
        os.umask(previous)
    for name in ("api.gmm", "cli.gmm"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o666 & ~umask, name
    assert model_io.load(tmp_path / "cli.gmm").n_components == 3
    assert sorted(os.listdir(tmp_path)) == ["api.gmm", "cli.gmm", "d.npy"]  # no temporary file left


# ------------------------------------------------ 5. delimiters, quoting


@pytest.mark.parametrize("sep, shown", [(";", "';'"), ("\t", "tab"), (",", "','")])
def test_the_delimiter_of_a_csv_file_is_detected(tmp_path, frame, sep, shown):
    frame.to_csv(tmp_path / "d.csv", sep=sep, index=False)
    out, _ = run("fit", "d.csv", "-k", 3, "-o", "m.gmm", cwd=tmp_path)
    assert f"delimiter {shown} (detected)" in out
    assert_same_parameters(model_io.load(tmp_path / "m.gmm"), fitted(frame.to_numpy()))


def test_a_quoted_field_may_hold_the_delimiter(tmp_path, frame):
    with open(tmp_path / "d.csv", "w", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["mass, kg", 'height "m"'])
        writer.writerows(frame.to_numpy().tolist())
    X, columns = load_data(tmp_path / "d.csv")
    assert columns == ["mass, kg", 'height "m"'] and np.array_equal(X, frame.to_numpy())
    run("fit", "d.csv", "-k", 3, "-o", "m.gmm", cwd=tmp_path)
    out, _ = run("sample", "m.gmm", "-n", 3, "--seed", 0, cwd=tmp_path)
    assert next(csv.reader([out.splitlines()[0]])) == ["mass, kg", 'height "m"']  # written back quoted


@pytest.mark.parametrize("option", [";", "semicolon"])
def test_delimiter_option(tmp_path, option):
    (tmp_path / "d.csv").write_text("a;b\n1,5;2\n3;4,25\n")  # a comma inside a field: not a delimiter here
    with pytest.raises(CLIError, match=r"cannot parse '1,5'"):
        load_data(tmp_path / "d.csv", delimiter=";")
    (tmp_path / "d.csv").write_text("a;b\n1;2\n3;4\n5;6.5\n")
    out, _ = run("fit", "d.csv", "-k", 1, "-o", "m.gmm", "--delimiter", option, cwd=tmp_path)
    assert "delimiter ';' (given by --delimiter)" in out and "x 2 features" in out


def test_rows_that_do_not_split_evenly_name_the_delimiter(tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(CLIError, match=r"line 3: expected 2 fields, got 3 \(delimiter ',' \(detected; --delimiter"):
        load_data(tmp_path / "d.csv")
    (tmp_path / "d.tsv").write_text("a\tb\n1\t2\n3\t4\t5\n")
    with pytest.raises(CLIError, match=r"got 3 \(delimiter tab \(a \.tsv file's; --delimiter sets another\)\)"):
        load_data(tmp_path / "d.tsv")


def test_text_options_do_not_apply_to_npy(tmp_path):
    np.save(tmp_path / "d.npy", blobs())
    _, err = run("fit", "d.npy", "-k", 2, "-o", "m.gmm", "--header", cwd=tmp_path, status=2)
    assert "--header/--no-header apply to .csv and .tsv files only" in err


# ---------------------------------------------------------- 6. broken pipes


def test_output_cut_by_the_reader_ends_quietly_with_status_0(tmp_path):
    run("fit", "d.csv", "-k", 2, "-o", "m.gmm", cwd=_blobs_csv(tmp_path))
    # Far more than a pipe holds: the writer is still writing when the reader goes away.
    process = subprocess.Popen(
        [*COMMAND, "sample", "m.gmm", "-n", "200000", "--seed", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout.readline().strip() == b"x,y"
    process.stdout.close()  # what `| head -1` does
    status, err = process.wait(timeout=300), process.stderr.read()
    process.stderr.close()
    assert (status, err) == (0, b"")


def test_fit_into_a_closed_pipe_still_writes_the_model(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before fit prints anything
    try:
        result = subprocess.run(
            [*COMMAND, "fit", "d.csv", "-k", "2", "-o", "m.gmm"],
            cwd=_blobs_csv(tmp_path),
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (0, b"")
    assert model_io.load(tmp_path / "m.gmm").n_components == 2


def _blobs_csv(path):
    np.savetxt(path / "d.csv", blobs(), delimiter=",", header="x,y", comments="", fmt="%.17g")
    return path


# ------------------------------------------------ 7. sample, select, summary


def test_sample_is_shuffled_by_default_and_can_label_its_components(tmp_path):
    run("fit", "d.csv", "-k", 3, "-o", "m.gmm", cwd=_blobs_csv(tmp_path))
    model = model_io.load(tmp_path / "m.gmm")
    model.random_state = 4
    X, labels = model.sample(60)
    out, _ = run("sample", "m.gmm", "-n", 60, "--seed", 4, "--labels", cwd=tmp_path)
    lines = out.splitlines()
    assert lines[0] == "x,y,component"
    written = np.loadtxt(lines[1:], delimiter=",")
    order = np.random.default_rng(4).permutation(60)
    np.testing.assert_array_equal(written[:, :2], X[order])
    np.testing.assert_array_equal(written[:, 2], labels[order])
    assert not np.all(np.diff(written[:, 2]) >= 0)  # not grouped by component
    assert run("sample", "m.gmm", "-n", 60, "--seed", 4, "--labels", cwd=tmp_path)[0] == out  # seeded
    out, _ = run("sample", "m.gmm", "-n", 60, "--seed", 4, "--no-shuffle", "--labels", "k", cwd=tmp_path)
    written = np.loadtxt(out.splitlines()[1:], delimiter=",")
    assert out.splitlines()[0] == "x,y,k"
    np.testing.assert_array_equal(written, np.c_[X, labels])
    run("sample", "m.gmm", "-n", 6, "--labels", "-o", "s.npy", cwd=tmp_path)
    assert np.load(tmp_path / "s.npy").shape == (6, 3)
    _, err = run("sample", "m.gmm", "-n", 6, "--labels", "x", cwd=tmp_path, status=2)
    assert "a feature is named 'x'; give the label column another name: --labels NAME" in err


def test_select_tries_several_covariance_types(tmp_path):
    _blobs_csv(tmp_path)
    out, err = run("select", "d.csv", "-k", "2..4", "--covariance", "full,diag", "-o", "best.gmm", cwd=tmp_path)
    assert err == ""
    rows = [line.split() for line in out.splitlines()[2:8]]
    assert [(row[0], int(row[1])) for row in rows] == [(c, k) for c in ("full", "diag") for k in (2, 3, 4)]
    X = np.loadtxt(tmp_path / "d.csv", delimiter=",", skiprows=1)
    for row in rows:
        reference = fitted(X, int(row[1]), covariance_type=row[0])
        assert float(row[3]) == pytest.approx(reference.bic(X), abs=1e-3)
    covariance, k = min(rows, key=lambda row: float(row[3]))[:2]
    assert f"best by BIC: K={k}, {covariance} covariance" in out
    best = model_io.load(tmp_path / "best.gmm")
    assert (best.covariance_type, best.n_components) == (covariance, int(k))
    assert list(best.feature_names_in_) == ["x", "y"]
    out, _ = run("select", "d.csv", "-k", "1", "--covariance", "all", cwd=tmp_path)
    assert [line.split()[0] for line in out.splitlines()[2:6]] == ["full", "tied", "diag", "spherical"]


@pytest.mark.parametrize(
    "k, warning", [("2..4", None), ("1,2", "is the largest tried: try larger K (-k 1..4)"), ("3..5", "smallest tried")]
)
def test_select_warns_when_the_best_k_is_at_the_edge_of_the_range(tmp_path, k, warning):
    _, err = run("select", "d.csv", "-k", k, cwd=_blobs_csv(tmp_path))
    if warning is None:
        assert err == ""
    else:
        assert err.startswith("gmmcore: warning: the best K by BIC") and warning in err


@pytest.mark.parametrize("n_features", [13, 40])
def test_the_summary_shows_every_mean_readably(tmp_path, n_features):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, n_features)) + 1000.0 * (np.arange(200) % 2)[:, None]
    names = [f"feature_{j}" for j in range(n_features)]
    pd.DataFrame(X, columns=names).to_csv(tmp_path / "d.csv", index=False)
    model = fitted(X, 2)
    for full in (False, True):
        out, _ = run("fit", "d.csv", "-k", 2, "-o", "m.gmm", *(["--full"] if full else []), cwd=tmp_path)
        assert "..." not in out.split("model written")[0].replace("... and", "")  # no means cut to '...'
        table = summary_table(out)
        shown = n_features if full or n_features <= 20 else 16
        assert list(table) == ["weight", *(f"mean {n}" for n in names[:shown])]
        for j in range(shown):
            assert table[f"mean {names[j]}"] == pytest.approx(model.means_[:, j], rel=1e-5)
        truncated = f"... and {n_features - shown} more features' means (--full shows them all)"
        assert (truncated in out) == (shown < n_features)


# ---------------------------------------------- Parquet, Feather, Arrow IPC


@pytest.mark.parametrize("ext", ["parquet", "feather", "arrow"])
def test_arrow_files(tmp_path, frame, ext):
    pytest.importorskip("pyarrow")
    import pyarrow as pa

    path = tmp_path / f"d.{ext}"
    if ext == "parquet":
        frame.to_parquet(path, row_group_size=64)  # several row groups: read a batch at a time
    elif ext == "feather":
        frame.to_feather(path, chunksize=64)
    else:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        with pa.ipc.new_stream(path, table.schema) as writer:  # the IPC stream format
            for batch in table.to_batches(max_chunksize=64):
                writer.write_batch(batch)
    X, columns = load_data(path)
    assert columns == ["x", "y"] and np.array_equal(X, frame.to_numpy())
    out, _ = run("fit", path.name, "-k", 3, "-o", "m.gmm", cwd=tmp_path)
    model = model_io.load(tmp_path / "m.gmm")
    assert_same_parameters(model, fitted(frame.to_numpy()))
    assert list(model.feature_names_in_) == ["x", "y"]


def test_parquet_index_columns_and_bad_columns(tmp_path, frame):
    pytest.importorskip("pyarrow")
    frame.set_axis([f"r{i}" for i in range(len(frame))]).rename_axis("name").to_parquet(tmp_path / "i.parquet")
    out, _ = run("fit", "i.parquet", "-k", 3, "-o", "m.gmm", cwd=tmp_path)
    assert "dropped pandas' index column name" in out and "x 2 features" in out
    frame.assign(label="a").to_parquet(tmp_path / "s.parquet")
    with pytest.raises(CLIError, match=r"s\.parquet: columns that are not numbers: label \((large_)?string\)"):
        load_data(tmp_path / "s.parquet")
    frame.assign(z=[None] + [1.0] * (len(frame) - 1)).to_parquet(tmp_path / "n.parquet")
    with pytest.raises(CLIError, match=r"column z has missing values"):
        load_data(tmp_path / "n.parquet")


def test_arrow_files_without_pyarrow_name_the_extra(tmp_path):
    fake = tmp_path / "fake"
    (fake / "pyarrow").mkdir(parents=True)
    (fake / "pyarrow" / "__init__.py").write_text("raise ImportError('No module named pyarrow')\n")
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(fake), os.environ.get("PYTHONPATH")])))
    _, err = run("fit", "d.parquet", "-k", 2, "-o", "m.gmm", cwd=tmp_path, status=2, env=env)
    assert 'needs pyarrow: pip install "gmmcore[arrow]"' in err


# ---------------------------------------- iris and wine, CLI against the API


@pytest.mark.parametrize("dataset", ["iris", "wine"])
@pytest.mark.parametrize("writer", ["pandas with its index", "csv module"])
def test_cli_equals_the_python_api_on_bundled_data(tmp_path, dataset, writer):
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{dataset}")()
    X, names = bunch.data, list(bunch.feature_names)
    if writer == "csv module":
        with open(tmp_path / "d.csv", "w", newline="") as f:
            csv.writer(f).writerows([names, *X.tolist()])
    else:
        pd.DataFrame(X, columns=names).to_csv(tmp_path / "d.csv")
    options = ["--covariance", "diag", "--n-init", "2", "--seed", "3", "--tol", "1e-6"]
    out, err = run("fit", "d.csv", "-k", 3, "-o", "m.gmm", *options, cwd=tmp_path)
    assert err == "" and f"to {X.shape[0]} samples x {X.shape[1]} features" in out
    model = model_io.load(tmp_path / "m.gmm")
    reference = GaussianMixture(3, covariance_type="diag", n_init=2, random_state=3, tol=1e-6).fit(X)
    assert_same_parameters(model, reference)
    assert list(model.feature_names_in_) == names
    scores, _ = run("score", "m.gmm", "d.csv", "-o", "s.npy", cwd=tmp_path)
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), reference.score_samples(X), rtol=1e-12)
    labels, _ = run("predict", "m.gmm", "d.csv", cwd=tmp_path)
    np.testing.assert_array_equal(np.array(labels.split(), dtype=int), reference.predict(X))
