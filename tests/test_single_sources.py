"""One fact in one place: the facts the estimator owns are read from it, and gmmcore's modules import one way.

The covariance shapes live in ``gmmcore._covariance``; the hyperparameters,
their defaults and ranges in ``GaussianMixture`` (its signature and
``_parameter_constraints``), which the model files and the command line read;
BIC and AIC have one implementation; and no two of gmmcore's Python modules
import each other, not even inside a function.
"""

import ast
import inspect
import pathlib
import warnings

import gmmcore
import numpy as np
import pytest
from gmmcore import GaussianMixture, _covariance, _model_format
from gmmcore._mixture import information_criteria

PACKAGE = pathlib.Path(gmmcore.__file__).parent


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports():
    """{module: set of gmmcore modules it imports anywhere in its code}, from the source."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
                found.update(c for c in candidates if c in modules and c != name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found.update(n for n in names if n in modules and n != name)
        graph[name] = found
    return graph


def test_no_import_cycle_between_modules():
    graph = _imports()
    # A submodule may import its package's __init__ only through names defined before the
    # submodules it needs; ignore edges into packages and look for cycles between modules.
    packages = {name for name in graph if (PACKAGE.parent / name.replace(".", "/") / "__init__.py").is_file()}
    edges = {name: {t for t in targets if t not in packages} for name, targets in graph.items()}
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for target in edges[node]:
            if state.get(target) == "open":
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(target) :] + [target]))
            if target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert "gmmcore._mixture" not in graph["gmmcore._model_format"]
    assert "gmmcore._model_io" not in graph["gmmcore._mixture"]


@pytest.mark.parametrize("covariance_type", _covariance.COVARIANCE_TYPES)
def test_fitted_shapes_follow_the_one_table(covariance_type):
    X = np.random.default_rng(0).normal(size=(40, 3))
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    shape = _covariance.parameter_shape(covariance_type, 2, 3)
    for name in ("covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(model, name).shape == shape
    full = _covariance.full_covariances(model.covariances_, covariance_type, 2, 3)
    assert full.shape == (2, 3, 3)
    native = _covariance.native_layout(model.covariances_, covariance_type, np.float64)
    assert native.ndim == 2
    assert _covariance.user_layout(native, covariance_type, 3).shape == shape


def test_unknown_covariance_type_is_a_value_error():
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        _covariance.parameter_shape("banana", 2, 3)


def test_model_files_store_the_estimators_scalar_parameters():
    stored = _model_format.stored_params(GaussianMixture._parameter_constraints)
    scalars = {
        name
        for name, constraints in GaussianMixture._parameter_constraints.items()
        if "array-like" not in constraints and name not in ("n_components", "covariance_type")
    }
    assert set(stored) == scalars
    assert set(GaussianMixture().get_params()) == set(GaussianMixture._parameter_constraints)


def test_cli_defaults_are_the_estimators():
    from gmmcore.cli import build_parser

    defaults = {name: p.default for name, p in inspect.signature(GaussianMixture).parameters.items()}
    args = build_parser().parse_args(["demo"])
    assert args.covariance == defaults["covariance_type"]
    assert (args.n_init, args.max_iter) == (defaults["n_init"], defaults["max_iter"])
    assert (args.tol, args.reg_covar, args.init) == (defaults["tol"], defaults["reg_covar"], defaults["init_params"])


def test_information_criteria_are_bic_and_aic():
    X = np.random.default_rng(1).normal(size=(60, 2))
    model = GaussianMixture(2, random_state=0).fit(X)
    loglik, bic, aic = information_criteria(model, X)
    assert bic == model.bic(X) and aic == model.aic(X)
    assert loglik == pytest.approx(model.score(X) * len(X))


def test_cli_leaves_the_warning_filters_as_it_found_them(tmp_path, capsys):
    from gmmcore.cli import main

    X = np.random.default_rng(2).normal(size=(30, 2))
    np.save(tmp_path / "x.npy", X)
    before = list(warnings.filters)
    assert main(["-q", "fit", str(tmp_path / "x.npy"), "-k", "2", "-o", str(tmp_path / "m.gmm")]) == 0
    assert main(["predict", str(tmp_path / "m.gmm"), str(tmp_path / "x.npy")]) == 0
    assert main(["score", str(tmp_path / "m.gmm"), str(tmp_path / "x.npy")]) == 0
    capsys.readouterr()
    assert list(warnings.filters) == before
