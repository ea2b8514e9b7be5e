"""Checkpoints: the whole training state written atomically after every epoch.

With ``checkpoint_path`` set, the loop writes the model, optimiser, scheduler, grad scaler, RNG
states, epoch, history, best weights and patience counter to a temporary file in the same
folder and moves it over the checkpoint with :func:`os.replace` (atomic: a crash leaves the
previous checkpoint intact). A run started again with the same fingerprint continues after the
last saved epoch and ends with the same weights as an uninterrupted run (same machine, same
threads, deterministic mode).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from ..._logging import logger

__all__ = [
    "CHECKPOINT_VERSION",
    "atomic_torch_save",
    "clone_state",
    "load_checkpoint",
    "restore_checkpoint",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]

#: Checkpoint format version (bumped when the stored keys change).
CHECKPOINT_VERSION = 1


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


def rng_state() -> dict[str, Any]:
    """The global torch (and CUDA) RNG states."""
    import torch

    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore RNG states saved by :func:`rng_state`."""
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def clone_state(module: Any) -> dict[str, Any]:
    """A detached copy of ``module.state_dict()``."""
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


def save_checkpoint(
    path: str | Path, run: Any, *, fingerprint: str | None, epoch: int, stopped: str | None
) -> Path:
    """Write the state of a training run (after ``epoch``) atomically to ``path``.

    Parameters
    ----------
    path : path
    run : the loop's run state
        Holds ``net``, ``optimizer``, ``scheduler``, ``scaler``, ``result`` (history, best
        epoch), ``best_loss``, ``best_state`` and ``bad_epochs``.
    fingerprint : str or None
        Identifies the run (see :func:`load_checkpoint`).
    epoch : int
        The last finished epoch.
    stopped : str or None
        Why training ended, or None while it goes on.

    Returns
    -------
    path : Path
    """
    return atomic_torch_save(
        {
            "version": CHECKPOINT_VERSION,
            "fingerprint": fingerprint,
            "epoch": epoch,
            "model": run.net.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "scaler": run.scaler.state_dict() if run.scaler is not None else None,
            "rng": rng_state(),
            "history": run.result.history,
            "best_loss": run.best_loss,
            "best_state": run.best_state,
            "best_epoch": run.result.best_epoch,
            "bad_epochs": run.bad_epochs,
            "stopped_reason": stopped,
        },
        path,
    )


def restore_checkpoint(run: Any, ckpt: dict[str, Any]) -> int:
    """Load a checkpoint from :func:`load_checkpoint` into ``run``; the epoch to start from.

    Restores the weights, optimiser, scheduler, grad scaler, global RNG states, history, best
    weights and patience counter; sets ``run.result.resumed_from_epoch`` and, for a finished
    run, ``run.result.stopped_reason``.
    """
    run.net.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    run.scheduler.load_state_dict(ckpt["scheduler"])
    if run.scaler is not None and ckpt.get("scaler"):
        run.scaler.load_state_dict(ckpt["scaler"])
    set_rng_state(ckpt["rng"])
    run.result.history = list(ckpt["history"])
    run.best_loss, run.bad_epochs = ckpt["best_loss"], ckpt["bad_epochs"]
    run.best_state = ckpt["best_state"]
    run.result.best_epoch = ckpt["best_epoch"]
    run.result.resumed_from_epoch = ckpt["epoch"]
    if ckpt.get("stopped_reason"):
        run.result.stopped_reason = ckpt["stopped_reason"]
    return int(ckpt["epoch"]) + 1
