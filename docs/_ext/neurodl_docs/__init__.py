"""Sphinx extension of the neurodl docs: pages generated from the code when the docs build.

On ``builder-inited`` it writes, under ``docs/generated/`` (never committed):

* ``api/``: the API reference (:mod:`.api_pages`), one page per public package;
* ``config/``: the config reference from the pydantic schemas (:mod:`.config_reference`);
* ``benchmarks/``: ``benchmarks/results/*.md`` converted to rst (:mod:`.markdown`);
* ``notes/``: ``docs/architecture.md`` and ``docs/scale.md`` converted the same way.

A ``missing-reference`` handler resolves cross-references written with another public path of
a documented object (a submodule path of a name its package re-exports), so nitpicky mode only
fails on references that point nowhere.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

from .api_pages import api_index_rst, api_pages
from .config_reference import config_reference_rst, task_page_rst
from .markdown import escape_docstring_line, markdown_to_rst

__all__ = [
    "escape_shape_stars",
    "generate",
    "public_bases",
    "remove_deleted_tutorials",
    "resolve_other_path",
    "setup",
    "skip_generated_members",
]

#: Documented object id -> the full name it is documented under (filled by :func:`generate`).
DOCUMENTED: dict[int, str] = {}
#: Modules that have a target in the API pages.
DOCUMENTED_MODULES: set[str] = set()


def _write(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds it (keeps incremental builds incremental)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _remove_stale(folder: Path, keep: set[str]) -> None:
    """Delete generated pages of things that no longer exist (a renamed package or task)."""
    for path in folder.glob("*.rst"):
        if path.stem not in keep:
            path.unlink()


def _examples_by_task(examples_dir: Path) -> dict[str, list[str]]:
    import yaml

    found: dict[str, list[str]] = {}
    for path in sorted(examples_dir.glob("*.yaml")):
        try:
            task = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("task", "decoding")
        except yaml.YAMLError:
            continue
        found.setdefault(str(task), []).append(path.name)
    return found


def _benchmarks(results_dir: Path, out_dir: Path) -> None:
    files = sorted(results_dir.glob("*.md"))
    index = [
        ".. _benchmarks:",
        "",
        "Benchmarks",
        "==========",
        "",
        "Measured speed and accuracy, each with its command, machine and date, rendered from",
        "``benchmarks/results/*.md`` when the documentation is built. The scripts are in",
        "``benchmarks/`` (each has a ``--smoke`` flag for a fast run); numbers are recorded,",
        "never asserted in tests.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    for path in files:
        rst = markdown_to_rst(path.read_text(encoding="utf-8"), title=path.stem)
        source = f"\n*Source:* ``benchmarks/results/{path.name}``\n"
        _write(out_dir / f"{path.stem}.rst", rst + source)
        index.append(f"   {path.stem}")
    _write(out_dir / "index.rst", "\n".join(index) + "\n")
    _remove_stale(out_dir, {"index", *(path.stem for path in files)})


def _notes(docs_dir: Path, out_dir: Path) -> None:
    for name, title in (("architecture", "Architecture"), ("scale", "Scale")):
        md = docs_dir / f"{name}.md"
        if md.exists():
            text = markdown_to_rst(md.read_text(encoding="utf-8"), title=title)
            text += f"\n*Source:* ``docs/{name}.md``\n"
        else:
            text = f"{title}\n{'=' * len(title)}\n\n(``docs/{name}.md`` is not written yet.)\n"
        _write(out_dir / f"{name}.rst", text)


def generate(app: Any) -> None:
    """Write every generated page under ``<srcdir>/generated`` (``builder-inited`` handler)."""
    from neurodl.workflows import TASKS
    from neurodl.workflows.config import RunConfig

    src = Path(app.srcdir)
    repo = src.parent
    out = src / "generated"

    pages = api_pages()
    DOCUMENTED.clear()
    DOCUMENTED_MODULES.clear()
    for page in pages:
        DOCUMENTED.update(page.documents)
        _write(out / "api" / f"{page.package}.rst", page.rst)
        DOCUMENTED_MODULES.add(page.package)
        DOCUMENTED_MODULES.update(
            line.split("::", 1)[1].strip()
            for line in page.rst.splitlines()
            if line.startswith(".. automodule::")
        )
    _write(out / "api" / "index.rst", api_index_rst(pages))
    _remove_stale(out / "api", {"index", *(page.package for page in pages)})

    examples = _examples_by_task(repo / "examples")
    _write(out / "config" / "index.rst", config_reference_rst(RunConfig, TASKS))
    for name, spec in TASKS.items():
        _write(out / "config" / f"task_{name}.rst", task_page_rst(spec, examples.get(name, [])))

    _remove_stale(out / "config", {"index", *(f"task_{name}" for name in TASKS)})
    _benchmarks(repo / "benchmarks" / "results", out / "benchmarks")
    _notes(src, out / "notes")


_MISSING = object()


def _lookup(dotted: str) -> Any:
    """The object named ``dotted`` (module path then attributes), or ``_MISSING``."""
    parts = dotted.split(".")
    if parts[0] != "neurodl":
        return _MISSING
    for k in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for attr in parts[k:]:
            obj = getattr(obj, attr, _MISSING)
            if obj is _MISSING:
                return _MISSING
        return obj
    return _MISSING


def _documented_name(target: str) -> str | None:
    parts = target.split(".")
    for k in range(len(parts), 0, -1):
        head = ".".join(parts[:k])
        obj = _lookup(head)
        if obj is _MISSING:
            continue
        if id(obj) in DOCUMENTED:
            return ".".join([DOCUMENTED[id(obj)], *parts[k:]])
        if head in DOCUMENTED_MODULES and k < len(parts):
            return None  # a module that is documented, but the attribute is not
    return None


def _contexts(node: Any) -> list[str]:
    """Dotted prefixes a relative reference may be relative to, innermost first."""
    prefixes: list[str] = []
    # a docstring's source names the documented object ("...: docstring of a.b.c"); its real
    # module and class come first, then the page's module and class
    source = str(node.source or "") if hasattr(node, "source") else ""
    if "docstring of " in source:
        owner = source.rsplit("docstring of ", 1)[1].split(":")[0].strip()
        obj = _lookup(owner)
        real = getattr(obj, "__module__", None) if obj is not _MISSING else None
        parts = owner.split(".")
        prefixes += [".".join(parts[:k]) for k in range(len(parts), 0, -1)]
        if isinstance(real, str) and real.startswith("neurodl"):
            qual = getattr(obj, "__qualname__", "").split(".")
            prefixes += [".".join([real, *qual[:k]]) for k in range(len(qual) - 1, -1, -1)]
    module, cls = node.get("py:module"), node.get("py:class")
    if module:
        if cls:
            prefixes.append(f"{module}.{cls}")
        parts = module.split(".")
        prefixes += [".".join(parts[:k]) for k in range(len(parts), 0, -1)]
    return list(dict.fromkeys(prefixes))


def _nearest_documented(env: Any, dotted: str) -> str | None:
    """The nearest documented ancestor (class or module) of the existing object ``dotted``."""
    objects = env.domains["py"].objects
    name = dotted.rpartition(".")[0]
    while name:
        if name in objects or name in DOCUMENTED_MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def resolve_other_path(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a Python cross-reference that the Python domain did not find.

    In order: another public path of a documented object (a submodule path of a name its package
    re-exports, or a name relative to the docstring's own module); an existing object without a
    page of its own (an attribute, a constant outside ``__all__``) links to its nearest documented
    class or module; an existing private object is shown as plain text. A reference to nothing
    that exists stays broken, and fails the nitpicky build.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    candidates = [target] + [f"{prefix}.{target}" for prefix in _contexts(node)]
    domain = env.domains["py"]

    def resolve(full: str, reftype: str) -> Any:
        new = node.deepcopy()
        new["reftarget"] = full
        return domain.resolve_xref(env, node["refdoc"], app.builder, reftype, full, new, contnode)

    for cand in candidates:
        if not _exists(cand):
            continue
        for full in (_documented_name(cand), cand):
            if full and full != node["reftarget"] and (found := resolve(full, node["reftype"])):
                return found
        if node["reftype"] == "mod" or cand in DOCUMENTED_MODULES:
            found = resolve(_nearest_documented(env, cand + ".x") or "", "mod")
        else:
            ancestor = _nearest_documented(env, _documented_name(cand) or cand)
            found = ancestor and resolve(ancestor, "obj")
        return found or contnode
    # a name written relative to a package that does not re-export it, or with a shorter path:
    # the one documented object whose name ends with it (inside the innermost context that has
    # exactly one)
    own = [n for n, entry in domain.objects.items() if not getattr(entry, "aliased", False)]
    parent, _, last = target.rpartition(".")
    matches = [
        n
        for n in own
        if n.endswith("." + target)
        or (parent and n.startswith(parent + ".") and n.endswith("." + last))
    ]
    for prefix in (
        [parent, *_contexts(node), "neurodl"] if parent else [*_contexts(node), "neurodl"]
    ):
        inside = [n for n in matches if n.startswith(prefix + ".")] if prefix else matches
        if len(inside) == 1:
            return resolve(inside[0], "obj")
    return None


def _exists(dotted: str) -> bool:
    """Whether ``dotted`` names an object, or an attribute a class declares or documents."""
    if _lookup(dotted) is not _MISSING:
        return True
    owner, _, attr = dotted.rpartition(".")
    cls = _lookup(owner) if owner else _MISSING
    if not isinstance(cls, type):
        return False
    annotated = any(attr in getattr(k, "__annotations__", {}) for k in cls.__mro__)
    return (
        annotated or re.search(rf"^\s*{re.escape(attr)}\b.*:", cls.__doc__ or "", re.M) is not None
    )


def escape_shape_stars(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """``autodoc-process-docstring``: plain-text idioms stay text (:func:`escape_docstring_line`)."""
    if any(line.lstrip().startswith(".. _") for line in lines):
        return  # a docstring with its own hyperlink targets is left as written
    lines[:] = [escape_docstring_line(line) for line in lines]


def skip_generated_members(
    app: Any, what: str, name: str, obj: Any, skip: bool, options: Any
) -> Any:
    """``autodoc-skip-member``: skip scikit-learn's generated ``set_*_request`` methods."""
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def public_bases(app: Any, name: str, obj: Any, options: Any, bases: list[type]) -> None:
    """``autodoc-process-bases``: show a private base class as its public bases."""
    out: list[type] = []
    todo = list(bases)
    while todo:
        base = todo.pop(0)
        private = base.__name__.startswith("_") or any(
            p.startswith("_") for p in str(base.__module__).split(".")[1:]
        )
        if private and str(base.__module__).startswith("neurodl"):
            todo[:0] = [b for b in base.__bases__ if b is not object]
        elif base not in out:
            out.append(base)
    bases[:] = out or [object]


def remove_deleted_tutorials(app: Any) -> None:
    """Delete the gallery output of tutorials whose script was deleted or renamed.

    sphinx-gallery leaves it behind, and its page, in no toctree any more, would fail the build.
    Runs before sphinx-gallery writes the gallery (``builder-inited``, priority 400).
    """
    src = Path(app.srcdir)
    scripts = {p.stem for p in (src / "tutorials").glob("*.py")}
    out = src / "auto_tutorials"
    for path in out.glob("plot_*") if out.is_dir() else []:
        if path.is_file() and path.name.split(".", 1)[0] not in scripts:
            path.unlink()


def setup(app: Any) -> dict[str, Any]:
    """Register the page generator and the reference resolver."""
    app.connect("builder-inited", remove_deleted_tutorials, priority=400)
    app.connect("builder-inited", generate)
    app.connect("missing-reference", resolve_other_path)
    app.connect("autodoc-process-docstring", escape_shape_stars)
    app.connect("autodoc-skip-member", skip_generated_members)
    app.connect("autodoc-process-bases", public_bases)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
