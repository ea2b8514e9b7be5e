"""Sphinx configuration of the neurodl documentation (built offline by ``docs/build.sh``).

Environment:

``NEURODL_DOCS_GALLERY``
    ``fast`` (default): execute only the tutorials named ``plot_fast_*.py`` (the CI docs job);
    ``full``: execute every ``plot_*.py`` tutorial; ``none``: execute nothing (pages show code).
``NEURODL_DATA``
    The data root the tutorials on real data read (default ``../shared/data``); a relative
    path is taken from the repository root (``docs/build.sh`` makes it absolute first, from
    the folder it is started in).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
if (REPO / "src" / "neurodl").is_dir():
    sys.path.insert(0, str(REPO / "src"))

# the tutorials run with their folder as working directory (and Sphinx reads this file from
# docs/): give them an absolute data root; a relative one is taken from the repository root
os.environ["NEURODL_DATA"] = str(
    (REPO / os.environ.get("NEURODL_DATA", str(REPO.parent / "shared" / "data"))).resolve()
)
os.environ.setdefault("MPLBACKEND", "Agg")


import neurodl  # noqa: E402

project = "neurodl"
author = "the neurodl developers"
copyright = "the neurodl developers, BSD-3-Clause"
version = release = neurodl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "neurodl_docs",
]

root_doc = "index"
exclude_patterns = [
    "_build",
    "_ext",
    "tutorials",
    "**/GALLERY_HEADER.rst",
    "architecture.md",
    "scale.md",
]
templates_path: list[str] = []
default_role = "py:obj"
pygments_style = "default"
# "more than one target found" (an ambiguous relative name) is not a broken reference
suppress_warnings = ["ref.python"]

# ---------------------------------------------------------------- API reference
autodoc_typehints = "none"  # numpydoc's type lines carry the types (with shapes)
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False
autoclass_content = "class"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# broken cross-references fail the build; references to other projects are not checked (the
# build is offline: no intersphinx inventories)
nitpicky = True
_EXTERNAL = (
    "numpy|np|torch|sklearn|scipy|mne|mne_bids|nibabel|nilearn|pandas|pd|matplotlib|captum|"
    "pyriemann|pydantic|ray|zarr|h5py|pynwb|joblib|typing|collections|pathlib|os|io|abc|"
    "contextlib|dataclasses|enum|logging|concurrent|threading|types|json|datetime|neurogym"
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({_EXTERNAL})(\..*)?"),
    (
        r"py:.*",
        r"(int|float|str|bool|bytes|dict|list|tuple|set|frozenset|object|type|None|"
        r"callable|Callable|Any|Iterable|Iterator|Sequence|Mapping|Path|ndarray|array-like|"
        r"Exception|ValueError|TypeError|KeyError|RuntimeError|OSError|FileNotFoundError|"
        r"AttributeError|ImportError|NotImplementedError|"
        # other projects' classes named without their package
        r"GridSearchCV|Pipeline|BaseEstimator|DataFrame|Series|Tensor|Module|Figure|Axes)",
    ),
]

# ---------------------------------------------------------------- tutorial gallery
_GALLERY_MODE = os.environ.get("NEURODL_DOCS_GALLERY", "fast")
if _GALLERY_MODE not in ("fast", "full", "none"):
    raise ValueError(
        f"Invalid value for 'NEURODL_DOCS_GALLERY'. Allowed: 'fast', 'full', 'none'; "
        f"got {_GALLERY_MODE!r}."
    )
sphinx_gallery_conf = {
    "examples_dirs": ["tutorials"],
    "gallery_dirs": ["auto_tutorials"],
    "filename_pattern": {"fast": r"/plot_fast_", "full": r"/plot_", "none": r"^$"}[_GALLERY_MODE],
    "ignore_pattern": r"(__init__|/_.*)\.py$",
    "plot_gallery": "False" if _GALLERY_MODE == "none" else "True",
    "within_subsection_order": "neurodl_docs.gallery.tutorial_order",
    "download_all_examples": False,
    "remove_config_comments": True,
    "write_computation_times": False,
    "show_memory": False,
    "show_signature": False,
    "min_reported_time": 1,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "capture_repr": ("_repr_html_",),
    # figures of neurodl.report.figures are made without pyplot: figure_scraper saves them
    "image_scrapers": ("neurodl_docs.gallery.figure_scraper", "matplotlib"),
    "reset_modules": ("matplotlib",),
}

# ---------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"neurodl {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
