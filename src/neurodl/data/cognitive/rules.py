"""Rule-dependent responses to a stimulus location: pro-saccade, anti-saccade and no-go."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...exceptions import ConfigError
from ._build import (
    Timeline,
    assemble,
    check_choice,
    check_n_trials,
    decision_targets,
    make_rng,
    noise_sd,
)
from .base import TaskTrials

__all__ = ["RULES", "anti_saccade", "go_nogo", "pro_anti_nogo"]

#: The rules: respond toward the stimulus, away from it, or withhold.
RULES = ("pro", "anti", "nogo")


def pro_anti_nogo(
    n_trials: int,
    *,
    dt: float = 20.0,
    seed: int | None = 0,
    rng: np.random.Generator | None = None,
    rules: Sequence[str] = RULES,
    n_locations: int = 2,
    noise: float = 0.1,
    fixation_ms: float = 300.0,
    stimulus_ms: float = 500.0,
    delay_ms: float = 0.0,
    response_ms: float = 300.0,
    task: str = "pro_anti_nogo",
) -> TaskTrials:
    """A stimulus at one of ``n_locations``; respond toward it, away from it, or withhold.

    Inputs ``[fixation, location_1..N, rule_<r> for each rule in rules]`` (the one-hot rule cue
    is on from the trial start to the response; with a single rule there is no cue). Outputs
    ``[fixation, choice_1..N]``. ``pro``: choose the stimulus location; ``anti``: the opposite
    location ``(loc + N // 2) % N``; ``nogo``: keep fixating through the response epoch
    (``choice`` NaN, ``go`` False). Columns ``location``, ``rule``, ``go``, ``choice``.

    Examples
    --------
    >>> tt = pro_anti_nogo(6, seed=0)
    >>> tt.n_steps, tt.input_names  # (300 + 500 + 300) ms / 20 ms; one-hot rule cues
    (55, ['fixation', 'location_1', 'location_2', 'rule_pro', 'rule_anti', 'rule_nogo'])
    >>> print(tt.trials[["location", "rule", "go", "choice"]].to_string())
       location  rule     go  choice
    0         1   pro   True     1.0
    1         1   pro   True     1.0
    2         1   pro   True     1.0
    3         0  nogo  False     NaN
    4         0  anti   True     1.0
    5         0  nogo  False     NaN
    >>> end = tt.n_steps - 1  # a no-go trial keeps fixating to the end: target fixation 1
    >>> tt.targets[3, end].tolist(), tt.targets[4, end].tolist()
    ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    """
    n = check_n_trials(n_trials)
    rng = make_rng(seed, rng)
    rules = list(rules)
    if not rules:
        raise ConfigError("Invalid value for 'rules': at least one rule is needed; got [].")
    for r in rules:
        check_choice("rules", r, RULES)
    if (
        isinstance(n_locations, bool)
        or not isinstance(n_locations, int | np.integer)
        or n_locations < 2
    ):
        raise ConfigError(
            f"Invalid value for 'n_locations'. Allowed: an integer >= 2; got {n_locations!r}."
        )
    location = rng.integers(0, n_locations, size=n)
    rule_idx = rng.integers(0, len(rules), size=n)
    rule = np.array(rules)[rule_idx]
    choice = np.where(rule == "anti", (location + n_locations // 2) % n_locations, location).astype(
        float
    )
    choice[rule == "nogo"] = np.nan
    epochs = ["fixation", "stimulus", "delay", "response"]
    durations = np.tile([fixation_ms, stimulus_ms, delay_ms, response_ms], (n, 1))
    tl = Timeline(epochs, durations, dt)
    sd = noise_sd(noise, dt)

    n_cues = len(rules) if len(rules) > 1 else 0
    inputs = np.zeros((n, tl.n_steps, 1 + n_locations + n_cues))
    before_response = np.arange(tl.n_steps)[None, :] < tl.start("response")[:, None]
    inputs[..., 0] = before_response
    rows = np.arange(n)
    stim = tl.window("stimulus")
    inputs[rows, :, 1 + location] = stim
    inputs[..., 1 : 1 + n_locations] += np.where(
        stim[..., None], sd * rng.standard_normal((n, tl.n_steps, n_locations)), 0.0
    )
    if n_cues:
        inputs[rows, :, 1 + n_locations + rule_idx] = before_response
    targets, mask = decision_targets(tl, choice, n_locations)
    return assemble(
        task,
        tl,
        inputs,
        targets,
        mask,
        {"location": location, "rule": rule, "go": rule != "nogo", "choice": choice},
        ["fixation", *[f"location_{k + 1}" for k in range(n_locations)]]
        + ([f"rule_{r}" for r in rules] if n_cues else []),
        ["fixation", *[f"choice_{k + 1}" for k in range(n_locations)]],
        {"rules": rules, "n_locations": int(n_locations)},
    )


def go_nogo(n_trials: int, **params) -> TaskTrials:
    """Go / no-go: rules ``("pro", "nogo")`` cued on inputs ``rule_pro`` / ``rule_nogo``.

    See :func:`pro_anti_nogo` for the inputs, outputs and parameters.

    Examples
    --------
    >>> tt = go_nogo(6, seed=0)
    >>> tt.input_names
    ['fixation', 'location_1', 'location_2', 'rule_pro', 'rule_nogo']
    """
    params.setdefault("rules", ("pro", "nogo"))
    params.setdefault("task", "go_nogo")
    return pro_anti_nogo(n_trials, **params)


def anti_saccade(n_trials: int, **params) -> TaskTrials:
    """Pro / anti-saccade: rules ``("pro", "anti")`` cued on inputs ``rule_pro`` / ``rule_anti``.

    See :func:`pro_anti_nogo` for the inputs, outputs and parameters.

    Examples
    --------
    >>> tt = anti_saccade(6, seed=0, n_locations=4)
    >>> tt.output_names
    ['fixation', 'choice_1', 'choice_2', 'choice_3', 'choice_4']
    """
    params.setdefault("rules", ("pro", "anti"))
    params.setdefault("task", "anti_saccade")
    return pro_anti_nogo(n_trials, **params)
