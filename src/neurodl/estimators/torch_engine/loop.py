"""The training loop: :func:`train` fits a torch module in place on arrays.

One epoch (:func:`_train_epoch`) runs the optimisation steps over this rank's batches; after
it the loop checks for divergence, validates (:func:`_validate`), steps a per-epoch schedule,
tracks the best epoch for early stopping, writes the checkpoint and calls the callbacks. The
package docstring (:mod:`neurodl.estimators.torch_engine`) states exactly what each step does.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..._logging import logger
from ..._progress_events import epoch_end
from ...exceptions import ConfigError
from .adaptation import adapt_batchnorm
from .augment import augment_seed
from .checkpoint import clone_state, load_checkpoint, restore_checkpoint, save_checkpoint
from .cropping import crop_batch, crop_starts, eval_crop_starts
from .evaluate import objective_valid_loss, valid_stats
from .losses import objective_losses, per_sample_loss
from .parallel import DistContext, group_train_order, train_order
from .precision import forward, needs_scaler
from .settings import (
    EPOCH_SCHEDULES,
    OPTIMIZERS,
    SCHEDULES,
    DivergenceError,
    LossContext,
    Objective,
    TrainConfig,
    TrainResult,
    _plateau,
)

__all__ = ["train"]


@dataclass
class _Run:
    """The mutable state of one training run: what a checkpoint stores and a rollback restores.

    ``model`` is what the loop calls (possibly wrapped in DDP); ``net`` the module whose state
    dicts are saved.
    """

    model: Any
    net: Any
    optimizer: Any
    scheduler: Any
    scaler: Any
    result: TrainResult = field(default_factory=TrainResult)
    best_loss: float = math.inf
    best_state: dict[str, Any] | None = None
    bad_epochs: int = 0

    def snapshot(self) -> dict[str, Any]:
        """Weights, optimiser and scheduler state: the divergence guard's rollback point."""
        return {
            "model": clone_state(self.net),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "scheduler": copy.deepcopy(self.scheduler.state_dict()),
        }

    def rollback(self, good: dict[str, Any]) -> None:
        """Restore a :meth:`snapshot`."""
        self.net.load_state_dict(good["model"])
        self.optimizer.load_state_dict(good["optimizer"])
        self.scheduler.load_state_dict(good["scheduler"])

    def track(self, v_loss: float, epoch: int, keep_best: bool) -> None:
        """Record the epoch's validation loss: a new best resets the patience counter."""
        if v_loss < self.best_loss:
            self.best_loss, self.bad_epochs, self.result.best_epoch = v_loss, 0, epoch
            if keep_best:
                self.best_state = clone_state(self.net)
        else:
            self.bad_epochs += 1


def _epoch_batches(n: int, cfg: TrainConfig, epoch: int, dist: DistContext) -> list[Any]:
    """The epoch's batches: within one group each with ``cfg.batch_groups``, else shuffled."""
    if cfg.batch_groups is not None:
        return group_train_order(cfg.batch_groups, cfg.batch_size, cfg.seed, epoch)
    return train_order(n, cfg.batch_size, cfg.seed, epoch, dist)


def _train_epoch(
    run: _Run,
    Xt: Any,
    yt: Any,
    cfg: TrainConfig,
    dist: DistContext,
    objective: Objective | None,
    weight: Any,
    epoch: int,
    steps_per_epoch: int,
) -> tuple[Any, bool, int, int]:
    """One epoch of optimisation steps on this rank's batches.

    Returns
    -------
    sums : torch.Tensor of shape (4,)
        This rank's sums of weighted loss, weight, correct predictions and samples (float64).
    finite : bool
        False when a gradient norm was not finite (divergence).
    n_skipped, n_ok : int
        Batches skipped by the ``"skip"`` guard, and optimisation steps taken.
    """
    import torch

    model, optimizer, scheduler, scaler = run.model, run.optimizer, run.scheduler, run.scaler
    device = cfg.device
    skip_bad = cfg.on_divergence == "skip"
    per_epoch_schedule = cfg.schedule in EPOCH_SCHEDULES
    n, n_times = len(Xt), Xt.shape[-1]
    model.train()
    starts = crop_starts(n, n_times, cfg.crop_len, cfg.seed, epoch) if cfg.crop_len else None
    sums = torch.zeros(4, dtype=torch.float64)  # loss*w, w, correct, count
    finite, n_skipped, n_ok = True, 0, 0
    for i_batch, idx in enumerate(_epoch_batches(n, cfg, epoch, dist)):
        xb = Xt[idx]
        if starts is not None:
            xb = crop_batch(xb, starts[idx].tolist(), cfg.crop_len)
        yb = yt[idx]
        mixed = None
        if cfg.augment is not None:  # training batches only: never validation or prediction
            gen = torch.Generator().manual_seed(augment_seed(cfg.seed, epoch, i_batch))
            batch = cfg.augment(xb, yb, gen)
            xb, yb = batch.x, batch.y
            if batch.y_mix is not None:
                mixed = (batch.y_mix.to(device), batch.lam.to(device))
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        if objective is None:
            out = forward(model, xb, cfg)
            losses, w = per_sample_loss(out, yb, cfg, weight)
            if mixed is not None:  # mixup: the loss mixed with the inputs' weights
                losses_b, w_b = per_sample_loss(out, mixed[0], cfg, weight)
                lam = mixed[1].to(losses.dtype)
                losses, w = lam * losses + (1 - lam) * losses_b, lam * w + (1 - lam) * w_b
        else:
            ctx = LossContext(
                epoch=epoch,
                step=epoch * steps_per_epoch + i_batch,
                training=True,
                steps_per_epoch=steps_per_epoch,
                max_epochs=cfg.max_epochs,
            )
            losses, w = objective_losses(objective, model, xb, yb, ctx, cfg)
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
    return sums, finite, n_skipped, n_ok


def _validate(
    net: Any,
    X_valid: np.ndarray,
    y_valid: np.ndarray,
    cfg: TrainConfig,
    dist: DistContext,
    objective: Objective | None,
    epoch: int,
    steps_per_epoch: int,
    record: dict[str, Any],
) -> float:
    """Validation loss of the epoch (and metric, built-in losses), added to ``record``."""
    if objective is not None:
        ctx = LossContext(
            epoch=epoch,
            step=(epoch + 1) * steps_per_epoch,
            training=False,
            steps_per_epoch=steps_per_epoch,
            max_epochs=cfg.max_epochs,
        )
        v_loss = objective_valid_loss(net, X_valid, y_valid, cfg, dist, objective, ctx)
        record["valid_loss"] = v_loss
        return v_loss
    if cfg.valid_groups is not None:
        v_loss, v_metric = _valid_stats_by_group(net, X_valid, y_valid, cfg, dist)
    else:
        v_loss, v_metric = valid_stats(net, X_valid, y_valid, cfg, dist)
    record["valid_loss"] = v_loss
    record["valid_" + ("accuracy" if cfg.task == "classification" else "r2")] = v_metric
    return v_loss


def _valid_stats_by_group(
    net: Any, X_valid: np.ndarray, y_valid: np.ndarray, cfg: TrainConfig, dist: DistContext
) -> tuple[float, float]:
    """Validation loss and metric, each group scored with its own batch-norm statistics.

    Every validation group (subject) is predicted by a copy of the network whose batch-norm
    statistics were re-estimated on that group's inputs (:func:`~.adaptation.adapt_batchnorm`,
    as ``adaptive_bn`` does at test time); the per-group values are averaged with the groups'
    sizes as weights.
    """
    codes = np.asarray(cfg.valid_groups)
    total_loss = total_metric = 0.0
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        X_adapt = X_valid[rows]
        if cfg.crop_len is not None:  # the crops the network sees at prediction
            starts = eval_crop_starts(X_adapt.shape[-1], cfg.crop_len, cfg.crop_stride)
            X_adapt = np.concatenate([X_adapt[..., s : s + cfg.crop_len] for s in starts])
        adapted = adapt_batchnorm(net, X_adapt, device=cfg.device) if len(X_adapt) > 1 else net
        loss, metric = valid_stats(adapted, X_valid[rows], y_valid[rows], cfg, dist)
        total_loss += loss * len(rows)
        total_metric += metric * len(rows)
    net.eval()
    return total_loss / len(codes), total_metric / len(codes)


def _check_groups(cfg: TrainConfig, n_train: int, n_valid: int, dist: DistContext) -> None:
    """Group codes must match the samples; group batches are single-process only."""
    for name, codes, n in (
        ("batch_groups", cfg.batch_groups, n_train),
        ("valid_groups", cfg.valid_groups, n_valid),
    ):
        if codes is not None and len(codes) != n:
            raise ConfigError(
                f"Invalid value for {name!r}: expected one group per sample ({n}); "
                f"got {len(codes)}."
            )
    if cfg.batch_groups is not None and np.unique(cfg.batch_groups, return_counts=True)[1].max(
        initial=0
    ) < 2:
        raise ConfigError(
            "Invalid value for 'batch_groups': no group has 2 training samples, and a batch "
            "within one group needs at least 2 (are the groups single trials?)."
        )
    if cfg.batch_groups is not None and dist.active:
        raise ConfigError(
            "Invalid value for 'batch_groups': batches within one group are single-process "
            f"only; got world_size={dist.world_size}."
        )


def _divergence_error(epoch: int, train_loss: float) -> DivergenceError:
    return DivergenceError(
        f"Training diverged in epoch {epoch}: the loss or gradient norm is not finite "
        f"(train loss {train_loss}). Lower 'lr', keep 'grad_clip' set, check the "
        "input for NaN/inf, or pass on_divergence='rollback' to keep the last good "
        "epoch."
    )


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
    """Train ``model`` in place on ``(X_train, y_train)`` (see the package docstring).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(batch, n_chans, n_times or crop_len)`` float tensors to ``(batch, n_outputs)``
        (any signature with ``objective``). Already on ``cfg.device``.
    X_train : ndarray of shape (n_train, n_chans, n_times)
        (``(n_train, ...)`` with ``objective``). Or a lazy batch source with ``lazy_batches =
        True`` (:meth:`neurodl.io.chunked_store.ChunkedStore.torch_view`): indexed once per batch
        with the batch's sample indices, it returns a float32 tensor; the data stay on disk.
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
        Custom loss ``objective(model, xb, yb, ctx)`` (see "Custom objectives" in the package
        docstring); ``None``: the built-in loss of ``cfg.task``. Not combinable with cropping.

    Returns
    -------
    result : TrainResult

    Examples
    --------
    Two epochs of a linear classifier on 12 trials whose class shows in their mean, with
    validation on the last 4:

    >>> import numpy as np, torch
    >>> from neurodl.estimators.torch_engine import TrainConfig
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.default_rng(0)
    >>> y = np.array([0, 1] * 6)
    >>> X = (rng.normal(size=(12, 2, 4)) + 2 * y[:, None, None]).astype("float32")
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 2))
    >>> before = model[1].weight.detach().clone()
    >>> cfg = TrainConfig(task="classification", max_epochs=2, batch_size=4, lr=1e-2)
    >>> result = train(model, X[:8], y[:8], X[8:], y[8:], cfg)
    >>> [r["epoch"] for r in result.history], result.stopped_reason
    ([0, 1], 'max_epochs')
    >>> bool((model[1].weight != before).any())  # trained in place
    True

    A custom objective (per-sample losses) replaces the built-in loss; cropping with it is
    refused:

    >>> def hinge(model, xb, yb, ctx):
    ...     margin = model(xb)[:, 1] - model(xb)[:, 0]
    ...     return torch.relu(1 - (2 * yb - 1) * margin)
    >>> cfg = TrainConfig(task="regression", max_epochs=1, batch_size=4)
    >>> len(train(model, X, y.astype("float32"), None, None, cfg, objective=hinge).history)
    1
    >>> cfg = TrainConfig(task="regression", max_epochs=1, crop_len=2)
    >>> train(model, X, y.astype("float32"), None, None, cfg, objective=hinge)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid value for 'crop_len' with a custom objective. Allowed: None; got 2.
    """
    import torch

    dist = dist or DistContext()
    device = cfg.device
    if (
        cfg.augment is not None
        and getattr(cfg.augment, "mixes", False)
        and (objective is not None or cfg.task != "classification")
    ):
        raise ConfigError(
            "Invalid value for 'augment': 'mixup' needs classification with the built-in loss; "
            f"got task={cfg.task!r}" + (" with a custom objective." if objective else ".")
        )
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
    if getattr(X_train, "lazy_batches", False):  # e.g. ChunkedStore.torch_view(): read per batch
        Xt = X_train
    else:
        Xt = torch.tensor(np.asarray(X_train), dtype=torch.float32)  # a copy: may be read-only
    y_dtype = torch.long if cfg.task == "classification" and objective is None else torch.float32
    yt = torch.tensor(np.asarray(y_train), dtype=y_dtype)
    optimizer = OPTIMIZERS[cfg.optimizer](model.parameters(), cfg.lr, cfg.weight_decay)
    _check_groups(cfg, len(Xt), 0 if X_valid is None else len(X_valid), dist)
    steps_per_epoch = len(_epoch_batches(len(Xt), cfg, 0, dist))
    if cfg.schedule == "plateau":
        scheduler = _plateau(optimizer, cfg.lr, 0, patience=cfg.plateau_patience)
    else:
        scheduler = SCHEDULES[cfg.schedule](optimizer, cfg.lr, steps_per_epoch * cfg.max_epochs)
    scaler = torch.amp.GradScaler("cuda") if needs_scaler(cfg) else None
    has_valid = X_valid is not None and len(X_valid) > 0
    net = model.module if hasattr(model, "module") else model  # unwrap DDP for state dicts
    run = _Run(model, net, optimizer, scheduler, scaler)
    result = run.result
    start_epoch = 0

    ckpt = load_checkpoint(checkpoint_path, fingerprint) if (checkpoint_path and resume) else None
    if ckpt is not None:
        start_epoch = restore_checkpoint(run, ckpt)
        if ckpt.get("stopped_reason"):
            logger.info("checkpoint %s holds a finished run; nothing to train", checkpoint_path)
            return result
        logger.info("resuming from %s after epoch %d", checkpoint_path, ckpt["epoch"])

    def save(epoch: int, stopped: str | None) -> None:
        if checkpoint_path is None or dist.rank != 0:
            return
        save_checkpoint(checkpoint_path, run, fingerprint=fingerprint, epoch=epoch, stopped=stopped)

    good = run.snapshot()
    stopped: str | None = None
    for epoch in range(start_epoch, cfg.max_epochs):
        t0 = time.perf_counter()
        sums, finite, n_skipped, n_ok = _train_epoch(
            run, Xt, yt, cfg, dist, objective, weight, epoch, steps_per_epoch
        )
        sums = dist.all_reduce_sum(sums)
        train_loss = float(sums[0] / max(float(sums[1]), 1e-12)) if n_ok else math.nan
        if not (finite and math.isfinite(train_loss)):
            if cfg.on_divergence == "raise":
                raise _divergence_error(epoch, train_loss)
            logger.warning(
                "training diverged in epoch %d; rolled back to the end of epoch %d and stopped",
                epoch,
                epoch - 1,
            )
            run.rollback(good)
            stopped = "diverged"
            break
        record: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": train_loss,
            "lr": float(optimizer.param_groups[0]["lr"]),
        }
        if cfg.on_divergence == "skip":
            record["n_skipped"] = n_skipped
        if cfg.task == "classification" and objective is None:
            record["train_accuracy"] = float(sums[2] / max(float(sums[3]), 1.0))
        if has_valid:
            v_loss = _validate(
                net, X_valid, y_valid, cfg, dist, objective, epoch, steps_per_epoch, record
            )
        if cfg.schedule in EPOCH_SCHEDULES:
            monitor = record["valid_loss"] if has_valid else train_loss
            scheduler.step(monitor if math.isfinite(monitor) else math.inf)
        if has_valid:
            run.track(v_loss, epoch, cfg.early_stopping)
        record["time_s"] = time.perf_counter() - t0
        result.history.append(record)
        logger.info(
            "epoch %d: %s",
            epoch,
            ", ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch"),
        )
        good = run.snapshot()
        if has_valid and cfg.early_stopping and run.bad_epochs >= cfg.patience:
            stopped = "early_stopping"
        elif epoch == cfg.max_epochs - 1:
            stopped = "max_epochs"
        if stopped and run.best_state is not None and cfg.early_stopping:
            net.load_state_dict(run.best_state)
        save(epoch, stopped)
        dist.barrier()
        for cb in callbacks:
            cb(record)
        epoch_end(epoch, cfg.max_epochs, record)  # progress displays (neurodl._progress_events)
        if stopped:
            break
    if stopped == "diverged":
        if run.best_state is not None and cfg.early_stopping:
            net.load_state_dict(run.best_state)
        if result.history:
            save(result.history[-1]["epoch"], stopped)
    result.stopped_reason = stopped or "max_epochs"
    return result
