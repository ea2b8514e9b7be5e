"""Run a validated config end to end and write its outputs safely.

The output folder is written atomically: everything goes to a temporary sibling folder that
replaces the target only when the run succeeded, so a failed run never destroys a previous result
and an existing folder is never overwritten without ``overwrite=True``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import OutputExistsError
from . import tasks as _tasks  # noqa: F401  (registers every task)
from .config import RunConfig
from .registry import RunContext, get_task
from .results import TaskResult
from .validate import task_options

__all__ = ["RunResult", "run_config"]


@dataclass
class RunResult:
    """What a run produced: the typed result and the paths written."""

    result: TaskResult
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def results(self) -> dict:
        """The results as written to ``results.json`` (a dict)."""
        return self.result.to_dict()


def _prepare_out(out_dir: Path, overwrite: bool) -> Path:
    if out_dir.exists() and not overwrite:
        raise OutputExistsError(
            f"Output folder {str(out_dir)!r} already exists; pass --overwrite (overwrite=True) "
            "to replace it, or choose another --out."
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))


def _commit_out(tmp: Path, out_dir: Path) -> None:
    if out_dir.exists():
        backup = out_dir.with_name(f".{out_dir.name}.old-{time.time_ns()}")
        out_dir.rename(backup)
        tmp.rename(out_dir)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        tmp.rename(out_dir)


def run_config(
    cfg: RunConfig,
    out_dir: str | Path | None = None,
    *,
    overwrite: bool = False,
    config_text: str | None = None,
) -> RunResult:
    """Run the task described by ``cfg``; write ``results.json`` and ``report.html``.

    Parameters
    ----------
    cfg : RunConfig
        A validated config (see :func:`neurodl.workflows.load_config`).
    out_dir : path or None
        Output folder; ``None`` computes the results without writing anything.
    overwrite : bool
        Replace an existing ``out_dir`` (only after the new run succeeded).
    config_text : str or None
        The config file as the user wrote it, shown in the report.

    Returns
    -------
    RunResult
        ``result`` is the task's typed result (:class:`~neurodl.workflows.results.TaskResult`).
    """
    from .. import __version__

    spec = get_task(cfg.task)
    options = task_options(cfg)
    t0 = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else None
    tmp = _prepare_out(out, overwrite) if out is not None else None
    try:
        result = spec.run(RunContext(cfg, options, tmp, config_text))
        if not isinstance(result, spec.result):
            raise TypeError(
                f"task {cfg.task!r} returned a {type(result).__name__}, not a "
                f"{spec.result.__name__}"
            )
        result = result.model_copy(
            update={
                "task": cfg.task,
                "name": cfg.name,
                "seed": cfg.seed,
                "config": cfg.model_dump(),
                "neurodl_version": __version__,
                "duration_s": round(time.perf_counter() - t0, 2),
            }
        )
        result = spec.result.from_dict(result.to_dict())  # what results.json will hold
        run = RunResult(result)
        if tmp is not None and out is not None:
            (tmp / "results.json").write_text(json.dumps(result.to_dict(), indent=2))
            _commit_out(tmp, out)
            run.out_dir = out
            run.files = {p.name: out / p.name for p in out.iterdir()}
        return run
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
