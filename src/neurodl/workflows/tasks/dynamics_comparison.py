"""The ``dynamics_comparison`` task: compare a model's condition-averaged trajectories with a recording.

The model is a recurrent network trained on a cognitive task (``model.source: task_rnn``, built
and trained by :func:`~neurodl.workflows.tasks.task_model.train_network`; its held-out hidden
states averaged per condition, e.g. per target ``location`` of a pro-saccade task) or a
simulated latent linear system (``model.source: simulated``). The recording comes from the
``data`` section (labelled samples, one condition per label): firing rates per trial
``(n_trials, n_units)`` (e.g. the center-out reaching data: one rate per neuron and trial, no
time axis) or epochs ``(n_trials, n_channels, n_times)``. Conditions are matched in sorted order.

Methods side by side (:func:`neurodl.analyses.dynamics_similarity.compare_dynamics`): CCA,
angular Procrustes, DSA and RSA, each with a shuffle null (conditions, or time points for DSA)
and a bootstrap CI over conditions. A recording without a time axis is compared with the
model's time-averaged states (geometry only): DSA needs time and is reported as skipped there.
``controls`` add simulated latent systems of known dynamics (rotation, line attractor, stable
point) compared with the model by DSA: which dynamics is the model's closest to?
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from ..._logging import logger
from ...exceptions import ConfigError, DataFormatError
from .._progress import progress_steps
from ..config import TaskOptions
from ..registry import RunContext, register_task
from ..results import ResultPart, TaskResult
from ._dynamics_common import array_hash, torch_threads, versions
from .task_model import AUTO_CONDITION, TrainedNetworkOptions

__all__ = ["DynamicsComparisonOptions", "DynamicsComparisonResult", "run_dynamics_comparison"]

#: Trial columns tried, in order, when ``model.condition`` is not given.
CONDITION_COLUMNS = ("location", *AUTO_CONDITION)
#: Methods that need a time axis on both sides.
NEEDS_TIME = ("dsa",)


class SimulatedSystemOptions(TaskOptions):
    """A simulated 2-D linear system seen through a random embedding (see ``simulate.py``)."""

    kind: Literal["rotation", "line_attractor", "stable_point"] = "rotation"
    """Latent 2-D dynamics: 'rotation', 'line_attractor' or 'stable_point'."""
    n_units: int = Field(20, ge=2, le=10_000)
    """Units the 2-D latent system is embedded in (random Gaussian map)."""
    noise: float = Field(0.02, ge=0)
    """SD of the process noise of x[t+1] = A x[t] + noise."""
    n_conditions: int = Field(8, ge=2, le=10_000)
    """Trajectories, one per random start on the unit circle."""
    n_times: int = Field(50, ge=3, le=100_000)
    """Time points per trajectory."""


class ModelOptions(TaskOptions):
    """The model side: a task-trained RNN (``trained``) or a simulated system (``simulated``).

    ``condition``: trial column whose values define the conditions (RNN only; auto: the first of
    location, coherence, ... present). ``epoch``: keep the steps of this task epoch only (from
    ``<epoch>_start`` to the next epoch's start, aligned at its start; None: whole trials).
    """

    source: Literal["task_rnn", "simulated"] = "task_rnn"
    """The model compared with the data: 'task_rnn' (an RNN trained as configured under 'trained')
    or 'simulated' (the system under 'simulated')."""
    trained: TrainedNetworkOptions = Field(default_factory=TrainedNetworkOptions)
    condition: str | None = None
    """Trial column whose values define the conditions averaged over (task RNN only); None: the
    first of location, coherence, ... present."""
    epoch: str | None = None
    """Keep only the steps of this task epoch (from <epoch>_start to the next epoch's start, aligned
    at its start); None: whole trials."""
    simulated: SimulatedSystemOptions = Field(default_factory=SimulatedSystemOptions)


class DSAOptions(TaskOptions):
    """DSA parameters (see :func:`neurodl.analyses.dynamics_similarity.dsa_distance`)."""

    n_delays: int = Field(2, ge=1)
    """Delays of the delay (Hankel) embedding before the HAVOK/DMD fit."""
    delay_interval: int = Field(1, ge=1)
    """Steps between successive delays of the embedding."""
    rank: int | None = Field(
        None, ge=1, description="None: the smaller of the two delay embeddings' ranks."
    )
    lamb: float = Field(0.0, ge=0)
    """Ridge penalty of the DMD least-squares fit (0: none)."""
    score_method: Literal["angular", "euclidean", "wasserstein"] = "angular"
    """Distance between the two operators: 'angular' (radians, 0 to pi, after the best orthogonal
    alignment), 'euclidean' (Frobenius) or 'wasserstein' (matched eigenvalues)."""
    n_starts: int = Field(4, ge=0, le=100)
    """Random starts of the orthogonal alignment search, besides four fixed ones."""
    n_pca: int | None = Field(
        10, ge=1, description="Project each system on its top PCs before DSA (None: all units)."
    )


class DynamicsComparisonOptions(TaskOptions):
    """Which model, which methods and controls, and the statistics.

    Examples
    --------
    A simulated line attractor as the model, the four methods (the default) and a rotation as a
    control of known dynamics:

    >>> opts = DynamicsComparisonOptions.model_validate({
    ...     "model": {"source": "simulated", "simulated": {"kind": "line_attractor"}},
    ...     "controls": [{"kind": "rotation"}],
    ... })
    >>> opts.methods, opts.model.simulated.n_units, opts.controls[0].kind
    (['cca', 'procrustes', 'dsa', 'rsa'], 20, 'rotation')
    >>> opts.n_shuffles, opts.n_boot, opts.dsa.n_delays
    (100, 200, 2)

    A method given twice is refused when the config is parsed:

    >>> from neurodl.exceptions import ConfigError
    >>> from neurodl.workflows import parse_config
    >>> try:
    ...     parse_config({"task": "dynamics_comparison",
    ...                   "data": {"source": "file", "path": "recording.npz"},
    ...                   "options": {"methods": ["cca", "cca"]}})
    ... except ConfigError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid config (mapping): invalid value at 'options.methods': Value error, give each method
    once, at least one; got ['cca', 'cca'].
    """

    model: ModelOptions = Field(default_factory=ModelOptions)
    methods: list[Literal["cca", "procrustes", "dsa", "rsa"]] = Field(
        default_factory=lambda: ["cca", "procrustes", "dsa", "rsa"]
    )
    """Similarity methods run, each once: 'cca', 'procrustes' (angular), 'dsa' (dynamical similarity
    analysis) and 'rsa'."""
    controls: list[SimulatedSystemOptions] = Field(default_factory=list)
    """Simulated latent systems of known dynamics (keys as in model.simulated) compared with the
    model by DSA; empty: none."""
    n_components: int | None = Field(3, ge=1, description="PCA dimensions for CCA/Procrustes.")
    cca_reg: float = Field(0.0, ge=0, le=1)
    """CCA shrinkage of each covariance towards a scaled identity, 0-1 (0: plain CCA)."""
    rsa_metric: Literal["correlation", "euclidean", "cosine"] = "correlation"
    """Distance of the RDMs of the RSA method: 'correlation', 'euclidean' or 'cosine'."""
    dsa: DSAOptions = Field(default_factory=DSAOptions)
    zscore: bool = Field(True, description="z-score each unit over conditions x time points.")
    n_shuffles: int = Field(100, ge=0, le=100_000)
    """Shuffles of the null distribution (conditions, or time points for DSA); 0: no p-values."""
    n_boot: int = Field(200, ge=0, le=100_000)
    """Bootstrap resamples (over trials when both sides have them, else conditions) of each score's
    CI; 0: no CI."""
    ci: float = Field(0.95, gt=0, lt=1)
    """Confidence level of the bootstrap intervals (e.g. 0.95)."""

    @field_validator("methods")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if not value or len(set(value)) != len(value):
            raise ValueError(f"give each method once, at least one; got {value!r}")
        return value


class MethodScore(ResultPart):
    """One method's score, shuffle null and bootstrap CI (or why it was skipped)."""

    method: str
    description: str
    score: float | None
    higher_is_similar: bool
    null: str | None = Field(None, description="'condition' or 'time' shuffle.")
    null_scores: list[float | None] = Field(default_factory=list)
    null_mean: float | None = None
    p_value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    bootstrap: str | None = Field(None, description="'trials' (within conditions) or 'conditions'.")
    time_s: float = 0.0
    skipped: str | None = None


class ComparisonSummary(ResultPart):
    """The model against one reference (the recording or a simulated control)."""

    reference: str
    kind: Literal["recording", "control"]
    model_shape: list[int] = Field(description="(n_conditions, n_times, n_units) compared.")
    reference_shape: list[int]
    static: bool = Field(description="True when the model states were averaged over time.")
    methods: list[MethodScore]


class DynamicsComparisonResult(TaskResult):
    """Result of the ``dynamics_comparison`` task (``results.json``).

    ``score_mean`` / ``p_value`` / ``score_ci``: the first computed method against the recording.

    Examples
    --------
    The task's own fields, beside those of every :class:`~neurodl.workflows.results.TaskResult`
    (``comparisons``: the recording first, then each control, each with one
    :class:`MethodScore` per method):

    >>> from neurodl.workflows import TASKS
    >>> from neurodl.workflows.results import TaskResult
    >>> TASKS["dynamics_comparison"].result is DynamicsComparisonResult
    True
    >>> [f for f in DynamicsComparisonResult.model_fields if f not in TaskResult.model_fields]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['model_source', 'model_info', 'condition', 'conditions_model', 'conditions_reference',
     'comparisons', 'timing']
    >>> MethodScore(method="cca", description="mean canonical correlation", score=0.98,
    ...             higher_is_similar=True).p_value is None  # no shuffles run
    True
    """

    task: Literal["dynamics_comparison"] = "dynamics_comparison"
    model_source: str
    model_info: dict[str, Any]
    condition: str
    conditions_model: list[str]
    conditions_reference: list[str]
    comparisons: list[ComparisonSummary]
    timing: dict[str, float]

    def summary_lines(self) -> list[str]:
        """One line per comparison and method."""
        lines = [
            f"{self.model_source} model vs {self.dataset} ({len(self.conditions_model)} conditions)"
        ]
        for comp in self.comparisons:
            for m in comp.methods:
                if m.skipped:
                    lines.append(f"{comp.reference}: {m.method} skipped ({m.skipped})")
                    continue
                ci = "" if m.ci_low is None else f" [{m.ci_low:.3f}, {m.ci_high:.3f}]"
                p = "" if m.p_value is None else f", p = {m.p_value:.3f} ({m.null} shuffle)"
                lines.append(f"{comp.reference}: {m.method} = {m.score:.3f}{ci}{p}")
        return lines


# ------------------------------------------------------------------ the model's trajectories


def _epoch_window(meta: Any, epoch: str, n_steps: int) -> tuple[np.ndarray, int]:
    """Per-trial start step of ``epoch`` and the common length (shortest epoch)."""
    col = f"{epoch}_start"
    if col not in meta:
        epochs = [c[: -len("_start")] for c in meta.columns if str(c).endswith("_start")]
        raise ConfigError(
            f"Invalid value for 'model.epoch'. Allowed: {', '.join(epochs)} or null; got {epoch!r}."
        )
    starts = meta[col].to_numpy(dtype=int)
    bounds = [
        meta[c].to_numpy(dtype=float) for c in meta.columns if str(c).endswith(("_start", "_end"))
    ]
    nxt = np.full(starts.shape, float(n_steps))
    for b in bounds:
        nxt = np.where((b > starts) & (b < nxt), b, nxt)
    length = int(np.min(nxt - starts))
    if length < 1:
        raise DataFormatError(f"Epoch {epoch!r} has no time steps in some trials.")
    return starts, length


def _condition_means(states: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Average ``states`` (n_trials, ...) per label, labels sorted (numerically when numbers)."""
    values = sorted(dict.fromkeys(np.asarray(labels).tolist()))
    means = np.stack([states[labels == v].mean(axis=0) for v in values])
    return means, [str(v) for v in values]


@dataclass
class Trajectories:
    """Condition means ``(n_conditions, n_times, n_units)`` and, when known, the single trials."""

    means: np.ndarray
    names: list[str]
    trials: np.ndarray | None = None
    labels: np.ndarray | None = None


def _rnn_trajectories(opts: ModelOptions, seed: int) -> tuple[Trajectories, str, dict]:
    from ...estimators.task_training import predict_task
    from .task_model import train_network

    t_opts = opts.trained
    model, _, test, fit, _, _ = train_network(t_opts, seed)
    with torch_threads(t_opts.training.num_threads):
        _, hidden = predict_task(model, test)
    meta = test.trials
    cond = opts.condition or next(
        (c for c in CONDITION_COLUMNS if c in meta and meta[c].notna().all()), None
    )
    if cond is None or cond not in meta:
        raise ConfigError(
            f"Invalid value for 'model.condition'. Allowed: one of {list(meta.columns)}; "
            f"got {opts.condition!r}."
        )
    if opts.epoch is not None:
        starts, length = _epoch_window(meta, opts.epoch, hidden.shape[1])
        hidden = np.stack([h[s : s + length] for h, s in zip(hidden, starts, strict=True)])
    labels = meta[cond].to_numpy()
    means, names = _condition_means(hidden, labels)
    info = {
        "tasks": list(t_opts.tasks),
        "network": t_opts.network.name,
        "n_hidden": int(hidden.shape[2]),
        "validation_accuracy": fit.accuracy,
        "n_epochs": fit.n_epochs,
        "training_s": fit.time_s,
        "n_test_trials": int(test.n_trials),
        "epoch": opts.epoch,
    }
    return Trajectories(means, names, hidden.astype(float), labels), cond, info


def _simulated(opts: SimulatedSystemOptions, seed: int, **shape: int) -> np.ndarray:
    from ...analyses.dynamics_similarity import dynamics_matrix, simulate_linear_system

    params = {"n_conditions": opts.n_conditions, "n_times": opts.n_times, **shape}
    return simulate_linear_system(
        dynamics_matrix(opts.kind), n_units=opts.n_units, noise=opts.noise, seed=seed, **params
    )


def model_trajectories(opts: ModelOptions, seed: int) -> tuple[Trajectories, str, dict]:
    """The model's condition means (and trials for an RNN), the condition column, and info."""
    if opts.source == "task_rnn":
        return _rnn_trajectories(opts, seed)
    sim = opts.simulated
    names = [f"start {i}" for i in range(sim.n_conditions)]
    info = {"kind": sim.kind, "n_units": sim.n_units, "noise": sim.noise}
    return Trajectories(_simulated(sim, seed), names), "start", info


# ------------------------------------------------------------------ the recording


def recording_trajectories(ds: Any) -> Trajectories:
    """Condition means of a labelled dataset ``(n_conditions, n_times or 1, n_units)`` + trials."""
    x = np.asarray(ds.X, dtype=float)
    if x.ndim == 2:
        x = x[:, None, :]
    elif x.ndim == 3:
        x = np.transpose(x, (0, 2, 1))  # (n_trials, n_times, n_channels)
    else:
        raise DataFormatError(
            f"The recording must be (n_trials, n_units) or (n_trials, n_channels, n_times); "
            f"got shape {x.shape}."
        )
    labels = np.asarray(ds.y)
    means, names = _condition_means(x, labels)
    return Trajectories(means, names, x, labels)


def _zscored(x: np.ndarray) -> np.ndarray:
    flat = x.reshape(-1, x.shape[2])
    sd = flat.std(axis=0)
    sd[sd == 0] = 1.0
    return (x - flat.mean(axis=0)) / sd


def _resampled(x: np.ndarray, n_times: int) -> np.ndarray:
    """Linear interpolation of trajectories onto ``n_times`` evenly spaced points."""
    if x.shape[1] == n_times:
        return x
    old, new = np.linspace(0, 1, x.shape[1]), np.linspace(0, 1, n_times)
    return np.stack(
        [np.stack([np.interp(new, old, c[:, u]) for u in range(x.shape[2])], axis=1) for c in x]
    )


def _top_pcs(x: np.ndarray, k: int | None) -> np.ndarray:
    """Trajectories projected on their top ``k`` principal components (pooled over time)."""
    if k is None or k >= x.shape[2]:
        return x
    flat = x.reshape(-1, x.shape[2])
    flat = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    return (flat @ vt[:k].T).reshape(x.shape[0], x.shape[1], -1)


# ------------------------------------------------------------------ comparing


def _method_params(opts: DynamicsComparisonOptions) -> dict[str, dict[str, Any]]:
    return {
        "cca": {"n_components": opts.n_components, "reg": opts.cca_reg},
        "procrustes": {"n_components": opts.n_components},
        "dsa": opts.dsa.model_dump(exclude={"n_pca"}),
        "rsa": {"metric": opts.rsa_metric},
    }


def compare(
    model: Trajectories,
    reference: Trajectories,
    prepare: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    methods: list[str],
    opts: DynamicsComparisonOptions,
    seed: int,
) -> list[MethodScore]:
    """Every method on the prepared condition means, with its null and bootstrap CI.

    The CI resamples trials within conditions when both sides have trials, else conditions.
    Methods the shapes cannot support are reported as skipped.
    """
    from ...analyses.dynamics_similarity import METHODS, bootstrap_trials, compare_dynamics

    x, y = prepare(model.means, reference.means)
    by_trials = model.trials is not None and reference.trials is not None
    params = _method_params(opts)
    out = []
    for name in progress_steps("dynamics_comparison", methods, unit="method"):
        spec = METHODS[name]
        base = {
            "method": name,
            "description": spec.description,
            "higher_is_similar": spec.higher_is_similar,
        }
        skipped = None
        if name in NEEDS_TIME and min(x.shape[1], y.shape[1]) < 3:
            skipped = "needs a time axis; the recording has one time point per condition"
        elif name == "rsa" and x.shape[0] < 3:
            skipped = "needs at least 3 conditions"
        if skipped:
            out.append(MethodScore(score=None, skipped=skipped, **base))
            continue
        k = opts.dsa.n_pca if name == "dsa" else None

        def score(
            a: np.ndarray, b: np.ndarray, f: Any = spec.func, kw: Any = params[name], pcs: Any = k
        ) -> float:
            return float(f(_top_pcs(a, pcs), _top_pcs(b, pcs), **kw))

        t0 = time.perf_counter()
        res = compare_dynamics(
            _top_pcs(x, k),
            _top_pcs(y, k),
            methods=[name],
            params={name: params[name]},
            n_shuffles=opts.n_shuffles,
            n_boot=0 if by_trials else opts.n_boot,
            ci=opts.ci,
            seed=seed,
        ).methods[name]
        if by_trials and opts.n_boot:
            res.ci_low, res.ci_high, _ = bootstrap_trials(
                score,
                model.trials,
                model.labels,
                reference.trials,
                reference.labels,
                prepare=prepare,
                n_boot=opts.n_boot,
                ci=opts.ci,
                seed=seed,
            )
        null = np.asarray(res.null_scores, dtype=float)
        out.append(
            MethodScore.model_validate(
                {
                    **base,
                    "score": res.score,
                    "null": res.null,
                    "null_scores": [float(v) for v in null],
                    "null_mean": float(null.mean()) if null.size else None,
                    "p_value": res.p_value,
                    "ci_low": res.ci_low,
                    "ci_high": res.ci_high,
                    "bootstrap": None
                    if not opts.n_boot
                    else ("trials" if by_trials else "conditions"),
                    "time_s": time.perf_counter() - t0,
                }
            )
        )
        logger.info("%s = %.4f (p = %s)", name, res.score, res.p_value)
    return out


def _preparer(
    static: bool, n_times: int, zscore: bool
) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Model means -> time-averaged (static recording) or resampled to the recording's times."""

    def prepare(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = x.mean(axis=1, keepdims=True) if static else _resampled(x, n_times)
        return (_zscored(x), _zscored(y)) if zscore else (x, y)

    return prepare


@register_task(
    "dynamics_comparison",
    options=DynamicsComparisonOptions,
    result=DynamicsComparisonResult,
    reads=("data", "options"),
    description="compare a task RNN's (or simulated) trajectories with a recording: CCA, "
    "Procrustes, DSA, RSA with shuffle nulls and CIs",
)
def run_dynamics_comparison(ctx: RunContext) -> DynamicsComparisonResult:
    """Run the task; write ``report.html`` into ``ctx.out_dir`` (if given).

    Examples
    --------
    A recording of the model's own latent system (a 2-D rotation in 8 units, 6 conditions of 30
    time points) seen through another random map onto 12 channels, 5 noisy trials per
    condition: CCA finds the same trajectories (about 1), DSA the same dynamics (an angle near
    0), and every condition or time shuffle does worse (p = 1 / (9 + 1)):

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from neurodl.analyses.dynamics_similarity import dynamics_matrix, simulate_linear_system
    >>> from neurodl.workflows import TASKS, parse_config, run_config
    >>> TASKS["dynamics_comparison"].run is run_dynamics_comparison
    True
    >>> system = {"kind": "rotation", "n_units": 8, "noise": 0.02, "n_conditions": 6, "n_times": 30}
    >>> latent = simulate_linear_system(dynamics_matrix("rotation"), n_units=8, noise=0.02,
    ...                                 n_conditions=6, n_times=30, seed=0)  # the model's, seed 0
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat(np.arange(6), 5)
    >>> trials = (latent @ rng.standard_normal((8, 12)))[labels]
    >>> trials = trials + 0.1 * rng.standard_normal(trials.shape)  # (30 trials, 30 times, 12)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.savez(Path(d) / "rec.npz", X=trials, y=labels)
    ...     cfg = parse_config({
    ...         "task": "dynamics_comparison",
    ...         "data": {"source": "file", "path": str(Path(d) / "rec.npz"),
    ...                  "params": {"key": "X", "label_key": "y",
    ...                             "axis_order": "epochs_times_channels"}},
    ...         "options": {"model": {"source": "simulated", "simulated": system},
    ...                     "dsa": {"n_delays": 2, "n_pca": 4, "rank": 2, "n_starts": 1},
    ...                     "n_shuffles": 9, "n_boot": 10},
    ...     })
    ...     res = run_config(cfg).result
    >>> comp = res.comparisons[0]
    >>> comp.model_shape, comp.reference_shape  # (conditions, times, units)
    ([6, 30, 8], [6, 30, 12])
    >>> scores = {m.method: m for m in comp.methods}
    >>> scores["cca"].score > 0.95, scores["dsa"].score < 0.2, scores["rsa"].score > 0.8
    (True, True, True)
    >>> [scores[k].p_value for k in ("cca", "procrustes", "dsa", "rsa")]
    [0.1, 0.1, 0.1, 0.1]
    >>> res.metric, res.score_mean == scores["cca"].score
    ('cca', True)
    """
    from ..data import load_samples

    cfg, opts = ctx.cfg, ctx.options
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    model, cond, info = model_trajectories(opts.model, cfg.seed)
    timing["model_s"] = time.perf_counter() - t0
    ds, data_name = load_samples(cfg.data, seed=cfg.seed)
    rec = recording_trajectories(ds)
    if rec.means.shape[0] != model.means.shape[0]:
        raise ConfigError(
            f"The model has {model.means.shape[0]} conditions ({cond}: {model.names}) but the "
            f"recording {data_name} has {rec.means.shape[0]} ({rec.names}); they are matched in "
            "sorted order, so the counts must agree."
        )
    static = rec.means.shape[1] == 1
    prepare = _preparer(static, rec.means.shape[1], opts.zscore)
    t0 = time.perf_counter()
    comparisons = [
        ComparisonSummary(
            reference=data_name,
            kind="recording",
            model_shape=list(prepare(model.means, rec.means)[0].shape),
            reference_shape=list(rec.means.shape),
            static=static,
            methods=compare(model, rec, prepare, list(opts.methods), opts, cfg.seed),
        )
    ]
    timing["recording_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = Trajectories(model.means, model.names)  # controls: conditions are random starts

    def as_is(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (_zscored(x), _zscored(y)) if opts.zscore else (x, y)

    for i, ctrl in enumerate(opts.controls):
        shape = {"n_conditions": model.means.shape[0], "n_times": model.means.shape[1]}
        sim = Trajectories(_simulated(ctrl, cfg.seed + 1 + i, **shape), model.names)
        comparisons.append(
            ComparisonSummary(
                reference=f"simulated:{ctrl.kind}",
                kind="control",
                model_shape=list(model.means.shape),
                reference_shape=list(sim.means.shape),
                static=False,
                methods=compare(full, sim, as_is, ["dsa"], opts, cfg.seed),
            )
        )
    timing["controls_s"] = time.perf_counter() - t0
    first = next((m for m in comparisons[0].methods if m.skipped is None), None)
    result = DynamicsComparisonResult.create(
        task="dynamics_comparison",
        name=cfg.name,
        dataset=data_name,
        protocol=f"condition means matched in sorted order; {opts.n_shuffles} shuffles, "
        f"{opts.n_boot} bootstrap resamples",
        metric=None if first is None else first.method,
        score_mean=None if first is None else first.score,
        score_ci=None if first is None or first.ci_low is None else [first.ci_low, first.ci_high],
        p_value=None if first is None else first.p_value,
        seed=cfg.seed,
        versions=versions(),
        data_hash=array_hash(model.means, rec.means),
        model_source=opts.model.source,
        model_info=info,
        condition=cond,
        conditions_model=model.names,
        conditions_reference=rec.names,
        comparisons=comparisons,
        timing=timing,
    )
    if ctx.write_report:
        from .dynamics_comparison_report import write_dynamics_comparison_report

        x, y = prepare(model.means, rec.means)
        write_dynamics_comparison_report(ctx, result, model=x, recording=y)
    return result
