"""Fitting for the command line, its summaries, and the model files it reads and writes."""

import contextlib
import os
import sys
import time
import warnings

import numpy as np

from ._data_io import read_data
from ._errors import CLIError
from ._progress import Progress

__all__ = [
    "read",
    "note",
    "name_features",
    "prepare",
    "check_sizes",
    "fit_model",
    "summary",
    "information_criteria",
    "save_model",
    "load_model",
    "check_output_model",
    "model_and_data",
    "ignoring_feature_names",
]


def read(args, path=None):
    """The :class:`~gmmcore.cli._data_io.DataFile` of ``args.data`` (or ``path``), read as its options say."""
    return read_data(
        args.data if path is None else path,
        header=getattr(args, "header", None),
        delimiter=getattr(args, "delimiter", None),
        keep_index=getattr(args, "keep_index", False),
    )


def note(message):
    """A note on standard error: what the command did that the user did not ask for."""
    print(f"gmmcore: note: {message}", file=sys.stderr)


def name_features(model, columns):
    """Give a model fitted on a plain array the names of its data file's columns, as a DataFrame would."""
    if columns is not None:
        model.feature_names_in_ = np.asarray(columns, dtype=object)


def _bayesian(args):
    """Whether to fit a BayesianGaussianMixture; its options without --bayesian are an error."""
    bayesian = getattr(args, "bayesian", False)
    if not bayesian:
        for option, value in (("--weight-prior", "weight_prior"), ("--weight-concentration", "weight_concentration")):
            if getattr(args, value, None) is not None:
                raise CLIError(f"{option} is an option of the variational fit: add --bayesian")
    elif args.chunk_size is not None:
        raise CLIError("--chunk-size: the variational fit (--bayesian) reads DATA whole; leave out --chunk-size")
    return bayesian


def _estimator(args, n_components, covariance=None):
    settings = dict(
        n_components=n_components,
        covariance_type=args.covariance if covariance is None else covariance,
        tol=args.tol,
        reg_covar=args.reg_covar,
        max_iter=args.max_iter,
        n_init=args.n_init,
        init_params=args.init,
        random_state=args.seed,
    )
    if _bayesian(args):
        from .._bayesian import BayesianGaussianMixture

        return BayesianGaussianMixture(
            weight_concentration_prior_type=args.weight_prior or "dirichlet_process",
            weight_concentration_prior=args.weight_concentration,
            **settings,
        )
    from .._mixture import GaussianMixture

    return GaussianMixture(**settings)


def prepare(X, args):
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


def check_sizes(X, args, n_components):
    n_samples = X.shape[0]
    if n_samples < 2:
        raise CLIError(f"{args.data}: need at least 2 samples to fit, got {n_samples}")
    if max(n_components) > n_samples:
        raise CLIError(f"-k {max(n_components)} is larger than the number of samples in {args.data} ({n_samples})")


def fit_model(X, args, n_components, label="", covariance=None):
    """A fitted estimator (ConvergenceWarning folded into the summary) and the seconds it took.

    ``covariance`` overrides ``args.covariance`` (``select`` tries several).
    """
    check_sizes(X, args, [n_components])
    from sklearn.exceptions import ConvergenceWarning

    model = _estimator(args, n_components, covariance)
    progress = Progress(not args.quiet and sys.stderr.isatty(), args.max_iter, args.n_init, label)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if _bayesian(args):
                model.fit(X, callback=progress)
            else:
                model.fit(X, callback=progress, chunk_size=args.chunk_size)
    finally:
        progress.close()
    return model, time.perf_counter() - start


def information_criteria(model, X):
    """(total log-likelihood, BIC, AIC): the estimator's ``bic`` and ``aic``, from one pass over X."""
    from .._mixture import information_criteria as criteria  # scikit-learn is imported only once needed

    return criteria(model, X)


_SUMMARY_ROWS = 20  # features shown without --full
_IN_USE = 0.01  # the weight from which the summary counts a variational fit's component as in use


def _number(value):
    return f"{value:.6g}"


def _means_table(model, columns, full):
    """The weights and means, one row per feature and one column per component, in one number format."""
    means = np.asarray(model.means_, dtype=np.float64)
    n_features = means.shape[1]
    names = [str(n) for n in columns] if columns is not None else [f"x{i}" for i in range(n_features)]
    names = [n if len(n) <= 24 else n[:21] + "..." for n in names]
    shown = n_features if full or n_features <= _SUMMARY_ROWS else _SUMMARY_ROWS - 4
    rows = [("component", [str(k) for k in range(model.n_components)]), ("weight", list(map(_number, model.weights_)))]
    rows += [(f"mean {names[j]}", list(map(_number, means[:, j]))) for j in range(shown)]
    label_width = max(len(label) for label, _ in rows)
    width = max(len(cell) for _, cells in rows for cell in cells)
    lines = [f"{label:<{label_width}}  " + "  ".join(f"{cell:>{width}}" for cell in cells) for label, cells in rows]
    if shown < n_features:
        lines.append(f"... and {n_features - shown} more features' means (--full shows them all)")
    return lines


def summary(model, X, source, seconds, data=None, full=False):
    """The fit's summary: data, convergence, likelihood, BIC, AIC, and the weights and means as a table.

    ``data`` is the :class:`~gmmcore.cli._data_io.DataFile` fitted (its
    notes and column names are shown); ``full`` shows every feature's mean.
    """
    n_samples, n_features = X.shape
    k = model.n_components
    if model.converged_:
        converged = f"yes, after {model.n_iter_} iterations"
    else:
        converged = f"NO: stopped at --max-iter {model.max_iter}; raise it or --tol"
    best_of = f" (best of {model.n_init} initialisations)" if model.n_init > 1 else ""
    lines = [
        f"fitted {k} component{'s' if k > 1 else ''} ({model.covariance_type} covariance, "
        f"{model.means_.dtype}) to {n_samples} samples x {n_features} features of {source} in {seconds:.2f} s",
    ]
    if data is not None and (data.notes or data.dropped):
        lines.append(f"data:            {'; '.join([*data.notes, *data.dropped])}")
    lines.append(f"converged:       {converged}{best_of}")
    if hasattr(model, "weight_concentration_"):  # variational: a lower bound, no likelihood-based criteria
        in_use = int(np.sum(model.weights_ >= _IN_USE))
        lines += [
            f"lower bound:     {model.lower_bound_:.3f} ({model.weight_concentration_prior_type} prior on the weights)",
            f"in use:          {in_use} of {k} components have weight >= {_IN_USE:g}",
        ]
    else:
        loglik, bic, aic = information_criteria(model, X)
        lines += [
            f"log-likelihood:  {loglik:.3f} (mean {loglik / n_samples:.6f} per sample)",
            f"BIC:             {bic:.3f}",
            f"AIC:             {aic:.3f}",
        ]
    lines += _means_table(model, None if data is None else data.columns, full)
    return "\n".join(lines)


def save_model(model, path):
    from .._model_io import save

    try:
        save(model, path)
    except FileNotFoundError as error:
        raise CLIError(f"{path}: cannot write the model: no such folder") from error


def load_model(path):
    from .._model_io import load

    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not a model file")
    return load(path)


def check_output_model(path):
    """Fail before fitting when the model file cannot be written where asked."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"{path}: cannot write there: no such folder {folder}")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory; give the model file's name")


def _match_columns(model, data, args):
    """X with the model's features in the model's order; a CLIError when they cannot be matched.

    By name when the model and the file both have names (a reordering is
    undone, with a note); by position otherwise, when the counts agree.
    """
    names = getattr(model, "feature_names_in_", None)
    X, columns = data.X, data.columns
    if names is not None and columns is not None:
        names = [str(n) for n in names]
        missing = [n for n in names if n not in columns]
        extra = [c for c in columns if c not in names]
        if missing or extra:
            parts = [f"missing {', '.join(missing)}"] if missing else []
            parts += [f"not in the model: {', '.join(extra)}"] if extra else []
            raise CLIError(
                f"{args.data}: its columns do not match the features the model in {args.model} was fitted on "
                f"({'; '.join(parts)})"
            )
        if columns != names:
            note(f"{args.data}: columns taken by name, in the model's order ({', '.join(names)})")
            return np.ascontiguousarray(X[:, [columns.index(n) for n in names]])
        return X
    if X.shape[1] != model.n_features_in_:
        raise CLIError(
            f"{args.data}: has {X.shape[1]} feature{'s' if X.shape[1] != 1 else ''} (columns), "
            f"but the model in {args.model} was fitted on {model.n_features_in_}"
        )
    return X


def model_and_data(args):
    """The model of ``args.model`` and the samples of ``args.data`` in its feature order and dtype."""
    model = load_model(args.model)
    data = read(args)
    for message in data.dropped:
        note(f"{args.data}: {message}")
    X = _match_columns(model, data, args)
    if model.means_.dtype == np.float32:
        X = X.astype(np.float32, copy=False)  # a float32 model evaluates in float32, as it was fitted
    return model, X


@contextlib.contextmanager
def ignoring_feature_names():
    """Evaluate a loaded model on data from a file without scikit-learn's feature-name warning.

    A model fitted in Python on a DataFrame knows its column names; files
    give plain arrays. The filter lasts only as long as the ``with`` block.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        yield
