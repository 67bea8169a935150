"""The error a command-line user can fix, and the exit status it gives."""

__all__ = ["CLIError", "EXIT_USER_ERROR"]

EXIT_USER_ERROR = 2  # as argparse exits for bad arguments


class CLIError(Exception):
    """An error the user can fix; its message is printed as one line."""
