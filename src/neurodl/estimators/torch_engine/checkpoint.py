"""Checkpoints: the whole training state written atomically after every epoch.

With ``checkpoint_path`` set, the loop writes the model, optimiser, scheduler, grad scaler, RNG
states, epoch, history, best weights and patience counter to a temporary file in the same
folder and moves it over the checkpoint with :func:`os.replace` (atomic: a crash leaves the
previous checkpoint intact). A run started again with the same fingerprint continues after the
last saved epoch and ends with the same weights as an uninterrupted run (same machine, same
threads, deterministic mode).

Checkpoints prove themselves: beside ``NAME.pt`` the SHA-256 of its bytes, its epoch and its
fingerprint are written to ``NAME.pt.sha256``, and the checkpoint it replaces is kept as
``NAME.pt.prev`` (with ``NAME.pt.prev.sha256``). On resume the hash is checked before
``torch.load`` reads a byte, then the structure (a dict with every key), the version, the
fingerprint and the epoch (``history`` must end at that epoch). A checkpoint that fails is refused
with a :class:`CheckpointWarning` (visible to API users, not only in the log), moved aside to
``NAME.pt.rejected`` for inspection, and training continues from ``NAME.pt.prev`` when that one
passes, else from scratch. A ``checkpoint_path`` that is a folder is an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ...exceptions import DataFormatError

__all__ = [
    "CHECKPOINT_KEYS",
    "CHECKPOINT_VERSION",
    "CheckpointWarning",
    "atomic_torch_save",
    "clone_state",
    "load_checkpoint",
    "restore_checkpoint",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]

#: Checkpoint format version (bumped when the stored keys change; 2: hash sidecar).
CHECKPOINT_VERSION = 2

#: Keys every checkpoint holds (see :func:`save_checkpoint`).
CHECKPOINT_KEYS = (
    "version",
    "fingerprint",
    "epoch",
    "model",
    "optimizer",
    "scheduler",
    "scaler",
    "rng",
    "history",
    "best_loss",
    "best_state",
    "best_epoch",
    "bad_epochs",
    "stopped_reason",
)


class CheckpointWarning(UserWarning):
    """A checkpoint was refused (corrupt, edited, foreign, or unreadable) and not resumed.

    Examples
    --------
    Two epochs checkpointed (``run.pt`` and the epoch before as ``run.pt.prev``); bytes of
    ``run.pt`` overwritten: its hash no longer matches, it is refused with a warning and the
    previous checkpoint is resumed instead:

    >>> import tempfile, numpy as np, torch
    >>> from neurodl.estimators.torch_engine import TrainConfig, train
    >>> _ = torch.manual_seed(0)
    >>> X, y = np.random.default_rng(0).normal(size=(8, 2, 4)), np.array([0, 1] * 4)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 2))
    >>> cfg = TrainConfig(task="classification", max_epochs=2, batch_size=4)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = f"{tmp.name}/run.pt"
    >>> _ = train(model, X, y, None, None, cfg, checkpoint_path=path, fingerprint="run-a")
    >>> with open(path, "r+b") as fh:
    ...     _ = fh.seek(100), fh.write(b"XXXX")
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     ckpt = load_checkpoint(path, "run-a")
    >>> [w.category.__name__ for w in caught], ckpt["epoch"]
    (['CheckpointWarning', 'CheckpointWarning'], 0)
    >>> "content hash mismatch" in str(caught[0].message)
    True
    >>> tmp.cleanup()
    """


@contextlib.contextmanager
def _replacing(path: Path, mode: str, write: Callable[[IO[Any]], None]) -> Iterator[str]:
    """Write a temporary file beside ``path`` and yield its name; it replaces ``path`` on leaving.

    ``write(fh)`` fills the file (opened with ``mode``), which is then flushed, fsynced and
    closed before the block runs; any error, in ``write`` or in the block, removes it and leaves
    ``path`` as it was.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_torch_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, fsync, then ``os.replace``.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = atomic_torch_save({"w": torch.ones(2)}, os.path.join(tmp, "sub", "w.pt"))
    ...     print(path.name, os.listdir(path.parent), torch.load(path)["w"].tolist())
    w.pt ['w.pt'] [1.0, 1.0]
    """
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _replacing(path, "wb", lambda fh: torch.save(obj, fh)):
        pass
    return path


def rng_state() -> dict[str, Any]:
    """The global torch (and CUDA) RNG states.

    Examples
    --------
    >>> import torch
    >>> state = rng_state()
    >>> sorted(state) in (["torch"], ["cuda", "torch"]), state["torch"].dtype
    (True, torch.uint8)
    """
    import torch

    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore RNG states saved by :func:`rng_state`.

    Examples
    --------
    Draws after restoring repeat the draws made after saving:

    >>> import torch
    >>> state = rng_state()
    >>> a = torch.rand(3)
    >>> set_rng_state(state)
    >>> bool((torch.rand(3) == a).all())
    True
    """
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def clone_state(module: Any) -> dict[str, Any]:
    """A detached copy of ``module.state_dict()``.

    Examples
    --------
    The copy keeps the weights of the moment (what early stopping restores later):

    >>> import torch
    >>> net = torch.nn.Linear(2, 1)
    >>> best = clone_state(net)
    >>> sorted(best)
    ['bias', 'weight']
    >>> with torch.no_grad():
    ...     _ = net.weight.add_(1.0)
    >>> bool((best["weight"] == net.weight).any())
    False
    """
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _previous(path: Path) -> Path:
    return path.with_name(path.name + ".prev")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_structure(ckpt: Any, fingerprint: str | None, stamp: dict[str, Any]) -> str | None:
    """Why ``ckpt`` (loaded, hash verified) cannot be resumed, or None when it can."""
    if not isinstance(ckpt, dict):
        return f"it holds a {type(ckpt).__name__}, not a checkpoint dict"
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        return f"keys missing: {', '.join(missing)}"
    if ckpt["version"] != CHECKPOINT_VERSION:
        return f"format version {ckpt['version']!r}, expected {CHECKPOINT_VERSION}"
    if ckpt["fingerprint"] != fingerprint or stamp.get("fingerprint") != fingerprint:
        return (
            f"it belongs to another run or configuration (fingerprint {ckpt['fingerprint']!r}, "
            f"this run {fingerprint!r})"
        )
    epoch, history = ckpt["epoch"], ckpt["history"]
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        return f"invalid epoch {epoch!r}"
    if stamp.get("epoch") != epoch:
        return f"epoch {epoch!r} differs from the one recorded beside it ({stamp.get('epoch')!r})"
    if (
        not isinstance(history, list)
        or len(history) != epoch + 1
        or not isinstance(history[-1], dict)
        or history[-1].get("epoch") != epoch
    ):
        n = len(history) if isinstance(history, list) else type(history).__name__
        return f"epoch {epoch} does not match its training history ({n} epochs recorded)"
    return None


def _verify(path: Path, fingerprint: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """``(checkpoint, None)`` when ``path`` passes every check, else ``(None, reason)``."""
    import torch

    sidecar = _sidecar(path)
    try:
        stamp = json.loads(sidecar.read_text())
    except FileNotFoundError:
        return None, f"no content hash beside it ({sidecar.name}; an older neurodl wrote it?)"
    except (OSError, ValueError) as err:
        return None, f"unreadable content hash file {sidecar.name} ({err})"
    if not isinstance(stamp, dict) or not isinstance(stamp.get("sha256"), str):
        return None, f"malformed content hash file {sidecar.name}"
    actual = _sha256(path)
    if actual != stamp["sha256"]:
        return None, (
            f"content hash mismatch (corrupt or edited: sha256 {actual[:12]}..., "
            f"recorded {stamp['sha256'][:12]}...)"
        )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        return None, f"unreadable ({type(err).__name__}: {str(err).splitlines()[0][:200]})"
    reason = _check_structure(ckpt, fingerprint, stamp)
    return (None, reason) if reason else (ckpt, None)


def _refuse(path: Path, reason: str) -> None:
    aside = path.with_name(path.name + ".rejected")
    try:
        os.replace(path, aside)
        kept = f"; kept as {aside.name}"
    except OSError:
        kept = ""
    with contextlib.suppress(OSError):
        os.unlink(_sidecar(path))
    warnings.warn(
        f"Checkpoint {str(path)!r} refused: {reason}{kept}.", CheckpointWarning, stacklevel=4
    )


def load_checkpoint(path: str | Path, fingerprint: str | None) -> dict[str, Any] | None:
    """The newest checkpoint at ``path`` that proves itself and belongs to this run, or None.

    Checks ``path`` and then its predecessor ``path.prev`` (see the module docstring); every
    refused file raises a :class:`CheckpointWarning` naming it and the reason. A checkpoint of
    another run (other fingerprint) is refused but left in place (the new run replaces it).

    Parameters
    ----------
    path : path
        The checkpoint file.
    fingerprint : str or None
        Identifies the run (data, configuration, seed); must equal the stored one.

    Returns
    -------
    dict or None
        The checkpoint (keys :data:`CHECKPOINT_KEYS`), or None: start afresh.

    Raises
    ------
    DataFormatError
        ``path`` is a folder.

    Examples
    --------
    A run of 2 epochs checkpointed; the same fingerprint resumes after epoch 1, another one
    starts afresh (with a warning), a folder is refused:

    >>> import tempfile, numpy as np, torch
    >>> from neurodl.estimators.torch_engine import TrainConfig, train
    >>> _ = torch.manual_seed(0)
    >>> X, y = np.random.default_rng(0).normal(size=(8, 2, 4)), np.array([0, 1] * 4)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 2))
    >>> cfg = TrainConfig(task="classification", max_epochs=2, batch_size=4)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = f"{tmp.name}/run.pt"
    >>> _ = train(model, X, y, None, None, cfg, checkpoint_path=path, fingerprint="run-a")
    >>> ckpt = load_checkpoint(path, "run-a")
    >>> ckpt["epoch"], ckpt["stopped_reason"], len(ckpt["history"])
    (1, 'max_epochs', 2)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", CheckpointWarning)
    ...     print(load_checkpoint(path, "run-b"))
    None
    >>> load_checkpoint(tmp.name, "run-a")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    neurodl.exceptions.DataFormatError: Invalid value for 'checkpoint_path': '...' is a folder; ...
    >>> tmp.cleanup()
    """
    path = Path(path)
    if path.is_dir():
        raise DataFormatError(
            f"Invalid value for 'checkpoint_path': {str(path)!r} is a folder; expected a "
            "checkpoint file path (e.g. run.pt)."
        )
    for candidate in (path, _previous(path)):
        if not candidate.is_file():
            continue
        ckpt, reason = _verify(candidate, fingerprint)
        if ckpt is not None:
            if candidate != path:
                warnings.warn(
                    f"Resuming from the previous checkpoint {str(candidate)!r} "
                    f"(epoch {ckpt['epoch']}).",
                    CheckpointWarning,
                    stacklevel=2,
                )
            return ckpt
        if reason and reason.startswith("it belongs to another run"):
            warnings.warn(
                f"Checkpoint {str(candidate)!r} not resumed: {reason}; starting afresh.",
                CheckpointWarning,
                stacklevel=2,
            )
            return None
        _refuse(candidate, reason or "unknown")
    return None


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

    Examples
    --------
    The loop's run state after epoch 0 (any object with these attributes): the checkpoint and
    its hash sidecar are written; the next save keeps the replaced one as ``.prev``:

    >>> import os, tempfile, types, torch
    >>> from neurodl.estimators.torch_engine import TrainResult
    >>> net = torch.nn.Linear(3, 2)
    >>> opt = torch.optim.AdamW(net.parameters())
    >>> run = types.SimpleNamespace(
    ...     net=net, optimizer=opt, scheduler=torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1),
    ...     scaler=None, result=TrainResult(history=[{"epoch": 0, "train_loss": 0.7}]),
    ...     best_loss=float("inf"), best_state=None, bad_epochs=0,
    ... )
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_checkpoint(f"{tmp}/run.pt", run, fingerprint="a", epoch=0, stopped=None)
    ...     print(sorted(os.listdir(tmp)))
    ...     _ = save_checkpoint(path, run, fingerprint="a", epoch=0, stopped=None)
    ...     print(sorted(os.listdir(tmp)))
    ...     print(load_checkpoint(path, "a")["epoch"])
    ['run.pt', 'run.pt.sha256']
    ['run.pt', 'run.pt.prev', 'run.pt.prev.sha256', 'run.pt.sha256']
    0
    """
    state = {
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
    }
    return _save_with_hash(state, Path(path))


def _save_with_hash(state: dict[str, Any], path: Path) -> Path:
    """Write ``state`` and its hash sidecar; the replaced checkpoint becomes ``path.prev``.

    Order (each step atomic): the new file is written under a temporary name and hashed; the
    current checkpoint and its sidecar move to ``.prev``; the new sidecar, then the new file take
    their places. A crash at any point leaves either the new or the previous checkpoint verifiable.
    """
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    with _replacing(path, "wb", lambda fh: torch.save(state, fh)) as tmp:
        stamp = {
            "sha256": _sha256(Path(tmp)),
            "epoch": state["epoch"],
            "fingerprint": state["fingerprint"],
            "version": CHECKPOINT_VERSION,
        }
        if path.is_file() and _sidecar(path).is_file():
            os.replace(path, _previous(path))
            os.replace(_sidecar(path), _sidecar(_previous(path)))
        _write_text_atomic(_sidecar(path), json.dumps(stamp) + "\n")
    return path


def _write_text_atomic(path: Path, text: str) -> None:
    with _replacing(path, "w", lambda fh: fh.write(text)):
        pass


def restore_checkpoint(run: Any, ckpt: dict[str, Any]) -> int:
    """Load a checkpoint from :func:`load_checkpoint` into ``run``; the epoch to start from.

    Restores the weights, optimiser, scheduler, grad scaler, global RNG states, history, best
    weights and patience counter; sets ``run.result.resumed_from_epoch`` and, for a finished
    run, ``run.result.stopped_reason``.

    Examples
    --------
    A fresh model and optimiser take over a finished 2-epoch run: training would start at
    epoch 2 with the saved weights and history:

    >>> import tempfile, numpy as np, torch
    >>> from neurodl.estimators.torch_engine import TrainConfig, train
    >>> _ = torch.manual_seed(0)
    >>> X, y = np.random.default_rng(0).normal(size=(8, 2, 4)), np.array([0, 1] * 4)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 2))
    >>> cfg = TrainConfig(task="classification", max_epochs=2, batch_size=4)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = f"{tmp.name}/run.pt"
    >>> _ = train(model, X, y, None, None, cfg, checkpoint_path=path, fingerprint="run-a")
    >>> import types
    >>> from neurodl.estimators.torch_engine import SCHEDULES, TrainResult
    >>> fresh = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 2))
    >>> opt = torch.optim.AdamW(fresh.parameters())
    >>> scheduler = SCHEDULES[cfg.schedule](opt, cfg.lr, 4)  # cosine over 2 x 2 steps
    >>> run = types.SimpleNamespace(
    ...     net=fresh, optimizer=opt, scheduler=scheduler, scaler=None, result=TrainResult()
    ... )
    >>> restore_checkpoint(run, load_checkpoint(path, "run-a"))
    2
    >>> len(run.result.history), run.result.resumed_from_epoch, run.result.stopped_reason
    (2, 1, 'max_epochs')
    >>> bool((fresh[1].weight == model[1].weight).all())
    True
    >>> tmp.cleanup()
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
