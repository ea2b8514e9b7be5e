"""The ``task_model`` task: train a recurrent network on cognitive tasks and analyse it.

Trials come from :mod:`neurodl.data.cognitive` (one task, or several with one-hot rule inputs),
the network from :mod:`neurodl.models.task_rnn`, the training from
:func:`neurodl.estimators.task_training.train_task_model`. The trained network is scored on
held-out trials drawn with a fresh seed, then analysed: fixed points of its noise-free update
(one search per constant input), line attractors, PCA trajectories per condition and the
psychometric curve. The task reads only ``options`` (no ``data`` section: it makes its trials).
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ..._logging import logger
from ..config import TaskOptions
from ..registry import RunContext, register_task
from ._dynamics_common import torch_threads
from ._network_result import network_result_fields, psychometric_summary
from .task_model_result import (
    FixedPointSummary,
    TaskModelResult,
)

__all__ = ["TaskModelOptions", "TaskModelResult", "run_task_model"]

#: Stimulus columns a psychometric curve uses when ``psychometric.stimulus`` is not given.
AUTO_STIMULUS = ("coherence", "cued_coherence")
#: Condition columns the trajectories use when ``trajectories.condition`` is not given.
AUTO_CONDITION = ("coherence", "cued_coherence", "rule", "f1", "sample", "interval")


class NetworkOptions(TaskOptions):
    """The network: ``leaky_rnn``, ``gru`` or ``lstm`` and its parameters (``n_hidden``, ...)."""

    name: Literal["leaky_rnn", "gru", "lstm"] = "leaky_rnn"
    """The recurrent network: 'leaky_rnn' (continuous-time rate RNN), 'gru' or 'lstm' (see
    neurodl.models.task_rnn.build_task_model)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Hyper-parameters of the network (n_hidden; leaky_rnn also tau, dt, sigma_rec, sigma_in,
    dale, ...); n_inputs/n_outputs come from the trials."""


class TrainingOptions(TaskOptions):
    """Training (see :func:`~neurodl.estimators.task_training.train_task_model`)."""

    max_epochs: int = Field(30, ge=1, le=100_000)
    """Maximum passes over the training trials (Adam)."""
    batch_size: int = Field(32, ge=1)
    """Trials per mini-batch."""
    lr: float = Field(1e-2, gt=0)
    """Adam learning rate."""
    weight_decay: float = Field(0.0, ge=0)
    """Adam L2 weight decay (0: none)."""
    validation_fraction: float = Field(0.2, ge=0, lt=1)
    """Fraction of the training trials held out (seeded) to monitor loss and accuracy; 0: none
    (accuracy then on the training trials)."""
    stop_at_accuracy: float | None = Field(None, gt=0, le=1)
    """Stop training once the validation accuracy reaches this value (0-1); None: train for
    max_epochs. Ignored for tasks without an accuracy."""
    loss: Literal["mse", "cross_entropy"] = "mse"
    """'mse' on the masked target outputs, or 'cross_entropy' over the output units of each masked
    step."""
    schedule: Literal["cosine", "onecycle", "plateau"] | None = None
    """Learning-rate schedule: 'cosine' (anneal to 0 over max_epochs), 'onecycle' or 'plateau';
    None: constant lr."""
    max_time_s: float | None = Field(None, gt=0)
    """Wall-time budget in seconds: training stops after the first epoch that ends past it; None: no
    budget."""
    num_threads: int | None = Field(1, ge=1)
    """Torch intra-op threads during training and analysis (restored after); None: leave unchanged.
    """


class FixedPointOptions(TaskOptions):
    """Fixed-point search: one per entry of ``inputs``.

    An entry is ``zero`` or input channel names joined by ``+`` held at 1, the others at 0 (e.g.
    ``fixation+context_motion``: the context task's input during the stimulus with no evidence).
    ``polish_iters=0`` skips the Levenberg-Marquardt polishing, which keeps slow points where
    they are (polishing moves them onto the nearest exact fixed point): use it to look for a
    line of slow points.
    """

    enabled: bool = True
    """Search for fixed points of the trained network (false: skip)."""
    inputs: list[str] = Field(default_factory=lambda: ["zero"])
    """Constant inputs to search at: 'zero' or input channel names joined by '+' (held at 1, the
    others at 0); one search per entry. A single string is accepted."""
    n_initial: int = Field(128, ge=1, le=100_000)
    """Initial states per search, drawn from the held-out hidden-state trajectories."""
    noise: float = Field(0.01, ge=0)
    """Standard deviation of the Gaussian noise added to each initial state."""
    max_iters: int = Field(500, ge=1)
    """Adam iterations minimising q = |F(h) - h|^2 / 2."""
    lr: float = Field(1e-2, gt=0)
    """Adam learning rate of the search."""
    tol_q: float = Field(1e-8, gt=0)
    """Points with q below this are fixed points."""
    tol_slow: float = Field(1e-4, gt=0)
    """Points with tol_q <= q < tol_slow are reported as slow points."""
    tol_unique: float = Field(1e-3, gt=0)
    """Fixed points closer than this (plus their localisation) are duplicates; the one with lower q
    is kept."""
    polish_iters: int = Field(50, ge=0)
    """Levenberg-Marquardt iterations after Adam; 0 skips polishing and keeps slow points in place
    (to look for a line attractor)."""

    @field_validator("inputs", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class PsychometricOptions(TaskOptions):
    """Psychometric curve of the held-out choices against a stimulus column (auto: coherence)."""

    enabled: bool = True
    """Fit a psychometric curve of the held-out choices (two-choice tasks only)."""
    stimulus: str | None = None
    """Trial-table column of the stimulus strength; None: the first of 'coherence', 'cued_coherence'
    present."""


class TrajectoryOptions(TaskOptions):
    """Condition-averaged PCA trajectories of the held-out hidden states."""

    enabled: bool = True
    """Compute condition-averaged PCA trajectories of the held-out hidden states."""
    condition: str | list[str] | None = None
    """Trial-table column(s) defining the conditions (several: joined); None: 'task' with several
    tasks, else the first complete column of coherence, cued_coherence, rule, f1, sample, interval,
    else each trial its own."""
    n_components: int = Field(3, ge=2, le=10)
    """Principal components kept (2-10)."""


class TrainedNetworkOptions(TaskOptions):
    """What to train on, which network and how: shared by ``task_model`` and ``perturbation``.

    ``tasks``: one task name or several (several: one network with rule inputs).
    ``task_params``: per task name, extra parameters of its generator.
    """

    tasks: list[str] = Field(default_factory=lambda: ["perceptual_decision_making"])
    """Cognitive task(s) to train on (names of neurodl.data.cognitive.COGNITIVE_TASKS); several: one
    network with rule inputs. A single string is accepted."""
    task_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per task name, extra keyword arguments of its trial generator."""
    dt: float = Field(20.0, gt=0)
    """Simulation time step in ms."""
    n_train_trials: int = Field(1000, ge=4, le=1_000_000)
    """Training trials generated (the validation trials are taken from them)."""
    n_test_trials: int = Field(400, ge=2, le=1_000_000)
    """Held-out test trials (fresh seed) on which the network is scored and analysed."""
    network: NetworkOptions = Field(default_factory=NetworkOptions)
    training: TrainingOptions = Field(default_factory=TrainingOptions)
    psychometric: PsychometricOptions = Field(default_factory=PsychometricOptions)

    @field_validator("tasks", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, value: list[str]) -> list[str]:
        from ...data.cognitive import COGNITIVE_TASKS

        if not value:
            raise ValueError("at least one task is needed")
        for name in value:
            if name not in COGNITIVE_TASKS:
                raise ValueError(
                    f"unknown task {name!r}; known tasks: {', '.join(COGNITIVE_TASKS)}"
                )
        if len(set(value)) != len(value):
            raise ValueError(f"a task is listed twice in {value!r}")
        return value

    def probe_trials(self) -> Any:
        """A few trials of the configured tasks (checks dt and task_params on the way)."""
        return make_trials(self, 2 * len(self.tasks), seed=0)

    @model_validator(mode="after")
    def _check_with_a_few_trials(self) -> TrainedNetworkOptions:
        """Generate a few trials: checks dt, task_params and the psychometric column."""
        for key in self.task_params:
            if key not in self.tasks:
                raise ValueError(
                    f"task_params names {key!r}, which is not one of the tasks {self.tasks!r}"
                )
        columns = list(self.probe_trials().trials.columns)
        stim = self.psychometric.stimulus
        if stim is not None and stim not in columns:
            raise ValueError(f"psychometric.stimulus: no column {stim!r}; columns: {columns}")
        return self


class TaskModelOptions(TrainedNetworkOptions):
    """Training (see :class:`TrainedNetworkOptions`) and the analyses of the trained network.

    Examples
    --------
    A GRU on the perceptual decision task; training, fixed points and trajectories keep their
    defaults:

    >>> opts = TaskModelOptions.model_validate({
    ...     "tasks": "perceptual_decision_making",
    ...     "network": {"name": "gru", "params": {"n_hidden": 16}},
    ... })
    >>> opts.tasks, opts.network.name, opts.n_train_trials, opts.n_test_trials, opts.dt
    (['perceptual_decision_making'], 'gru', 1000, 400, 20.0)
    >>> opts.training.max_epochs, opts.fixed_points.inputs, opts.trajectories.n_components
    (30, ['zero'], 3)

    A few trials are generated while validating, so a fixed-point input that the task does not
    have is refused with the inputs it has:

    >>> from neurodl.workflows import parse_config
    >>> parse_config({"task": "task_model", "options": {"fixed_points": {"inputs": "stim_3"}}})
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid config (mapping): invalid value at 'options': Value error, fixed_points.inputs: unknown input 'stim_3' in 'stim_3'; use 'zero' or names of ['fixation', 'stim_1', 'stim_2'] joined by '+'.
    """

    fixed_points: FixedPointOptions = Field(default_factory=FixedPointOptions)
    trajectories: TrajectoryOptions = Field(default_factory=TrajectoryOptions)

    @model_validator(mode="after")
    def _check_analyses(self) -> TaskModelOptions:
        """The named fixed-point inputs and trajectory columns exist."""
        probe = self.probe_trials()
        for entry in self.fixed_points.inputs:
            for name in [] if entry == "zero" else entry.split("+"):
                if name not in probe.input_names:
                    raise ValueError(
                        f"fixed_points.inputs: unknown input {name!r} in {entry!r}; use 'zero' "
                        f"or names of {probe.input_names} joined by '+'"
                    )
        columns = list(probe.trials.columns)
        cond = self.trajectories.condition
        for col in [cond] if isinstance(cond, str) else cond or []:
            if col not in columns:
                raise ValueError(f"trajectories.condition: no column {col!r}; columns: {columns}")
        return self


def make_trials(opts: TrainedNetworkOptions, n_trials: int, *, seed: int) -> Any:
    """Trials of the options' task(s): one task alone, several with rule inputs."""
    from ...data.cognitive import make_task_trials, multitask_trials

    if len(opts.tasks) == 1:
        name = opts.tasks[0]
        return make_task_trials(
            name, n_trials, dt=opts.dt, seed=seed, **opts.task_params.get(name, {})
        )
    return multitask_trials(opts.tasks, n_trials, dt=opts.dt, seed=seed, params=opts.task_params)


def _accuracy_kind(trials: Any) -> str | None:
    meta = trials.trials
    if "choice" in meta and "response_start" in meta and meta["choice"].notna().any():
        return "choice"
    targets = trials.targets[trials.mask > 0]
    if np.any(targets != 0) and np.all(np.isin(targets, (-1.0, 0.0, 1.0))):
        return "sign"
    return None


def _per_task(trials: Any, names: list[str]) -> dict[str, Any]:
    if len(names) == 1:
        return {names[0]: trials}
    task = trials.trials["task"].to_numpy()
    return {n: trials.subset(np.flatnonzero(task == n)) for n in names}


def _accuracies(outputs: np.ndarray, trials: Any, names: list[str]) -> dict[str, float | None]:
    from ...estimators.task_training import choice_accuracy, sign_accuracy

    task = trials.trials["task"].to_numpy() if len(names) > 1 else None
    out = {}
    for name, sub in _per_task(trials, names).items():
        kind = _accuracy_kind(sub)
        o = outputs if task is None else outputs[task == name]
        if kind is None or sub.n_trials == 0:
            out[name] = None
        else:
            value = (choice_accuracy if kind == "choice" else sign_accuracy)(o, sub)
            out[name] = None if not np.isfinite(value) else float(value)
    return out


def _mean(values: dict[str, float | None]) -> float | None:
    got = [v for v in values.values() if v is not None]
    return float(np.mean(got)) if got else None


def _chosen(outputs: np.ndarray, trials: Any) -> np.ndarray:
    """Index of the chosen ``choice_*`` output per trial (mean over the response period)."""
    cols = [i for i, n in enumerate(trials.output_names) if str(n).startswith("choice")]
    meta = trials.trials
    start = meta["response_start"].to_numpy(dtype=float)
    stop = meta["response_end"].to_numpy(dtype=float) if "response_end" in meta else None
    chosen = np.full(trials.n_trials, np.nan)
    for i in range(trials.n_trials):
        if np.isnan(start[i]):
            continue
        end = trials.n_steps if stop is None or np.isnan(stop[i]) else int(stop[i])
        chosen[i] = np.argmax(outputs[i, int(start[i]) : end][:, cols].mean(axis=0))
    return chosen


def _psychometric(opts: TaskModelOptions, outputs: np.ndarray, trials: Any) -> Any:
    from ...analyses.behaviour import psychometric_curve

    meta = trials.trials
    stim = opts.psychometric.stimulus
    if stim is None:
        stim = next((c for c in AUTO_STIMULUS if c in meta), None)
    n_choices = sum(str(n).startswith("choice") for n in trials.output_names)
    if stim is None or n_choices != 2 or "response_start" not in meta:
        return None, None
    s = meta[stim].to_numpy(dtype=float)
    chosen = _chosen(outputs, trials)
    keep = np.isfinite(s) & np.isfinite(chosen)
    if not keep.any():
        return None, None
    curve = psychometric_curve(s[keep], (chosen[keep] == 0).astype(float))
    return stim, curve


def _conditions(opts: TaskModelOptions, trials: Any) -> tuple[str, np.ndarray]:
    meta = trials.trials
    cond = opts.trajectories.condition
    if cond is None:
        if "task" in meta:
            cond = "task"
        else:
            cond = next((c for c in AUTO_CONDITION if c in meta and meta[c].notna().all()), None)
    if cond is None:  # e.g. flip-flop: the first 8 trials, each its own condition
        labels = np.array([f"trial {i}" for i in range(trials.n_trials)], dtype=object)
        return "trial", labels
    cols = [cond] if isinstance(cond, str) else list(cond)
    labels = meta[cols].astype(str).agg(" | ".join, axis=1).to_numpy()
    return " | ".join(cols), labels


def _fixed_points(
    opts: TaskModelOptions, model: Any, hidden: np.ndarray, input_names: list[str], seed: int
) -> tuple[list[FixedPointSummary], list[Any]]:
    import torch

    from ...analyses.rnn_dynamics import detect_line_attractor, find_fixed_points, sample_states

    fpo = opts.fixed_points

    def update(h: Any, x: Any) -> Any:
        return model.step(h.float(), x.float()).double()

    summaries, found = [], []
    states = sample_states(hidden, fpo.n_initial, noise=fpo.noise, seed=seed)
    for name in fpo.inputs:
        x = np.zeros(len(input_names))
        for channel in [] if name == "zero" else name.split("+"):
            x[input_names.index(channel)] = 1.0
        with torch.enable_grad():
            fp = find_fixed_points(
                update,
                states,
                inputs=x,
                tol_q=fpo.tol_q,
                tol_slow=fpo.tol_slow,
                max_iters=fpo.max_iters,
                lr=fpo.lr,
                tol_unique=fpo.tol_unique,
                polish_iters=fpo.polish_iters,
                seed=seed,
            )
        la = detect_line_attractor(fp)
        logger.info("fixed points at input %s: %s (%.1f s)", name, fp.counts(), fp.time_s)
        moduli = np.abs(fp.eigenvalues).max(axis=1) if fp.n_points else np.zeros(0)
        summaries.append(
            FixedPointSummary.model_validate(
                {
                    "input": name,
                    "n_initial": fp.n_initial,
                    "n_points": fp.n_points,
                    "n_slow_points": int(fp.slow_points.shape[0]),
                    "counts": fp.counts(),
                    "stability": [str(s) for s in fp.stability],
                    "max_eigenvalue_modulus": [float(m) for m in moduli],
                    "q": [float(v) for v in fp.q],
                    "time_s": float(fp.time_s),
                    "line_attractor": la.summary(),
                }
            )
        )
        found.append(fp)
    return summaries, found


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def train_network(opts: Any, seed: int) -> tuple[Any, Any, Any, Any, dict[str, str | None], float]:
    """Build and train the options' network (``tasks``, ``network``, ``training``, trials).

    Returns ``(model, train, test, fit, kinds, trials_s)``: the trained model, the training and
    held-out trials (fresh seed), the :func:`~neurodl.estimators.task_training.train_task_model`
    fit, the accuracy kind per task and the time spent making trials.
    """
    from ...estimators.task_training import train_task_model
    from ...models.task_rnn import build_task_model

    tr_opts = opts.training
    t0 = time.perf_counter()
    train = make_trials(opts, opts.n_train_trials, seed=seed)
    test = make_trials(opts, opts.n_test_trials, seed=seed + 1_000_003)
    trials_s = time.perf_counter() - t0
    model = build_task_model(
        opts.network.name,
        n_inputs=train.n_inputs,
        n_outputs=train.n_outputs,
        seed=seed,
        **opts.network.params,
    )
    names = list(opts.tasks)
    kinds = {n: _accuracy_kind(sub) for n, sub in _per_task(train, names).items()}
    has_acc = any(k is not None for k in kinds.values())

    def accuracy_fn(outputs: np.ndarray, trials: Any) -> float:
        value = _mean(_accuracies(outputs, trials, names))
        return float("nan") if value is None else value

    fit = train_task_model(
        model,
        train,
        loss=tr_opts.loss,
        max_epochs=tr_opts.max_epochs,
        batch_size=tr_opts.batch_size,
        lr=tr_opts.lr,
        weight_decay=tr_opts.weight_decay,
        validation_fraction=tr_opts.validation_fraction,
        random_state=seed,
        stop_at_accuracy=tr_opts.stop_at_accuracy if has_acc else None,
        accuracy_fn=accuracy_fn if has_acc else None,
        num_threads=tr_opts.num_threads,
        schedule=tr_opts.schedule,
        max_time_s=tr_opts.max_time_s,
    )
    return model, train, test, fit, kinds, trials_s


@register_task(
    "task_model",
    options=TaskModelOptions,
    result=TaskModelResult,
    reads=("options",),
    description="train a recurrent network on cognitive tasks; fixed points, trajectories, behaviour",
)
def run_task_model(ctx: RunContext) -> TaskModelResult:
    """Run the task; write ``report.html`` into ``ctx.out_dir`` (if given).

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``). A
    leaky RNN of 12 units trained for 2 epochs on a perceptual decision (fixation and two
    stimulus inputs, fixation and two choice outputs), then its fixed points, PCA trajectories
    and psychometric curve over the 8 coherence levels:

    >>> from neurodl.workflows import parse_config, run_config
    >>> cfg = parse_config({"task": "task_model", "seed": 0, "options": {
    ...     "tasks": "perceptual_decision_making", "n_train_trials": 48, "n_test_trials": 32,
    ...     "network": {"name": "leaky_rnn", "params": {"n_hidden": 12}},
    ...     "training": {"max_epochs": 2, "batch_size": 16},
    ...     "fixed_points": {"n_initial": 16, "max_iters": 100},
    ... }})
    >>> res = run_config(cfg).result  # out_dir None: computed, nothing written
    >>> res.input_names, res.output_names, res.n_params
    (['fixation', 'stim_1', 'stim_2'], ['fixation', 'choice_1', 'choice_2'], 231)
    >>> res.training.n_epochs, res.chance_level, res.score_mean == res.accuracy
    (2, 0.5, True)
    >>> [fp.input for fp in res.fixed_points], res.psychometric.stimulus
    (['zero'], 'coherence')
    >>> len(res.psychometric.levels), res.trajectories.condition
    (8, 'coherence')
    """
    from ...analyses.rnn_dynamics import pca_trajectories
    from ...estimators.task_training import predict_task

    cfg, opts = ctx.cfg, ctx.options
    tr_opts = opts.training
    timing: dict[str, float] = {}
    model, train, test, fit, kinds, timing["trials_s"] = train_network(opts, cfg.seed)
    n_params = int(sum(p.numel() for p in model.parameters()))
    names = list(opts.tasks)
    with torch_threads(tr_opts.num_threads):
        t0 = time.perf_counter()
        outputs, hidden = predict_task(model, test)
        timing["predict_s"] = time.perf_counter() - t0
        per_task = _accuracies(outputs, test, names)
        accuracy = _mean(per_task)
        fp_summaries, fps = [], []
        if opts.fixed_points.enabled:
            t0 = time.perf_counter()
            fp_summaries, fps = _fixed_points(opts, model, hidden, test.input_names, cfg.seed)
            timing["fixed_points_s"] = time.perf_counter() - t0
    stim, curve = (None, None)
    if opts.psychometric.enabled:
        stim, curve = _psychometric(opts, outputs, test)
    traj = None
    if opts.trajectories.enabled:
        cond, labels = _conditions(opts, test)
        keep = np.arange(test.n_trials) if cond != "trial" else np.arange(min(8, test.n_trials))
        traj = pca_trajectories(hidden[keep], labels[keep], opts.trajectories.n_components)
        traj_summary = {
            "condition": cond,
            "conditions": [str(c) for c in traj.conditions],
            "n_trials": [int(n) for n in traj.n_trials],
            "explained_variance_ratio": traj.explained_variance_ratio,
        }
    history = [dict(r) for r in fit.history]
    keys = list(dict.fromkeys(k for r in history for k in r))
    result = TaskModelResult.create(
        task="task_model",
        **network_result_fields(cfg, opts, train, test, fit, kinds, accuracy),
        dt=opts.dt,
        n_train_trials=train.n_trials,
        n_test_trials=test.n_trials,
        n_params=n_params,
        n_inputs=train.n_inputs,
        n_outputs=train.n_outputs,
        input_names=list(train.input_names),
        output_names=list(train.output_names),
        accuracy=accuracy,
        accuracy_per_task=per_task,
        accuracy_kind=kinds,
        learning_curve={k: [r.get(k) for r in history] for k in keys},
        fixed_points=fp_summaries,
        psychometric=None if curve is None else psychometric_summary(curve, stim),
        trajectories=traj_summary if traj is not None else None,
        timing={**timing, "training_s": fit.time_s},
    )
    if ctx.write_report:
        from .task_model_report import write_task_model_report

        write_task_model_report(ctx, result, fixed_points=fps, trajectories=traj, curve=curve)
    return result
