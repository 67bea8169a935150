"""Data files of the command line: reading samples (.csv, .tsv, .npy) and writing tables."""

import os
import sys
import warnings

import numpy as np

from ._errors import CLIError

__all__ = ["DATA_EXTENSIONS", "load_data", "check_output", "write_table"]

DATA_EXTENSIONS = (".csv", ".tsv", ".npy")
_DELIMITERS = {".csv": ",", ".tsv": "\t"}


def _extension(path, allowed, what):
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in allowed:
        raise CLIError(f"{path}: unsupported {what} file extension {ext or '(none)'!r} (use {', '.join(allowed)})")
    return ext


def load_data(path):
    """Samples from a .csv, .tsv or .npy file, and the column names when the file has them.

    A .npy file is memory-mapped (``numpy.load(mmap_mode="r")``): the
    estimator reads it in place when it is C-ordered float32/float64, and
    otherwise makes the one converted copy it needs.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    X : ndarray (or numpy.memmap) of shape (n_samples, n_features)
    columns : list of str or None
        The header row of a .csv/.tsv file; None when there is none.

    Raises
    ------
    CLIError
        Missing file, unsupported extension, an unparsable row (with its
        1-based line number), ragged rows, no rows, or a .npy file that is
        not a 2-D array of real numbers.
    """
    ext = _extension(path, DATA_EXTENSIONS, "data")
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not a data file")
    if ext == ".npy":
        X, columns = _load_npy(path), None
    else:
        X, columns = _load_delimited(path, _DELIMITERS[ext])
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise CLIError(f"{path}: no data (shape {X.shape})")
    return X, columns


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


def _split(line, delimiter):
    return [field.strip().strip('"').strip() for field in line.rstrip("\r\n").split(delimiter)]


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _skip(line):
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _load_delimited(path, delimiter):
    """(X, columns): np.loadtxt when the file is clean, else a line-by-line parse that names the bad line."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            header_line, columns = 0, None
            for line_no, line in enumerate(f, 1):
                if _skip(line):
                    continue
                fields = _split(line, delimiter)
                if not any(_is_number(field) for field in fields):
                    header_line, columns = line_no, fields
                break
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # loadtxt warns on empty input; reported below
                X = np.loadtxt(
                    path,
                    delimiter=delimiter,
                    skiprows=header_line,
                    comments="#",
                    ndmin=2,
                    dtype=np.float64,
                    encoding="utf-8-sig",
                )
            if X.shape[0] > 0 and np.isfinite(X).all() and (columns is None or X.shape[1] == len(columns)):
                return X, columns
        except ValueError:
            pass
        return _parse_lines(path, delimiter, header_line, columns), columns
    except UnicodeDecodeError as error:
        raise CLIError(f"{path}: not a UTF-8 text file ({error.reason} at byte {error.start})") from error


def _parse_lines(path, delimiter, header_line, columns):
    """Parse in Python, raising CLIError at the first bad line (1-based, as an editor counts)."""
    rows, width = [], None if columns is None else len(columns)
    with open(path, encoding="utf-8-sig", newline="") as f:
        for line_no, line in enumerate(f, 1):
            if line_no <= header_line or _skip(line):
                continue
            fields = _split(line, delimiter)
            if width is None:
                width = len(fields)
            if len(fields) != width:
                raise CLIError(f"{path}, line {line_no}: expected {width} fields, got {len(fields)}")
            row = []
            for column, field in enumerate(fields, 1):
                try:
                    value = float(field)
                except ValueError:
                    shown = field if len(field) <= 30 else field[:27] + "..."
                    raise CLIError(
                        f"{path}, line {line_no}, column {column}: cannot parse {shown!r} as a number"
                    ) from None
                if not np.isfinite(value):
                    raise CLIError(f"{path}, line {line_no}, column {column}: {field!r} is not a finite number")
                row.append(value)
            rows.append(row)
    if not rows:
        raise CLIError(f"{path}: no data rows")
    return np.array(rows, dtype=np.float64)


def check_output(path):
    """Fail before any work when an output file has an extension we cannot write."""
    if path is not None:
        _extension(path, DATA_EXTENSIONS, "output")


def write_table(path, array, header=None):
    """Write an array to .csv/.tsv/.npy (by extension) or, with no path, to stdout as CSV.

    Floats are written with enough digits to read back exactly. A header row
    is written only for multi-column tables.
    """
    array = np.asarray(array)
    if path is not None and os.path.splitext(path)[1].lower() == ".npy":
        np.save(path, array)
        return
    delimiter = "\t" if path is not None and path.lower().endswith(".tsv") else ","
    if array.dtype == np.float32:
        flat = [str(v) for v in array.ravel()]  # numpy's str is the shortest text that reads back as the float32
    elif array.dtype.kind == "f":
        flat = [repr(v) for v in array.astype(np.float64).ravel().tolist()]  # likewise for a Python float
    else:
        flat = [str(v) for v in array.ravel().tolist()]
    width = array.shape[1] if array.ndim == 2 else 1
    lines = [] if header is None or array.ndim != 2 else [delimiter.join(header)]
    lines.extend(delimiter.join(flat[start : start + width]) for start in range(0, len(flat), width))
    output = "\n".join(lines) + "\n"
    if path is None:
        sys.stdout.write(output)
    else:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(output)
