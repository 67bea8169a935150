"""The subcommands: ``fit``, ``predict``, ``score``, ``sample``, ``select`` and ``demo``.

Each takes the parsed arguments and returns the exit status (0); an error the
user can fix is raised as :class:`CLIError`.
"""

import os
import sys

import numpy as np

from ._data_io import check_output, write_table
from ._errors import CLIError
from ._fitting import (
    check_output_model,
    check_sizes,
    fit_model,
    ignoring_feature_names,
    information_criteria,
    load_model,
    model_and_data,
    name_features,
    prepare,
    read,
    save_model,
    summary,
)

__all__ = ["cmd_fit", "cmd_predict", "cmd_score", "cmd_sample", "cmd_select", "cmd_demo"]


def _check_plot(path):
    """Fail before any work when a plot cannot be written: no matplotlib, or not a .png."""
    if path is None:
        return
    if os.path.splitext(path)[1].lower() != ".png":
        raise CLIError(f"{path}: --plot writes a PNG image; name it FILE.png")
    from ..plot import _matplotlib

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


def cmd_fit(args):
    check_output_model(args.output)
    data = read(args)
    X = prepare(data.X, args)
    model, seconds = fit_model(X, args, args.k)
    text = summary(model, X, args.data, seconds, data, args.full)
    name_features(model, data.columns)
    save_model(model, args.output)  # before any output: a reader that stops early (| head) loses no model
    print(text)
    print(f"model written to {args.output}")
    return 0


def cmd_predict(args):
    check_output(args.output)
    model, X = model_and_data(args)
    with ignoring_feature_names():
        if args.proba:
            result = model.predict_proba(X)
            header = [f"p{k}" for k in range(model.n_components)]
        else:
            result, header = model.predict(X), None
    write_table(args.output, result, header)
    return 0


def cmd_score(args):
    check_output(args.output)
    model, X = model_and_data(args)
    with ignoring_feature_names():
        scores = model.score_samples(X)
    mean = float(np.mean(scores, dtype=np.float64))
    print(repr(mean) if args.output is None else f"mean log-likelihood: {mean!r}")
    if args.output is not None:
        write_table(args.output, scores)
    return 0


def cmd_sample(args):
    check_output(args.output)
    model = load_model(args.model)
    model.random_state = args.seed
    X, labels = model.sample(args.n)  # grouped by component: all of component 0, then 1, ...
    names = getattr(model, "feature_names_in_", None)
    header = [str(n) for n in names] if names is not None else [f"x{i}" for i in range(X.shape[1])]
    if args.labels is not None and args.labels in header:
        raise CLIError(
            f"{args.model}: a feature is named {args.labels!r}; give the label column another name: --labels NAME"
        )
    if args.shuffle:
        # A stream of its own from the same seed: the draw is model.sample's, only the order changes.
        order = np.random.default_rng(args.seed).permutation(args.n)
        X, labels = X[order], labels[order]
    if args.labels is not None:
        header.append(args.labels)
    write_table(args.output, X, header, labels if args.labels is not None else None)
    return 0


def _edge_warning(best_k, tried, name):
    """A warning when the best K is at an end of the range tried: the true best may lie beyond it."""
    if len(tried) < 2:
        return None
    if best_k == tried[-1]:
        return f"the best K by {name}, {best_k}, is the largest tried: try larger K (-k {tried[0]}..{2 * best_k})"
    if best_k == tried[0] and best_k > 1:
        return f"the best K by {name}, {best_k}, is the smallest tried: try smaller K (-k 1..{tried[-1]})"
    return None


def cmd_select(args):
    _check_plot(args.plot)
    if args.output is not None:
        check_output_model(args.output)
    data = read(args)
    X = prepare(data.X, args)
    check_sizes(X, args, args.k)
    if data.notes or data.dropped:
        print(f"data: {'; '.join([*data.notes, *data.dropped])}")
    rows, models = [], {}
    for covariance in args.covariance:
        for k in args.k:
            label = f"{covariance} K={k} " if len(args.covariance) > 1 else f"K={k} "
            model, seconds = fit_model(X, args, k, label=label, covariance=covariance)
            loglik, bic, aic = information_criteria(model, X)
            rows.append((covariance, k, loglik, bic, aic, model.converged_, model.n_iter_, seconds))
            models[covariance, k] = model
    column = 3 if args.criterion == "bic" else 4
    best = min(rows, key=lambda row: row[column])[:2]
    name = args.criterion.upper()
    titles = ("covariance", "K", "log-likelihood", "BIC", "AIC", "converged", "iterations", "seconds")
    print("  ".join(f"{title:>{width}}" for title, width in zip(titles, (10, 3, 14, 12, 12, 9, 10, 7))))
    for covariance, k, loglik, bic, aic, converged, n_iter, seconds in rows:
        mark = f"  <- best {name}" if (covariance, k) == best else ""
        print(
            f"{covariance:>10}  {k:3d}  {loglik:14.3f}  {bic:12.3f}  {aic:12.3f}  {'yes' if converged else 'NO':>9}  "
            f"{n_iter:10d}  {seconds:7.2f}{mark}"
        )
    print(f"best by {name}: K={best[1]}, {best[0]} covariance")
    warning = _edge_warning(best[1], args.k, name)
    if warning is not None:
        print(f"gmmcore: warning: {warning}", file=sys.stderr)
    best_model = models[best]
    if args.output is not None:
        name_features(best_model, data.columns)
        save_model(best_model, args.output)
        print(f"model with K={best[1]} ({best[0]} covariance) written to {args.output}")
    if args.plot is not None:
        from ..plot import plot_criterion

        fig = _figure()
        ax = fig.subplots()
        curve = [row for row in rows if row[0] == best[0]]
        plot_criterion([r[1] for r in curve], [r[column] for r in curve], ax=ax, criterion=name, best=best[1])
        ax.set_title(f"{name} of Gaussian mixtures ({best[0]} covariance) on {os.path.basename(args.data)}")
        _save_figure(fig, args.plot)
        print(f"plot written to {args.plot}")
    return 0


def _faithful_path():
    from importlib.resources import files

    return files("gmmcore").joinpath("data", "old_faithful.csv")


def cmd_demo(args):
    _check_plot(args.plot)
    if args.output is not None:
        check_output_model(args.output)
    from importlib.resources import as_file

    with as_file(_faithful_path()) as path:
        data = read(args, path)
    X, columns = data.X, data.columns
    args.data = "old_faithful.csv"
    print(
        f"Old Faithful geyser (Yellowstone): {X.shape[0]} eruptions, columns {', '.join(columns)} "
        "(eruption time and waiting time to the next one, in minutes)"
    )
    model, seconds = fit_model(X, args, args.k)
    print(summary(model, X, "old_faithful.csv", seconds, data, args.full))
    if args.output is not None:
        name_features(model, columns)
        save_model(model, args.output)
        print(f"model written to {args.output}")
    if args.plot is not None:
        from ..plot import plot_mixture

        fig = _figure()
        ax = fig.subplots()
        with ignoring_feature_names():  # the model keeps the file's column names; X is a plain array
            plot_mixture(
                model,
                X,
                ax=ax,
                feature_names=["eruption time (min)", "waiting time to next eruption (min)"],
                title=f"Old Faithful: {args.k}-component Gaussian mixture ({args.covariance} covariance)",
            )
        _save_figure(fig, args.plot)
        print(f"plot written to {args.plot}")
    return 0
