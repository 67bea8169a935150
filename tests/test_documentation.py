"""The documentation's examples run: README.md and docs/**/*.md Python blocks, and docstrings.

Markdown: every fenced block whose info string starts with ``python`` is run,
in order, in one fresh namespace per file (so a block may use what an earlier
block of the same file defined), with a temporary directory as the working
directory and matplotlib's Agg backend. A block whose first line starts with
``>>>`` is run as a doctest instead. A block preceded (on the line before the
fence) by ``<!-- docs-test: skip -->`` is not run; use that only for code that
cannot run here (it needs a GPU, a network, a file that does not ship). A
block preceded by ``<!-- docs-test: needs torch jax -->`` (module names) runs
only where those modules import; where they do not it is left out, unless
GMMCORE_REQUIRE_FRAMEWORKS=1 (as in .ci/run), which makes that a failure.
Set-up code that a page should not show (imports, data) goes in an HTML
comment, invisible in the rendered page, run at its place in the file::

    <!-- docs-test: setup
    import numpy as np
    X = np.random.default_rng(0).normal(size=(500, 2))
    -->

Docstrings: the examples of every pure-Python module of the *installed*
gmmcore package are run with doctest (ELLIPSIS, NORMALIZE_WHITESPACE).

docs/ is optional: the tests for its pages are generated only when it exists.
"""

import doctest
import importlib
import importlib.util
import pkgutil
import re
import textwrap
import warnings
from pathlib import Path

import pytest
from conftest import REQUIRE_FRAMEWORKS, optional_import

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SKIP_MARK = "<!-- docs-test: skip -->"
_NEEDS_MARK = re.compile(r"^<!--[ \t]*docs-test:[ \t]*needs[ \t]+(?P<modules>[\w. \t]+?)[ \t]*-->$")
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# An opening fence of three or more backticks or tildes (indented at most 3
# spaces), its info string, the body and the closing fence of the same kind.
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)\n", re.MULTILINE)


_SETUP = re.compile(r"^<!--[ \t]*docs-test:[ \t]*setup[ \t]*\n(?P<body>.*?)^[ \t]*-->", re.MULTILINE | re.DOTALL)


def python_blocks(text):
    """The ``python`` fenced blocks and setup comments of a Markdown text, in order.

    Returns a list of (line of the fence or comment, source, modules the block needs).
    """
    blocks = [(text.count("\n", 0, m.start()) + 1, textwrap.dedent(m["body"]), ()) for m in _SETUP.finditer(text)]
    position = 0
    while True:
        opening = _FENCE.search(text, position)
        if opening is None:
            return sorted(blocks, key=lambda block: block[0])
        fence, indent = opening["fence"], len(opening["indent"])
        closing = re.compile(rf"^ {{0,3}}{fence[0]}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end = closing.search(text, opening.end())
        body_end = end.start() if end else len(text)
        position = end.end() if end else len(text)
        words = opening["info"].split()
        if not words or words[0].lower() not in ("python", "python3", "py"):
            continue
        before = text[: opening.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        if before == SKIP_MARK:
            continue
        lines = text[opening.end() : body_end].split("\n")
        # Content lines lose up to the fence's indentation (CommonMark).
        body = "\n".join(line[min(indent, len(line) - len(line.lstrip(" "))) :] for line in lines)
        fence_line = text.count("\n", 0, opening.start()) + 1
        needs = _NEEDS_MARK.match(before)
        blocks.append((fence_line, textwrap.dedent(body), tuple(needs["modules"].split()) if needs else ()))


def markdown_files():
    files = [ROOT / "README.md"]
    if DOCS.is_dir():
        files += sorted(
            path
            for path in DOCS.rglob("*.md")
            # _build, _templates, ... and the gallery's generated pages (its
            # scripts are run by sphinx-gallery when the site is built).
            if not any(part.startswith(("_", ".")) or part == "auto_examples" for part in path.relative_to(DOCS).parts)
        )
    return [path for path in files if path.is_file()]


def _close_figures():
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A temporary working directory and a non-interactive matplotlib."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    try:
        import matplotlib
    except ImportError:
        pass
    else:
        matplotlib.use("Agg")
    yield tmp_path
    _close_figures()


def _importable(module):
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def run_markdown(path, name=None):
    """Run the python blocks of one Markdown file in order; raise on the first failure."""
    name = name or str(path)
    namespace = {"__name__": "__docs__"}
    ran = 0
    for line_number, source, needs in python_blocks(path.read_text(encoding="utf-8")):
        where = f"{name}, the python block at line {line_number}"
        missing = [module for module in needs if not _importable(module)]
        if missing and REQUIRE_FRAMEWORKS:
            pytest.fail(f"{where} needs {', '.join(missing)}, which GMMCORE_REQUIRE_FRAMEWORKS=1 requires")
        if missing:
            continue
        if source.lstrip().startswith(">>>"):
            test = doctest.DocTestParser().get_doctest(source, namespace, where, str(path), line_number)
            runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
            output = []
            runner.run(test, out=output.append, clear_globs=False)
            if runner.failures:
                pytest.fail(f"{where} failed:\n" + "".join(output), pytrace=False)
        else:
            # Padding keeps the traceback's line numbers those of the Markdown file.
            code = compile("\n" * line_number + source, f"{name}", "exec")
            try:
                exec(code, namespace)
            except Exception as error:
                raise AssertionError(
                    f"{where} raised {type(error).__name__}: {error}\n(a page's imports and data may go in a hidden "
                    "'<!-- docs-test: setup ... -->' comment: see tests/test_documentation.py)"
                ) from error
        ran += 1
    return ran


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_markdown_python_blocks(path, sandbox):
    ran = run_markdown(path, str(path.relative_to(ROOT)))
    if path.name == "README.md":
        assert ran >= 4, "the README's examples were not found"


def test_docs_folder_optional():
    """Without docs/ only README.md is checked; say so instead of passing silently."""
    if not DOCS.is_dir():
        pytest.skip("no docs/ folder: only README.md's blocks are run")


# --------------------------------------------------------------------------
# Docstring examples of the installed package
# --------------------------------------------------------------------------


def _package_modules():
    """gmmcore and its pure-Python submodules (extension modules have no docstring examples)."""
    import gmmcore

    names = ["gmmcore"]
    for info in pkgutil.walk_packages(gmmcore.__path__, "gmmcore."):
        spec = importlib.util.find_spec(info.name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        names.append(info.name)
    return names


MODULES = _package_modules()


#: The subpackages that need an optional framework, and that framework.
OPTIONAL_FRAMEWORKS = {"gmmcore.torch": "torch", "gmmcore.jax": "jax"}


def _framework_of(name):
    """The optional framework module ``name`` needs, or None."""
    for package, framework in OPTIONAL_FRAMEWORKS.items():
        if name == package or name.startswith(package + "."):
            return framework
    return None


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, sandbox):
    if _framework_of(name):
        optional_import(_framework_of(name))
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    output = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for test in doctest.DocTestFinder().find(module, name):
            runner.run(test, out=output.append)
    if runner.failures:
        pytest.fail(f"{runner.failures} docstring example(s) of {name} failed:\n" + "".join(output), pytrace=False)


def test_docstring_examples_exist():
    """The modules that document the public API have examples, and some ran."""
    import gmmcore

    for name in ("gmmcore._core", "gmmcore._mixture", "gmmcore._model_io", "gmmcore._params", "gmmcore.plot"):
        if importlib.util.find_spec(name) is None:
            continue  # moved by a refactoring: the walk above still covers its new home
        module = importlib.import_module(name)
        tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
        assert tests, f"{name} has no docstring examples"
    available = [name for name in MODULES if _framework_of(name) is None or _importable(_framework_of(name))]
    total = sum(
        len(t.examples) for name in available for t in doctest.DocTestFinder().find(importlib.import_module(name), name)
    )
    assert total >= 1, f"no docstring examples found in {gmmcore.__file__}"


def test_readme_relative_links_exist():
    """Every relative link of README.md points at a file or folder of the repository."""
    readme = ROOT / "README.md"
    if not readme.is_file():
        pytest.skip("no README.md (an installed copy of the tests)")
    text = readme.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    relative = [t.split("#", 1)[0] for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]
    assert relative, "no relative links found in README.md"
    missing = sorted({t for t in relative if t and not (ROOT / t).exists()})
    assert not missing, f"README.md links to missing files: {missing}"


def test_version_agrees_with_changelog():
    """The version is written once, in python/gmmcore/_version.py: pyproject.toml and CMakeLists.txt read it
    from there, gmmcore.__version__ is it, and CHANGELOG.md has a section for it."""
    import gmmcore

    names = ("pyproject.toml", "CMakeLists.txt", "CHANGELOG.md", "python/gmmcore/_version.py")
    files = {name: ROOT / name for name in names}
    if not all(path.is_file() for path in files.values()):
        pytest.skip("not run from a source tree")
    written = re.search(r'^__version__ = "([^"]+)"', files["python/gmmcore/_version.py"].read_text(), re.MULTILINE)
    assert written, "no __version__ line in python/gmmcore/_version.py"
    pyproject = files["pyproject.toml"].read_text()
    assert not re.search(r"^version\s*=", pyproject, re.MULTILINE), "pyproject.toml writes a version of its own"
    assert 'input = "python/gmmcore/_version.py"' in pyproject, "pyproject.toml does not read _version.py"
    cmake = files["CMakeLists.txt"].read_text()
    assert "python/gmmcore/_version.py" in cmake and "VERSION ${GMMCORE_VERSION}" in cmake, (
        "CMakeLists.txt does not take its version from _version.py"
    )
    assert gmmcore.__version__ == written[1]
    headings = re.findall(r"^## \[?([^\]\s]+)", files["CHANGELOG.md"].read_text(encoding="utf-8"), re.MULTILINE)
    assert gmmcore.__version__ in headings, f"CHANGELOG.md has no section for {gmmcore.__version__}"
