"""``python -m gmmcore``: the ``gmmcore`` command line (``python -m gmmcore --help``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
