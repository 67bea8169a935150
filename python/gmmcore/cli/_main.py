"""``main``: run the command line, turning errors into one line and an exit status."""

import os
import sys

from ._arguments import build_parser
from ._errors import EXIT_USER_ERROR, CLIError

__all__ = ["main"]


def main(argv=None):
    """Run the ``gmmcore`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success (also when the reader of standard output stops early,
        as ``| head`` does), 2 for an error the user can fix (bad arguments,
        files or data), 1 for an unexpected failure, 130 when interrupted.
    """
    args = build_parser().parse_args(argv)
    try:
        status = args.function(args)
        sys.stdout.flush()  # here, not at exit, so that a reader gone away is caught below
        return status
    except BrokenPipeError:
        # The reader of our stdout went away (`| head`): it had what it wanted, so stop quietly with
        # status 0, as Unix tools do. Python's recipe (the signal module's "Note on SIGPIPE"): point
        # stdout at devnull, or the flush at exit raises again and prints "Exception ignored".
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (CLIError, ValueError, OSError) as error:
        # ValueError covers validation by the estimator and model-file errors
        # (ModelFileError, numpy.linalg.LinAlgError); OSError, files we cannot read or write.
        if args.debug:
            raise
        print(f"gmmcore: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("gmmcore: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(
            f"gmmcore: internal error: {type(error).__name__}: {_one_line(error)} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


def _one_line(error):
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    text = str(error) or type(error).__name__
    return " ".join(text.split())
