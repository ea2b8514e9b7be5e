"""The registry of cognitive tasks (name -> generator) and multitask batches with rule inputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import ConfigError
from ._build import check_n_trials
from .base import TaskTrials
from .memory import delayed_match_to_sample, parametric_working_memory
from .perceptual import context_dependent_integration, perceptual_decision_making
from .rules import anti_saccade, go_nogo
from .timing import flip_flop, interval_production

__all__ = ["COGNITIVE_TASKS", "make_task_trials", "multitask_trials"]

#: Task name -> generator ``f(n_trials, *, dt, seed, **params) -> TaskTrials``.
COGNITIVE_TASKS: dict[str, Callable[..., TaskTrials]] = {
    "perceptual_decision_making": perceptual_decision_making,
    "context_dependent_integration": context_dependent_integration,
    "parametric_working_memory": parametric_working_memory,
    "delayed_match_to_sample": delayed_match_to_sample,
    "interval_production": interval_production,
    "go_nogo": go_nogo,
    "anti_saccade": anti_saccade,
    "flip_flop": flip_flop,
}


def _generator(name: Any) -> Callable[..., TaskTrials]:
    if name not in COGNITIVE_TASKS:
        known = ", ".join(repr(k) for k in COGNITIVE_TASKS)
        raise ConfigError(f"Unknown task {name!r}. Known tasks: {known}.")
    return COGNITIVE_TASKS[name]


def make_task_trials(
    name: str, n_trials: int, *, dt: float = 20.0, seed: int | None = 0, **params: Any
) -> TaskTrials:
    """Generate ``n_trials`` trials of the registered task ``name``.

    Examples
    --------
    >>> tt = make_task_trials("perceptual_decision_making", 8, dt=10, seed=0)
    >>> tt.n_trials, tt.dt
    (8, 10.0)
    """
    gen = _generator(name)
    try:
        return gen(n_trials, dt=dt, seed=seed, **params)
    except TypeError as err:
        if "unexpected keyword" not in str(err):
            raise
        raise ConfigError(f"Task {name!r}: {err}.") from None


def multitask_trials(
    names: Sequence[str],
    n_trials: int,
    *,
    dt: float = 20.0,
    seed: int | None = 0,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> TaskTrials:
    """Trials of several tasks on one input/output layout, with one-hot rule inputs (Yang 2019).

    ``n_trials`` in all, split as evenly as possible between the tasks and shuffled. Channels are
    the union of the tasks' channels by name (tasks that share a name, e.g. ``fixation`` or
    ``choice_1``, share the channel), followed by one ``rule:<task>`` input per task, on for the
    whole trial. Trials are padded to the longest with zeros and mask 0. The trial table gains a
    ``task`` column; epoch columns a task lacks are NaN. ``params`` maps a task name to extra
    keyword arguments of its generator.

    Examples
    --------
    >>> tt = multitask_trials(["go_nogo", "anti_saccade"], 6, seed=0)
    >>> tt.input_names[-2:]
    ['rule:go_nogo', 'rule:anti_saccade']
    """
    names = list(names)
    if not names:
        raise ConfigError("Invalid value for 'names': at least one task is needed; got [].")
    if len(set(names)) != len(names):
        raise ConfigError(f"Invalid value for 'names': a task is listed twice; got {names!r}.")
    for name in names:
        _generator(name)
    params = dict(params or {})
    for key in params:
        if key not in names:
            raise ConfigError(
                f"Invalid key in 'params': {key!r} is not one of the tasks {names!r}."
            )
    n = check_n_trials(n_trials)
    if n < len(names):
        raise ConfigError(
            f"Invalid value for 'n_trials': {n} is fewer than the {len(names)} tasks; "
            "need at least one trial per task."
        )
    seeds = np.random.SeedSequence(seed).spawn(len(names) + 1)
    counts = [n // len(names) + (k < n % len(names)) for k in range(len(names))]
    parts = [
        make_task_trials(
            name, c, dt=dt, seed=None, rng=np.random.default_rng(s), **params.get(name, {})
        )
        for name, c, s in zip(names, counts, seeds[:-1], strict=True)
    ]
    in_names = list(dict.fromkeys(ch for p in parts for ch in p.input_names))
    out_names = list(dict.fromkeys(ch for p in parts for ch in p.output_names))
    n_in = len(in_names) + len(names)
    n_steps = max(p.n_steps for p in parts)
    inputs = np.zeros((n, n_steps, n_in), dtype=np.float32)
    targets = np.zeros((n, n_steps, len(out_names)), dtype=np.float32)
    mask = np.zeros_like(targets)
    tables = []
    row = 0
    for k, p in enumerate(parts):
        rows = slice(row, row + p.n_trials)
        in_idx = [in_names.index(ch) for ch in p.input_names]
        out_idx = [out_names.index(ch) for ch in p.output_names]
        inputs[rows, : p.n_steps, in_idx] = p.inputs
        ends = p.trials["trial_end"].to_numpy()
        inputs[rows, :, len(in_names) + k] = np.arange(n_steps)[None, :] < ends[:, None]
        targets[rows, : p.n_steps, out_idx] = p.targets
        mask[rows, : p.n_steps, out_idx] = p.mask
        tables.append(p.trials.assign(task=names[k]))
        row += p.n_trials
    order = np.random.default_rng(seeds[-1]).permutation(n)
    table = pd.concat(tables, ignore_index=True).iloc[order].reset_index(drop=True)
    return TaskTrials(
        inputs[order],
        targets[order],
        mask[order],
        table,
        float(dt),
        "+".join(names),
        in_names + [f"rule:{name}" for name in names],
        out_names,
        {
            "tasks": names,
            "rule_inputs": [f"rule:{name}" for name in names],
            "parts": [p.info for p in parts],
        },
    )
