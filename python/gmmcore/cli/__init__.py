"""The ``gmmcore`` command line (also ``python -m gmmcore``), one module per job.

Subcommands: ``fit``, ``predict``, ``score``, ``sample``, ``select`` and
``demo``; ``gmmcore SUBCOMMAND --help`` describes each. Data files are
``.csv``/``.tsv`` (delimiter, header row and index column detected, each
overridable: :mod:`._text_files`), ``.npy`` (memory-mapped, not read whole) or
Parquet/Feather/Arrow IPC through pyarrow (:mod:`._arrow_files`). A header's
column names are kept in the model file; ``predict`` and ``score`` match
columns by name when the model and the file both have names. Model files are
in the format of :mod:`gmmcore._model_io`.

Errors a user can cause print one line, ``gmmcore: error: ...``, and exit
with status 2 (as argparse does for bad arguments); ``--debug`` shows the
traceback instead. A progress bar is drawn on standard error while fitting
when it is a terminal, unless ``--quiet``.

Modules: ``_errors`` (:class:`CLIError`), ``_data_io`` (data files in and
tables out), ``_text_files`` and ``_arrow_files`` (reading each kind),
``_progress`` (the progress bar), ``_fitting`` (fitting, summaries, model
files), ``_commands`` (the subcommands), ``_arguments`` (the parser) and
``_main`` (:func:`main`: errors to one line and an exit status).
The console script ``gmmcore`` is ``gmmcore._cli:main``, which is this
package's :func:`main`.
"""

from ._arguments import build_parser
from ._data_io import load_data
from ._errors import CLIError
from ._main import main

__all__ = ["CLIError", "build_parser", "load_data", "main"]
