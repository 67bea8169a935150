"""Reading .csv and .tsv data files: delimiter, header and index column, decided in the open.

Every decision is reported (:attr:`TextLayout.notes`, printed by ``fit``'s
summary) and can be overridden by an option; an ambiguous file is an error
that names the option which resolves it, never a guess that changes the model.

- Delimiter: tab for ``.tsv``; for ``.csv`` the standard library's
  :class:`csv.Sniffer` chooses among comma, semicolon and tab on a sample of
  the file (comma when it finds none: a one-column file). ``--delimiter``
  overrides both. Fields are split by :mod:`csv`'s rules, so a quoted field
  may hold the delimiter.
- Header: the first row (after ``#`` comments and blank lines) is a header
  when none of its fields is a number, and data when all of them are;
  ``--header`` / ``--no-header`` say so instead. A first row of integers over
  data that is not all integers (``2019,2020`` over measurements) could be
  either, and is refused unless one of the two options is given; so is a
  first row that mixes numbers and text.
- Index column: an empty first header field (pandas' ``to_csv`` with its
  index, R's ``write.csv``), or a first column whose values are 0, 1, ...,
  N-1 (N >= 3 rows), is a row index, not a feature: it is dropped with a
  note unless ``--keep-index``.

The numbers are then read by :func:`numpy.loadtxt` (fast, same quoting) and,
when it fails, again line by line to report the first bad line.
"""

import csv
import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._errors import CLIError

__all__ = ["DELIMITER_NAMES", "TextLayout", "load_text"]

# The names --delimiter accepts besides a single character, and how notes and errors show each one.
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "space": " ", "pipe": "|"}
_SHOWN = {"\t": "tab", " ": "space"}
_CANDIDATES = ",;\t"  # what detection chooses among for a .csv file
_SAMPLE_ROWS = 200  # rows (after comments) that the delimiter and header decisions look at
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def _show(delimiter):
    return _SHOWN.get(delimiter, repr(delimiter))


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_fraction(text):
    """A finite number that is not written as an integer ("3.5", "1e-3"): what a header of integers sits over."""
    return _is_number(text) and not _INTEGER.fullmatch(text) and math.isfinite(float(text))


def _skip(line):
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _split(line, delimiter):
    """One line's fields by csv's rules (double-quoted fields may hold the delimiter), stripped."""
    row = next(csv.reader([line], delimiter=delimiter, quotechar='"', skipinitialspace=True), [])
    return [cell.strip() for cell in row] or [""]


@dataclass
class TextLayout:
    """What was decided about a text file: how to split it, its header line and names, the index column."""

    delimiter: str
    delimiter_source: str  # "detected", "given by --delimiter", "for .tsv"
    header_line: int = 0  # 1-based line number of the header row; 0 when there is none
    names: list = field(default_factory=list)  # the header's fields (all columns), or []
    drop_first: bool = False  # the first column is an index column
    notes: list = field(default_factory=list)  # how the file was read
    dropped: list = field(default_factory=list)  # the columns read but not kept, and why

    def hint(self):
        """The delimiter, for error messages about rows that do not split evenly."""
        how = {
            "detected": "detected; --delimiter sets another",
            "for .tsv": "a .tsv file's; --delimiter sets another",
        }.get(self.delimiter_source, "given by --delimiter")
        return f"delimiter {_show(self.delimiter)} ({how})"


def _sample(path):
    """[(line number, line)] of the first data-bearing lines (comments and blank lines skipped)."""
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for line_no, line in enumerate(f, 1):
            if not _skip(line):
                rows.append((line_no, line.rstrip("\r\n")))
                if len(rows) >= _SAMPLE_ROWS:
                    break
    return rows


def _delimiter(sample, ext, given):
    if given is not None:
        return given, "given by --delimiter"
    if ext == ".tsv":
        return "\t", "for .tsv"
    text = "\n".join(line for _, line in sample)
    try:
        sniffed = csv.Sniffer().sniff(text, delimiters=_CANDIDATES).delimiter
    except csv.Error:  # no candidate on every line: one column, or rows that do not split evenly
        sniffed = ","
    return sniffed, "detected"


def _decide_header(path, sample, layout, header):
    """Set layout.header_line and names from the first row and the option (True, False or None: detect)."""
    line_no, line = sample[0]
    first = _split(line, layout.delimiter)
    numbers = [_is_number(cell) for cell in first]
    if header is None:
        if all(numbers):
            later = [_split(text, layout.delimiter) for _, text in sample[1:]]
            ints_first = all(_INTEGER.fullmatch(cell) for cell in first)
            if ints_first and any(_is_fraction(cell) for row in later for cell in row[: len(first)]):
                raise CLIError(
                    f"{path}, line {line_no}: is its first row a header of numbers ({', '.join(first[:4])}"
                    f"{', ...' if len(first) > 4 else ''}) or data? Pass --header or --no-header"
                )
            layout.notes.append("no header (the first row is numbers, read as data: --header reads it as names)")
            return
        # A header has no numbers; pandas' index column adds an empty first field to a header of numbers.
        text = [i for i, is_number in enumerate(numbers) if not is_number]
        if text != list(range(len(first))) and not (text == [0] and first[0] == ""):
            column = next(i for i in text if i or first[0])
            shown = first[column] if len(first[column]) <= 30 else first[column][:27] + "..."
            raise CLIError(
                f"{path}, line {line_no}, column {column + 1}: cannot parse {shown!r} as a number "
                f"(pass --header if line {line_no} is a header)"
            )
    elif not header:
        layout.notes.append("no header (--no-header)")
        return
    layout.header_line, layout.names = line_no, first
    duplicates = sorted({name for name in first if first.count(name) > 1 and name})
    if duplicates:
        raise CLIError(f"{path}, line {line_no}: the header repeats the column names {', '.join(duplicates)}")
    layout.notes.append("header " + ("(--header)" if header else "detected") + ", names kept in the model")


def _read_numbers(path, layout, width):
    """The numbers of every data row: numpy.loadtxt, else a line-by-line parse that names the first bad line."""
    usecols = range(1, width) if layout.drop_first and layout.header_line else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loadtxt warns on empty input; reported below
            X = np.loadtxt(
                path,
                delimiter=layout.delimiter,
                skiprows=layout.header_line,
                comments="#",
                ndmin=2,
                dtype=np.float64,
                encoding="utf-8-sig",
                quotechar='"',
                usecols=usecols,
            )
        expected = width - (usecols is not None)
        if X.shape[0] > 0 and X.shape[1] == expected and np.isfinite(X).all():
            return X
    except ValueError:
        pass
    return _parse_lines(path, layout, width)


def _parse_lines(path, layout, width):
    """Parse in Python, raising CLIError at the first bad line (1-based, as an editor counts)."""
    rows = []
    skip_first = layout.drop_first and layout.header_line > 0
    with open(path, encoding="utf-8-sig", newline="") as f:
        for line_no, line in enumerate(f, 1):
            if line_no <= layout.header_line or _skip(line):
                continue
            fields = _split(line.rstrip("\r\n"), layout.delimiter)
            if len(fields) != width:
                raise CLIError(f"{path}, line {line_no}: expected {width} fields, got {len(fields)} ({layout.hint()})")
            row = []
            for column, text in enumerate(fields[1:] if skip_first else fields, 1 + skip_first):
                try:
                    value = float(text)
                except ValueError:
                    shown = text if len(text) <= 30 else text[:27] + "..."
                    raise CLIError(
                        f"{path}, line {line_no}, column {column}: cannot parse {shown!r} as a number"
                    ) from None
                if not np.isfinite(value):
                    raise CLIError(f"{path}, line {line_no}, column {column}: {text!r} is not a finite number")
                row.append(value)
            rows.append(row)
    if not rows:
        raise CLIError(f"{path}: no data rows")
    return np.array(rows, dtype=np.float64)


def load_text(path, ext, *, header=None, delimiter=None, keep_index=False):
    """(X, column names or None, notes, dropped columns) of a .csv/.tsv file: the module docstring's rules.

    Parameters
    ----------
    path : str or os.PathLike
    ext : {".csv", ".tsv"}
    header : bool or None
        True: the first row is a header; False: it is data; None: detect.
    delimiter : str or None
        The field delimiter; None: tab for .tsv, detected for .csv.
    keep_index : bool
        Keep a first column that looks like a row index.

    Raises
    ------
    CLIError
        An unreadable, ambiguous or malformed file, with its line (and column) number.
    """
    try:
        sample = _sample(path)
        if not sample:
            raise CLIError(f"{path}: no data rows")
        layout = TextLayout(*_delimiter(sample, ext, delimiter))
        if layout.delimiter_source != "for .tsv":
            layout.notes.append(f"delimiter {_show(layout.delimiter)} ({layout.delimiter_source})")
        _decide_header(path, sample, layout, header)
        names = layout.names
        width = len(names) if names else len(_split(sample[0][1], layout.delimiter))
        if names and names[0] == "" and width > 1:
            layout.drop_first = not keep_index
            if keep_index:
                layout.notes.append("kept the unnamed first column (--keep-index)")
            else:
                layout.dropped.append(
                    "dropped the unnamed first column (a row index, as pandas' to_csv writes: --keep-index keeps it)"
                )
        X = _read_numbers(path, layout, width)
        if layout.drop_first:
            names = names[1:]
        elif not keep_index and X.shape[1] > 1 and X.shape[0] >= 3 and np.array_equal(X[:, 0], np.arange(len(X))):
            X = X[:, 1:]
            shown = f"column {names[0]!r}" if names else "the first column"
            layout.dropped.append(f"dropped {shown} (0, 1, ..., N-1: a row index, --keep-index keeps it)")
            names = names[1:]
        return X, (names or None), layout.notes, layout.dropped
    except UnicodeDecodeError as error:
        raise CLIError(f"{path}: not a UTF-8 text file ({error.reason} at byte {error.start})") from error
