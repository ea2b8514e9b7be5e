"""The ``attribution_sanity`` task: can the attribution maps be trusted on a known answer?

It simulates EEG with known source channels, a known time window and frequency, and suppressor
channels (:func:`neurodl.data.attribution_sim.simulate_attribution_eeg`), trains a network and
a linear model on training folds, computes every method's map on held-out samples and scores
them against the truth (mass and rank accuracy, mass on suppressors), runs the model- and
label-randomisation checks (Adebayo et al. 2018) and the stability across folds and seeds,
through :func:`neurodl.analyses.interpret.attribution_study`. The task reads only ``options``.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from .._progress import progress_note
from ..config import TaskOptions
from ..registry import RunContext, register_task
from ..results import ModelStats, ResultPart, TaskResult
from ._dynamics_common import array_hash, versions

__all__ = ["AttributionSanityOptions", "AttributionSanityResult", "run_attribution_sanity"]

#: Goal of the benchmark: a method with this much mass on the true sources ...
GOAL_SOURCES = 0.80
#: ... and less than this on the suppressors.
GOAL_SUPPRESSORS = 0.05


class SimulationOptions(TaskOptions):
    """Parameters of :func:`~neurodl.data.attribution_sim.simulate_attribution_eeg`."""

    n_trials: int = Field(3000, ge=4, le=1_000_000)
    """Simulated trials, half per class (even number)."""
    n_channels: int = Field(10, ge=2, le=256)
    """Channels (>= n_sources + n_suppressors + 1); the rest carry noise only."""
    n_sources: int = Field(2, ge=1)
    """Channels carrying the class signal (the burst)."""
    n_suppressors: int = Field(2, ge=0)
    """Suppressor channels (0 to n_sources), each paired with one source: no class signal, but they
    cancel the source's distractor."""
    sfreq: float = Field(32.0, ge=16.0)
    """Sampling rate in Hz (>= 16)."""
    duration: float = Field(1.0, gt=0.0, le=60.0)
    """Epoch length in s."""
    window: tuple[float, float] = (0.35, 0.75)
    """Start and stop of the class burst in s (0 <= start < stop <= duration): the true time window.
    """
    frequency: float = Field(6.0, gt=0.0)
    """Burst frequency in Hz (below Nyquist)."""
    effect_size: float = Field(3.0, ge=0.0)
    """Peak burst amplitude in units of the background noise SD (0: no class signal)."""
    distractor: float = Field(1.5, ge=0.0)
    """SD of the distractor shared by each source and its suppressor."""


class NetworkSpec(TaskOptions):
    """The network (a registered neural model) and its training."""

    name: str = "mlp"
    """Registered neural model (see neurodl.models) of the network explained."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of that model (architecture hyper-parameters)."""
    max_epochs: int = Field(20, ge=1, le=10_000)
    """Training epochs of the network (no validation split, no early stopping)."""
    batch_size: int = Field(64, ge=1)
    """Samples per mini-batch."""
    lr: float = Field(0.003, gt=0.0)
    """Learning rate."""
    num_threads: int | None = Field(1, ge=1)
    """Torch intra-op threads while training (restored after); None: unchanged."""


class AttributionSanityOptions(TaskOptions):
    """Options of the ``attribution_sanity`` task.

    Examples
    --------
    The ``options`` section of a config: what is left out takes its default.

    >>> opts = AttributionSanityOptions.model_validate(
    ...     {"simulation": {"n_trials": 100, "n_channels": 5}, "n_splits": 2}
    ... )
    >>> opts.simulation.n_sources, opts.simulation.n_suppressors, opts.linear, opts.n_splits
    (2, 2, 'lda', 2)

    A config with a bad value is refused, naming the key:

    >>> from neurodl.exceptions import ConfigError
    >>> from neurodl.workflows import parse_config
    >>> try:
    ...     parse_config({"task": "attribution_sanity", "options": {"linear": "svm"}})
    ... except ConfigError as err:
    ...     print(err)  # doctest: +ELLIPSIS
    Invalid config (mapping): invalid value at 'options.linear': Input should be 'lda' or ...
    """

    simulation: SimulationOptions = Field(default_factory=SimulationOptions)
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    linear: Literal["lda", "logistic_regression"] = "lda"
    """The linear model explained beside the network: 'lda' (shrinkage LDA) or
    'logistic_regression', on the flattened channels x times."""
    network_methods: list[str] | None = None
    """Keys of :data:`~neurodl.analyses.interpret.study.NETWORK_METHODS` (default: all)."""
    linear_methods: list[str] | None = None
    """Keys of :data:`~neurodl.analyses.interpret.study.LINEAR_METHODS` (default: all)."""
    n_splits: int = Field(3, ge=2, le=20)
    """Stratified folds; each method's map is computed on every held-out fold."""
    n_explain: int = Field(200, ge=2)
    """Held-out samples explained per fold (at most)."""
    n_check_samples: int = Field(100, ge=2)
    """Samples of the first held-out fold used by the sanity checks."""
    n_seeds: int = Field(2, ge=1, le=10)
    """Networks trained with different seeds on the first fold for the seed stability of the maps
    (1: none)."""
    checks: bool = True
    """Run the model- and label-randomisation sanity checks (Adebayo et al. 2018)."""
    cascade: bool = True
    """Model randomisation layer by layer from the top, one row per layer (false: only the fully
    randomised model)."""
    threshold: float = Field(0.5, ge=-1.0, lt=1.0)
    """Rank correlation with the original map above which a randomised map 'survives' and the method
    fails the check."""

    @field_validator("network_methods", "linear_methods")
    @classmethod
    def _known(cls, value: list[str] | None, info: Any) -> list[str] | None:
        from ...analyses.interpret.study import LINEAR_METHODS, NETWORK_METHODS

        table = NETWORK_METHODS if info.field_name == "network_methods" else LINEAR_METHODS
        for m in value or []:
            if m not in table:
                raise ValueError(f"unknown method {m!r}; allowed: {', '.join(table)}")
        if value is not None and not value:
            raise ValueError("give at least one method (or leave it out for all)")
        return value


class CheckRow(ResultPart):
    """One sanity-check row (see :class:`~neurodl.analyses.interpret.SanityCheck`)."""

    check: str
    step: str
    rank_correlation: float | None
    verdict: str
    final: bool


class MethodRow(ResultPart):
    """One method: scores against the truth, stability, checks and verdict."""

    method: str
    model: Literal["network", "linear"]
    mass_sources: float | None
    mass_suppressors: float | None
    mass_window: float | None
    window_share: float | None
    rank_channels: float | None
    rank_elements: float | None
    stability_folds: float | None
    stability_seeds: float | None
    verdict: str = Field(description="'fail' when a map survives randomisation (rho > threshold)")
    meets_goal: bool = Field(description="mass on sources >= 0.80 and on suppressors < 0.05")
    time_s: float
    checks: list[CheckRow]
    map: list[list[float | None]] = Field(description="|map| pooled over folds, n_chans x n_times")


class AttributionSanityResult(TaskResult):
    """Result of the ``attribution_sanity`` task (``results.json``).

    The top-level score is the network's held-out balanced accuracy; ``models`` holds the
    network's and the linear model's own scores.

    Examples
    --------
    The task's own fields, beside those every :class:`~neurodl.workflows.results.TaskResult`
    has (one :class:`MethodRow` per attribution method in ``methods``):

    >>> from neurodl.workflows import TASKS
    >>> from neurodl.workflows.results import TaskResult
    >>> TASKS["attribution_sanity"].result is AttributionSanityResult
    True
    >>> [f for f in AttributionSanityResult.model_fields if f not in TaskResult.model_fields]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['methods', 'truth', 'ch_names', 'sfreq', 'threshold', 'n_explain', 'n_check_samples',
     'goal_met_by', 'flagged', 'timing']
    """

    task: Literal["attribution_sanity"] = "attribution_sanity"
    methods: list[MethodRow]
    truth: dict[str, Any]
    ch_names: list[str]
    sfreq: float
    threshold: float
    n_explain: int
    n_check_samples: int
    goal_met_by: list[str] = Field(description="methods meeting the mass goal")
    flagged: list[str] = Field(description="methods whose maps fail a randomisation check")
    timing: dict[str, float] = Field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        """Scores of the two models, then one line per method."""
        lines = super().summary_lines()
        for m in self.methods:
            lines.append(
                f"{m.method} ({m.model}): mass on sources {_pct(m.mass_sources)}, on suppressors "
                f"{_pct(m.mass_suppressors)}; sanity {m.verdict}"
            )
        lines.append(
            "goal (>= 80% on sources, < 5% on suppressors) met by: "
            + (", ".join(self.goal_met_by) or "none")
        )
        return lines


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _linear_model(name: str) -> Any:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    model = (
        LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        if name == "lda"
        else LogisticRegression(C=1.0, max_iter=2000)
    )
    return make_pipeline(FunctionTransformer(_flatten), model)


def _flatten(X: np.ndarray) -> np.ndarray:
    return np.asarray(X).reshape(len(X), -1)


@register_task(
    "attribution_sanity",
    options=AttributionSanityOptions,
    result=AttributionSanityResult,
    reads=("options",),
    description="score attribution methods on simulated EEG with known sources and suppressors; "
    "model/label randomisation checks",
)
def run_attribution_sanity(ctx: RunContext) -> AttributionSanityResult:
    """Run the task; write ``report.html`` into ``ctx.out_dir`` (if given).

    Examples
    --------
    A config naming the task runs it (here 100 simulated trials of 5 channels, a 3-epoch MLP,
    2 folds, no randomisation checks); the linear model decodes the planted burst, and the
    linear model's activation pattern puts less of its map on the suppressors than its filter:

    >>> from neurodl.workflows import TASKS, parse_config, run_config
    >>> TASKS["attribution_sanity"].run is run_attribution_sanity
    True
    >>> cfg = parse_config({
    ...     "task": "attribution_sanity",
    ...     "options": {
    ...         "simulation": {"n_trials": 100, "n_channels": 5, "sfreq": 16},
    ...         "network": {"max_epochs": 3},
    ...         "network_methods": ["integrated_gradients"],
    ...         "n_splits": 2, "n_explain": 20, "n_seeds": 1, "checks": False,
    ...     },
    ... })
    >>> res = run_config(cfg).result  # out_dir None: compute only, write nothing
    >>> res.models["linear"].score_mean
    1.0
    >>> len(res.truth["source_channels"]), len(res.truth["suppressor_channels"])
    (2, 2)
    >>> rows = {m.method: m for m in res.methods}
    >>> list(rows)
    ['integrated_gradients', 'linear_filter', 'linear_gradient_x_input', 'linear_pattern']
    >>> rows["linear_pattern"].rank_channels
    1.0
    >>> rows["linear_pattern"].mass_suppressors < rows["linear_filter"].mass_suppressors
    True
    >>> len(rows["linear_pattern"].map), len(rows["linear_pattern"].map[0])  # channels x times
    (5, 16)
    """
    from ...analyses.interpret import attribution_study
    from ...data.attribution_sim import simulate_attribution_eeg
    from ...estimators import NeuralClassifier

    cfg, opts = ctx.cfg, ctx.options
    sim = opts.simulation
    t0 = time.perf_counter()
    ds = simulate_attribution_eeg(**sim.model_dump(), seed=cfg.seed)
    net_spec = opts.network
    network = NeuralClassifier(
        net_spec.name,
        net_spec.params,
        max_epochs=net_spec.max_epochs,
        batch_size=net_spec.batch_size,
        lr=net_spec.lr,
        validation_fraction=0.0,
        random_state=cfg.seed,
        num_threads=net_spec.num_threads,
        device="cpu",
    )
    study = attribution_study(
        ds,
        network,
        _linear_model(opts.linear),
        network_methods=opts.network_methods,
        linear_methods=opts.linear_methods,
        n_splits=opts.n_splits,
        n_explain=opts.n_explain,
        n_check_samples=opts.n_check_samples,
        n_seeds=opts.n_seeds,
        checks=opts.checks,
        cascade=opts.cascade,
        threshold=opts.threshold,
        seed=cfg.seed,
        progress=lambda msg: progress_note("attribution_sanity", msg),
    )
    rows = []
    for m in study.methods:
        s = m.scores
        meets = (
            s["mass_sources"] is not None
            and s["mass_sources"] >= GOAL_SOURCES
            and (s["mass_suppressors"] or 0.0) < GOAL_SUPPRESSORS
        )
        rows.append(
            {
                "method": m.method,
                "model": m.model,
                **{k: s.get(k) for k in MethodRow.model_fields if k in s},
                "stability_folds": m.stability_folds,
                "stability_seeds": m.stability_seeds,
                "verdict": m.verdict,
                "meets_goal": bool(meets),
                "time_s": m.time_s,
                "checks": [c.to_dict() for c in m.checks],
                "map": m.map,
            }
        )
    fs = study.fold_scores
    models = {
        key: ModelStats(
            name=opts.network.name if key == "network" else opts.linear,
            role="main" if key == "network" else "baseline",
            kind="neural" if key == "network" else "classical",
            score_mean=float(np.mean(fs[key])),
            fold_scores=[float(v) for v in fs[key]],
        )
        for key in ("network", "linear")
    }
    result = AttributionSanityResult.create(
        task="attribution_sanity",
        name=cfg.name,
        dataset="simulated:attribution_eeg",
        protocol=f"stratified {opts.n_splits}-fold (maps on held-out samples)",
        metric="balanced_accuracy",
        score_mean=models["network"].score_mean,
        chance_level=0.5,
        n_splits=opts.n_splits,
        seed=cfg.seed,
        versions=versions(),
        data_hash=array_hash(ds.X, ds.y),
        models=models,
        methods=rows,
        truth=study.truth,
        ch_names=list(ds.ch_names),
        sfreq=float(ds.sfreq),
        threshold=study.threshold,
        n_explain=study.n_explain,
        n_check_samples=study.n_check_samples,
        goal_met_by=[r["method"] for r in rows if r["meets_goal"]],
        flagged=[r["method"] for r in rows if r["verdict"] == "fail"],
        timing={"total_s": time.perf_counter() - t0},
    )
    if ctx.write_report:
        from .attribution_sanity_report import write_attribution_sanity_report

        write_attribution_sanity_report(ctx, result)
    return result
