"""Fitting for the command line, its summaries, and the model files it reads and writes."""

import contextlib
import os
import sys
import time
import warnings

import numpy as np

from ._data_io import load_data
from ._errors import CLIError
from ._progress import Progress

__all__ = [
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


def _estimator(args, n_components):
    from .._mixture import GaussianMixture

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


def fit_model(X, args, n_components, label=""):
    """A fitted estimator (ConvergenceWarning folded into the summary) and the seconds it took."""
    check_sizes(X, args, [n_components])
    from sklearn.exceptions import ConvergenceWarning

    model = _estimator(args, n_components)
    progress = Progress(not args.quiet and sys.stderr.isatty(), args.max_iter, args.n_init, label)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, callback=progress, chunk_size=args.chunk_size)
    finally:
        progress.close()
    return model, time.perf_counter() - start


def information_criteria(model, X):
    """(total log-likelihood, BIC, AIC): the estimator's ``bic`` and ``aic``, from one pass over X."""
    from .._mixture import information_criteria as criteria  # scikit-learn is imported only once needed

    return criteria(model, X)


def summary(model, X, source, seconds):
    n_samples, n_features = X.shape
    k = model.n_components
    loglik, bic, aic = information_criteria(model, X)
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
            np.asarray(model.means_[index], dtype=np.float64),
            precision=4,
            threshold=8,
            edgeitems=3,
            separator=", ",
            max_line_width=10_000,
        )
        lines.append(f"{index:9d}  {float(model.weights_[index]):.4f}  {mean}")
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


def model_and_data(args):
    model = load_model(args.model)
    X, _ = load_data(args.data)
    expected = model.n_features_in_
    if X.shape[1] != expected:
        raise CLIError(
            f"{args.data}: has {X.shape[1]} feature{'s' if X.shape[1] != 1 else ''} (columns), "
            f"but the model in {args.model} was fitted on {expected}"
        )
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
