"""Run a validated config end to end and write its outputs safely.

The output folder is written atomically (see :mod:`neurodl.workflows.outdir`): the run claims it
with an exclusive lock, writes everything to a temporary sibling folder that replaces the target
only when the run succeeded, so a failed run never destroys a previous result, a concurrent run to
the same folder is refused, and ``overwrite=True`` only ever replaces a folder neurodl wrote.
"""

from __future__ import annotations

import errno
import json
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from ..execution import use_execution
from ..privacy import (
    active_pseudonyms,
    redact_paths,
    remember_pseudonyms,
    replace_codes,
    scrub_folder,
)
from . import tasks as _tasks  # noqa: F401  (registers every task)
from ._progress import task_progress
from .config import RunConfig
from .data import reuse_loaded_samples
from .fit_checks import collect_warnings, finish_warnings, flag_report
from .outdir import MARKER, OutputClaim, claim_output, output_error
from .precheck import check_samples
from .registry import RunContext, get_task
from .results import TaskResult
from .validate import task_options

__all__ = ["RunResult", "run_config"]


def _privacy_settings(cfg: RunConfig) -> AbstractContextManager[None]:
    """The config's ``privacy`` section as settings (on top of the CLI flag / environment)."""
    from .._config import config_context

    if cfg.privacy.pseudonymise_subjects:
        return config_context(pseudonymise_subjects=True)
    return nullcontext()


@dataclass
class RunResult:
    """What a run produced: the typed result and the paths written.

    Examples
    --------
    >>> import json, tempfile
    >>> from neurodl import config_context
    >>> from neurodl.workflows import parse_config
    >>> cfg = parse_config({
    ...     "data": {"source": "simulate", "simulator": "motor_imagery",
    ...              "params": {"n_subjects": 1, "n_sessions": 1, "n_trials": 40,
    ...                         "n_channels": 4}},
    ...     "preprocessing": [{"log_bandpower": {"bands": [[8, 13], [13, 30]]}}],
    ...     "model": {"name": "lda"}, "report": {"enabled": False},
    ...     "evaluation": {"n_permutations": 0, "n_boot": 0, "protocol_params": {"n_splits": 4}},
    ...     "options": {"saliency": False, "pairwise": "off"},
    ... })
    >>> with tempfile.TemporaryDirectory() as tmp, config_context(progress=False):
    ...     run = run_config(cfg, Path(tmp) / "out")
    ...     print(run.out_dir.name, sorted(run.files))
    ...     on_disk = json.loads(run.files["results.json"].read_text())
    out ['results.json']
    >>> on_disk == run.results, run.results["task"], run.results["score_mean"]
    (True, 'decoding', 0.7)
    """

    result: TaskResult
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def results(self) -> dict:
        """The results as written to ``results.json`` (a dict)."""
        return self.result.to_dict()


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

    Examples
    --------
    Decode 40 simulated motor-imagery trials with log band power and LDA (4 folds, 19 label
    permutations, so the smallest possible p is 1/20):

    >>> import tempfile
    >>> from neurodl import config_context
    >>> from neurodl.workflows import parse_config
    >>> cfg = parse_config({
    ...     "data": {"source": "simulate", "simulator": "motor_imagery",
    ...              "params": {"n_subjects": 1, "n_sessions": 1, "n_trials": 40,
    ...                         "n_channels": 4}},
    ...     "preprocessing": [{"log_bandpower": {"bands": [[8, 13], [13, 30]]}}],
    ...     "model": {"name": "lda"}, "report": {"enabled": False},
    ...     "evaluation": {"n_permutations": 19, "n_boot": 200,
    ...                    "protocol_params": {"n_splits": 4}},
    ...     "options": {"saliency": False, "pairwise": "off"},
    ... })
    >>> with config_context(progress=False):
    ...     run = run_config(cfg)  # out_dir=None: nothing written
    >>> run.out_dir, run.files
    (None, {})
    >>> for line in run.result.summary_lines():
    ...     print(line)
    simulated:motor_imagery | within-session | lda
    lda: balanced_accuracy = 0.700 [0.550, 0.825] (chance 0.500, permutation p = 0.0500, 4 splits)
    >>> with tempfile.TemporaryDirectory() as tmp, config_context(progress=False):
    ...     _ = run_config(cfg, Path(tmp) / "out")
    ...     try:  # a second run to the same folder needs overwrite=True
    ...         run_config(cfg, Path(tmp) / "out")
    ...     except FileExistsError as err:  # an OutputExistsError
    ...         print(str(err).replace(tmp, "TMP").split(";")[0])
    Output folder 'TMP/out' already exists
    """
    from .. import __version__

    spec = get_task(cfg.task)
    options = task_options(cfg)
    t0 = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else None
    claim: OutputClaim | None = claim_output(out, overwrite=overwrite) if out is not None else None
    remember_pseudonyms(None)
    tmp = claim.tmp_dir if claim is not None else None
    try:
        with (
            _privacy_settings(cfg),
            reuse_loaded_samples(),
            collect_warnings(),
            use_execution(cfg.execution.to_config(cfg.config_dir)),
        ):
            check_samples(cfg)  # labels and folds, before anything is fitted
            with task_progress(cfg.task):  # epochs of networks trained outside a fold loop
                result = spec.run(RunContext(cfg, options, tmp, config_text))
            result = finish_warnings(result)  # failed fits: results.json["warnings"]
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
        # what results.json will hold: no absolute machine paths (config echoes, sources), and
        # pseudonyms instead of subject codes when that setting is on
        codes = active_pseudonyms()
        result = spec.result.from_dict(replace_codes(redact_paths(result.to_dict()), codes))
        run = RunResult(result)
        if claim is not None and out is not None:
            flag_report(claim.tmp_dir / "report.html", result.warnings)
            scrub_folder(claim.tmp_dir, codes)  # the report and any other file the task wrote
            (claim.tmp_dir / "results.json").write_text(json.dumps(result.to_dict(), indent=2))
            claim.publish()
            run.out_dir = out
            run.files = {p.name: out / p.name for p in out.iterdir() if p.name != MARKER}
        return run
    except OSError as err:  # disk full / read-only while writing: one clear line
        clear = output_error(err, out) if out is not None else None
        if clear is None or getattr(err, "errno", None) in (errno.EACCES, errno.EPERM):
            raise
        raise clear from err
    finally:
        if claim is not None:
            claim.release()
