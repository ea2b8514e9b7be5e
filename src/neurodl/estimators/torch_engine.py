"""The training engine every neural estimator reuses: one loop, resumable and distributable.

Functional core behind :class:`~neurodl.estimators.NeuralClassifier` and
:class:`~neurodl.estimators.NeuralRegressor`: :func:`train` fits a torch module on arrays,
:func:`predict_outputs` applies it (trialwise or averaged over crops).

What the loop does, exactly
---------------------------
- **Optimiser and schedule**: AdamW (``lr``, ``weight_decay`` decoupled), or Adam with
  ``weight_decay`` as an L2 penalty added to the gradient (``optimizer="adam"``; see
  :data:`OPTIMIZERS`); the learning rate follows
  :data:`SCHEDULES` per optimisation step (``"cosine"``: cosine annealing from ``lr`` to 0 over
  all steps; ``"onecycle"``: one-cycle with peak ``lr``; ``None``: constant;
  ``"plateau"``: halved after ``plateau_patience`` epochs without a lower validation loss, or
  training loss without validation, stepped once per epoch).
- **Batches**: each epoch draws the permutation ``torch.randperm(n, generator=seed + epoch)``,
  exactly as :class:`torch.utils.data.DistributedSampler` does, and cuts it into consecutive
  batches of ``batch_size`` (the last one may be smaller; a last batch of a single sample is
  skipped so that batch norm never sees one sample). Batches depend only on the seed and epoch, so
  a resumed run sees the same batches, and DDP ranks together see the same global batches.
- **Loss**: cross-entropy (optionally class-weighted; normalised by the batch's total weight) or
  mean squared error. Gradients are clipped to ``grad_clip`` (global L2 norm) when set.
- **Custom objectives** (``objective=`` of :func:`train`): a callable
  ``objective(model, xb, yb, ctx) -> losses`` or ``-> (weighted_losses, weights)`` replaces the
  built-in loss; ``losses`` has one entry per sample (shape ``(batch,)``) and the batch loss is
  ``sum(weighted_losses) / sum(weights)`` (weights all-reduced over DDP ranks), exactly how the
  built-in losses are reduced. ``ctx`` is a :class:`LossContext` (``epoch``, global optimisation
  ``step``, ``training``, ``steps_per_epoch``, ``max_epochs``): schedules inside the loss (a KL
  warm-up by epoch or step) and training-only corruption (coordinated dropout) live in the
  objective. The validation loss is the same objective with ``ctx.training=False``, called in
  eval mode without gradients on batches of ``predict_batch_size`` (no validation metric is
  recorded). ``xb``/``yb`` may have any shape after the sample axis (``y`` float32). The
  built-in MSE written as an objective reproduces the built-in path's weights exactly.
- **Cropped training** (``crop_len`` set): each training sample is replaced by one crop of
  ``crop_len`` samples starting at a uniformly drawn offset (generator ``seed + epoch``,
  independent per sample and epoch). At prediction, crops start at ``0, crop_stride,
  2 * crop_stride, ...`` plus a last crop ending at the final sample, and the class
  probabilities (classification) or outputs (regression) are averaged over crops.
- **Validation and early stopping**: after every epoch the validation loss (cross-entropy of the
  predicted probabilities, or MSE) and metric (accuracy or R^2) are computed; with
  ``early_stopping`` training stops after ``patience`` epochs without a lower validation loss and
  the best epoch's weights are restored.
- **Divergence guard**: a non-finite training loss or gradient norm in an epoch either raises
  :class:`DivergenceError` (``on_divergence="raise"``) or rolls the model, optimiser and
  scheduler back to the end of the last good epoch and stops (``on_divergence="rollback"``,
  recorded as ``stopped_reason="diverged"``). ``on_divergence="skip"`` (a NaN guard for
  stochastic objectives) skips each batch whose loss or gradient norm is not finite (no
  optimiser or scheduler step; counted in the epoch record's ``n_skipped``) and rolls back and
  stops only when every batch of an epoch was skipped.
- **Checkpoints**: with ``checkpoint_path`` set, the whole state (model, optimiser, scheduler,
  grad scaler, RNG states, epoch, history, best weights, patience counter) is written after
  every epoch to a temporary file in the same folder and moved over the checkpoint with
  :func:`os.replace` (atomic: a crash leaves the previous checkpoint intact). A run started
  again with the same fingerprint continues after the last saved epoch and ends with the same
  weights as an uninterrupted run (same machine, same threads, deterministic mode).
- **Determinism**: ``deterministic=True`` switches on
  :func:`torch.use_deterministic_algorithms` (and deterministic cuDNN) for the duration of the
  fit only, restored afterwards; all randomness comes from generators seeded with ``seed``.
  The global torch RNG is forked, so fitting does not change the caller's RNG state.
- **Devices**: mixed precision (bfloat16 autocast where supported, else float16 with a grad
  scaler) and channels-last memory format apply on CUDA only; on CPU they are off.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._logging import logger
from ..exceptions import ConfigError, NeurodlError

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "DistContext",
    "DivergenceError",
    "LossContext",
    "Objective",
    "TrainConfig",
    "TrainResult",
    "atomic_torch_save",
    "predict_outputs",
    "resolve_device",
    "train",
]

#: Checkpoint format version (bumped when the stored keys change).
CHECKPOINT_VERSION = 1


class DivergenceError(NeurodlError, FloatingPointError):
    """Training produced a non-finite loss or gradient (``on_divergence="raise"``)."""


# ------------------------------------------------------------------------------ schedules
def _cosine(optimizer: Any, lr: float, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import CosineAnnealingLR

    return CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))


def _onecycle(optimizer: Any, lr: float, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import OneCycleLR

    return OneCycleLR(optimizer, max_lr=lr, total_steps=max(total_steps, 2))


def _constant(optimizer: Any, lr: float, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(optimizer, lambda step: 1.0)


def _plateau(optimizer: Any, lr: float, total_steps: int, patience: int = 5) -> Any:
    from torch.optim.lr_scheduler import ReduceLROnPlateau

    return ReduceLROnPlateau(optimizer, factor=0.5, patience=patience)


#: Learning-rate schedules: name -> factory ``(optimizer, lr, total_steps)``. Stepped once per
#: optimisation step, except those in :data:`EPOCH_SCHEDULES` (once per epoch, on the monitored
#: loss).
SCHEDULES: dict[str | None, Callable[..., Any]] = {
    "cosine": _cosine,
    "onecycle": _onecycle,
    "plateau": _plateau,
    None: _constant,
}
#: Schedules stepped once per epoch with the validation loss (training loss without validation).
EPOCH_SCHEDULES = frozenset({"plateau"})

ON_DIVERGENCE = ("raise", "rollback", "skip")


def _adamw(params: Any, lr: float, weight_decay: float) -> Any:
    import torch

    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _adam(params: Any, lr: float, weight_decay: float) -> Any:
    import torch

    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


#: Optimisers: name -> factory ``(parameters, lr, weight_decay)``.
OPTIMIZERS: dict[str, Callable[[Any, float, float], Any]] = {"adamw": _adamw, "adam": _adam}


# ------------------------------------------------------------------------------ settings
@dataclass
class TrainConfig:
    """Resolved training settings (see the module docstring for what each does)."""

    task: Literal["classification", "regression"]
    max_epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-2
    schedule: str | None = "cosine"
    early_stopping: bool = True
    patience: int = 10
    grad_clip: float | None = 1.0
    class_weight: np.ndarray | None = None
    deterministic: bool = True
    device: str = "cpu"
    mixed_precision: bool = False
    channels_last: bool = False
    on_divergence: str = "raise"
    crop_len: int | None = None
    crop_stride: int | None = None
    seed: int = 0
    predict_batch_size: int = 256
    plateau_patience: int = 5
    optimizer: str = "adamw"

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"Invalid value for 'optimizer'. Allowed: {', '.join(map(repr, OPTIMIZERS))}; "
                f"got {self.optimizer!r}."
            )
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"Invalid value for 'schedule'. Allowed: {', '.join(map(repr, SCHEDULES))}; "
                f"got {self.schedule!r}."
            )
        if self.on_divergence not in ON_DIVERGENCE:
            raise ConfigError(
                f"Invalid value for 'on_divergence'. Allowed: {', '.join(map(repr, ON_DIVERGENCE))}; "
                f"got {self.on_divergence!r}."
            )


@dataclass(frozen=True)
class LossContext:
    """Where a custom objective is called from (see "Custom objectives" in the module docstring).

    Attributes
    ----------
    epoch : int
        The current epoch (0-based).
    step : int
        Global optimisation step of the batch (``epoch * steps_per_epoch + batch index``);
        for validation, the number of steps done so far.
    training : bool
        True for training batches (model in train mode, gradients on), False for validation.
    steps_per_epoch : int
    max_epochs : int
    """

    epoch: int
    step: int
    training: bool
    steps_per_epoch: int
    max_epochs: int


#: ``objective(model, xb, yb, ctx) -> losses`` or ``-> (weighted_losses, weights)``, each of
#: shape (batch,): the batch loss is ``sum(weighted_losses) / sum(weights)``.
Objective = Callable[[Any, Any, Any, LossContext], Any]


@dataclass
class DistContext:
    """Process-group facts for data-parallel training (``world_size == 1``: single process)."""

    rank: int = 0
    world_size: int = 1

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def all_reduce_sum(self, values: Any) -> Any:
        """Sum a float64 tensor over ranks (identity for a single process)."""
        if not self.active:
            return values
        import torch.distributed as dist

        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()


@dataclass
class TrainResult:
    """What :func:`train` returns: the per-epoch history and how training ended."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_reason: str = "max_epochs"
    resumed_from_epoch: int | None = None


# ------------------------------------------------------------------------------ helpers
def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; other strings are validated."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(
            f"Invalid value for 'device'. Allowed: 'auto', 'cpu', 'cuda', 'cuda:N'; got {device!r}."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} was requested but CUDA is not available.")
    return str(dev)


def atomic_torch_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, fsync, then ``os.replace``."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def _determinism(enabled: bool, device: str) -> Iterator[None]:
    """Deterministic algorithms for the duration of the block; previous settings restored."""
    import torch

    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    old_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    old_env = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    try:
        if enabled:
            if device.startswith("cuda") and old_env is None:
                os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        yield
    finally:
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = old_cudnn
        if enabled and device.startswith("cuda") and old_env is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)


def _autocast(cfg: TrainConfig) -> Any:
    import torch

    if not (cfg.mixed_precision and cfg.device.startswith("cuda")):
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def _needs_scaler(cfg: TrainConfig) -> bool:
    import torch

    return (
        cfg.mixed_precision and cfg.device.startswith("cuda") and not torch.cuda.is_bf16_supported()
    )


def epoch_permutation(n: int, seed: int, epoch: int) -> Any:
    """The training order of an epoch: what ``DistributedSampler(seed=seed)`` draws."""
    import torch

    g = torch.Generator()
    g.manual_seed(seed + epoch)
    return torch.randperm(n, generator=g)


def crop_starts(n: int, n_times: int, crop_len: int, seed: int, epoch: int) -> Any:
    """Random crop offsets of an epoch's training samples (indexed by sample, not batch)."""
    import torch

    g = torch.Generator()
    g.manual_seed(10_007 * (seed + 1) + epoch)
    return torch.randint(0, n_times - crop_len + 1, (n,), generator=g)


def eval_crop_starts(n_times: int, crop_len: int, stride: int) -> list[int]:
    """Crop offsets used at prediction: every ``stride`` samples plus one ending at the end."""
    starts = list(range(0, n_times - crop_len + 1, max(int(stride), 1)))
    if starts[-1] != n_times - crop_len:
        starts.append(n_times - crop_len)
    return starts


def _batches(order: Any, batch_size: int) -> list[Any]:
    chunks = list(order.split(batch_size))
    if len(chunks) > 1 and len(chunks[-1]) == 1:
        chunks = chunks[:-1]
    return chunks


def _train_order(n: int, cfg: TrainConfig, epoch: int, dist: DistContext) -> list[Any]:
    """This rank's batches of one epoch (see module docstring)."""
    if not dist.active:
        return _batches(epoch_permutation(n, cfg.seed, epoch), cfg.batch_size)
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(
        range(n), num_replicas=dist.world_size, rank=dist.rank, shuffle=True, seed=cfg.seed
    )
    sampler.set_epoch(epoch)
    import torch

    local = torch.tensor(list(iter(sampler)), dtype=torch.long)
    return _batches(local, cfg.batch_size // dist.world_size)


def _forward(model: Any, xb: Any, cfg: TrainConfig) -> Any:
    with _autocast(cfg):
        out = model(xb)
    return out.float()


def _objective_losses(
    objective: Objective, model: Any, xb: Any, yb: Any, ctx: LossContext, cfg: TrainConfig
) -> tuple[Any, Any]:
    """Per-sample (weighted) losses and weights of a custom objective, as float32 vectors."""
    import torch

    with _autocast(cfg):
        res = objective(model, xb, yb, ctx)
    losses, w = res if isinstance(res, tuple) else (res, None)
    losses = losses.float().reshape(-1)
    if len(losses) != len(xb):
        raise ConfigError(
            f"The objective must return one loss per sample (shape ({len(xb)},)); "
            f"got shape {tuple(res[0].shape if isinstance(res, tuple) else res.shape)}."
        )
    w = torch.ones_like(losses) if w is None else w.float().reshape(-1)
    return losses, w


def _per_sample_loss(out: Any, yb: Any, cfg: TrainConfig, weight: Any) -> tuple[Any, Any]:
    """Per-sample losses and their weights."""
    import torch
    import torch.nn.functional as F

    if cfg.task == "classification":
        losses = F.cross_entropy(out, yb, reduction="none")
        w = weight[yb] if weight is not None else torch.ones_like(losses)
        return losses * w, w
    if out.ndim == 1:
        out = out[:, None]
    losses = ((out - yb.reshape(out.shape)) ** 2).mean(dim=1)
    return losses, torch.ones_like(losses)


# ------------------------------------------------------------------------------ prediction
def predict_outputs(
    model: Any,
    X: np.ndarray,
    *,
    task: Literal["classification", "regression"],
    device: str = "cpu",
    batch_size: int = 256,
    crop_len: int | None = None,
    crop_stride: int | None = None,
    mixed_precision: bool = False,
) -> np.ndarray:
    """Apply ``model`` in eval mode; class probabilities or outputs, averaged over crops.

    Parameters
    ----------
    model : torch.nn.Module
    X : ndarray of shape (n_samples, n_chans, n_times)
    task : {"classification", "regression"}
    crop_len, crop_stride : int or None
        Cropped prediction (see the module docstring); ``None``: the whole trial.

    Returns
    -------
    out : ndarray of shape (n_samples, n_outputs)
        Probabilities (rows sum to 1) for classification, raw outputs for regression (float64).
    """
    import torch

    cfg = TrainConfig(task=task, device=device, mixed_precision=mixed_precision)
    was_training = model.training
    model.eval()
    n_times = X.shape[-1]
    starts = [0] if crop_len is None else eval_crop_starts(n_times, crop_len, crop_stride or 1)
    length = n_times if crop_len is None else crop_len
    outs = []
    try:
        with torch.no_grad():
            for i in range(0, len(X), batch_size):
                xb = torch.tensor(np.asarray(X[i : i + batch_size]), dtype=torch.float32)
                xb = xb.to(device)
                acc = None
                for s in starts:
                    out = _forward(model, xb[..., s : s + length], cfg).double()
                    if out.ndim == 1:
                        out = out[:, None]
                    if task == "classification":
                        out = torch.softmax(out, dim=1)
                    acc = out if acc is None else acc + out
                outs.append((acc / len(starts)).cpu().numpy())
    finally:
        model.train(was_training)
    if not outs:
        return np.zeros((0, 0))
    return np.concatenate(outs)


def _valid_stats(
    model: Any, X: np.ndarray, y: np.ndarray, cfg: TrainConfig, dist: DistContext
) -> tuple[float, float]:
    """Validation loss and metric on this rank's shard, summed over ranks."""
    import torch

    shard = np.array_split(np.arange(len(X)), dist.world_size)[dist.rank]
    out = predict_outputs(
        model,
        X[shard],
        task=cfg.task,
        device=cfg.device,
        batch_size=cfg.predict_batch_size,
        crop_len=cfg.crop_len,
        crop_stride=cfg.crop_stride,
        mixed_precision=cfg.mixed_precision,
    )
    ys = y[shard]
    if cfg.task == "classification":
        p = out[np.arange(len(ys)), ys] if len(ys) else np.zeros(0)
        stats = [-np.log(np.clip(p, 1e-12, None)).sum(), (out.argmax(1) == ys).sum(), len(ys)]
        vec = dist.all_reduce_sum(torch.tensor(stats, dtype=torch.float64)).numpy()
        return float(vec[0] / vec[2]), float(vec[1] / vec[2])
    yy = ys.reshape(len(ys), -1)
    out = out.reshape(yy.shape)
    stats = np.concatenate([((out - yy) ** 2).sum(0), yy.sum(0), (yy**2).sum(0), [len(yy)]])
    vec = dist.all_reduce_sum(torch.tensor(stats, dtype=torch.float64)).numpy()
    k = yy.shape[1]
    ss_res, s1, s2, n = vec[:k], vec[k : 2 * k], vec[2 * k : 3 * k], vec[-1]
    ss_tot = s2 - s1**2 / n
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    return float(ss_res.sum() / (n * k)), float(r2.mean())


def _objective_valid_loss(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    cfg: TrainConfig,
    dist: DistContext,
    objective: Objective,
    ctx: LossContext,
) -> float:
    """Validation loss of a custom objective (eval mode, no grad) on this rank's shard, reduced."""
    import torch

    shard = np.array_split(np.arange(len(X)), dist.world_size)[dist.rank]
    sums = torch.zeros(2, dtype=torch.float64)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(shard), cfg.predict_batch_size):
                idx = shard[i : i + cfg.predict_batch_size]
                xb = torch.tensor(np.asarray(X[idx]), dtype=torch.float32).to(cfg.device)
                yb = torch.tensor(np.asarray(y[idx]), dtype=torch.float32).to(cfg.device)
                losses, w = _objective_losses(objective, model, xb, yb, ctx, cfg)
                sums += torch.tensor(
                    [losses.double().sum().item(), w.double().sum().item()], dtype=torch.float64
                )
    finally:
        model.train(was_training)
    sums = dist.all_reduce_sum(sums)
    return float(sums[0] / max(float(sums[1]), 1e-12))


# ------------------------------------------------------------------------------ checkpoints
def _rng_state() -> dict[str, Any]:
    import torch

    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _clone_state(module: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def load_checkpoint(path: str | Path, fingerprint: str | None) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists and belongs to this run (same fingerprint)."""
    import torch

    path = Path(path)
    if not path.is_file():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        logger.warning("ignoring unreadable checkpoint %s (%s)", path, err)
        return None
    if ckpt.get("version") != CHECKPOINT_VERSION or ckpt.get("fingerprint") != fingerprint:
        logger.info("checkpoint %s belongs to another run; starting afresh", path)
        return None
    return ckpt


# ------------------------------------------------------------------------------ training
def train(
    model: Any,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_valid: np.ndarray | None,
    y_valid: np.ndarray | None,
    cfg: TrainConfig,
    *,
    checkpoint_path: str | Path | None = None,
    fingerprint: str | None = None,
    resume: bool = True,
    callbacks: Sequence[Callable[[dict[str, Any]], Any]] = (),
    dist: DistContext | None = None,
    objective: Objective | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``(X_train, y_train)`` (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(batch, n_chans, n_times or crop_len)`` float tensors to ``(batch, n_outputs)``
        (any signature with ``objective``). Already on ``cfg.device``.
    X_train : ndarray of shape (n_train, n_chans, n_times)
        (``(n_train, ...)`` with ``objective``).
    y_train : ndarray of shape (n_train,) of int class indices, or (n_train, n_outputs) floats
        (``(n_train, ...)`` floats with ``objective``).
    X_valid, y_valid : arrays like the training ones, or None (no validation, no early stopping)
    cfg : TrainConfig
    checkpoint_path : path or None
        Where the per-epoch checkpoint is written (atomically); ``None``: no checkpoints.
    fingerprint : str or None
        Identifies the run; a checkpoint is resumed only when its fingerprint matches.
    resume : bool, default=True
        Continue from a matching checkpoint at ``checkpoint_path``.
    callbacks : sequence of callables
        Each is called as ``callback(record)`` after every epoch (after checkpointing), with the
        epoch's history record. An exception raised there stops training (the checkpoint of that
        epoch is kept, so a later call resumes after it).
    dist : DistContext or None
        Data-parallel context (``model`` must then be wrapped in DDP by the caller).
    objective : callable or None
        Custom loss ``objective(model, xb, yb, ctx)`` (see "Custom objectives" in the module
        docstring); ``None``: the built-in loss of ``cfg.task``. Not combinable with cropping.

    Returns
    -------
    result : TrainResult
    """
    import torch

    dist = dist or DistContext()
    device = cfg.device
    if objective is not None and cfg.crop_len is not None:
        raise ConfigError(
            "Invalid value for 'crop_len' with a custom objective. Allowed: None; "
            f"got {cfg.crop_len!r}."
        )
    weight = (
        torch.as_tensor(cfg.class_weight, dtype=torch.float32, device=device)
        if cfg.class_weight is not None
        else None
    )
    Xt = torch.tensor(np.asarray(X_train), dtype=torch.float32)  # a copy: inputs may be read-only
    y_dtype = torch.long if cfg.task == "classification" and objective is None else torch.float32
    yt = torch.tensor(np.asarray(y_train), dtype=y_dtype)
    n = len(Xt)
    n_times = Xt.shape[-1]
    optimizer = OPTIMIZERS[cfg.optimizer](model.parameters(), cfg.lr, cfg.weight_decay)
    steps_per_epoch = len(_train_order(n, cfg, 0, dist))
    per_epoch_schedule = cfg.schedule in EPOCH_SCHEDULES
    if cfg.schedule == "plateau":
        scheduler = _plateau(optimizer, cfg.lr, 0, patience=cfg.plateau_patience)
    else:
        scheduler = SCHEDULES[cfg.schedule](optimizer, cfg.lr, steps_per_epoch * cfg.max_epochs)
    skip_bad = cfg.on_divergence == "skip"
    scaler = torch.amp.GradScaler("cuda") if _needs_scaler(cfg) else None
    has_valid = X_valid is not None and len(X_valid) > 0
    net = model.module if hasattr(model, "module") else model  # unwrap DDP for state dicts
    result = TrainResult()
    best_loss, best_state, bad_epochs, start_epoch = math.inf, None, 0, 0

    ckpt = load_checkpoint(checkpoint_path, fingerprint) if (checkpoint_path and resume) else None
    if ckpt is not None:
        net.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if scaler is not None and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        _set_rng_state(ckpt["rng"])
        result.history = list(ckpt["history"])
        best_loss, bad_epochs = ckpt["best_loss"], ckpt["bad_epochs"]
        best_state = ckpt["best_state"]
        result.best_epoch = ckpt["best_epoch"]
        start_epoch = ckpt["epoch"] + 1
        result.resumed_from_epoch = ckpt["epoch"]
        if ckpt.get("stopped_reason"):
            result.stopped_reason = ckpt["stopped_reason"]
            logger.info("checkpoint %s holds a finished run; nothing to train", checkpoint_path)
            return result
        logger.info("resuming from %s after epoch %d", checkpoint_path, ckpt["epoch"])

    good = {
        "model": _clone_state(net),
        "optimizer": copy.deepcopy(optimizer.state_dict()),
        "scheduler": copy.deepcopy(scheduler.state_dict()),
    }

    def save(epoch: int, stopped: str | None) -> None:
        if checkpoint_path is None or dist.rank != 0:
            return
        atomic_torch_save(
            {
                "version": CHECKPOINT_VERSION,
                "fingerprint": fingerprint,
                "epoch": epoch,
                "model": net.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None,
                "rng": _rng_state(),
                "history": result.history,
                "best_loss": best_loss,
                "best_state": best_state,
                "best_epoch": result.best_epoch,
                "bad_epochs": bad_epochs,
                "stopped_reason": stopped,
            },
            checkpoint_path,
        )

    stopped: str | None = None
    for epoch in range(start_epoch, cfg.max_epochs):
        t0 = time.perf_counter()
        model.train()
        starts = crop_starts(n, n_times, cfg.crop_len, cfg.seed, epoch) if cfg.crop_len else None
        sums = torch.zeros(4, dtype=torch.float64)  # loss*w, w, correct, count
        finite, n_skipped, n_ok = True, 0, 0
        for i_batch, idx in enumerate(_train_order(n, cfg, epoch, dist)):
            xb = Xt[idx]
            if starts is not None:
                L = cfg.crop_len
                xb = torch.stack([xb[i, :, s : s + L] for i, s in enumerate(starts[idx].tolist())])
            xb, yb = xb.to(device, non_blocking=True), yt[idx].to(device, non_blocking=True)
            if objective is None:
                out = _forward(model, xb, cfg)
                losses, w = _per_sample_loss(out, yb, cfg, weight)
            else:
                ctx = LossContext(
                    epoch=epoch,
                    step=epoch * steps_per_epoch + i_batch,
                    training=True,
                    steps_per_epoch=steps_per_epoch,
                    max_epochs=cfg.max_epochs,
                )
                losses, w = _objective_losses(objective, model, xb, yb, ctx, cfg)
            norm = dist.all_reduce_sum(w.sum().detach().double().cpu().reshape(1))
            loss = losses.sum() * (dist.world_size / float(norm[0]))
            optimizer.zero_grad(set_to_none=True)
            if skip_bad:
                bad = torch.tensor([0.0 if torch.isfinite(loss) else 1.0], dtype=torch.float64)
                if float(dist.all_reduce_sum(bad)[0]) > 0:  # every rank skips the same batch
                    n_skipped += 1
                    continue
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
            else:
                loss.backward()
            if cfg.grad_clip or skip_bad:
                gnorm = torch.nn.utils.clip_grad_norm_(
                    model.parameters(), cfg.grad_clip if cfg.grad_clip else math.inf
                )
                # With a grad scaler, inf gradients are expected now and then: it skips the step.
                if skip_bad and scaler is None and not bool(torch.isfinite(gnorm)):
                    optimizer.zero_grad(set_to_none=True)
                    n_skipped += 1
                    continue
                finite = finite and (scaler is not None or bool(torch.isfinite(gnorm)))
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            if not per_epoch_schedule:
                scheduler.step()
            n_ok += 1
            with torch.no_grad():
                correct = (
                    (out.argmax(1) == yb).sum().item()
                    if cfg.task == "classification" and objective is None
                    else 0.0
                )
                sums += torch.tensor(
                    [losses.sum().item(), w.sum().item(), correct, len(yb)], dtype=torch.float64
                )
        sums = dist.all_reduce_sum(sums)
        train_loss = float(sums[0] / max(float(sums[1]), 1e-12)) if n_ok else math.nan
        if not (finite and math.isfinite(train_loss)):
            if cfg.on_divergence == "raise":
                raise DivergenceError(
                    f"Training diverged in epoch {epoch}: the loss or gradient norm is not finite "
                    f"(train loss {train_loss}). Lower 'lr', keep 'grad_clip' set, check the "
                    "input for NaN/inf, or pass on_divergence='rollback' to keep the last good "
                    "epoch."
                )
            logger.warning(
                "training diverged in epoch %d; rolled back to the end of epoch %d and stopped",
                epoch,
                epoch - 1,
            )
            net.load_state_dict(good["model"])
            optimizer.load_state_dict(good["optimizer"])
            scheduler.load_state_dict(good["scheduler"])
            stopped = "diverged"
            break
        record: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": train_loss,
            "lr": float(optimizer.param_groups[0]["lr"]),
        }
        if skip_bad:
            record["n_skipped"] = n_skipped
        if cfg.task == "classification" and objective is None:
            record["train_accuracy"] = float(sums[2] / max(float(sums[3]), 1.0))
        if has_valid and objective is not None:
            ctx = LossContext(
                epoch=epoch,
                step=(epoch + 1) * steps_per_epoch,
                training=False,
                steps_per_epoch=steps_per_epoch,
                max_epochs=cfg.max_epochs,
            )
            v_loss = _objective_valid_loss(net, X_valid, y_valid, cfg, dist, objective, ctx)
            record["valid_loss"] = v_loss
        elif has_valid:
            v_loss, v_metric = _valid_stats(net, X_valid, y_valid, cfg, dist)
            record["valid_loss"] = v_loss
            record["valid_" + ("accuracy" if cfg.task == "classification" else "r2")] = v_metric
        if per_epoch_schedule:
            monitor = record["valid_loss"] if has_valid else train_loss
            scheduler.step(monitor if math.isfinite(monitor) else math.inf)
        if has_valid:
            if v_loss < best_loss:
                best_loss, bad_epochs, result.best_epoch = v_loss, 0, epoch
                if cfg.early_stopping:
                    best_state = _clone_state(net)
            else:
                bad_epochs += 1
        record["time_s"] = time.perf_counter() - t0
        result.history.append(record)
        logger.info(
            "epoch %d: %s",
            epoch,
            ", ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch"),
        )
        good = {
            "model": _clone_state(net),
            "optimizer": copy.deepcopy(optimizer.state_dict()),
            "scheduler": copy.deepcopy(scheduler.state_dict()),
        }
        if has_valid and cfg.early_stopping and bad_epochs >= cfg.patience:
            stopped = "early_stopping"
        elif epoch == cfg.max_epochs - 1:
            stopped = "max_epochs"
        if stopped and best_state is not None and cfg.early_stopping:
            net.load_state_dict(best_state)
        save(epoch, stopped)
        dist.barrier()
        for cb in callbacks:
            cb(record)
        if stopped:
            break
    if stopped == "diverged":
        if best_state is not None and cfg.early_stopping:
            net.load_state_dict(best_state)
        if result.history:
            save(result.history[-1]["epoch"], stopped)
    result.stopped_reason = stopped or "max_epochs"
    return result
