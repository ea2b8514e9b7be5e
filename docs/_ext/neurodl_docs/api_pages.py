"""The API reference, written when the docs build from the packages' ``__all__``.

One page per public package of :mod:`neurodl` (a package is public when no part of its dotted
name starts with ``_``): its docstring, a summary table and the reference of every name in its
``__all__``, then one section per public submodule for the names of that submodule's ``__all__``
the package does not re-export. Each function and class is documented once, at its shortest
public path; :func:`documented_paths` maps objects to that path so cross-references written
with another path (``neurodl.analyses.rsa.rdm.compute_rdm``) still resolve.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .markdown import escape_text

__all__ = [
    "ApiPage",
    "api_index_rst",
    "api_pages",
    "is_documentable",
    "public_modules",
    "summary_line",
]

#: Packages whose pages are not generated (the config reference documents the tasks; the
#: command line is documented in the user guide).
SKIPPED_PACKAGES = ("neurodl.workflows.tasks", "neurodl.cli")

#: The layers in the order of ``docs/architecture.md``; each package page sits under one.
LAYERS = (
    ("Core", ("neurodl",)),
    ("Data", ("neurodl.data",)),
    ("Reading files and datasets", ("neurodl.io", "neurodl.datasets")),
    ("Preprocessing", ("neurodl.preprocessing",)),
    ("Models and estimators", ("neurodl.models", "neurodl.estimators")),
    ("Evaluation and execution", ("neurodl.evaluation", "neurodl.execution")),
    ("Analyses", ("neurodl.analyses",)),
    (
        "Reports, privacy and the run layer",
        ("neurodl.report", "neurodl.privacy", "neurodl.workflows"),
    ),
)


def public_modules() -> list[tuple[str, bool]]:
    """Every public module of neurodl as ``(dotted name, is_package)``, root first."""
    import neurodl

    found = [("neurodl", True)]
    for info in pkgutil.walk_packages(neurodl.__path__, "neurodl."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        found.append((info.name, info.ispkg))
    return sorted(found, key=lambda item: (item[0].count("."), item[0]))


def is_documentable(obj: Any) -> bool:
    """Whether ``obj`` is a function or class defined in neurodl (documented once, by identity)."""
    return (inspect.isclass(obj) or inspect.isfunction(obj)) and str(
        getattr(obj, "__module__", "")
    ).startswith("neurodl")


@dataclass
class ApiPage:
    """One package page: its rst text and the objects it documents (full name by object id)."""

    package: str
    rst: str
    documents: dict[int, str] = field(default_factory=dict)


def _directive(module: ModuleType, name: str) -> list[str]:
    obj = getattr(module, name)
    if inspect.isclass(obj):
        kind = "autoexception" if issubclass(obj, BaseException) else "autoclass"
        return [f".. {kind}:: {name}", "   :members:", "   :show-inheritance:", ""]
    if callable(obj) and not inspect.isfunction(obj):
        return [f".. autodata:: {name}", "   :no-value:", ""]
    if inspect.isfunction(obj):
        return [f".. autofunction:: {name}", ""]
    lines = [f".. autodata:: {name}"]
    if len(repr(obj)) > 160:
        lines.append("   :no-value:")
    return [*lines, ""]


_ROLE = re.compile(r":[\w:]+:`~?\.?([^`<]*?)(?:\s*<[^>]*>)?`")


def summary_line(obj: Any) -> str:
    """The first paragraph of ``obj``'s docstring as safe rst (roles become literals)."""
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        # a constant: its __doc__ is its type's; show its value when short
        keys = isinstance(obj, dict)
        try:
            shown = repr(sorted(obj, key=str) if isinstance(obj, dict | set | frozenset) else obj)
        except TypeError:
            return ""
        if callable(obj) or "`" in shown or "\n" in shown:
            return ""
        if len(shown) > 70:
            shown = shown[:66].rstrip() + " ..."
        return ("keys " if keys else "") + _literal(shown)
    doc = inspect.getdoc(obj)
    if not doc:
        return ""
    first = " ".join(doc.split("\n\n", 1)[0].split())
    first = _ROLE.sub(lambda m: "``" + m.group(1).rsplit(".", 1)[-1] + "``", first)
    parts = first.split("``")
    if len(parts) % 2 == 0:  # unbalanced literal: show it all as text
        return escape_text(first)
    return "".join(
        escape_text(part) if i % 2 == 0 else (_literal(part) if part.strip() else "")
        for i, part in enumerate(parts)
    ).strip()


def _literal(text: str) -> str:
    return "\\ ``" + text.strip() + "``\\ "


def _summary(module: ModuleType, names: list[str]) -> list[str]:
    if not names:
        return []
    out = [".. list-table::", "   :widths: 30 70", ""]
    for name in names:
        obj = getattr(module, name)
        out += [f"   * - :py:obj:`{name}`", f"     - {summary_line(obj)}"]
    return [*out, ""]


def _section(
    module: ModuleType, title_char: str, seen: dict[int, str], own_title: bool
) -> tuple[list[str], dict[int, str]]:
    """The rst for ``module``'s ``__all__`` names not documented yet, and what it documents."""
    modname = module.__name__
    names = list(getattr(module, "__all__", []))
    new: dict[int, str] = {}
    body: list[str] = []
    listed: list[str] = []
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            continue
        if is_documentable(obj):
            if id(obj) in seen or id(obj) in new:
                continue
            new[id(obj)] = f"{modname}.{name}"
        listed.append(name)
        body += _directive(module, name)
    head = []
    if own_title:
        head = [modname, title_char * len(modname), ""]
    parent, _, leaf = modname.rpartition(".")
    shadowed = parent and getattr(importlib.import_module(parent), leaf, module) is not module
    if not shadowed:  # a package re-exporting a function of the module's name keeps the name
        head += [f".. automodule:: {modname}", ""]
    head += [f".. currentmodule:: {modname}", ""]
    return head + _summary(module, listed) + body, new


def api_pages() -> list[ApiPage]:
    """The API pages of every public package (skipping :data:`SKIPPED_PACKAGES`)."""
    modules = public_modules()
    seen: dict[int, str] = {}
    pages: list[ApiPage] = []
    for pkg, is_pkg in modules:
        if not is_pkg or pkg.startswith(SKIPPED_PACKAGES):
            continue
        package = importlib.import_module(pkg)
        lines, documents = _section(package, "=", seen, own_title=True)
        seen.update(documents)
        children = [
            name
            for name, child_is_pkg in modules
            if not child_is_pkg and name.rsplit(".", 1)[0] == pkg
        ]
        for child in children:
            module = importlib.import_module(child)
            section, new = _section(module, "-", seen, own_title=True)
            if new or (getattr(module, "__all__", None) and not hasattr(package, "__all__")):
                lines += section
                seen.update(new)
                documents.update(new)
        if documents or getattr(package, "__all__", None):
            pages.append(ApiPage(pkg, "\n".join(lines) + "\n", documents))
    return pages


def api_index_rst(pages: list[ApiPage]) -> str:
    """The API reference's index: the package pages grouped by layer."""
    out = [
        ".. _api-reference:",
        "",
        "API reference",
        "=============",
        "",
        "Generated from the docstrings (numpydoc) when the documentation is built: every name in",
        "a public module's ``__all__``. Layers only import downwards: see"
        " :doc:`/generated/notes/architecture`.",
        "",
    ]
    names = [page.package for page in pages]
    placed: set[str] = set()
    for title, roots in LAYERS:
        group = [
            n
            for n in names
            if n not in placed
            and any(n == r or (r != "neurodl" and n.startswith(r + ".")) for r in roots)
        ]
        if not group:
            continue
        placed.update(group)
        out += [title, "-" * len(title), "", ".. toctree::", "   :maxdepth: 1", ""]
        out += [f"   {n}" for n in group] + [""]
    rest = [n for n in names if n not in placed]
    if rest:
        out += ["Other", "-----", "", ".. toctree::", "   :maxdepth: 1", ""]
        out += [f"   {n}" for n in rest] + [""]
    return "\n".join(out) + "\n"
