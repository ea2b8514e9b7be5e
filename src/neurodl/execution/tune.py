"""Run search trials step by step, stopping bad ones early: locally or with Ray Tune.

A *trial* is one configuration (a dict of hyper-parameters) scored in ``n_steps`` steps (the
inner cross-validation folds of a hyper-parameter search, or epochs); its score after ``k``
steps is the mean of its first ``k`` step scores. :func:`run_trials` runs every trial on the
backend in force, the same engine as :func:`~neurodl.execution.run_units`:

- ``local``: synchronous successive halving (``scheduler="asha"``): all trials run up to the
  first rung (``grace_period`` steps), the best ``1 / reduction_factor`` continue to the next
  rung (``grace_period * reduction_factor`` steps), and so on up to ``n_steps``; each rung's
  steps are independent units (a joblib pool when ``n_jobs`` is not 1). ``scheduler="none"``
  runs every step of every trial.
- ``ray``: a Ray Tune ``Tuner`` over the trial indices, one Tune trial per configuration, with
  Tune's asynchronous successive halving (``ASHAScheduler`` on the running mean) or none.

Step functions must be deterministic given ``(shared, config, step)``; then both backends give
identical step scores, and with ``scheduler="none"`` identical trial scores.

Examples
--------
>>> def step(shared, config, k):
...     return -((config["x"] - shared) ** 2) + 0.01 * k
>>> trials = run_trials(step, [{"x": 0}, {"x": 1}, {"x": 3}], 2, shared=1, scheduler="none")
>>> [t.n_steps for t in trials], max(trials, key=lambda t: t.score).config
([2, 2, 2], {'x': 1})
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._logging import logger
from ..exceptions import ConfigError, MissingDependencyError
from .config import RAY_RESOURCE_KEYS, ExecutionConfig, get_execution
from .run import run_units

__all__ = ["TRIAL_SCHEDULERS", "TrialRecord", "run_trials"]

#: scheduler name -> what it does
TRIAL_SCHEDULERS = {
    "asha": "successive halving over steps: trials behind at a rung stop early",
    "none": "every trial runs all its steps",
}


@dataclass
class TrialRecord:
    """One trial of :func:`run_trials`.

    Attributes
    ----------
    index : int
        Position of the configuration in the ``configs`` given.
    config : dict
        The configuration.
    step_scores : list of float
        Score of each step run, in step order (fewer than ``n_steps`` when stopped early).
    stopped : bool
        True when the scheduler stopped the trial before its last step.

    Examples
    --------
    >>> rec = TrialRecord(index=0, config={"lr": 0.1}, step_scores=[0.6, float("nan"), 0.8])
    >>> rec.n_steps, round(rec.score, 2)  # the NaN step is ignored
    (3, 0.7)
    >>> TrialRecord(1, {"lr": 1.0}, [float("nan")]).score
    nan
    """

    index: int
    config: dict[str, Any]
    step_scores: list[float] = field(default_factory=list)
    stopped: bool = False

    @property
    def n_steps(self) -> int:
        """Steps run."""
        return len(self.step_scores)

    @property
    def score(self) -> float:
        """Mean of the step scores run (NaN steps ignored; NaN when none is finite)."""
        v = np.asarray(self.step_scores, dtype=float)
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def _check(
    configs: Sequence[Mapping[str, Any]],
    n_steps: int,
    mode: str,
    scheduler: str,
    reduction_factor: float,
    grace_period: int,
) -> None:
    if not configs:
        raise ConfigError("Invalid value for 'configs': at least one trial configuration needed.")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ConfigError(f"Invalid value for 'n_steps'. Allowed: an int >= 1; got {n_steps!r}.")
    if mode not in ("max", "min"):
        raise ConfigError(f"Invalid value for 'mode'. Allowed: 'max', 'min'; got {mode!r}.")
    if scheduler not in TRIAL_SCHEDULERS:
        raise ConfigError(
            f"Invalid value for 'scheduler'. Allowed: "
            f"{', '.join(repr(k) for k in TRIAL_SCHEDULERS)}; got {scheduler!r}."
        )
    if not isinstance(reduction_factor, int | float) or not reduction_factor >= 2:
        raise ConfigError(
            f"Invalid value for 'reduction_factor'. Allowed: a number >= 2; got "
            f"{reduction_factor!r}."
        )
    if isinstance(grace_period, bool) or not isinstance(grace_period, int) or grace_period < 1:
        raise ConfigError(
            f"Invalid value for 'grace_period'. Allowed: an int >= 1; got {grace_period!r}."
        )


def _rungs(n_steps: int, grace_period: int, reduction_factor: float) -> list[int]:
    """Step counts at which the local scheduler compares trials (the last is ``n_steps``)."""
    out, t = [], float(grace_period)
    while t < n_steps:
        out.append(int(t))
        t *= reduction_factor
    return [*sorted(set(out)), n_steps]


def _step_unit(shared: tuple, unit: tuple[int, int]) -> float:
    fn, data, configs = shared
    trial, step = unit
    return float(fn(data, configs[trial], step))


def _run_local(
    fn: Callable[[Any, dict[str, Any], int], float],
    records: list[TrialRecord],
    n_steps: int,
    shared: Any,
    sign: float,
    scheduler: str,
    reduction_factor: float,
    grace_period: int,
    n_jobs: int | None,
) -> None:
    rungs = [n_steps] if scheduler == "none" else _rungs(n_steps, grace_period, reduction_factor)
    alive = list(range(len(records)))
    data = (fn, shared, [r.config for r in records])
    done = 0
    for r_i, rung in enumerate(rungs):
        units = [(t, s) for t in alive for s in range(done, rung)]
        scores = run_units(_step_unit, units, shared=data, n_jobs=n_jobs, execution="local")
        for (t, _), value in zip(units, scores, strict=True):
            records[t].step_scores.append(value)
        done = rung
        if r_i == len(rungs) - 1:
            break
        keep = max(1, math.ceil(len(alive) / reduction_factor))
        # rank by the running mean (NaN last); ties keep the earlier trial
        order = sorted(alive, key=lambda t: (_rank(records[t].score, sign), t))
        for t in order[keep:]:
            records[t].stopped = True
        alive = sorted(order[:keep])


def _rank(score: float, sign: float) -> float:
    return -sign * score if math.isfinite(score) else math.inf


def _tune_trainable(
    config: dict[str, Any], fn: Any = None, shared: Any = None, configs: Any = None
) -> None:
    from ray import tune

    trial = config["trial"]
    scores: list[float] = []
    for step in range(config["n_steps"]):
        scores.append(float(fn(shared, configs[trial], step)))
        v = np.asarray(scores)
        mean = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
        tune.report({"score": mean, "step_score": scores[-1], "steps": step + 1})


def _run_ray(
    fn: Callable[[Any, dict[str, Any], int], float],
    records: list[TrialRecord],
    n_steps: int,
    shared: Any,
    mode: str,
    scheduler: str,
    reduction_factor: float,
    grace_period: int,
    cfg: ExecutionConfig,
) -> None:
    from .ray_backend import connect_ray

    connect_ray(cfg)
    try:
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    except ImportError as err:  # pragma: no cover - exercised where Ray Tune is absent
        raise MissingDependencyError(
            "a search on execution backend 'ray' needs Ray Tune: pip install 'ray[tune]' "
            "(or run it with execution.backend: local)."
        ) from err

    sched: Any = FIFOScheduler()
    if scheduler == "asha":
        sched = ASHAScheduler(
            time_attr="training_iteration",
            max_t=n_steps,
            grace_period=min(grace_period, n_steps),
            reduction_factor=reduction_factor,
        )
    trainable = tune.with_parameters(
        _tune_trainable, fn=fn, shared=shared, configs=[r.config for r in records]
    )
    res = {k: v for k, v in cfg.resources.items() if k in RAY_RESOURCE_KEYS}
    custom = {k: v for k, v in cfg.resources.items() if k not in RAY_RESOURCE_KEYS}
    res = {"cpu": res.pop("num_cpus", 1), "gpu": res.pop("num_gpus", 0), **res, **custom}
    trainable = tune.with_resources(trainable, res)
    storage = tempfile.mkdtemp(prefix="ndl-tune-")
    # Tune's new console output prints a table to stdout whatever ``verbose`` says: the old
    # reporter honours verbose=0 (a user's own setting is kept)
    quiet = "RAY_AIR_NEW_OUTPUT" not in os.environ
    if quiet:
        os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    try:
        tuner = tune.Tuner(
            trainable,
            param_space={
                "trial": tune.grid_search(list(range(len(records)))),
                "n_steps": n_steps,
            },
            tune_config=tune.TuneConfig(
                metric="score", mode=mode, scheduler=sched, reuse_actors=True
            ),
            run_config=tune.RunConfig(
                storage_path=storage,
                verbose=0,
                log_to_file=False,
                failure_config=tune.FailureConfig(max_failures=cfg.max_retries),
            ),
        )
        grid = tuner.fit()
        for result in grid:
            if result.error is not None:
                raise result.error
            rec = records[int(result.config["trial"])]
            df = result.metrics_dataframe.sort_values("steps")
            rec.step_scores = [float(v) for v in df["step_score"]]
            rec.stopped = rec.n_steps < n_steps
    finally:
        if quiet:
            os.environ.pop("RAY_AIR_NEW_OUTPUT", None)
        shutil.rmtree(storage, ignore_errors=True)


def run_trials(
    fn: Callable[[Any, dict[str, Any], int], float],
    configs: Sequence[Mapping[str, Any]],
    n_steps: int,
    *,
    shared: Any = None,
    mode: Literal["max", "min"] = "max",
    scheduler: Literal["asha", "none"] = "asha",
    reduction_factor: float = 2,
    grace_period: int = 1,
    n_jobs: int | None = 1,
    execution: ExecutionConfig | Mapping[str, Any] | str | None = None,
) -> list[TrialRecord]:
    """Score every configuration step by step; the scheduler stops trials that fall behind.

    Parameters
    ----------
    fn : callable
        ``fn(shared, config, step) -> float``, the score of one step (e.g. one inner fold) of
        one configuration; a module-level function (Ray workers import it by name).
    configs : sequence of dict
        The trial configurations (``n_trials`` of them).
    n_steps : int
        Steps of a trial run to the end.
    shared : object
        Inputs common to all trials (data, estimator, splits); sent once.
    mode : {"max", "min"}, default="max"
        Whether higher step scores are better.
    scheduler : {"asha", "none"}, default="asha"
        Early stopping of bad trials (see :data:`TRIAL_SCHEDULERS`).
    reduction_factor : float, default=2
        Successive halving keeps ``1 / reduction_factor`` of the trials at each rung.
    grace_period : int, default=1
        Steps every trial runs before it can be stopped.
    n_jobs : int or None, default=1
        Local backend: steps of a rung in a joblib pool when not 1.
    execution : ExecutionConfig, mapping, str or None
        ``backend: ray`` runs the trials with Ray Tune on that cluster; None uses
        :func:`~neurodl.execution.get_execution`.

    Returns
    -------
    trials : list of TrialRecord
        One record per configuration, in the order of ``configs``.

    Examples
    --------
    Successive halving on the local backend: 4 trials, 4 steps, a rung after 1 and 2 steps.

    >>> def step(shared, config, k):  # e.g. the score of inner fold k of configuration `config`
    ...     return 1.0 - abs(config["C"] - shared) + 0.01 * k
    >>> configs = [{"C": c} for c in (0.1, 1.0, 3.0, 10.0)]
    >>> trials = run_trials(step, configs, n_steps=4, shared=1.0, reduction_factor=2)
    >>> [(t.config["C"], t.n_steps, t.stopped) for t in trials]
    [(0.1, 2, True), (1.0, 4, False), (3.0, 1, True), (10.0, 1, True)]
    >>> best = max(trials, key=lambda t: t.score)
    >>> best.config, round(best.score, 3)
    ({'C': 1.0}, 1.015)
    """
    _check(configs, n_steps, mode, scheduler, reduction_factor, grace_period)
    cfg = get_execution() if execution is None else ExecutionConfig.from_value(execution)
    records = [TrialRecord(i, dict(c)) for i, c in enumerate(configs)]
    logger.info(
        "run_trials: %d trials x %d steps on backend %s, scheduler %s",
        len(records),
        n_steps,
        cfg.backend,
        scheduler,
    )
    sign = 1.0 if mode == "max" else -1.0
    if cfg.backend == "ray":
        _run_ray(fn, records, n_steps, shared, mode, scheduler, reduction_factor, grace_period, cfg)
    else:
        _run_local(
            fn, records, n_steps, shared, sign, scheduler, reduction_factor, grace_period, n_jobs
        )
    return records
