"""The run layer: config-driven tasks, each a self-registering module with a typed result.

``parse_config``/``load_config`` validate a config against the registered tasks
(:mod:`neurodl.workflows.tasks`), ``run_config`` runs it and writes ``results.json`` (a typed
:class:`~neurodl.workflows.results.TaskResult`) and ``report.html``.
"""

from .registry import TASKS, get_task, register_task
from .results import SCHEMA_VERSION, TaskResult
from .run import RunResult, run_config
from .validate import load_config, parse_config

__all__ = [
    "SCHEMA_VERSION",
    "TASKS",
    "RunResult",
    "TaskResult",
    "get_task",
    "load_config",
    "parse_config",
    "register_task",
    "run_config",
]
