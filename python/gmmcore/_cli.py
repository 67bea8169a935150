"""The ``gmmcore`` command line (also ``python -m gmmcore``).

Subcommands: ``fit``, ``predict``, ``score``, ``sample``, ``select`` and
``demo``; ``gmmcore SUBCOMMAND --help`` describes each. Data files are
``.csv``/``.tsv`` (a header row is detected: a first row with no number in
it) or ``.npy`` (memory-mapped, not read whole). Model files are in the format
of :mod:`gmmcore._model_io`.

Errors a user can cause print one line, ``gmmcore: error: ...``, and exit
with status 2 (as argparse does for bad arguments); ``--debug`` shows the
traceback instead. A progress bar is drawn on standard error while fitting
when it is a terminal, unless ``--quiet``.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

__all__ = ["CLIError", "main", "load_data"]

DATA_EXTENSIONS = (".csv", ".tsv", ".npy")
_DELIMITERS = {".csv": ",", ".tsv": "\t"}
_EXIT_USER_ERROR = 2


class CLIError(Exception):
    """An error the user can fix; its message is printed as one line."""


# --------------------------------------------------------------- data files


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
                    path, delimiter=delimiter, skiprows=header_line, comments="#", ndmin=2,
                    dtype=np.float64, encoding="utf-8-sig",
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


def _check_output(path):
    """Fail before any work when an output file has an extension we cannot write."""
    if path is not None:
        _extension(path, DATA_EXTENSIONS, "output")


def _write_table(path, array, header=None):
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


# ------------------------------------------------------------------ fitting


class _Progress:
    """The ``callback`` of ``GaussianMixture.fit``: a tqdm bar per initialisation, on a terminal only."""

    def __init__(self, enabled, max_iter, n_init, label=""):
        self.enabled = enabled and max_iter > 0
        self.max_iter, self.n_init, self.label = max_iter, n_init, label
        self.bar, self.init = None, None
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:  # a dependency; without it, no bar rather than no fit
                self.enabled = False
            else:
                self._tqdm = tqdm

    def __call__(self, init, n_iter, lower_bound, change):
        if not self.enabled:
            return
        if self.bar is None or init != self.init:
            self.close()
            self.init = init
            desc = self.label + (f"init {init + 1}/{self.n_init}" if self.n_init > 1 else "EM")
            try:
                size = os.get_terminal_size(sys.stderr.fileno())
            except (OSError, ValueError):
                size = os.terminal_size((0, 0))
            # A terminal that reports no size (a bare pty) would make tqdm hide the bar.
            self.bar = self._tqdm(
                total=self.max_iter, desc=desc, unit="iter", leave=False, file=sys.stderr,
                dynamic_ncols=size.columns > 0 and size.lines > 0,
                ncols=None if size.columns > 0 else 100, nrows=None if size.lines > 0 else 24,
            )
        self.bar.update(n_iter - self.bar.n)
        self.bar.set_postfix_str(f"lower bound {lower_bound:.6g}, change {change:.3g}", refresh=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _estimator(args, n_components):
    from ._mixture import GaussianMixture

    return GaussianMixture(
        n_components,
        covariance_type=args.covariance,
        tol=args.tol,
        reg_covar=args.reg_covar,
        max_iter=args.max_iter,
        n_init=args.n_init,
        init_params=args.init,
        random_state=args.seed,
    )


def _prepare(X, args):
    """X as the estimator fits it: C-ordered float64, or float32 with --float32 or a float32 .npy.

    A C-ordered float .npy stays memory-mapped; anything else is converted
    here once (the copy the estimator would make) rather than on every fit
    and score of ``select``.
    """
    if getattr(args, "float32", False) or X.dtype == np.float32:
        dtype = np.float32
    else:
        dtype = np.float64
    if X.dtype == dtype and X.flags.c_contiguous:
        return X
    return np.ascontiguousarray(X, dtype=dtype)


def _check_sizes(X, args, n_components):
    n_samples = X.shape[0]
    if n_samples < 2:
        raise CLIError(f"{args.data}: need at least 2 samples to fit, got {n_samples}")
    if max(n_components) > n_samples:
        raise CLIError(f"-k {max(n_components)} is larger than the number of samples in {args.data} ({n_samples})")


def _fit(X, args, n_components, label=""):
    """A fitted estimator (ConvergenceWarning folded into the summary) and the seconds it took."""
    _check_sizes(X, args, [n_components])
    from sklearn.exceptions import ConvergenceWarning

    model = _estimator(args, n_components)
    progress = _Progress(not args.quiet and sys.stderr.isatty(), args.max_iter, args.n_init, label)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, callback=progress)
    finally:
        progress.close()
    return model, time.perf_counter() - start


def _information_criteria(model, X):
    from ._mixture import information_criteria

    return information_criteria(model, X)


def _summary(model, X, source, seconds):
    n_samples, n_features = X.shape
    k = model.n_components
    loglik, bic, aic = _information_criteria(model, X)
    if model.converged_:
        converged = f"yes, after {model.n_iter_} iterations"
    else:
        converged = f"NO: stopped at --max-iter {model.max_iter}; raise it or --tol"
    best_of = f" (best of {model.n_init} initialisations)" if model.n_init > 1 else ""
    lines = [
        f"fitted {k} component{'s' if k > 1 else ''} ({model.covariance_type} covariance, "
        f"{model.means_.dtype}) to {n_samples} samples x {n_features} features of {source} in {seconds:.2f} s",
        f"converged:       {converged}{best_of}",
        f"log-likelihood:  {loglik:.3f} (mean {loglik / n_samples:.6f} per sample)",
        f"BIC:             {bic:.3f}",
        f"AIC:             {aic:.3f}",
        "component  weight  mean",
    ]
    for index in range(k):
        mean = np.array2string(
            np.asarray(model.means_[index], dtype=np.float64), precision=4, threshold=8, edgeitems=3,
            separator=", ", max_line_width=10_000,
        )
        lines.append(f"{index:9d}  {float(model.weights_[index]):.4f}  {mean}")
    return "\n".join(lines)


def _save_model(model, path):
    from ._model_io import save

    try:
        save(model, path)
    except FileNotFoundError as error:
        raise CLIError(f"{path}: cannot write the model: no such folder") from error


def _load_model(path):
    from ._model_io import load

    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not a model file")
    return load(path)


def _model_and_data(args):
    model = _load_model(args.model)
    X, _ = load_data(args.data)
    expected = model.n_features_in_
    if X.shape[1] != expected:
        raise CLIError(
            f"{args.data}: has {X.shape[1]} feature{'s' if X.shape[1] != 1 else ''} (columns), "
            f"but the model in {args.model} was fitted on {expected}"
        )
    if model.means_.dtype == np.float32:
        X = X.astype(np.float32, copy=False)  # a float32 model evaluates in float32, as it was fitted
    # A model fitted in Python on a DataFrame knows its column names; files give plain arrays.
    warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
    return model, X


def _check_plot(path):
    """Fail before any work when a plot cannot be written: no matplotlib, or not a .png."""
    if path is None:
        return
    if os.path.splitext(path)[1].lower() != ".png":
        raise CLIError(f"{path}: --plot writes a PNG image; name it FILE.png")
    from .plot import _matplotlib

    try:
        _matplotlib()
    except ImportError as error:
        raise CLIError(str(error)) from error


def _figure():
    # A bare Figure draws with Agg into a file: no pyplot, no GUI backend, no display needed.
    from matplotlib.figure import Figure

    return Figure(figsize=(8, 6), dpi=100, layout="tight")


def _save_figure(fig, path):
    try:
        fig.savefig(path)
    except FileNotFoundError as error:
        raise CLIError(f"{path}: cannot write the plot: no such folder") from error


# -------------------------------------------------------------- subcommands


def _cmd_fit(args):
    _check_output_model(args.output)
    X, _ = load_data(args.data)
    X = _prepare(X, args)
    model, seconds = _fit(X, args, args.k)
    print(_summary(model, X, args.data, seconds))
    _save_model(model, args.output)
    print(f"model written to {args.output}")
    return 0


def _check_output_model(path):
    """Fail before fitting when the model file cannot be written where asked."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"{path}: cannot write there: no such folder {folder}")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory; give the model file's name")


def _cmd_predict(args):
    _check_output(args.output)
    model, X = _model_and_data(args)
    if args.proba:
        result = model.predict_proba(X)
        header = [f"p{k}" for k in range(model.n_components)]
    else:
        result, header = model.predict(X), None
    _write_table(args.output, result, header)
    return 0


def _cmd_score(args):
    _check_output(args.output)
    model, X = _model_and_data(args)
    scores = model.score_samples(X)
    mean = float(np.mean(scores, dtype=np.float64))
    print(repr(mean) if args.output is None else f"mean log-likelihood: {mean!r}")
    if args.output is not None:
        _write_table(args.output, scores)
    return 0


def _cmd_sample(args):
    _check_output(args.output)
    model = _load_model(args.model)
    model.random_state = args.seed
    X, _ = model.sample(args.n)
    names = getattr(model, "feature_names_in_", None)
    header = [str(n) for n in names] if names is not None else [f"x{i}" for i in range(X.shape[1])]
    _write_table(args.output, X, header)
    return 0


def _cmd_select(args):
    _check_plot(args.plot)
    if args.output is not None:
        _check_output_model(args.output)
    X, _ = load_data(args.data)
    X = _prepare(X, args)
    _check_sizes(X, args, args.k)
    rows, models = [], {}
    for k in args.k:
        model, seconds = _fit(X, args, k, label=f"K={k} ")
        loglik, bic, aic = _information_criteria(model, X)
        rows.append((k, loglik, bic, aic, model.converged_, model.n_iter_, seconds))
        models[k] = model
    column = 2 if args.criterion == "bic" else 3
    best = min(rows, key=lambda row: row[column])[0]
    name = args.criterion.upper()
    titles = ("K", "log-likelihood", "BIC", "AIC", "converged", "iterations", "seconds")
    print("  ".join(f"{title:>{width}}" for title, width in zip(titles, (3, 14, 12, 12, 9, 10, 7))))
    for k, loglik, bic, aic, converged, n_iter, seconds in rows:
        mark = f"  <- best {name}" if k == best else ""
        print(
            f"{k:3d}  {loglik:14.3f}  {bic:12.3f}  {aic:12.3f}  {'yes' if converged else 'NO':>9}  "
            f"{n_iter:10d}  {seconds:7.2f}{mark}"
        )
    print(f"best K by {name}: {best}")
    if args.output is not None:
        _save_model(models[best], args.output)
        print(f"model with K={best} written to {args.output}")
    if args.plot is not None:
        from .plot import plot_criterion

        fig = _figure()
        ax = fig.subplots()
        plot_criterion([r[0] for r in rows], [r[column] for r in rows], ax=ax, criterion=name, best=best)
        ax.set_title(f"{name} of Gaussian mixtures ({args.covariance} covariance) on {os.path.basename(args.data)}")
        _save_figure(fig, args.plot)
        print(f"plot written to {args.plot}")
    return 0


def _faithful_path():
    from importlib.resources import files

    return files("gmmcore").joinpath("data", "old_faithful.csv")


def _cmd_demo(args):
    _check_plot(args.plot)
    if args.output is not None:
        _check_output_model(args.output)
    from importlib.resources import as_file

    with as_file(_faithful_path()) as path:
        X, columns = load_data(path)
    args.data = "old_faithful.csv"
    print(
        f"Old Faithful geyser (Yellowstone): {X.shape[0]} eruptions, columns {', '.join(columns)} "
        "(eruption time and waiting time to the next one, in minutes)"
    )
    model, seconds = _fit(X, args, args.k)
    print(_summary(model, X, "old_faithful.csv", seconds))
    if args.output is not None:
        _save_model(model, args.output)
        print(f"model written to {args.output}")
    if args.plot is not None:
        from .plot import plot_mixture

        fig = _figure()
        ax = fig.subplots()
        plot_mixture(
            model, X, ax=ax, feature_names=["eruption time (min)", "waiting time to next eruption (min)"],
            title=f"Old Faithful: {args.k}-component Gaussian mixture ({args.covariance} covariance)",
        )
        _save_figure(fig, args.plot)
        print(f"plot written to {args.plot}")
    return 0


# ---------------------------------------------------------------- arguments


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


def _non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (value >= 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _seed(text):
    value = _non_negative_int(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"expected a seed below 2**32, got {text!r}")
    return value


def _k_range(text):
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

    from ._covariance import COVARIANCE_TYPES
    from ._mixture import GaussianMixture

    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(GaussianMixture).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    init_options = GaussianMixture._parameter_constraints["init_params"][0].options
    default_init = defaults["init_params"]
    init_choices = [default_init, *sorted(init_options - {default_init})]
    return defaults, list(COVARIANCE_TYPES), init_choices


def _fit_options(parser, k_help=None):
    defaults, covariance_choices, init_choices = _estimator_defaults()
    if k_help is not None:
        parser.add_argument(
            "-k", "--n-components", dest="k", type=_positive_int, required=True, metavar="K", help=k_help
        )
    parser.add_argument(
        "--covariance", choices=covariance_choices, default=defaults["covariance_type"],
        help=f"covariance type (default: {defaults['covariance_type']})",
    )
    parser.add_argument(
        "--n-init", type=_positive_int, metavar="N", default=defaults["n_init"],
        help=f"initialisations, best kept (default: {defaults['n_init']})",
    )
    parser.add_argument(
        "--max-iter", type=_non_negative_int, metavar="N", default=defaults["max_iter"],
        help=f"EM iterations per initialisation (default: {defaults['max_iter']})",
    )
    parser.add_argument(
        "--tol", type=_non_negative_float, metavar="TOL", default=defaults["tol"],
        help=f"convergence threshold on the change of the lower bound (default: {defaults['tol']:g})",
    )
    parser.add_argument(
        "--reg-covar", type=_non_negative_float, metavar="R", default=defaults["reg_covar"],
        help=f"added to the covariance diagonals (default: {defaults['reg_covar']:g})",
    )
    parser.add_argument(
        "--init", choices=init_choices, default=defaults["init_params"],
        help=f"initialisation (default: {defaults['init_params']})",
    )
    # Not the estimator's default (None, fresh randomness): the command line is reproducible unless asked.
    parser.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default: 0)")


class _InfoAction(argparse.Action):
    """``--include-dir``, ``--cmake-dir``, ``--show-config``: print and exit, as ``--version`` does."""

    def __call__(self, parser, namespace, values, option_string=None):
        from . import _config

        if option_string == "--show-config":
            _config.show_config()
            parser.exit()
        path = _config.include_dir() if option_string == "--include-dir" else _config.cmake_dir()
        if not path.is_dir():
            parser.exit(_EXIT_USER_ERROR, f"gmmcore: error: {path} does not exist (this installation has no C++ package)\n")
        print(path)
        parser.exit()


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="gmmcore",
        description="Fit, apply and choose Gaussian mixture models (gmmcore). "
        "Data: .csv/.tsv (header row detected) or .npy; model files: gmmcore's own format.",
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

    sub = command("fit", "fit a mixture to DATA, print a summary and write the model file", _cmd_fit)
    sub.add_argument("data", metavar="DATA", help="samples: .csv, .tsv or .npy")
    _fit_options(sub, k_help="number of components")
    sub.add_argument("--float32", action="store_true", help="fit in float32 (default: float64, or the .npy's float32)")
    sub.add_argument("-o", "--output", metavar="MODEL", required=True, help="model file to write")

    sub = command(
        "predict", "most probable component of each sample (or, with --proba, all probabilities)", _cmd_predict
    )
    sub.add_argument("model", metavar="MODEL")
    sub.add_argument("data", metavar="DATA")
    sub.add_argument("-o", "--output", metavar="OUT", help=".csv, .tsv or .npy (default: CSV on stdout)")
    sub.add_argument("--proba", action="store_true", help="write the (n_samples, K) component probabilities")

    sub = command("score", "mean log-likelihood of DATA (and each sample's, with -o)", _cmd_score)
    sub.add_argument("model", metavar="MODEL")
    sub.add_argument("data", metavar="DATA")
    sub.add_argument("-o", "--output", metavar="OUT", help="write each sample's log-likelihood: .csv, .tsv or .npy")

    sub = command("sample", "draw samples from a model", _cmd_sample)
    sub.add_argument("model", metavar="MODEL")
    sub.add_argument(
        "-n", "--n-samples", dest="n", type=_positive_int, required=True, metavar="N", help="number of samples"
    )
    sub.add_argument("-o", "--output", metavar="OUT", help=".csv, .tsv or .npy (default: CSV on stdout)")
    sub.add_argument("--seed", type=_seed, default=None, metavar="S", help="random seed (default: fresh randomness)")

    sub = command("select", "fit each K in a range and choose one by BIC or AIC", _cmd_select)
    sub.add_argument("data", metavar="DATA")
    sub.add_argument(
        "-k", "--n-components", dest="k", type=_k_range, default=list(range(1, 11)), metavar="K",
        help="the K to try: A..B, a comma-separated list or both (default: 1..10)",
    )
    sub.add_argument("--criterion", choices=["bic", "aic"], default="bic", help="default: bic")
    _fit_options(sub)
    sub.add_argument("--float32", action="store_true", help="fit in float32")
    sub.add_argument("-o", "--output", metavar="MODEL", help="write the best model to this file")
    sub.add_argument("--plot", metavar="FILE.png", help="draw the criterion against K (needs gmmcore[plot])")

    sub = command("demo", "fit the bundled Old Faithful eruptions data (272 x 2) and print the summary", _cmd_demo)
    sub.add_argument(
        "-k", "--n-components", dest="k", type=_positive_int, default=2, metavar="K",
        help="number of components (default: 2)",
    )
    _fit_options(sub)
    sub.add_argument("-o", "--output", metavar="MODEL", help="also write the model file")
    sub.add_argument(
        "--plot", metavar="FILE.png",
        help="draw the points coloured by component with 1- and 2-sigma ellipses (needs gmmcore[plot])",
    )
    return parser


def main(argv=None):
    """Run the ``gmmcore`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for an error the user can fix (bad arguments, files
        or data), 1 for an unexpected failure, 130 when interrupted.
    """
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():  # filters set by a command end with it
            return args.function(args)
    except BrokenPipeError:
        # The reader of our stdout went away (e.g. `| head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (CLIError, ValueError, OSError) as error:
        # ValueError covers validation by the estimator and model-file errors
        # (ModelFileError, numpy.linalg.LinAlgError); OSError, files we cannot read or write.
        if args.debug:
            raise
        print(f"gmmcore: error: {_one_line(error)}", file=sys.stderr)
        return _EXIT_USER_ERROR
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


if __name__ == "__main__":
    sys.exit(main())
