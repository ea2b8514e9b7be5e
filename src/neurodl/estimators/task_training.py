"""Supervised training of recurrent task models on :class:`~neurodl.data.cognitive.TaskTrials`.

:func:`train_task_model` runs the shared training engine
(:func:`neurodl.estimators.torch_engine.train`) with a custom objective: the per-step targets
and the loss mask travel together as ``y`` of shape ``(n_trials, n_steps, 2 * n_outputs)``
(targets, then mask), and the objective returns, per trial, the mask-weighted summed loss and
the summed mask, so a batch's loss is ``sum(mask * loss) / sum(mask)``: steps where
``mask == 0`` contribute nothing. Optimiser Adam (``weight_decay`` as an L2 penalty; constant
learning rate unless ``schedule`` is given), gradients clipped to ``grad_clip``, batches and
noise seeded by ``random_state``.
After every epoch the task performance (``accuracy_fn``, by default :func:`choice_accuracy`) of
the validation trials is recorded as ``valid_accuracy`` and training stops once it reaches
``stop_at_accuracy``.

Importing this module does not import torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._logging import logger
from ..data.cognitive.base import TaskTrials
from ..exceptions import ConfigError, DataFormatError

__all__ = [
    "TASK_LOSSES",
    "TaskTrainingResult",
    "choice_accuracy",
    "predict_task",
    "sign_accuracy",
    "train_task_model",
]


# ------------------------------------------------------------------------------ losses
def _masked_mse(out: Any, target: Any, mask: Any) -> tuple[Any, Any]:
    """Per-trial sum of ``mask * (out - target)^2`` and of ``mask``, shapes (batch,)."""
    return (mask * (out - target) ** 2).sum(dim=(1, 2)), mask.sum(dim=(1, 2))


def _masked_cross_entropy(out: Any, target: Any, mask: Any) -> tuple[Any, Any]:
    """Soft-target cross-entropy over the outputs per step, weighted by the step's mean mask."""
    import torch

    step_loss = -(target * torch.log_softmax(out, dim=-1)).sum(dim=-1)  # (batch, n_steps)
    w = mask.mean(dim=-1)
    return (w * step_loss).sum(dim=1), w.sum(dim=1)


#: Masked losses: name -> ``fn(outputs, targets, mask) -> (weighted per-trial sums, weights)``,
#: all tensors ``(batch, n_steps, n_outputs)``. ``"cross_entropy"`` treats the outputs of a step
#: as logits and the targets as class probabilities (one-hot or soft).
TASK_LOSSES: dict[str, Callable[[Any, Any, Any], tuple[Any, Any]]] = {
    "mse": _masked_mse,
    "cross_entropy": _masked_cross_entropy,
}


def _make_objective(loss_fn: Callable[[Any, Any, Any], tuple[Any, Any]], n_outputs: int) -> Any:
    def objective(model: Any, xb: Any, yb: Any, ctx: Any) -> tuple[Any, Any]:
        out = model(xb)
        return loss_fn(out, yb[..., :n_outputs], yb[..., n_outputs:])

    return objective


# ------------------------------------------------------------------------------ performance
def _choice_columns(trials: TaskTrials, choice_outputs: Sequence[int] | None) -> list[int]:
    if choice_outputs is not None:
        cols = [int(c) for c in choice_outputs]
        bad = [c for c in cols if not 0 <= c < trials.n_outputs]
        if bad or not cols:
            raise ConfigError(
                f"Invalid value for 'choice_outputs': indices in [0, {trials.n_outputs}); "
                f"got {list(choice_outputs)!r}."
            )
        return cols
    names = [str(n).lower() for n in trials.output_names]
    cols = [i for i, n in enumerate(names) if n.startswith("choice")]
    return cols or [i for i, n in enumerate(names) if not n.startswith("fix")]


def choice_accuracy(
    outputs: np.ndarray,
    trials: TaskTrials,
    *,
    choice_outputs: Sequence[int] | None = None,
) -> float:
    """Fraction of trials whose chosen response is ``trials.trials["choice"]``.

    The chosen response is the argmax over the choice outputs of the outputs averaged over the
    response period (steps ``response_start`` to ``response_end``, or to the last step when
    there is no ``response_end`` column). Trials whose ``choice`` is NaN are ignored.

    Parameters
    ----------
    outputs : ndarray of shape (n_trials, n_steps, n_outputs)
    trials : TaskTrials
        With columns ``choice`` and ``response_start`` in ``trials.trials``.
    choice_outputs : sequence of int, optional
        Which outputs are the choices (choice ``k`` is ``choice_outputs[k]``). Default: the
        outputs whose name starts with ``"choice"``, else every output not named ``"fix..."``.

    Returns
    -------
    accuracy : float
        NaN when no trial has a choice.

    Examples
    --------
    Outputs equal to the targets choose right every time; all-zero outputs always pick the
    first choice, right only on the trials whose answer is choice 0:

    >>> from neurodl.data.cognitive import perceptual_decision_making
    >>> trials = perceptual_decision_making(40, dt=20, seed=0)
    >>> trials.output_names
    ['fixation', 'choice_1', 'choice_2']
    >>> choice_accuracy(trials.targets, trials)
    1.0
    >>> choice_accuracy(np.zeros_like(trials.targets), trials)
    0.575
    >>> float((trials.trials["choice"] == 0).mean())
    0.575
    """
    outputs = np.asarray(outputs, dtype=float)
    if outputs.shape[:2] != (trials.n_trials, trials.n_steps) or outputs.ndim != 3:
        raise DataFormatError(
            f"outputs must have shape ({trials.n_trials}, {trials.n_steps}, n_outputs) like the "
            f"trials; got {outputs.shape}."
        )
    meta = trials.trials
    for col in ("choice", "response_start"):
        if col not in meta:
            raise DataFormatError(
                f"choice_accuracy needs a {col!r} column in trials.trials; got columns "
                f"{list(meta.columns)}."
            )
    cols = _choice_columns(trials, choice_outputs)
    choice = meta["choice"].to_numpy(dtype=float)
    keep = np.flatnonzero(~np.isnan(choice))
    if keep.size == 0:
        return float("nan")
    start = meta["response_start"].to_numpy()
    stop = meta["response_end"].to_numpy() if "response_end" in meta else None
    chosen = np.empty(keep.size, dtype=int)
    for k, i in enumerate(keep):
        end = trials.n_steps if stop is None else int(stop[i])
        chosen[k] = int(np.argmax(outputs[i, int(start[i]) : end][:, cols].mean(axis=0)))
    return float(np.mean(chosen == choice[keep].astype(int)))


# ------------------------------------------------------------------------------ training
@dataclass
class TaskTrainingResult:
    """What :func:`train_task_model` returns.

    Attributes
    ----------
    history : list of dict
        One record per epoch: ``epoch``, ``train_loss``, ``lr``, ``valid_loss`` (with
        validation trials), ``valid_accuracy`` (or ``train_accuracy`` without validation
        trials, when an accuracy function applies) and ``time_s``.
    n_epochs : int
        Epochs run.
    accuracy : float or None
        Task accuracy after the last epoch (validation trials, else training trials).
    stopped_reason : str
        ``"accuracy_reached"``, ``"time_budget"``, ``"max_epochs"`` or ``"diverged"``.
    time_s : float
        Wall time of the training.

    Examples
    --------
    Empty, then as :func:`train_task_model` fills it (``to_dict`` is ready for JSON):

    >>> TaskTrainingResult()
    TaskTrainingResult(history=[], n_epochs=0, accuracy=None, stopped_reason='max_epochs', time_s=0.0)
    >>> from neurodl.data.cognitive import perceptual_decision_making
    >>> from neurodl.models.task_rnn import build_task_model
    >>> trials = perceptual_decision_making(40, dt=20, seed=0)
    >>> net = build_task_model("gru", n_inputs=3, n_outputs=3, seed=0, n_hidden=16)
    >>> res = train_task_model(net, trials, max_epochs=1, batch_size=16)
    >>> res.n_epochs, res.stopped_reason, sorted(res.to_dict())
    (1, 'max_epochs', ['accuracy', 'history', 'n_epochs', 'stopped_reason', 'time_s'])
    """

    history: list[dict[str, float]] = field(default_factory=list)
    n_epochs: int = 0
    accuracy: float | None = None
    stopped_reason: str = "max_epochs"
    time_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python copy (JSON-serialisable)."""
        return {
            "history": [dict(r) for r in self.history],
            "n_epochs": self.n_epochs,
            "accuracy": self.accuracy,
            "stopped_reason": self.stopped_reason,
            "time_s": self.time_s,
        }


class _AccuracyReached(Exception):
    """Raised from the epoch callback to stop the engine's loop."""


class _TimeBudgetSpent(Exception):
    """Raised from the epoch callback once ``max_time_s`` has passed."""


def _check_model_fits(model: Any, trials: TaskTrials) -> None:
    for what, have in (("n_inputs", trials.n_inputs), ("n_outputs", trials.n_outputs)):
        expected = getattr(model, what, None)
        if expected is not None and int(expected) != have:
            raise DataFormatError(
                f"The model has {what}={expected} but the trials of task {trials.task!r} have "
                f"{what}={have}; build the model with {what}={have}."
            )


def sign_accuracy(outputs: np.ndarray, trials: TaskTrials) -> float:
    """Fraction of masked steps and outputs whose sign matches a +/-1 target (e.g. flip-flop).

    Parameters
    ----------
    outputs : ndarray of shape (n_trials, n_steps, n_outputs)
    trials : TaskTrials
        Targets in {-1, +1} where ``mask > 0`` (steps with a zero target are ignored).

    Examples
    --------
    The 3-bit flip-flop task: the targets themselves score 1, their negation 0:

    >>> from neurodl.data.cognitive import flip_flop
    >>> trials = flip_flop(4, seed=0)
    >>> trials.output_names
    ['bit_1', 'bit_2', 'bit_3']
    >>> sign_accuracy(trials.targets, trials), sign_accuracy(-trials.targets, trials)
    (1.0, 0.0)
    """
    out = np.asarray(outputs, dtype=float)
    if out.shape != trials.targets.shape:
        raise ConfigError(
            f"Invalid value for 'outputs': shape {out.shape} differs from the targets "
            f"{trials.targets.shape}."
        )
    keep = (trials.mask > 0) & (trials.targets != 0)
    if not keep.any():
        return float("nan")
    return float(np.mean(np.sign(out[keep]) == np.sign(trials.targets[keep])))


def _default_accuracy(trials: TaskTrials) -> Callable[[np.ndarray, TaskTrials], float] | None:
    meta = trials.trials
    if "choice" in meta and "response_start" in meta and meta["choice"].notna().any():
        return choice_accuracy
    targets = trials.targets[trials.mask > 0]
    if np.any(targets != 0) and np.all(np.isin(targets, (-1.0, 0.0, 1.0))):  # +/-1 states
        return sign_accuracy
    return None


def train_task_model(
    model: Any,
    trials: TaskTrials,
    *,
    loss: Literal["mse", "cross_entropy"] = "mse",
    max_epochs: int = 100,
    batch_size: int = 32,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    schedule: Literal["cosine", "onecycle", "plateau"] | None = None,
    validation_fraction: float = 0.2,
    random_state: int = 0,
    stop_at_accuracy: float | None = None,
    accuracy_fn: Callable[[np.ndarray, TaskTrials], float] | None = None,
    grad_clip: float | None = 1.0,
    num_threads: int | None = 1,
    callbacks: Sequence[Callable[[dict[str, Any]], Any]] | None = None,
    max_time_s: float | None = None,
) -> TaskTrainingResult:
    """Train a task model in place on ``trials`` with a masked loss (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(batch, n_steps, n_inputs)`` to ``(batch, n_steps, n_outputs)`` (e.g. a
        :mod:`neurodl.models.task_rnn` model); its ``n_inputs``/``n_outputs`` attributes, when
        present, must match the trials.
    trials : TaskTrials
    loss : {"mse", "cross_entropy"}, default="mse"
        See :data:`TASK_LOSSES`.
    max_epochs, batch_size, lr, weight_decay
        Training vocabulary of the engine (Adam).
    schedule : {"cosine", "onecycle", "plateau"} or None, default=None
        Learning-rate schedule of the engine (``None``: constant ``lr``; ``"cosine"`` anneals it
        to 0 over ``max_epochs``).
    validation_fraction : float in [0, 1), default=0.2
        Trials held out (random, seeded) to monitor loss and accuracy.
    random_state : int, default=0
        Seeds the split, the batch order and the network's noise; the caller's torch RNG state
        is left unchanged.
    stop_at_accuracy : float or None
        Stop once the accuracy (validation trials, else training trials) is >= this value.
    accuracy_fn : callable or None
        ``accuracy_fn(outputs, trials) -> float`` with outputs ``(n_trials, n_steps,
        n_outputs)``; default :func:`choice_accuracy` when the trials have choices.
    grad_clip : float or None, default=1.0
        Global L2-norm gradient clipping.
    num_threads : int or None, default=1
        Torch intra-op threads during training (restored after); ``None``: unchanged.
    callbacks : sequence of callables, optional
        ``callback(record)`` after each epoch, with the record already holding the accuracy.
    max_time_s : float or None
        Wall-time budget: training stops after the first epoch that ends past it
        (``stopped_reason="time_budget"``); ``None``: no budget.

    Returns
    -------
    result : TaskTrainingResult

    Raises
    ------
    DataFormatError
        The model's ``n_inputs``/``n_outputs`` differ from the trials'.
    ConfigError
        Invalid loss, ``validation_fraction``, or ``stop_at_accuracy`` without any accuracy.

    Examples
    --------
    A small GRU trained for 2 epochs on a perceptual decision task (8 of the 40 trials held
    out): the validation accuracy is recorded per epoch:

    >>> from neurodl.data.cognitive import perceptual_decision_making
    >>> from neurodl.models.task_rnn import build_task_model
    >>> trials = perceptual_decision_making(40, dt=20, seed=0)
    >>> net = build_task_model("gru", n_inputs=3, n_outputs=3, seed=0, n_hidden=16)
    >>> res = train_task_model(net, trials, max_epochs=2, batch_size=16)
    >>> res.n_epochs, res.stopped_reason, sorted(res.history[0])
    (2, 'max_epochs', ['epoch', 'lr', 'time_s', 'train_loss', 'valid_accuracy', 'valid_loss'])
    >>> 0.0 <= res.accuracy <= 1.0
    True

    Training stops as soon as the accuracy reaches ``stop_at_accuracy``; a model built for
    other inputs is refused:

    >>> train_task_model(net, trials, max_epochs=5, stop_at_accuracy=0.0).stopped_reason
    'accuracy_reached'
    >>> wrong = build_task_model("gru", n_inputs=2, n_outputs=3, seed=0, n_hidden=4)
    >>> train_task_model(wrong, trials)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.DataFormatError: The model has n_inputs=2 but the trials of task 'perceptual_decision_making' have n_inputs=3; build the model with n_inputs=3.
    """
    import torch

    from ._neural_base import _torch_threads
    from .torch_engine import TrainConfig, determinism, train

    loss_fn = TASK_LOSSES.get(loss)  # type: ignore[arg-type]
    if loss_fn is None:
        raise ConfigError(
            f"Invalid value for 'loss'. Allowed: {', '.join(map(repr, TASK_LOSSES))}; got {loss!r}."
        )
    if not (isinstance(validation_fraction, int | float) and 0 <= validation_fraction < 1):
        raise ConfigError(
            "Invalid value for 'validation_fraction': expected a number in [0, 1), got "
            f"{validation_fraction!r}."
        )
    _check_model_fits(model, trials)
    if max_time_s is not None and not (
        isinstance(max_time_s, int | float) and np.isfinite(max_time_s) and max_time_s > 0
    ):
        raise ConfigError(
            f"Invalid value for 'max_time_s'. Allowed: a number of seconds > 0 or None; "
            f"got {max_time_s!r}."
        )
    acc_fn = accuracy_fn or _default_accuracy(trials)
    if stop_at_accuracy is not None and acc_fn is None:
        raise ConfigError(
            f"stop_at_accuracy={stop_at_accuracy!r} needs an accuracy: pass accuracy_fn, or "
            "trials with 'choice' and 'response_start' columns."
        )

    rng = np.random.default_rng(random_state)
    order = rng.permutation(trials.n_trials)
    n_valid = round(validation_fraction * trials.n_trials)
    va, tr = np.sort(order[:n_valid]), np.sort(order[n_valid:])
    if len(tr) < 2:
        raise ConfigError(
            f"Too few training trials ({len(tr)}) with validation_fraction="
            f"{validation_fraction!r} and {trials.n_trials} trials."
        )
    y = np.concatenate([trials.targets, trials.mask], axis=2)
    monitor = trials.subset(va) if n_valid else trials.subset(tr)
    acc_key = "valid_accuracy" if n_valid else "train_accuracy"
    cfg = TrainConfig(
        task="regression",
        max_epochs=int(max_epochs),
        batch_size=int(batch_size),
        lr=float(lr),
        weight_decay=float(weight_decay),
        schedule=schedule,
        early_stopping=False,
        grad_clip=grad_clip,
        deterministic=True,
        optimizer="adam",
        on_divergence="rollback",
        seed=int(random_state),
    )
    result = TaskTrainingResult()
    user_callbacks = list(callbacks or ())

    def on_epoch(record: dict[str, Any]) -> None:
        result.history.append(record)
        if acc_fn is not None:
            outputs, _ = _predict(model, monitor.inputs, cfg.predict_batch_size)
            record[acc_key] = float(acc_fn(outputs, monitor))
            result.accuracy = record[acc_key]
        for cb in user_callbacks:
            cb(record)
        if stop_at_accuracy is not None and record.get(acc_key, -np.inf) >= stop_at_accuracy:
            raise _AccuracyReached
        if max_time_s is not None and time.perf_counter() - t0 > max_time_s:
            raise _TimeBudgetSpent

    t0 = time.perf_counter()
    with (
        _torch_threads(num_threads),
        torch.random.fork_rng(devices=[]),
        determinism(True, "cpu"),
    ):
        torch.manual_seed(int(random_state))
        model.train()
        try:
            engine_result = train(
                model,
                trials.inputs[tr],
                y[tr],
                trials.inputs[va] if n_valid else None,
                y[va] if n_valid else None,
                cfg,
                callbacks=[on_epoch],
                objective=_make_objective(loss_fn, trials.n_outputs),
            )
            result.stopped_reason = engine_result.stopped_reason
        except _AccuracyReached:
            result.stopped_reason = "accuracy_reached"
        except _TimeBudgetSpent:
            result.stopped_reason = "time_budget"
        finally:
            model.eval()
    result.time_s = time.perf_counter() - t0
    result.n_epochs = len(result.history)
    logger.info(
        "trained %s on %r: %d epochs, accuracy %s, %s (%.2f s)",
        type(model).__name__,
        trials.task,
        result.n_epochs,
        result.accuracy,
        result.stopped_reason,
        result.time_s,
    )
    return result


def _predict(model: Any, inputs: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, Any]:
    """Outputs (and hidden states when the model returns them) in eval mode, no grad."""
    import torch

    was = model.training
    model.eval()
    outs, hids = [], []
    try:
        with torch.no_grad():
            for i in range(0, len(inputs), batch_size):
                xb = torch.as_tensor(np.asarray(inputs[i : i + batch_size]), dtype=torch.float32)
                xb = xb.to(next(model.parameters()).device)
                try:
                    res = model(xb, return_hidden=True)
                except TypeError:
                    res = model(xb)
                out, hid = res if isinstance(res, tuple) else (res, None)
                outs.append(out.cpu().numpy())
                if hid is not None:
                    hids.append(hid.cpu().numpy())
    finally:
        model.train(was)
    return np.concatenate(outs), (np.concatenate(hids) if hids else None)


def predict_task(model: Any, trials: TaskTrials | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs and hidden states of a task model on trials (eval mode: no noise, no grad).

    Parameters
    ----------
    model : torch.nn.Module
        A task model whose ``forward`` accepts ``return_hidden=True``.
    trials : TaskTrials or ndarray of shape (n_trials, n_steps, n_inputs)

    Returns
    -------
    outputs : ndarray of shape (n_trials, n_steps, n_outputs)
    hidden : ndarray of shape (n_trials, n_steps, n_state)

    Examples
    --------
    Outputs and the 16 hidden units of a GRU at each of the 70 steps of 40 trials:

    >>> from neurodl.data.cognitive import perceptual_decision_making
    >>> from neurodl.models.task_rnn import build_task_model
    >>> trials = perceptual_decision_making(40, dt=20, seed=0)
    >>> net = build_task_model("gru", n_inputs=3, n_outputs=3, seed=0, n_hidden=16)
    >>> outputs, hidden = predict_task(net, trials)
    >>> outputs.shape, hidden.shape
    ((40, 70, 3), (40, 70, 16))
    >>> predict_task(net, trials.inputs[:2])[0].shape  # or a plain input array
    (2, 70, 3)
    """
    if isinstance(trials, TaskTrials):
        _check_model_fits(model, trials)
        inputs = trials.inputs
    else:
        inputs = np.asarray(trials, dtype=np.float32)
        n_in = getattr(model, "n_inputs", None)
        if inputs.ndim != 3 or (n_in is not None and inputs.shape[2] != n_in):
            raise DataFormatError(
                f"inputs must have shape (n_trials, n_steps, {n_in}); got {inputs.shape}."
            )
    outputs, hidden = _predict(model, inputs)
    if hidden is None:
        raise ConfigError(
            f"{type(model).__name__}.forward does not return hidden states (return_hidden=True)."
        )
    return outputs, hidden
