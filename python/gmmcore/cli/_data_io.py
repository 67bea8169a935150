"""Data files of the command line: reading samples (text, .npy, Parquet/Arrow) and writing tables."""

import csv
import io
import os
import sys
from dataclasses import dataclass

import numpy as np

from ._arrow_files import ARROW_EXTENSIONS, load_arrow
from ._errors import CLIError
from ._text_files import load_text

__all__ = ["DATA_EXTENSIONS", "OUTPUT_EXTENSIONS", "DataFile", "read_data", "load_data", "check_output", "write_table"]

_TEXT_EXTENSIONS = (".csv", ".tsv")
DATA_EXTENSIONS = (*_TEXT_EXTENSIONS, ".npy", *ARROW_EXTENSIONS)
OUTPUT_EXTENSIONS = (*_TEXT_EXTENSIONS, ".npy")


def _extension(path, allowed, what):
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in allowed:
        raise CLIError(f"{path}: unsupported {what} file extension {ext or '(none)'!r} (use {', '.join(allowed)})")
    return ext


@dataclass
class DataFile:
    """Samples read from a data file, with their column names and what was decided while reading.

    Attributes
    ----------
    X : ndarray (or numpy.memmap) of shape (n_samples, n_features)
    columns : list of str or None
        The feature names (a text file's header, a Parquet/Arrow file's
        columns); None when the file has none.
    notes : list of str
        How the file was read (delimiter, header), for the summary.
    dropped : list of str
        Columns that were read but are not features (index columns), and
        why: for the summary, and as notes on standard error where no
        summary is printed.
    """

    X: np.ndarray
    columns: list | None
    notes: list
    dropped: list


def read_data(path, *, header=None, delimiter=None, keep_index=False):
    """A :class:`DataFile` from a .csv, .tsv, .npy, .parquet, .feather or .arrow file.

    A .npy file is memory-mapped (``numpy.load(mmap_mode="r")``): the
    estimator reads it in place when it is C-ordered float32/float64, and
    otherwise makes the one converted copy it needs. Text files follow the
    rules of :mod:`gmmcore.cli._text_files` (delimiter, header and index
    column detection, each overridable); Parquet and Arrow files are read by
    pyarrow (:mod:`gmmcore.cli._arrow_files`).

    Parameters
    ----------
    path : str or os.PathLike
    header : bool or None, default=None
        Text files: whether the first row is a header; None detects it.
    delimiter : str or None, default=None
        Text files: the field delimiter; None detects it (.csv) or uses tab (.tsv).
    keep_index : bool, default=False
        Text files: keep a first column that looks like a row index.

    Returns
    -------
    DataFile

    Raises
    ------
    CLIError
        Missing file, unsupported extension, an option that does not apply
        to the file's kind, an unparsable or ambiguous row (with its 1-based
        line number), ragged rows, no rows, or a .npy file that is not a 2-D
        array of real numbers.
    """
    ext = _extension(path, DATA_EXTENSIONS, "data")
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not a data file")
    if ext in _TEXT_EXTENSIONS:
        X, columns, notes, dropped = load_text(path, ext, header=header, delimiter=delimiter, keep_index=keep_index)
    else:
        given = [
            name for name, value in (("--header/--no-header", header), ("--delimiter", delimiter)) if value is not None
        ]
        if keep_index:
            given.append("--keep-index")
        if given:
            raise CLIError(f"{path}: {' and '.join(given)} apply to .csv and .tsv files only")
        if ext == ".npy":
            X, columns, notes, dropped = _load_npy(path), None, [], []
        else:
            X, columns, notes, dropped = load_arrow(path)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise CLIError(f"{path}: no data (shape {X.shape})")
    return DataFile(X, columns, notes, dropped)


def load_data(path, **options):
    """(X, column names or None) of a data file: :func:`read_data` without its notes.

    Parameters
    ----------
    path : str or os.PathLike
    **options
        ``header``, ``delimiter``, ``keep_index``, as for :func:`read_data`.

    Returns
    -------
    X : ndarray (or numpy.memmap) of shape (n_samples, n_features)
    columns : list of str or None
    """
    data = read_data(path, **options)
    return data.X, data.columns


def _load_npy(path):
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        raise CLIError(f"{path}: not a readable .npy array of numbers ({error})") from error
    if not isinstance(X, np.ndarray):
        raise CLIError(f"{path}: not a .npy array")
    if X.ndim != 2:
        raise CLIError(f"{path}: expected a 2-D array of shape (n_samples, n_features), got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)) or X.dtype == np.float16:
        raise CLIError(f"{path}: expected an array of real numbers, got dtype {X.dtype}")
    return X


def check_output(path):
    """Fail before any work when an output file has an extension we cannot write."""
    if path is not None:
        _extension(path, OUTPUT_EXTENSIONS, "output")


def _text(array):
    """Each value as the shortest text that reads back as the same number."""
    if array.dtype == np.float32:
        return [str(v) for v in array.ravel()]  # numpy's str is the shortest text that reads back as the float32
    if array.dtype.kind == "f":
        return [repr(v) for v in array.astype(np.float64).ravel().tolist()]  # likewise for a Python float
    return [str(v) for v in array.ravel().tolist()]


def write_table(path, array, header=None, labels=None):
    """Write an array to .csv/.tsv/.npy (by extension) or, with no path, to stdout as CSV.

    Floats are written with enough digits to read back exactly. A header row
    (quoted by :mod:`csv`'s rules where a name needs it) is written only for
    multi-column tables. ``labels``, integers of shape (n_rows,), are a last
    column: integers in text, converted to the array's dtype in a .npy file.
    """
    array = np.asarray(array)
    if labels is not None:
        labels = np.asarray(labels)
    if path is not None and os.path.splitext(path)[1].lower() == ".npy":
        np.save(path, array if labels is None else np.column_stack([array, labels.astype(array.dtype)]))
        return
    delimiter = "\t" if path is not None and path.lower().endswith(".tsv") else ","
    width = array.shape[1] if array.ndim == 2 else 1
    flat = _text(array)
    rows = [delimiter.join(flat[start : start + width]) for start in range(0, len(flat), width)]
    if labels is not None:
        rows = [f"{row}{delimiter}{label}" for row, label in zip(rows, labels.tolist())]
    if header is not None and array.ndim == 2:
        line = io.StringIO()
        csv.writer(line, delimiter=delimiter, lineterminator="").writerow(header)
        rows.insert(0, line.getvalue())
    output = "\n".join(rows) + "\n"
    if path is None:
        sys.stdout.write(output)
    else:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(output)
