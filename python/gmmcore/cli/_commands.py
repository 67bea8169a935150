"""The subcommands: ``fit``, ``predict``, ``score``, ``sample``, ``select`` and ``demo``.

Each takes the parsed arguments and returns the exit status (0); an error the
user can fix is raised as :class:`CLIError`.
"""

import os

import numpy as np

from ._data_io import check_output, load_data, write_table
from ._errors import CLIError
from ._fitting import (
    check_output_model,
    check_sizes,
    fit_model,
    ignoring_feature_names,
    information_criteria,
    load_model,
    model_and_data,
    prepare,
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
    X, _ = load_data(args.data)
    X = prepare(X, args)
    model, seconds = fit_model(X, args, args.k)
    print(summary(model, X, args.data, seconds))
    save_model(model, args.output)
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
    X, _ = model.sample(args.n)
    names = getattr(model, "feature_names_in_", None)
    header = [str(n) for n in names] if names is not None else [f"x{i}" for i in range(X.shape[1])]
    write_table(args.output, X, header)
    return 0


def cmd_select(args):
    _check_plot(args.plot)
    if args.output is not None:
        check_output_model(args.output)
    X, _ = load_data(args.data)
    X = prepare(X, args)
    check_sizes(X, args, args.k)
    rows, models = [], {}
    for k in args.k:
        model, seconds = fit_model(X, args, k, label=f"K={k} ")
        loglik, bic, aic = information_criteria(model, X)
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
        save_model(models[best], args.output)
        print(f"model with K={best} written to {args.output}")
    if args.plot is not None:
        from ..plot import plot_criterion

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


def cmd_demo(args):
    _check_plot(args.plot)
    if args.output is not None:
        check_output_model(args.output)
    from importlib.resources import as_file

    with as_file(_faithful_path()) as path:
        X, columns = load_data(path)
    args.data = "old_faithful.csv"
    print(
        f"Old Faithful geyser (Yellowstone): {X.shape[0]} eruptions, columns {', '.join(columns)} "
        "(eruption time and waiting time to the next one, in minutes)"
    )
    model, seconds = fit_model(X, args, args.k)
    print(summary(model, X, "old_faithful.csv", seconds))
    if args.output is not None:
        save_model(model, args.output)
        print(f"model written to {args.output}")
    if args.plot is not None:
        from ..plot import plot_mixture

        fig = _figure()
        ax = fig.subplots()
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
