"""The ``gmmcore`` command line: the console script's entry point, ``gmmcore._cli:main``.

The implementation is the package :mod:`gmmcore.cli`, one module per job;
this module keeps the entry point (and ``python -m gmmcore._cli``) where
installed scripts expect it.
"""

import sys

from .cli import CLIError, build_parser, load_data, main
from .cli._arguments import k_range as _k_range
from .cli._data_io import write_table as _write_table
from .cli._fitting import prepare as _prepare

__all__ = ["CLIError", "main", "load_data"]
# Kept importable from here for the tests and older callers.
_reexported = (build_parser, _k_range, _write_table, _prepare)

if __name__ == "__main__":
    sys.exit(main())
