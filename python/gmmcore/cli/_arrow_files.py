"""Reading Parquet, Feather and Arrow IPC data files through pyarrow (the ``arrow`` extra).

The files are read one record batch at a time (:func:`record_batches`), so a
reader that streams batches never holds more than one; :func:`load_arrow`
gathers them into the array the estimator fits today. Columns pandas stored
for its index (named in the file's pandas metadata) are dropped with a note;
every other column must be numeric with no missing values.
"""

import json

import numpy as np

from ._errors import CLIError

__all__ = ["ARROW_EXTENSIONS", "load_arrow", "record_batches"]

ARROW_EXTENSIONS = (".parquet", ".feather", ".arrow", ".ipc")


def _pyarrow(path):
    try:
        import pyarrow
        import pyarrow.ipc
        import pyarrow.parquet
    except ImportError as error:
        raise CLIError(
            f'{path}: reading Parquet, Feather and Arrow files needs pyarrow: pip install "gmmcore[arrow]"'
        ) from error
    return pyarrow


def _schema(path, pa):
    if str(path).lower().endswith(".parquet"):
        return pa.parquet.ParquetFile(path).schema_arrow
    try:
        with pa.ipc.open_file(path) as reader:
            return reader.schema
    except pa.ArrowInvalid:
        with pa.ipc.open_stream(path) as reader:  # the IPC stream format (.arrows, some .arrow files)
            return reader.schema


def record_batches(path):
    """Yield the file's ``pyarrow.RecordBatch`` es in order, one at a time.

    Raises
    ------
    CLIError
        pyarrow missing, or a file that is not Parquet or Arrow IPC (Feather version 2).
    """
    pa = _pyarrow(path)
    try:
        if str(path).lower().endswith(".parquet"):
            yield from pa.parquet.ParquetFile(path).iter_batches()
            return
        try:
            reader = pa.ipc.open_file(path)
        except pa.ArrowInvalid:
            with pa.ipc.open_stream(path) as stream:
                yield from stream
            return
        with reader:
            for index in range(reader.num_record_batches):
                yield reader.get_batch(index)
    except (pa.ArrowInvalid, OSError) as error:
        raise CLIError(f"{path}: not a readable Parquet or Arrow file ({' '.join(str(error).split())})") from error


def _pandas_index_columns(schema):
    """The column names pandas stored for its index (a RangeIndex is metadata only, not a column)."""
    metadata = schema.metadata or {}
    try:
        pandas = json.loads(metadata[b"pandas"])
    except (KeyError, ValueError):
        return []
    return [name for name in pandas.get("index_columns", []) if isinstance(name, str)]


def load_arrow(path):
    """(X, column names, notes, dropped columns) of a Parquet/Feather/Arrow file, read a batch at a time.

    X is float32 when every column is float32, else float64.
    """
    pa = _pyarrow(path)
    try:
        schema = _schema(path, pa)
    except (pa.ArrowInvalid, OSError) as error:
        raise CLIError(f"{path}: not a readable Parquet or Arrow file ({' '.join(str(error).split())})") from error
    index = _pandas_index_columns(schema)
    names = [name for name in schema.names if name not in index]
    dropped = [f"dropped pandas' index column{'s' if len(index) > 1 else ''} {', '.join(index)}"] if index else []
    types = [schema.field(name).type for name in names]
    bad = [n for n, t in zip(names, types) if not (pa.types.is_integer(t) or pa.types.is_floating(t))]
    if bad:
        raise CLIError(
            f"{path}: columns that are not numbers: {', '.join(f'{n} ({schema.field(n).type})' for n in bad)}"
        )
    if not names:
        raise CLIError(f"{path}: no data columns")
    dtype = np.float32 if all(t == pa.float32() for t in types) else np.float64
    blocks = []
    for batch in record_batches(path):
        columns = []
        for name in names:
            column = batch.column(name)
            if column.null_count:
                raise CLIError(f"{path}: column {name} has missing values")
            columns.append(column.to_numpy(zero_copy_only=False).astype(dtype, copy=False))
        blocks.append(np.column_stack(columns) if columns else np.empty((batch.num_rows, 0), dtype))
    X = np.concatenate(blocks) if blocks else np.empty((0, len(names)), dtype)
    if not np.isfinite(X).all():
        row, column = np.argwhere(~np.isfinite(X))[0]
        raise CLIError(f"{path}: row {row + 1}, column {names[column]}: {X[row, column]} is not a finite number")
    return np.ascontiguousarray(X), [str(n) for n in names], [], dropped
