"""Adapter from a NeuroGym environment's supervised trials to :class:`TaskTrials`."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._build import check_n_trials
from .base import TaskTrials

__all__ = ["from_neurogym"]


def _channel_names(space: Any, size: int, default: str) -> list[str]:
    """Names from a NeuroGym space's ``name`` dict (``{"fixation": 0, "stimulus": [1, 2]}``)."""
    names = [f"{default}_{k}" for k in range(size)]
    for key, idx in (getattr(space, "name", None) or {}).items():
        idx = np.atleast_1d(idx)
        for j, i in enumerate(idx):
            if 0 <= int(i) < size:
                names[int(i)] = key if idx.size == 1 else f"{key}_{j + 1}"
    return names


def from_neurogym(
    env: Any, n_trials: int, *, seed: int | None = 0, **make_kwargs: Any
) -> TaskTrials:
    """``n_trials`` trials of a NeuroGym environment as :class:`TaskTrials`.

    Parameters
    ----------
    env : neurogym environment or str
        An environment (a wrapped one is unwrapped) or a registered id such as
        ``"PerceptualDecisionMaking-v0"`` (then made with ``neurogym.make(env, **make_kwargs)``,
        e.g. ``dt=20``). NeuroGym is optional: ``pip install neurodl[tasks]``.
    n_trials : int
        Trials to draw with ``env.new_trial()``.
    seed : int or None
        Passed to ``env.seed(seed)`` and ``env.reset(seed=seed)`` before drawing.

    Returns
    -------
    TaskTrials
        ``inputs`` from ``env.ob``; ``targets`` one-hot of ``env.gt`` over the action space; mask
        1 on the steps covered by the env's periods (``env.start_ind``/``env.end_ind``; the whole
        trial, as NeuroGym supervises every step) and 0 in the padding to the longest trial. The
        table has the trial's info (``ground_truth`` and conditions), ``choice`` (the
        ``ground_truth`` when it is a scalar index, else NaN) and ``<period>_start``.

    Examples
    --------
    Any object with NeuroGym's trial attributes works; a tiny two-choice task of trials of 3 to 5
    steps (``neurogym.make("PerceptualDecisionMaking-v0")`` is used the same way):

    >>> from types import SimpleNamespace
    >>> class TwoChoice:
    ...     dt = 100
    ...     action_space = SimpleNamespace(n=3, name={"fixation": 0, "choice": [1, 2]})
    ...     observation_space = SimpleNamespace(name={"fixation": 0, "stimulus": [1, 2]})
    ...     def reset(self, seed=None):
    ...         self.rng = np.random.default_rng(seed)
    ...     def new_trial(self):
    ...         side, n = int(self.rng.integers(2)), int(self.rng.integers(3, 6))
    ...         self.ob = np.zeros((n, 3))
    ...         self.ob[:-1, 0] = 1  # fixate until the last step
    ...         self.ob[1:-1, 1 + side] = 1  # the stimulus on the chosen side
    ...         self.gt = np.zeros(n, dtype=int)
    ...         self.gt[-1] = 1 + side  # respond at the last step
    ...         self.start_ind = {"fixation": 0, "stimulus": 1, "decision": n - 1}
    ...         return {"ground_truth": side, "coherence": 51.2}
    >>> tt = from_neurogym(TwoChoice(), 4, seed=0)
    >>> tt.inputs.shape, tt.input_names, tt.output_names  # padded to the longest trial
    ((4, 4, 3), ['fixation', 'stimulus_1', 'stimulus_2'], ['fixation', 'choice_1', 'choice_2'])
    >>> tt.trials[["choice", "coherence", "trial_end"]].to_dict("list")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'choice': [1.0, 1.0, 0.0, 0.0], 'coherence': [51.2, 51.2, 51.2, 51.2],
     'trial_end': [4, 3, 3, 3]}
    >>> tt.mask[:, :, 0].sum(axis=1).tolist()  # supervised on every step, not on the padding
    [4.0, 3.0, 3.0, 3.0]
    """
    n = check_n_trials(n_trials)
    if isinstance(env, str):
        try:
            import neurogym
        except ImportError as err:
            raise ImportError(
                "from_neurogym needs the optional dependency 'neurogym'; install it with "
                "`pip install neurodl[tasks]` (or `pip install neurogym`)."
            ) from err
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = neurogym.make(env, **make_kwargs)
    u = getattr(env, "unwrapped", env)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if hasattr(u, "seed"):  # NeuroGym draws trials from its own RandomState
            u.seed(seed)
        u.reset(seed=seed)
    n_actions = int(u.action_space.n)
    obs, gts, rows = [], [], []
    for _ in range(n):
        trial = dict(u.new_trial() or {})
        ob = np.asarray(u.ob, dtype=np.float32)
        gt = np.asarray(u.gt)
        if gt.ndim != 1:
            raise NotImplementedError(
                f"from_neurogym: only discrete ground truths are supported; gt has shape {gt.shape}."
            )
        obs.append(ob)
        gts.append(gt.astype(int))
        gt_trial = trial.get("ground_truth", np.nan)
        row: dict[str, Any] = {
            k: v for k, v in trial.items() if np.ndim(v) == 0 and k != "ground_truth"
        }
        row["ground_truth"] = gt_trial if np.ndim(gt_trial) == 0 else str(gt_trial)
        row["choice"] = float(gt_trial) if np.ndim(gt_trial) == 0 else np.nan
        row.update({f"{p}_start": int(s) for p, s in u.start_ind.items()})
        row["trial_end"] = len(ob)
        rows.append(row)
    n_steps = max(len(o) for o in obs)
    inputs = np.zeros((n, n_steps, obs[0].shape[1]), dtype=np.float32)
    targets = np.zeros((n, n_steps, n_actions), dtype=np.float32)
    mask = np.zeros_like(targets)
    for i, (ob, gt) in enumerate(zip(obs, gts, strict=True)):
        inputs[i, : len(ob)] = ob
        targets[i, np.arange(len(gt)), gt] = 1.0
        mask[i, : len(gt)] = 1.0
    spec = getattr(env, "spec", None)
    name = getattr(spec, "id", None) or type(u).__name__
    return TaskTrials(
        inputs,
        targets,
        mask,
        pd.DataFrame(rows),
        float(u.dt),
        str(name),
        _channel_names(u.observation_space, inputs.shape[2], "input"),
        _channel_names(u.action_space, n_actions, "action"),
        {"timing": dict(getattr(u, "timing", {})), "source": "neurogym"},
    )
