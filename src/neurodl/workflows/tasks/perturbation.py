"""The ``perturbation`` task: train a task network as ``task_model`` does, then perturb it.

The network is trained with the ``task_model`` code (same ``tasks``, ``network``, ``training``
options, :func:`~neurodl.workflows.tasks.task_model.train_network`) and studied on its held-out
trials with :mod:`neurodl.analyses.perturb`:

1. unit importance: accuracy drop when each hidden unit is ablated alone;
2. a lesion curve: the top-k units by importance vs ``n_random`` random sets of each size;
3. a gain dose-response: the recurrent weights (``cell.weight_rec``) and/or the sensory input
   weights (``cell.input.weight``, stimulus columns only) scaled by each level, with accuracy
   and, when the task has a coherence-like stimulus, the psychometric slope per level.

Only the ``leaky_rnn`` network is supported: its ``cell`` module is called once per time step
and returns the new hidden state, so an ablation on ``cell`` silences a unit at every step
(the GRU/LSTM models run their whole sequence in one torch call, with no per-step module).
Every perturbation is undone on leaving its ``with`` block; the runner checks that the model's
``state_dict`` is bit-identical before and after the study and fails otherwise.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ..._logging import logger
from ...exceptions import ConfigError
from ..config import TaskOptions
from ..registry import RunContext, register_task
from ..results import ResultPart, TaskResult
from ._dynamics_common import torch_threads
from ._network_result import network_result_fields, psychometric_summary
from .task_model import (
    TrainedNetworkOptions,
    _accuracies,
    _mean,
    _psychometric,
    train_network,
)
from .task_model_result import PsychometricSummary, TrainingSummary

__all__ = ["PerturbationOptions", "PerturbationResult", "run_perturbation"]

#: The hidden layer ablated (leaky_rnn: stepped once per time step, outputs h).
LAYER = "cell"
RECURRENT = "cell.weight_rec"
SENSORY = "cell.input.weight"


class ImportanceOptions(TaskOptions):
    """Single-unit ablations (``top``: rows kept in the result, all units are scored)."""

    top: int = Field(20, ge=1)
    """Rows of the single-unit ablation table kept in the result and report (every unit is scored).
    """


class LesionOptions(TaskOptions):
    """Top-k vs random lesions of the hidden layer (``mode``: see :class:`~neurodl.analyses.perturb.Ablate`)."""

    sizes: list[int] = Field(default_factory=lambda: [1, 2, 4, 8, 16])
    """Numbers of hidden units lesioned together (each <= n_hidden): the most important ones first
    (targeted) and random sets of the same size."""
    n_random: int = Field(10, ge=1, le=10_000)
    """Random unit sets drawn per lesion size (the baseline the targeted lesion is compared with).
    """
    mode: Literal["zero", "mean", "resample"] = "zero"
    """How a lesioned unit is silenced: 'zero' (set to 0), 'mean' (its mean over the held-out trials
    and time) or 'resample' (values copied from other held-out states)."""
    ci: float = Field(0.95, gt=0, lt=1)
    """Confidence level of the intervals over the random lesions (e.g. 0.95)."""

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("lesion.sizes must not be empty")
        for k in value:
            if k < 0:
                raise ValueError(f"lesion.sizes: size {k} is negative")
        return value


class GainOptions(TaskOptions):
    """Scaled weights: ``target`` recurrent and/or sensory, one run per gain level.

    ``inputs``: the sensory input channels scaled (default: every input except ``fixation``,
    ``context_*`` and ``rule_*``).
    """

    target: list[Literal["recurrent", "sensory"]] = Field(default_factory=lambda: ["recurrent"])
    """Weights scaled: 'recurrent' and/or 'sensory' (input weights of the sensory channels); one
    dose-response curve each. A single string is accepted."""
    levels: list[float] = Field(default_factory=lambda: [0.0, 0.5, 0.8, 1.0, 1.2, 1.5])
    """Gain factors (>= 0) the target weights are multiplied by; 1.0 is the intact network."""
    inputs: list[str] | None = None
    """Sensory input channels scaled by a 'sensory' gain; None: every input except fixation,
    context_* and rule_*."""

    @field_validator("target", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        value = [value] if isinstance(value, str) else value
        for v in value if isinstance(value, list) else []:
            if v not in ("recurrent", "sensory"):
                raise ValueError(f"gain.target: unknown target {v!r}; use 'recurrent' or 'sensory'")
        return value

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[float]) -> list[float]:
        if not value:
            raise ValueError("gain.levels must not be empty")
        for g in value:
            if not np.isfinite(g) or g < 0:
                raise ValueError(f"gain.levels: level {g} must be a finite number >= 0")
        return value


class PerturbationOptions(TrainedNetworkOptions):
    """Training as in ``task_model`` (same keys), then the perturbation study.

    Examples
    --------
    The ``options`` section of a config: the training keys of ``task_model`` plus
    ``importance``, ``lesion`` and ``gain``, each with its defaults:

    >>> opts = PerturbationOptions.model_validate({
    ...     "tasks": "perceptual_decision_making",
    ...     "network": {"name": "leaky_rnn", "params": {"n_hidden": 16}},
    ...     "lesion": {"sizes": [1, 4]},
    ... })
    >>> opts.tasks, opts.lesion.sizes, opts.lesion.n_random, opts.lesion.mode
    (['perceptual_decision_making'], [1, 4], 10, 'zero')
    >>> opts.gain.target, opts.gain.levels
    (['recurrent'], [0.0, 0.5, 0.8, 1.0, 1.2, 1.5])

    Only the leaky RNN can be perturbed, and a lesion cannot exceed the hidden units:

    >>> from neurodl.workflows import parse_config
    >>> parse_config({"task": "perturbation", "options": {
    ...     "tasks": "perceptual_decision_making", "lesion": {"sizes": [1, 17]},
    ...     "network": {"name": "leaky_rnn", "params": {"n_hidden": 16}}}})
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid config (mapping): invalid value at 'options': Value error, lesion.sizes: size 17 is larger than the number of hidden units (16).
    """

    importance: ImportanceOptions = Field(default_factory=ImportanceOptions)
    lesion: LesionOptions = Field(default_factory=LesionOptions)
    gain: GainOptions = Field(default_factory=GainOptions)

    @model_validator(mode="after")
    def _check(self) -> PerturbationOptions:
        """After the training checks of :class:`TrainedNetworkOptions`: network, lesions, gain."""
        from ...models.task_rnn import build_task_model

        if self.network.name != "leaky_rnn":
            raise ValueError(
                f"network.name {self.network.name!r} is not supported: only 'leaky_rnn' (its "
                "per-step 'cell' module is the hidden layer perturbed)"
            )
        n_hidden = self.network.params.get("n_hidden")
        if n_hidden is None:
            raise ValueError("network.params.n_hidden is required")
        try:
            build_task_model("leaky_rnn", n_inputs=1, n_outputs=1, **self.network.params)
        except ConfigError as err:
            raise ValueError(str(err)) from None
        for k in self.lesion.sizes:
            if k > n_hidden:
                raise ValueError(
                    f"lesion.sizes: size {k} is larger than the number of hidden units ({n_hidden})"
                )
        if "sensory" in self.gain.target:
            sensory_inputs(self)
        return self


def sensory_inputs(opts: PerturbationOptions) -> list[int]:
    """Indices of the stimulus input channels scaled by a ``sensory`` gain."""
    from .task_model import make_trials

    names = list(make_trials(opts, 2 * len(opts.tasks), seed=0).input_names)
    if opts.gain.inputs is None:
        chosen = [n for n in names if n != "fixation" and not n.startswith(("context", "rule"))]
    else:
        chosen = list(opts.gain.inputs)
        for n in chosen:
            if n not in names:
                raise ValueError(f"gain.inputs: unknown input {n!r}; inputs: {names}")
    if not chosen:
        raise ValueError(f"gain: no sensory input among {names}")
    return [names.index(n) for n in chosen]


class ImportanceRow(ResultPart):
    """One hidden unit ablated alone."""

    unit: int
    accuracy: float = Field(description="Held-out accuracy with the unit ablated.")
    drop: float = Field(description="Intact accuracy minus ablated accuracy.")
    rank: int


class LesionRow(ResultPart):
    """Top-k units by importance vs random sets of k units."""

    size: int
    targeted: float
    random_mean: float
    random_low: float
    random_high: float


class DoseRow(ResultPart):
    """Accuracy (and psychometric slope) with weights scaled by ``level``."""

    target: str
    parameter: str
    level: float
    accuracy: float
    slope: float | None = None


class GainPsychometric(PsychometricSummary):
    """The held-out psychometric curve at one gain level."""

    target: str
    level: float


class PerturbationResult(TaskResult):
    """Result of the ``perturbation`` task (``results.json``).

    ``score_mean`` is the intact held-out accuracy (as ``task_model``'s ``accuracy``).

    Examples
    --------
    The fields this task adds to every result's (:func:`run_perturbation` fills them):

    >>> from neurodl.workflows.results import TaskResult
    >>> [k for k in PerturbationResult.model_fields if k not in TaskResult.model_fields][:8]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['tasks', 'network', 'network_params', 'n_hidden', 'layer', 'n_test_trials',
     'baseline_accuracy', 'training']
    >>> PerturbationResult.model_fields["state_dict_unchanged"].annotation
    <class 'bool'>
    """

    task: Literal["perturbation"] = "perturbation"
    tasks: list[str]
    network: str
    network_params: dict[str, Any]
    n_hidden: int
    layer: str = Field(description="Module whose output (hidden state) is ablated.")
    n_test_trials: int
    baseline_accuracy: float
    training: TrainingSummary
    importance: list[ImportanceRow] = Field(description="Top units by drop, largest first.")
    n_units_scored: int
    lesion_mode: str
    lesion_n_random: int
    lesion_ci: float
    lesion_curve: list[LesionRow]
    sensory_inputs: list[str]
    dose_response: list[DoseRow]
    psychometric: list[GainPsychometric]
    state_dict_hash: str = Field(description="sha256 of the trained state_dict, before = after.")
    state_dict_unchanged: bool
    timing: dict[str, float]

    def summary_lines(self) -> list[str]:
        """Baseline, the most important unit, the largest lesion, the gain range."""
        chance = "" if self.chance_level is None else f" (chance {self.chance_level:.2f})"
        lines = [
            f"{self.dataset} | {self.network} ({self.n_hidden} hidden units)",
            f"held-out accuracy = {self.baseline_accuracy:.3f}{chance} on {self.n_test_trials} trials",
        ]
        if self.importance:
            top = self.importance[0]
            lines.append(f"most important unit {top.unit}: drop {top.drop:.3f}")
        if self.lesion_curve:
            last = self.lesion_curve[-1]
            lines.append(
                f"lesion of {last.size} units: targeted {last.targeted:.3f}, "
                f"random {last.random_mean:.3f} [{last.random_low:.3f}, {last.random_high:.3f}]"
            )
        for target in dict.fromkeys(r.target for r in self.dose_response):
            rows = [r for r in self.dose_response if r.target == target]
            lines.append(
                f"{target} gain: " + ", ".join(f"{r.level:g} -> {r.accuracy:.3f}" for r in rows)
            )
        lines.append("state_dict unchanged by the study: " + str(self.state_dict_unchanged))
        return lines


def state_hash(model: Any) -> str:
    """sha256 of every tensor of ``model.state_dict()`` (see :func:`~neurodl.analyses.perturb.state_dict_hash`)."""
    from ...analyses.perturb import state_dict_hash

    return state_dict_hash(model)


def _study(opts: PerturbationOptions, model: Any, test: Any, seed: int) -> dict[str, Any]:
    """The three perturbation analyses on the held-out trials (model left unchanged)."""
    import time

    from ...analyses.perturb import ScaleWeights, dose_response, lesion_curve, unit_importance
    from ...estimators.task_training import predict_task

    names = list(opts.tasks)
    last: dict[str, Any] = {}

    def score(m: Any) -> float:
        outputs, _ = predict_task(m, test)
        last["outputs"] = outputs
        value = _mean(_accuracies(outputs, test, names))
        return float("nan") if value is None else value

    reference = None
    if opts.lesion.mode != "zero":
        _, hidden = predict_task(model, test)
        reference = hidden.reshape(-1, hidden.shape[-1])
    timing = {}
    t0 = time.perf_counter()
    table = unit_importance(model, score, LAYER, mode=opts.lesion.mode, reference=reference)
    timing["importance_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    curve = lesion_curve(
        model,
        score,
        LAYER,
        [int(u) for u in table["unit"]],
        opts.lesion.sizes,
        opts.lesion.mode,
        n_random=opts.lesion.n_random,
        seed=seed,
        ci=opts.lesion.ci,
        reference=reference,
    )
    timing["lesion_s"] = time.perf_counter() - t0
    cols = sensory_inputs(opts) if "sensory" in opts.gain.target else []
    dose, psycho = [], []
    t0 = time.perf_counter()
    for target in opts.gain.target:
        param = RECURRENT if target == "recurrent" else SENSORY
        curves: list[Any] = []

        def scored(m: Any, curves: list[Any] = curves) -> float:
            value = score(m)
            curves.append(_psychometric(opts, last["outputs"], test))
            return value

        def make(g: float, param: str = param) -> Any:
            return ScaleWeights(param, g, cols=cols if param == SENSORY else None)

        rows = dose_response(model, scored, make, opts.gain.levels)
        for (level, acc), (stim, pc) in zip(rows[["level", "score"]].to_numpy(), curves):
            slope = (
                None if pc is None or pc.slope is None or not np.isfinite(pc.slope) else pc.slope
            )
            dose.append(
                {
                    "target": target,
                    "parameter": param,
                    "level": float(level),
                    "accuracy": float(acc),
                    "slope": None if slope is None else float(slope),
                }
            )
            if pc is not None:
                summary = psychometric_summary(pc, stim)
                psycho.append({**summary, "target": target, "level": float(level)})
    timing["gain_s"] = time.perf_counter() - t0
    return {"table": table, "curve": curve, "dose": dose, "psycho": psycho, "timing": timing}


@register_task(
    "perturbation",
    options=PerturbationOptions,
    result=PerturbationResult,
    reads=("options",),
    description="train a leaky RNN on cognitive tasks; unit importance, lesion curves, gain dose-response",
)
def run_perturbation(ctx: RunContext) -> PerturbationResult:
    """Train, perturb, check the model is unchanged; write ``report.html`` (if asked).

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``). A
    leaky RNN of 8 units trained for 2 epochs on a perceptual decision, then every unit ablated
    alone, the top-k units vs 3 random sets of k, and the recurrent weights scaled by 0 and 1:

    >>> from neurodl.workflows import parse_config, run_config
    >>> cfg = parse_config({"task": "perturbation", "seed": 0, "options": {
    ...     "tasks": "perceptual_decision_making", "n_train_trials": 64, "n_test_trials": 32,
    ...     "network": {"name": "leaky_rnn", "params": {"n_hidden": 8}},
    ...     "training": {"max_epochs": 2, "batch_size": 16},
    ...     "lesion": {"sizes": [1, 4], "n_random": 3},
    ...     "gain": {"target": "recurrent", "levels": [0.0, 1.0]},
    ... }})
    >>> res = run_config(cfg).result  # out_dir None: computed, nothing written
    >>> res.layer, res.n_hidden, res.n_units_scored, res.chance_level
    ('cell', 8, 8, 0.5)
    >>> [row.size for row in res.lesion_curve]
    [1, 4]
    >>> res.lesion_curve[0].targeted == res.importance[0].accuracy  # the most important unit
    True
    >>> [row.level for row in res.dose_response]
    [0.0, 1.0]
    >>> res.dose_response[1].accuracy == res.baseline_accuracy  # gain 1: the intact network
    True
    >>> res.state_dict_unchanged
    True
    """
    cfg, opts = ctx.cfg, ctx.options
    model, train, test, fit, kinds, trials_s = train_network(opts, cfg.seed)
    names = list(opts.tasks)
    before = state_hash(model)
    snapshot = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with torch_threads(opts.training.num_threads):
        study = _study(opts, model, test, cfg.seed)
    after = model.state_dict()
    unchanged = set(after) == set(snapshot) and all(
        torch_equal(after[k], snapshot[k]) for k in snapshot
    )
    if not unchanged or state_hash(model) != before:
        raise RuntimeError("the perturbation study changed the trained model's state_dict")
    table, curve = study["table"], study["curve"]
    baseline = float(table.attrs["baseline"])
    if not np.isfinite(baseline):
        raise ConfigError(f"tasks {names!r} have no accuracy to perturb")
    logger.info("perturbation: intact accuracy %.3f", baseline)
    cols = sensory_inputs(opts) if "sensory" in opts.gain.target else []
    result = PerturbationResult.create(
        task="perturbation",
        **network_result_fields(cfg, opts, train, test, fit, kinds, baseline),
        n_hidden=int(model.n_hidden),
        layer=LAYER,
        n_test_trials=test.n_trials,
        baseline_accuracy=baseline,
        importance=[
            {
                "unit": int(r.unit),
                "accuracy": float(r.score),
                "drop": float(r.drop),
                "rank": int(r.rank),
            }
            for r in table.head(opts.importance.top).itertuples()
        ],
        n_units_scored=len(table),
        lesion_mode=opts.lesion.mode,
        lesion_n_random=opts.lesion.n_random,
        lesion_ci=opts.lesion.ci,
        lesion_curve=[
            {k: (int(v) if k == "size" else float(v)) for k, v in r.items()}
            for r in curve.to_dict("records")
        ],
        sensory_inputs=[str(test.input_names[i]) for i in cols],
        dose_response=study["dose"],
        psychometric=study["psycho"],
        state_dict_hash=before,
        state_dict_unchanged=unchanged,
        timing={"trials_s": trials_s, "training_s": fit.time_s, **study["timing"]},
    )
    if ctx.write_report:
        from .perturbation_report import write_perturbation_report

        write_perturbation_report(ctx, result)
    return result


def torch_equal(a: Any, b: Any) -> bool:
    """Bit-identical tensors (same dtype, shape and bytes)."""
    import torch

    return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a, b))
