"""Sphinx configuration of the gmmcore documentation.

Build from the repository root, failing on any warning:

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

import os

import matplotlib

matplotlib.use("Agg")  # figures of the gallery are drawn without a display

import gmmcore  # noqa: E402  (the installed package: docs describe what is built)

project = "gmmcore"
author = "The gmmcore developers"
copyright = "The gmmcore developers"
version = release = gmmcore.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "examples",
    "**.ipynb_checkpoints",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.json",
]
templates_path = ["_templates"]

# --- API reference -----------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
# numpydoc renders the docstrings; no validation checks, so that the build
# passes on the docstrings as they are (run numpydoc's validator separately).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

intersphinx_mapping = {}  # offline build: no inventories fetched

# --- MyST (Markdown pages) -----------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# --- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "write_computation_times": True,
}

# --- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"gmmcore {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "github_url": "https://github.com/gmmcore/gmmcore",
}
html_static_path = []
html_show_sourcelink = False


# --- Optional includes ----------------------------------------------------------
from docutils import nodes  # noqa: E402
from docutils.parsers.rst import Directive  # noqa: E402


class IncludeIfExists(Directive):
    """Include a Markdown file (parsed by MyST) when it exists, else a note.

    Used by changelog.rst for ../CHANGELOG.md, which a source tree may not have.
    """

    required_arguments = 1

    def run(self):
        source_dir = os.path.dirname(self.state.document.current_source)
        path = os.path.normpath(os.path.join(source_dir, self.arguments[0]))
        if not os.path.isfile(path):
            section = nodes.section(ids=["changelog"], names=["changelog"])
            section += nodes.title(text="Changelog")
            section += nodes.paragraph(text="This source tree has no CHANGELOG.md yet.")
            return [section]
        self.state.document.settings.record_dependencies.add(path)
        lines = [f".. include:: {self.arguments[0]}", "   :parser: myst_parser.sphinx_"]
        self.state_machine.insert_input(lines, self.state.document.current_source)
        return []


import re  # noqa: E402

_SHAPE_NAME = re.compile(r"\b([A-Za-z]\w*)_(?=[,)])")


def escape_shape_names(app, what, name, obj, options, lines):
    """``of shape (n_features_in_,)``: escape the trailing underscore.

    numpydoc renders a parameter's type as reStructuredText, where ``name_``
    is a reference to a target ``name``; shapes that name fitted attributes
    would break the build.
    """
    for i, line in enumerate(lines):
        if "of shape (" in line and ">>>" not in line:
            lines[i] = _SHAPE_NAME.sub(lambda m: m.group(1) + "\\_", line)


from sphinx import addnodes  # noqa: E402
from sphinx.transforms.post_transforms import SphinxPostTransform  # noqa: E402

REPOSITORY = "https://github.com/gmmcore/gmmcore"


class ChangelogLinks(SphinxPostTransform):
    """Links of the included CHANGELOG.md to files of the source tree.

    CHANGELOG.md is written for the repository (``[README](README.md)``); in
    the site those targets are not documents, and MyST would warn (an error
    under -W). On the changelog page they point to the file in the
    repository instead. Runs before MyST's resolver (priority 9).
    """

    default_priority = 5

    def run(self, **kwargs):
        if self.env.docname != "changelog":
            return
        for node in list(self.document.findall(addnodes.pending_xref)):
            target = node.get("reftarget", "")
            if node.get("reftype") != "myst" or not target or target.startswith("#"):
                continue
            path = target.split("#")[0]
            if path.startswith("/") or ".." in path.split("/"):
                continue
            reference = nodes.reference("", "", internal=False, refuri=f"{REPOSITORY}/blob/main/{target}")
            reference += node.children
            node.replace_self(reference)


def setup(app):
    app.add_directive("gmmcore-include-if-exists", IncludeIfExists)
    app.add_post_transform(ChangelogLinks)
    # Before numpydoc (priority 500) turns the docstring into reST.
    app.connect("autodoc-process-docstring", escape_shape_names, priority=100)
