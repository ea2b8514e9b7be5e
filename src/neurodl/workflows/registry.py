"""The task registry: each task module registers its runner with :func:`register_task`.

A task is one module under :mod:`neurodl.workflows.tasks`: an options model (strict pydantic),
a typed result class (:class:`~neurodl.workflows.results.TaskResult`), a runner and its report
builder. The decorator records which config sections the task reads; any other section given
in a config is refused when the config is parsed. Adding a task means adding one module (and
importing it in :mod:`neurodl.workflows.tasks`) and its test.

Examples
--------
>>> from neurodl.workflows.config import TaskOptions
>>> from neurodl.workflows.results import TaskResult
>>> class EchoOptions(TaskOptions):
...     word: str = "hi"
>>> class EchoResult(TaskResult):
...     word: str
>>> registry = {}
>>> @register_task("echo", options=EchoOptions, result=EchoResult, reads=("data", "options"),
...                description="say the word", registry=registry)
... def run_echo(ctx):
...     return EchoResult(task="echo", name=ctx.cfg.name, word=ctx.options.word)
>>> sorted(registry["echo"].reads)
['data', 'options']
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError

# Annotations below name the config and result classes without importing them: the config
# module looks tasks up here, so importing it from this module would close a circle.
RunConfig = TaskOptions = TaskResult = Any

__all__ = [
    "SECTIONS",
    "TASKS",
    "RunContext",
    "TaskSpec",
    "get_task",
    "register_task",
    "unused_sections_message",
]

#: Config sections a task may read (``report``, ``task``, ``name`` and ``seed`` are always read).
SECTIONS = ("data", "preprocessing", "model", "evaluation", "options")


@dataclass
class RunContext:
    """What a runner gets: the validated config and options, and where to write.

    Attributes
    ----------
    cfg : RunConfig
    options : TaskOptions
        The task's validated options.
    out_dir : Path or None
        A temporary folder that becomes the output folder when the run succeeds (None: compute
        only, write nothing).
    config_text : str or None
        The config file as the user wrote it (shown in the report).

    Examples
    --------
    >>> from neurodl.workflows import parse_config
    >>> cfg = parse_config({"task": "decoding",
    ...                     "data": {"source": "simulate", "simulator": "motor_imagery"}})
    >>> ctx = RunContext(cfg, cfg.task_options())
    >>> ctx.write_report  # no out_dir: compute only, write nothing
    False
    >>> RunContext(cfg, cfg.task_options(), out_dir=Path("out")).write_report
    True
    """

    cfg: RunConfig
    options: TaskOptions
    out_dir: Path | None = None
    config_text: str | None = None

    @property
    def write_report(self) -> bool:
        """Whether the runner should write ``report.html`` into :attr:`out_dir`."""
        return self.out_dir is not None and self.cfg.report.enabled


@dataclass(frozen=True)
class TaskSpec:
    """A registered task: options model, result class, runner, sections read, description.

    Examples
    --------
    >>> spec = get_task("decoding")
    >>> spec.options.__name__, spec.result.__name__, spec.run.__name__
    ('DecodingOptions', 'DecodingTaskResult', 'run_decoding')
    >>> sorted(spec.reads)
    ['data', 'evaluation', 'model', 'options', 'preprocessing']
    >>> spec.description
    'classify (or regress) labelled samples under a leakage-safe protocol'
    """

    name: str
    options: type[TaskOptions]
    result: type[TaskResult]
    run: Callable[[RunContext], TaskResult]
    reads: frozenset[str]
    description: str


#: Every registered task by name (filled when :mod:`neurodl.workflows.tasks` is imported).
TASKS: dict[str, TaskSpec] = {}


def register_task(
    name: str,
    *,
    options: type[TaskOptions],
    result: type[TaskResult],
    reads: Iterable[str],
    description: str,
    registry: dict[str, TaskSpec] | None = None,
) -> Callable[[Callable[[RunContext], TaskResult]], Callable[[RunContext], TaskResult]]:
    """Decorator registering ``run(ctx) -> TaskResult`` as task ``name``.

    Parameters
    ----------
    name : str
        The config's ``task`` value; a duplicate raises.
    options : type
        Strict pydantic model of the task's ``options`` section.
    result : type
        The task's :class:`~neurodl.workflows.results.TaskResult` subclass.
    reads : iterable of str
        The config sections (of :data:`SECTIONS`) the task uses; a config giving any other
        is refused.
    description : str
        One line for listings.
    registry : dict, optional
        Where to register (default :data:`TASKS`; tests pass their own).

    Examples
    --------
    >>> from neurodl.workflows.config import TaskOptions
    >>> from neurodl.workflows.results import TaskResult
    >>> class EchoOptions(TaskOptions):
    ...     word: str = "hi"
    >>> class EchoResult(TaskResult):
    ...     word: str
    >>> registry = {}
    >>> @register_task("echo", options=EchoOptions, result=EchoResult, reads=["options"],
    ...                description="say the word", registry=registry)
    ... def run_echo(ctx):
    ...     return EchoResult(task="echo", name=ctx.cfg.name, word=ctx.options.word)
    >>> registry["echo"].run is run_echo, sorted(registry["echo"].reads)
    (True, ['options'])
    >>> try:
    ...     register_task("echo2", options=EchoOptions, result=EchoResult, reads=["params"],
    ...                   description="", registry=registry)
    ... except ValueError as err:
    ...     print(err)
    Unknown config section(s) ['params']; known: ('data', 'preprocessing', 'model', \
'evaluation', 'options').
    """
    reads = frozenset(reads)
    unknown = reads - set(SECTIONS)
    if unknown:
        raise ValueError(f"Unknown config section(s) {sorted(unknown)}; known: {SECTIONS}.")
    target = TASKS if registry is None else registry

    def decorate(run: Callable[[RunContext], TaskResult]) -> Callable[[RunContext], TaskResult]:
        if name in target:
            raise ValueError(f"Task {name!r} is already registered.")
        target[name] = TaskSpec(name, options, result, run, reads, description)
        return run

    return decorate


def get_task(name: str) -> TaskSpec:
    """The registered task ``name``; an unknown name lists the known ones.

    Examples
    --------
    >>> get_task("time_resolved").options.__name__
    'TimeResolvedOptions'
    >>> try:
    ...     get_task("decodng")
    ... except ValueError as err:  # a ConfigError
    ...     print(str(err).split(" Known")[0])
    Unknown task 'decodng'. Did you mean 'decoding'?
    """
    if name not in TASKS:
        close = difflib.get_close_matches(name, list(TASKS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"Unknown task {name!r}.{hint} Known tasks: {', '.join(sorted(TASKS))}."
        )
    return TASKS[name]


def _unused(spec: TaskSpec, given: Iterable[str]) -> list[str]:
    return sorted(set(given) & set(SECTIONS) - spec.reads)


def unused_sections_message(spec: TaskSpec, given: Iterable[str]) -> str | None:
    """The refusal for config sections ``spec`` does not read (None when all are read).

    Examples
    --------
    ``task_model`` generates its own trials, so it reads no ``data`` or ``model``:

    >>> spec = get_task("task_model")
    >>> print(unused_sections_message(spec, ["data", "model", "options"]))
    task 'task_model' does not use the section(s) 'data', 'model'; it reads: options, report. \
Remove them (task settings go under 'options').
    >>> print(unused_sections_message(get_task("decoding"), ["data", "model"]))
    None
    """
    unused = _unused(spec, given)
    if not unused:
        return None
    reads = ", ".join(s for s in (*SECTIONS, "report") if s in spec.reads or s == "report")
    return (
        f"task {spec.name!r} does not use the section(s) {', '.join(map(repr, unused))}; "
        f"it reads: {reads}. Remove them (task settings go under 'options')."
    )

