"""The config reference, written from the pydantic schemas when the docs build.

:class:`neurodl.workflows.config.RunConfig` gives the sections of every config; each registered
task (:data:`neurodl.workflows.TASKS`) gives its ``options`` model and its result class. Every
table below is generated from ``model_json_schema()`` / ``json_schema()``, never written by hand.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import textwrap
import typing
from typing import Any

from .markdown import escape_docstring_line

__all__ = [
    "attribute_docs",
    "config_reference_rst",
    "enrich_schema",
    "model_classes",
    "schema_type",
    "task_page_rst",
]


def schema_type(prop: dict[str, Any]) -> str:
    """A short type for one JSON-schema property (``int``, ``list of str``, ``'a' | 'b'`` ...)."""
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "const" in prop:
        return repr(prop["const"])
    if "enum" in prop:
        return " | ".join(repr(v) for v in prop["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in prop:
            return " or ".join(dict.fromkeys(schema_type(p) for p in prop[key]))
    kind = prop.get("type")
    if kind == "array":
        items = prop.get("items")
        return f"list of {schema_type(items)}" if items else "list"
    if kind == "object":
        extra = prop.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return f"mapping of str to {schema_type(extra)}"
        return "mapping"
    names = {"integer": "int", "number": "float", "string": "str", "boolean": "bool"}
    if isinstance(kind, list):
        return " or ".join(names.get(k, str(k)) for k in kind)
    return names.get(kind, str(kind)) if kind else "any"


def attribute_docs(cls: type) -> dict[str, str]:
    """The string literal written under each field of ``cls`` (and its bases), by field name.

    Pydantic reads these only with ``use_attribute_docstrings``; the reference shows them
    whatever the model's setting.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not str(getattr(klass, "__module__", "")).startswith("neurodl"):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for stmt, nxt in itertools.pairwise(body):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[stmt.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


def model_classes(model: type) -> dict[str, type]:
    """Every pydantic model reachable from ``model``'s fields, by class name (``$defs`` keys)."""
    from pydantic import BaseModel

    found: dict[str, type] = {}
    todo: list[Any] = [model]
    while todo:
        item = todo.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            if item.__name__ in found:
                continue
            found[item.__name__] = item
            todo += [f.annotation for f in item.model_fields.values()]
        else:
            todo += list(typing.get_args(item))
    return found


def enrich_schema(schema: dict[str, Any], model: type) -> dict[str, Any]:
    """Add field docstrings and factory defaults to ``schema`` (a model's JSON schema)."""
    classes = model_classes(model)
    parts = [(schema, model)] + [
        (sub, classes[name]) for name, sub in schema.get("$defs", {}).items() if name in classes
    ]
    for part, cls in parts:
        docs = attribute_docs(cls)
        for name, prop in part.get("properties", {}).items():
            if not prop.get("description") and name in docs:
                prop["description"] = docs[name]
            field = cls.model_fields.get(name)
            if field is not None and field.default_factory is not None and "default" not in prop:
                try:
                    value = field.default_factory()
                    json.dumps(value)
                except (TypeError, ValueError):
                    continue
                prop["default"] = value
    return schema


def _bounds(prop: dict[str, Any]) -> str:
    marks = {
        "minimum": ">=",
        "exclusiveMinimum": ">",
        "maximum": "<=",
        "exclusiveMaximum": "<",
        "minItems": "items >=",
        "maxItems": "items <=",
    }
    return ", ".join(f"{sign} {prop[key]}" for key, sign in marks.items() if key in prop)


def _literal(value: Any) -> str:
    text = json.dumps(value, default=str)
    return f"``{text}``" if text.strip() else ""


def _cell(text: str, indent: str = "       ") -> str:
    """A list-table cell holding ``text`` (reStructuredText, possibly several lines)."""
    lines = [escape_docstring_line(ln) for ln in textwrap.dedent(text).strip().splitlines()]
    lines = lines or [""]
    return lines[0] + "".join("\n" + (indent + ln if ln.strip() else "") for ln in lines[1:])


def _fields_table(schema: dict[str, Any]) -> list[str]:
    props = schema.get("properties", {})
    if not props:
        return ["(no fields)", ""]
    required = set(schema.get("required", []))
    out = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 18 22 15 45",
        "",
        "   * - key",
        "     - type",
        "     - default",
        "     - meaning",
    ]
    for name, prop in props.items():
        default = "required" if name in required else _literal(prop.get("default"))
        if name not in required and "default" not in prop:
            default = "(computed)"
        kind = schema_type(prop)
        bounds = _bounds(prop)
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        bounds = ", ".join(b for b in (bounds, _bounds(items) and f"each {_bounds(items)}") if b)
        out += [
            f"   * - ``{name}``",
            f"     - ``{kind}``" + (f" ({bounds})" if bounds else ""),
            f"     - {default}",
            f"     - {_cell(prop.get('description', ''))}",
        ]
    return [*out, ""]


def _model_section(name: str, schema: dict[str, Any], char: str, anchor: str) -> list[str]:
    out = [f".. _{anchor}:", "", name, char * max(len(name), 4), ""]
    description = schema.get("description", "")
    if description:
        out += [_cell(description, ""), ""]
    return out + _fields_table(schema)


def _models(schema: dict[str, Any], title: str, prefix: str, char: str) -> list[str]:
    out = _model_section(title, schema, char, prefix)
    for name, sub in schema.get("$defs", {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            out += _model_section(name, sub, "^" if char == "~" else "~", f"{prefix}-{name}")
    return out


def config_reference_rst(run_config: type, tasks: dict[str, Any]) -> str:
    """The config reference's index page: the sections of a config, and a table of the tasks."""
    out = [
        ".. _config-reference:",
        "",
        f".. currentmodule:: {run_config.__module__}",
        "",
        "Config reference",
        "================",
        "",
        "Generated from the schemas when the documentation is built: the sections of every",
        "config (:class:`neurodl.workflows.config.RunConfig`), then one page per registered",
        "task with its ``options`` and the fields of its ``results.json``. Unknown keys are",
        "refused everywhere; ``neurodl run CONFIG.yaml --check`` validates a config.",
        "",
        ".. list-table:: Tasks (``task:`` in a config)",
        "   :header-rows: 1",
        "   :widths: 20 55 25",
        "",
        "   * - task",
        "     - what it does",
        "     - sections it reads",
    ]
    for name in sorted(tasks):
        spec = tasks[name]
        reads = ", ".join(f"``{s}``" for s in sorted(spec.reads)) or "(options only)"
        out += [
            f"   * - :ref:`{name} <task-{name}>`",
            f"     - {_cell(spec.description)}",
            f"     - {reads}",
        ]
    out += ["", ".. toctree::", "   :maxdepth: 1", "   :hidden:", ""]
    out += [f"   task_{name}" for name in sorted(tasks)]
    out += [""]
    schema = enrich_schema(run_config.model_json_schema(), run_config)
    out += _models(schema, "Sections of a config", "config-run", "-")
    return "\n".join(out) + "\n"


def task_page_rst(spec: Any, examples: list[str]) -> str:
    """One task's page: description, sections read, options, result fields, example configs."""
    name = spec.name
    title = f"Task ``{name}``"
    out = [f".. _task-{name}:", "", title, "=" * len(title), "", _cell(spec.description, ""), ""]
    out += [f".. currentmodule:: {spec.options.__module__}", ""]
    reads = ", ".join(f"``{s}``" for s in sorted(spec.reads)) or "only ``options``"
    out += [
        f"Reads the config sections: {reads} (plus ``task``, ``name``, ``seed``, ``report``).",
        "",
    ]
    if examples:
        out += ["Example configs in ``examples/``: " + ", ".join(f"``{e}``" for e in examples), ""]
    out += [
        f"Options and results are ``{spec.options.__module__}.{spec.options.__qualname__}``"
        f" and ``{spec.result.__module__}.{spec.result.__qualname__}``.",
        "",
    ]
    options = enrich_schema(spec.options.model_json_schema(), spec.options)
    out += _models(options, "Options", f"task-{name}-options", "-")
    result_schema = enrich_schema(spec.result.json_schema(), spec.result)
    out += _models(result_schema, "Results (results.json)", f"task-{name}-results", "-")
    return "\n".join(out) + "\n"
