"""``neurodl config schema``: every config key with its type, default and meaning.

The common sections come from the strict pydantic models of :mod:`neurodl.workflows.config`,
a task's ``options`` from its registered options model, and the parameters of simulators,
file readers, dataset loaders, samplers and preprocessing steps from their signatures and
numpydoc docstrings (:func:`neurodl.workflows.params.describe_params`). Nothing here is
written by hand, so the schema cannot drift from what the config accepts.

Examples
--------
>>> rows = model_rows(__import__("neurodl.workflows.config", fromlist=["x"]).EvaluationConfig,
...                   "evaluation")
>>> [r.key for r in rows][:2]
['evaluation.protocol', 'evaluation.protocol_params']
"""

from __future__ import annotations

import inspect
import textwrap
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["SchemaRow", "config_schema", "model_rows", "schema_text"]


@dataclass(frozen=True)
class SchemaRow:
    """One key: dotted path, type, default and meaning.

    Examples
    --------
    >>> from neurodl.workflows.config import RunConfig
    >>> row = next(r for r in model_rows(RunConfig, "") if r.key == "evaluation.n_permutations")
    >>> row.type, row.default
    ('int', '200')
    >>> row.meaning.split(";")[0]
    "Label permutations of each model's own permutation test (0: none)"
    """

    key: str
    type: str
    default: str
    meaning: str


def _type_name(ann: Any) -> str:
    """A short readable type (``int``, ``str | None``, ``'a' | 'b'``, ``list[str]``)."""
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(a) for a in args)}]" if args else name
    if ann is type(None):
        return "None"
    if isinstance(ann, type):
        return ann.__name__
    return str(ann).replace("typing.", "")


def _sub_model(ann: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``ann`` (``Model`` or ``Model | None``), if exactly one."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    found = [a for a in typing.get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)]
    return found[0] if len(found) == 1 else None


def _first_paragraph(doc: str | None) -> str:
    text = inspect.cleandoc(doc or "")
    return " ".join(text.split("\n\n", 1)[0].split())


def _default(field: Any) -> str:
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return "(computed)"
        return repr(value.model_dump() if isinstance(value, BaseModel) else value)
    if field.default is PydanticUndefined:
        return "(required)"
    value = field.default
    return repr(value.model_dump() if isinstance(value, BaseModel) else value)


def model_rows(model: type[BaseModel], prefix: str) -> list[SchemaRow]:
    """Every field of ``model`` (nested models walked) as rows keyed ``prefix.field``.

    Examples
    --------
    >>> from neurodl.workflows.config import ReportConfig, RunConfig
    >>> for row in model_rows(ReportConfig, "report"):
    ...     print(row.key, row.type, row.default, sep=" | ")
    report.title | str | None | None
    report.enabled | bool | True
    >>> rows = {r.key: r for r in model_rows(RunConfig, "")}  # nested sections walked
    >>> rows["data"].type, rows["data"].default, rows["data.source"].type
    ('section (DataConfig)', 'None', "'simulate' | 'dataset' | 'file' | 'files'")
    """
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}.{name}" if prefix else name
        sub = _sub_model(field.annotation)
        meaning = " ".join((field.description or "").split())
        if sub is not None and sub.__name__ not in ("TaskOptions",):
            default = _default(field)
            rows.append(
                SchemaRow(
                    key,
                    f"section ({sub.__name__})",
                    default if default in ("None", "(required)") else "(the keys below)",
                    meaning or _first_paragraph(sub.__doc__),
                )
            )
            rows.extend(model_rows(sub, key))
            continue
        rows.append(SchemaRow(key, _type_name(field.annotation), _default(field), meaning))
    return rows


def _callable_rows(func: Callable[..., Any], prefix: str, *, skip: int) -> list[SchemaRow]:
    from .params import describe_params

    return [
        SchemaRow(f"{prefix}.{p.name}", p.type, p.default, p.meaning)
        for p in describe_params(func, skip=skip)
    ]


def _callables() -> list[tuple[str, str, Callable[..., Any], int]]:
    """(title, key prefix, function, leading parameters filled by neurodl) for data params."""
    from ..io import READERS, read_bids, read_epochs, read_suite2p
    from ..preprocessing import PREPROCESSING_STEPS
    from .data import SAMPLERS, SIMULATORS

    out: list[tuple[str, str, Callable[..., Any], int]] = []
    for name, get in SIMULATORS.items():
        func = get()
        out.append((f"simulator {name!r} ({func.__name__})", "data.params", func, 0))
    suffixes: dict[Any, list[str]] = {}
    for suffix, reader in READERS.items():
        suffixes.setdefault(reader, []).append(suffix)
    for reader, sfx in [*suffixes.items(), (read_suite2p, ["suite2p folder"])]:
        out.append((f"reader of {', '.join(sfx)} ({reader.__name__})", "data.params", reader, 1))
    out.append(("reader of a BIDS folder (read_bids)", "data.params", read_bids, 1))
    out.append(
        ("reader of epoched -epo.fif / EEGLAB .set (read_epochs)", "data.params", read_epochs, 1)
    )
    for name, get in SAMPLERS.items():
        func = get()
        out.append((f"sampler {name!r} ({func.__name__})", f"data.to_samples.{name}", func, 1))
    for name, step in PREPROCESSING_STEPS.items():
        target = step.__init__ if isinstance(step, type) else step
        skip = 1 if isinstance(step, type) else 0
        out.append((f"preprocessing step {name!r}", f"preprocessing[].{name}", target, skip))
    return out


def _dataset_callables() -> list[tuple[str, str, Callable[..., Any], int]]:
    from ..datasets import get_dataset, list_datasets

    out = []
    for name in list_datasets():
        loader = get_dataset(name).loader
        if loader is not None:
            out.append((f"dataset {name!r} ({loader.__name__})", "data.params", loader, 1))
    return out


def config_schema(task: str | None = None) -> list[tuple[str, list[SchemaRow]]]:
    """Sections of the schema: ``(title, rows)``; ``task`` adds that task's options.

    Parameters
    ----------
    task : str or None
        A registered task (see :data:`neurodl.workflows.TASKS`): its options are listed and
        the sections it does not read are left out. None lists the common sections and every
        task's options.

    Examples
    --------
    ``task_model`` reads only ``options``, so its schema has no data, model or evaluation keys:

    >>> sections = config_schema("task_model")
    >>> [title.split(":")[0] for title, _ in sections]
    ['config keys (RunConfig)', "options of task 'task_model' (TaskModelOptions)"]
    >>> sorted({row.key.split(".")[0] for row in sections[0][1]})
    ['execution', 'name', 'options', 'privacy', 'report', 'seed', 'task']
    """
    from .config import RunConfig
    from .registry import SECTIONS, TASKS, get_task

    specs = [get_task(task)] if task is not None else [TASKS[n] for n in sorted(TASKS)]
    reads = set(specs[0].reads) if task is not None else set(SECTIONS)
    common = [
        r
        for r in model_rows(RunConfig, "")
        if r.key.split(".")[0] not in SECTIONS or r.key.split(".")[0] in reads
    ]
    sections = [("config keys (RunConfig)", common)]
    tasks = ", ".join(sorted(TASKS))
    sections[0][1][0] = SchemaRow("task", "str", "'decoding'", f"the task to run; one of: {tasks}")
    for spec in specs:
        if "options" not in spec.reads and task is None:
            continue
        rows = model_rows(spec.options, "options")
        title = f"options of task {spec.name!r} ({spec.options.__name__}): {spec.description}"
        sections.append((title, rows or [SchemaRow("options", "-", "-", "no options")]))
    if "data" in reads:
        for title, prefix, func, skip in [*_callables(), *_dataset_callables()]:
            if prefix.startswith("preprocessing") and "preprocessing" not in reads:
                continue
            sections.append((title, _callable_rows(func, prefix, skip=skip)))
    return sections


def schema_text(task: str | None = None, *, width: int = 100) -> str:
    """The schema as text: one block per section, one entry per key.

    Examples
    --------
    >>> text = schema_text("task_model", width=80)
    >>> lines = text.splitlines()
    >>> lines[0]
    'config keys (RunConfig)'
    >>> at = lines.index("  report.title: str | None = None")
    >>> print("\\n".join(lines[at:at + 4]))
      report.title: str | None = None
          Title of ``report.html`` (default: from the task and dataset).
      report.enabled: bool = True
          Write ``report.html`` (``results.json`` is always written).
    """
    out = []
    for title, rows in config_schema(task):
        out.append(title)
        for r in rows:
            out.append(f"  {r.key}: {r.type} = {r.default}")
            if r.meaning:
                out.append(
                    textwrap.fill(
                        r.meaning, width=width, initial_indent="      ", subsequent_indent="      "
                    )
                )
        out.append("")
    return "\n".join(out).rstrip() + "\n"
