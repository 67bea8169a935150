"""Argument parsing: the parser of the ``gmmcore`` command and its argument types.

The defaults and allowed values of the fitting options, and the ranges they
are checked against, are the estimator's (its signature and
``_parameter_constraints``); only ``--seed`` differs (0, for reproducible
runs, where the estimator's default is fresh randomness).
"""

import argparse
from numbers import Integral

import numpy as np

from .._version import __version__
from ._commands import cmd_demo, cmd_fit, cmd_predict, cmd_sample, cmd_score, cmd_select
from ._errors import EXIT_USER_ERROR

__all__ = ["build_parser", "k_range"]


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _interval(name):
    """The ``Interval`` among the estimator's constraints on parameter ``name``."""
    from sklearn.utils._param_validation import Interval

    from .._mixture import GaussianMixture

    return next(c for c in GaussianMixture._parameter_constraints[name] if isinstance(c, Interval))


def _describe(interval, integer):
    """'a positive integer', 'a non-negative integer', 'a number >= 0', ...: what the interval admits."""
    closed_left = interval.closed in ("left", "both")
    if integer and interval.right is None and interval.left is not None:
        lowest = interval.left if closed_left else interval.left + 1
        if lowest == 1:
            return "a positive integer"
        if lowest == 0:
            return "a non-negative integer"
    bounds = []
    if interval.left is not None:
        bounds.append(f"{'>=' if closed_left else '>'} {interval.left:g}")
    if interval.right is not None:
        bounds.append(f"{'<=' if interval.closed in ('right', 'both') else '<'} {interval.right:g}")
    return f"{'an integer' if integer else 'a number'} {' and '.join(bounds)}".rstrip()


def _constrained(name):
    """An argparse type for the estimator's parameter ``name``: parsed and checked against its constraint."""
    interval = _interval(name)
    integer = interval.type is Integral
    what = _describe(interval, integer)

    def parse(text):
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (np.isfinite(value) and value in interval):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = name
    return parse


def _seed(text):
    value = _non_negative_int(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"expected a seed below 2**32, got {text!r}")
    return value


def k_range(text):
    """'3', '1..10', '2,4,8' or a mix ('1..3,5'): sorted distinct positive integers."""
    values = set()
    for part in text.split(","):
        bounds = [b.strip() for b in part.split("..")]
        if len(bounds) > 2:
            raise argparse.ArgumentTypeError(f"expected K, A..B or a comma-separated list, got {text!r}")
        low, high = _positive_int(bounds[0]), _positive_int(bounds[-1])
        if low > high:
            raise argparse.ArgumentTypeError(f"empty range {part!r}: {low} > {high}")
        values.update(range(low, high + 1))
    return sorted(values)


def _delimiter(text):
    from ._text_files import DELIMITER_NAMES

    value = DELIMITER_NAMES.get(text.lower(), "\t" if text == "\\t" else text)
    if len(value) != 1 or value in '"\r\n' or value.isalnum() or value in ".-+":
        names = ", ".join(DELIMITER_NAMES)
        raise argparse.ArgumentTypeError(f"expected one character or one of {names}, got {text!r}")
    return value


def _covariance_types(text):
    """'full', 'full,diag' or 'all': the covariance types ``select`` tries, in the estimator's order."""
    from .._covariance import COVARIANCE_TYPES

    names = [name.strip() for name in text.split(",")]
    if names == ["all"]:
        return list(COVARIANCE_TYPES)
    unknown = [name for name in names if name not in COVARIANCE_TYPES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(COVARIANCE_TYPES)} (or all), got {text!r}"
        )
    return [name for name in COVARIANCE_TYPES if name in names]


def _data_options(parser):
    """How a .csv/.tsv DATA file is read: each detection can be overridden."""
    group = parser.add_argument_group("reading .csv/.tsv DATA files (each detected unless given)")
    header = group.add_mutually_exclusive_group()
    header.add_argument(
        "--header", dest="header", action="store_const", const=True, default=None, help="the first row is a header"
    )
    header.add_argument("--no-header", dest="header", action="store_const", const=False, help="the first row is data")
    group.add_argument(
        "--delimiter",
        type=_delimiter,
        default=None,
        metavar="D",
        help="field delimiter: one character, or comma, semicolon, tab, space, pipe "
        "(default: tab for .tsv; for .csv, detected among comma, semicolon and tab)",
    )
    group.add_argument(
        "--keep-index",
        action="store_true",
        help="keep a first column that looks like a row index (unnamed in the header, or 0, 1, ..., N-1); "
        "by default it is dropped with a note",
    )


def _common_options(parser, suppress):
    """--quiet and --debug, accepted before and after the subcommand."""
    default = argparse.SUPPRESS if suppress else False
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help="no progress bar")
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show the traceback of an error instead of one line"
    )


def _estimator_defaults():
    """The estimator's constructor defaults and allowed values: the CLI's defaults and choices come from it."""
    import inspect

    from .._covariance import COVARIANCE_TYPES
    from .._mixture import GaussianMixture

    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(GaussianMixture).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    init_options = GaussianMixture._parameter_constraints["init_params"][0].options
    default_init = defaults["init_params"]
    init_choices = [default_init, *sorted(init_options - {default_init})]
    return defaults, list(COVARIANCE_TYPES), init_choices


def _fit_options(parser, k_help=None, several_covariances=False):
    defaults, covariance_choices, init_choices = _estimator_defaults()
    if k_help is not None:
        parser.add_argument(
            "-k",
            "--n-components",
            dest="k",
            type=_constrained("n_components"),
            required=True,
            metavar="K",
            help=k_help,
        )
    if several_covariances:
        parser.add_argument(
            "--covariance",
            type=_covariance_types,
            default=[defaults["covariance_type"]],
            metavar="TYPES",
            help=f"covariance types to try: a comma-separated list of {', '.join(covariance_choices)}, "
            f"or all (default: {defaults['covariance_type']})",
        )
    else:
        parser.add_argument(
            "--covariance",
            choices=covariance_choices,
            default=defaults["covariance_type"],
            help=f"covariance type (default: {defaults['covariance_type']})",
        )
    parser.add_argument(
        "--n-init",
        type=_constrained("n_init"),
        metavar="N",
        default=defaults["n_init"],
        help=f"initialisations, best kept (default: {defaults['n_init']})",
    )
    parser.add_argument(
        "--max-iter",
        type=_constrained("max_iter"),
        metavar="N",
        default=defaults["max_iter"],
        help=f"EM iterations per initialisation (default: {defaults['max_iter']})",
    )
    parser.add_argument(
        "--tol",
        type=_constrained("tol"),
        metavar="TOL",
        default=defaults["tol"],
        help=f"convergence threshold on the change of the lower bound (default: {defaults['tol']:g})",
    )
    parser.add_argument(
        "--reg-covar",
        type=_constrained("reg_covar"),
        metavar="R",
        default=defaults["reg_covar"],
        help=f"added to the covariance diagonals (default: {defaults['reg_covar']:g})",
    )
    parser.add_argument(
        "--init",
        choices=init_choices,
        default=defaults["init_params"],
        help=f"initialisation (default: {defaults['init_params']})",
    )
    # Not the estimator's default (None, fresh randomness): the command line is reproducible unless asked.
    parser.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default: 0)")
    parser.add_argument(
        "--chunk-size",
        type=_positive_int,
        metavar="N",
        default=None,
        help="rows per chunk of a .npy DATA file, which EM reads a chunk at a time, never whole "
        "(default: about 64 MiB of rows)",
    )


def _positive_number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _bayesian_options(parser):
    """fit --bayesian: a BayesianGaussianMixture, K then an upper bound on the components in use."""
    group = parser.add_argument_group("variational Bayesian fit")
    group.add_argument(
        "--bayesian",
        action="store_true",
        help="fit a BayesianGaussianMixture: a prior on the weights switches off the components the data do not "
        "need, so -k is an upper bound",
    )
    # Defaults of None: given without --bayesian, they are an error rather than silently unused.
    group.add_argument(
        "--weight-prior",
        choices=["dirichlet_process", "dirichlet_distribution"],
        default=None,
        help="the prior on the weights (default: dirichlet_process)",
    )
    group.add_argument(
        "--weight-concentration",
        type=_positive_number,
        default=None,
        metavar="C",
        help="its concentration (default: 1/K); smaller values switch off more components",
    )


class _InfoAction(argparse.Action):
    """``--include-dir``, ``--cmake-dir``, ``--show-config``: print and exit, as ``--version`` does."""

    def __call__(self, parser, namespace, values, option_string=None):
        from .. import _config

        if option_string == "--show-config":
            _config.show_config()
            parser.exit()
        path = _config.include_dir() if option_string == "--include-dir" else _config.cmake_dir()
        if not path.is_dir():
            parser.exit(
                EXIT_USER_ERROR, f"gmmcore: error: {path} does not exist (this installation has no C++ package)\n"
            )
        print(path)
        parser.exit()


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gmmcore",
        description="Fit, apply and choose Gaussian mixture models (gmmcore). "
        "Data: .csv/.tsv (delimiter, header and index column detected), .npy, or .parquet/.feather/.arrow "
        "(with gmmcore[arrow]); model files: gmmcore's own format.",
        epilog="Run 'gmmcore demo --plot demo.png' for a first look.",
    )
    parser.add_argument("--version", action="version", version=f"gmmcore {__version__}")
    parser.add_argument("--include-dir", action=_InfoAction, nargs=0, help="print the C++ include directory and exit")
    parser.add_argument(
        "--cmake-dir", action=_InfoAction, nargs=0, help="print the directory of gmmcoreConfig.cmake and exit"
    )
    parser.add_argument("--show-config", action=_InfoAction, nargs=0, help="print gmmcore.show_config() and exit")
    _common_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name, help_text, function):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _common_options(sub, suppress=True)
        sub.set_defaults(function=function)
        return sub

    sub = command("fit", "fit a mixture to DATA, print a summary and write the model file", cmd_fit)
    sub.add_argument("data", metavar="DATA", help="samples: .csv, .tsv, .npy, .parquet, .feather or .arrow")
    _fit_options(sub, k_help="number of components")
    sub.add_argument("--float32", action="store_true", help="fit in float32 (default: float64, or the file's float32)")
    sub.add_argument("-o", "--output", metavar="MODEL", required=True, help="model file to write")
    sub.add_argument("--full", action="store_true", help="show every feature's mean in the summary")
    _bayesian_options(sub)
    _data_options(sub)

    sub = command(
        "predict", "most probable component of each sample (or, with --proba, all probabilities)", cmd_predict
    )
    sub.add_argument("model", metavar="MODEL")
    sub.add_argument("data", metavar="DATA")
    sub.add_argument("-o", "--output", metavar="OUT", help=".csv, .tsv or .npy (default: CSV on stdout)")
    sub.add_argument("--proba", action="store_true", help="write the (n_samples, K) component probabilities")
    _data_options(sub)

    sub = command("score", "mean log-likelihood of DATA (and each sample's, with -o)", cmd_score)
    sub.add_argument("model", metavar="MODEL")
    sub.add_argument("data", metavar="DATA")
    sub.add_argument("-o", "--output", metavar="OUT", help="write each sample's log-likelihood: .csv, .tsv or .npy")
    _data_options(sub)

    sub = command("sample", "draw samples from a model", cmd_sample)
    sub.add_argument("model", metavar="MODEL")
    sub.add_argument(
        "-n", "--n-samples", dest="n", type=_positive_int, required=True, metavar="N", help="number of samples"
    )
    sub.add_argument("-o", "--output", metavar="OUT", help=".csv, .tsv or .npy (default: CSV on stdout)")
    sub.add_argument("--seed", type=_seed, default=None, metavar="S", help="random seed (default: fresh randomness)")
    sub.add_argument(
        "--shuffle",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write the samples in random order (default), not grouped by component",
    )
    sub.add_argument(
        "--labels",
        nargs="?",
        const="component",
        default=None,
        metavar="NAME",
        help="add a last column with each sample's component, named NAME (default: component)",
    )

    sub = command("select", "fit each K in a range and choose one by BIC or AIC", cmd_select)
    sub.add_argument("data", metavar="DATA")
    sub.add_argument(
        "-k",
        "--n-components",
        dest="k",
        type=k_range,
        default=list(range(1, 11)),
        metavar="K",
        help="the K to try: A..B, a comma-separated list or both (default: 1..10)",
    )
    sub.add_argument("--criterion", choices=["bic", "aic"], default="bic", help="default: bic")
    _fit_options(sub, several_covariances=True)
    sub.add_argument("--float32", action="store_true", help="fit in float32")
    sub.add_argument("-o", "--output", metavar="MODEL", help="write the best model to this file")
    sub.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw the criterion against K, for the best covariance type (needs gmmcore[plot])",
    )
    _data_options(sub)

    sub = command("demo", "fit the bundled Old Faithful eruptions data (272 x 2) and print the summary", cmd_demo)
    sub.add_argument(
        "-k",
        "--n-components",
        dest="k",
        type=_constrained("n_components"),
        default=2,
        metavar="K",
        help="number of components (default: 2)",
    )
    _fit_options(sub)
    sub.add_argument("-o", "--output", metavar="MODEL", help="also write the model file")
    sub.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw the points coloured by component with 1- and 2-sigma ellipses (needs gmmcore[plot])",
    )
    sub.add_argument("--full", action="store_true", help="show every feature's mean in the summary")
    return parser
