"""Every key of ``neurodl config schema`` has a meaning (issue 19).

The meanings come from pydantic attribute docstrings / field descriptions and from the numpydoc
``Parameters`` of simulators, readers, samplers and preprocessing steps; a new option or parameter
without one fails here, naming the key. The negative controls check that an undocumented field or
parameter is caught.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field

from neurodl.workflows.config import TaskOptions
from neurodl.workflows.params import describe_params
from neurodl.workflows.registry import TASKS
from neurodl.workflows.schema import SchemaRow, config_schema, model_rows


def _undescribed(sections: list[tuple[str, list[SchemaRow]]]) -> list[str]:
    """``'<section title>: <key>'`` for each key whose meaning is empty."""
    return [
        f"{title.split(':')[0]}: {row.key}"
        for title, rows in sections
        for row in rows
        if not row.meaning.strip()
    ]


def test_every_common_key_and_every_option_has_a_meaning() -> None:
    missing = _undescribed(config_schema(None))
    assert not missing, (
        f"{len(missing)} config key(s) without a meaning (add an attribute docstring or a numpydoc "
        "Parameters entry):\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_key_of_each_task_schema_has_a_meaning(task: str) -> None:
    sections = config_schema(task)
    keys = [r.key for _, rows in sections for r in rows]
    assert "task" in keys
    if "options" in TASKS[task].reads:
        assert any(title.startswith(f"options of task {task!r}") for title, _ in sections)
    missing = _undescribed(sections)
    assert not missing, f"task {task!r}: keys without a meaning:\n" + "\n".join(missing)


class _Documented(TaskOptions):
    """A small options model."""

    alpha: float = 0.1
    """Significance level."""
    window: float = Field(2.0, description="Window length in s.")
    n_boot: int = 100


def test_an_undocumented_field_is_caught() -> None:
    rows = model_rows(_Documented, "options")
    meanings = {r.key: r.meaning for r in rows}
    assert meanings["options.alpha"] == "Significance level."  # attribute docstring
    assert meanings["options.window"] == "Window length in s."  # Field description
    missing = _undescribed([("options of a test model", rows)])
    assert missing == ["options of a test model: options.n_boot"]


def _reader(path: str, *, tr: float = 2.0, run: str | None = None) -> Any:
    """Read something.

    Parameters
    ----------
    path : str
    tr : float, default=2.0
        Repetition time in s.
    run : str or None
    """


class _Step:
    """A step documented the numpydoc way: the constructor's parameters in the class docstring.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    order : int
    """

    def __init__(self, sfreq: float = 1.0, order: int = 1) -> None:
        self.sfreq, self.order = sfreq, order


def test_an_undescribed_parameter_is_caught() -> None:
    rows = [
        SchemaRow(f"data.params.{p.name}", p.type, p.default, p.meaning)
        for p in describe_params(_reader, skip=1)
    ]
    assert {r.key: r.meaning for r in rows}["data.params.tr"] == "Repetition time in s."
    assert _undescribed([("reader", rows)]) == ["reader: data.params.run"]
    step = {p.name: p.meaning for p in describe_params(_Step.__init__, skip=1)}
    assert step == {"sfreq": "Sampling rate in Hz.", "order": ""}
