"""Distributed data-parallel (DDP) training of the neural estimators under ``torchrun``.

Every process launched by ``torchrun`` calls :func:`fit_distributed` with the same estimator and
data. Each rank trains a :class:`torch.nn.parallel.DistributedDataParallel` replica on its share
of every batch (:class:`torch.utils.data.DistributedSampler` with the estimator's seed), the
gradients are averaged across ranks, the loss is normalised by the global batch's total weight
(all-reduced), validation metrics are summed over ranks' shards, and only rank 0 writes
checkpoints. With ``batch_size`` divisible by the number of processes and the training set
divisible by ``batch_size`` (no padding by the sampler), the ranks together see exactly the
batches of single-process training, so the weights match single-process training up to
floating-point summation order (models without dropout; each rank draws its own dropout
masks).

Command line (one process per CPU core or GPU)::

    torchrun --standalone --nproc_per_node=2 -m neurodl.estimators.distributed \\
        --data data.npz --estimator estimator.json --out model.pt

``data.npz`` holds ``X``, ``y`` and optionally ``groups``; ``estimator.json`` is
``{"class": "NeuralClassifier", "params": {...}}``; rank 0 writes ``model.pt`` (the fitted
estimator's ``state_dict``, ``history`` and ``classes`` / target scaling) atomically.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import logger
from ..exceptions import ConfigError
from .neural import NeuralClassifier, NeuralRegressor
from .torch_engine import DistContext, atomic_torch_save

__all__ = ["ESTIMATOR_CLASSES", "fit_distributed", "main"]

#: Estimator classes the command line can build: name -> class.
ESTIMATOR_CLASSES: dict[str, type] = {
    "NeuralClassifier": NeuralClassifier,
    "NeuralRegressor": NeuralRegressor,
}


def fit_distributed(
    estimator: NeuralClassifier | NeuralRegressor,
    X: Any,
    y: Any,
    groups: Any = None,
    *,
    backend: str | None = None,
) -> NeuralClassifier | NeuralRegressor:
    """Fit ``estimator`` with DDP in the current process group; call it on every rank.

    When no process group exists yet, one is created from the ``torchrun`` environment
    (``env://``: ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) with ``backend``
    (default ``"nccl"`` when CUDA is available, else ``"gloo"``) and destroyed afterwards.
    On CUDA, each rank uses the GPU ``LOCAL_RANK``.

    Parameters
    ----------
    estimator : NeuralClassifier or NeuralRegressor
        Fitted in place; every rank ends with the same weights.
    X : ndarray of shape (n_samples, n_chans, n_times) or (n_samples, n_features)
        The full training data (identical on every rank).
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    groups : ndarray of shape (n_samples,) or None
        Groups for the inner validation split.
    backend : str or None

    Returns
    -------
    estimator : the fitted estimator

    Examples
    --------
    Without ``torchrun`` or a process group it refuses to start:

    >>> import numpy as np
    >>> from neurodl.estimators import NeuralClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.array([0, 1] * 8)
    >>> X = (rng.normal(size=(16, 2, 8)) + y[:, None, None]).astype("float32")
    >>> clf = NeuralClassifier(
    ...     "linear", max_epochs=2, batch_size=8, validation_fraction=0.0, device="cpu",
    ...     random_state=0,
    ... )
    >>> fit_distributed(clf, X, y)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: fit_distributed needs a process group: launch with torchrun (which sets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or call torch.distributed.init_process_group first.

    In a process group of one (what each ``torchrun`` process does with its own rank), the
    estimator is fitted in place:

    >>> import tempfile, torch.distributed as dist
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     dist.init_process_group("gloo", init_method=f"file://{tmp}/pg", rank=0, world_size=1)
    ...     try:
    ...         fitted = fit_distributed(clf, X, y)
    ...     finally:
    ...         dist.destroy_process_group()
    >>> fitted is clf, len(clf.history_), clf.classes_.tolist()
    (True, 2, [0, 1])
    """
    import torch
    import torch.distributed as dist

    if not isinstance(estimator, NeuralClassifier | NeuralRegressor):
        raise TypeError(
            "Invalid value for 'estimator'. Allowed: a NeuralClassifier or NeuralRegressor; "
            f"got {type(estimator).__name__}."
        )
    created = False
    if not dist.is_initialized():
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            raise ConfigError(
                "fit_distributed needs a process group: launch with torchrun (which sets RANK, "
                "WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or call torch.distributed."
                "init_process_group first."
            )
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        dist.init_process_group(backend=backend)
        created = True
    if torch.cuda.is_available() and dist.get_backend() == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    ctx = DistContext(rank=dist.get_rank(), world_size=dist.get_world_size())
    logger.info("DDP training: rank %d of %d", ctx.rank, ctx.world_size)
    # no teardown after a failure: the other ranks may be inside a collective, where
    # destroy_process_group would hang or abort them (torchrun tears the job down instead)
    estimator._fit(X, y, groups, dist=ctx)
    if created:
        # every rank reaches this point before any tears down its gloo/nccl pairs; a rank that
        # destroys its group while a peer is still finishing its last collective can abort
        # the peer with SIGABRT ("terminate called without an active exception")
        dist.barrier()
        dist.destroy_process_group()
    return estimator


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point for ``torchrun ... -m neurodl.estimators.distributed``.

    Examples
    --------
    The command line run in-process in a group of one (``torchrun`` would start one such
    process per core or GPU): data and estimator files in, rank 0's ``model.pt`` out:

    >>> import json, tempfile, numpy as np, torch, torch.distributed as dist
    >>> y = np.array([0, 1] * 8)
    >>> X = np.random.default_rng(0).normal(size=(16, 2, 8)).astype("float32")
    >>> spec = {"class": "NeuralClassifier", "params": {
    ...     "model": "linear", "max_epochs": 1, "batch_size": 8, "validation_fraction": 0.0,
    ...     "device": "cpu", "random_state": 0}}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.savez(f"{tmp}/data.npz", X=X, y=y)
    ...     with open(f"{tmp}/estimator.json", "w") as fh:
    ...         json.dump(spec, fh)
    ...     dist.init_process_group("gloo", init_method=f"file://{tmp}/pg", rank=0, world_size=1)
    ...     try:
    ...         rc = main(["--data", f"{tmp}/data.npz", "--estimator", f"{tmp}/estimator.json",
    ...                    "--out", f"{tmp}/model.pt"])
    ...     finally:
    ...         dist.destroy_process_group()
    ...     saved = torch.load(f"{tmp}/model.pt")
    >>> rc, sorted(saved), saved["classes"], len(saved["history"])
    (0, ['classes', 'history', 'params', 'state_dict'], [0, 1], 1)
    """
    parser = argparse.ArgumentParser(prog="python -m neurodl.estimators.distributed")
    parser.add_argument("--data", required=True, help="NPZ file with X, y (and groups)")
    parser.add_argument(
        "--estimator", required=True, help='JSON file {"class": ..., "params": {...}}'
    )
    parser.add_argument("--out", required=True, help="output file (written by rank 0)")
    parser.add_argument("--backend", default=None)
    args = parser.parse_args(argv)

    spec = json.loads(Path(args.estimator).read_text())
    name = spec.get("class", "NeuralClassifier")
    if name not in ESTIMATOR_CLASSES:
        raise ConfigError(
            f"Invalid value for 'class'. Allowed: {', '.join(ESTIMATOR_CLASSES)}; got {name!r}."
        )
    est = ESTIMATOR_CLASSES[name](**spec.get("params", {}))
    with np.load(args.data, allow_pickle=False) as data:
        X, y = data["X"], data["y"]
        groups = data["groups"] if "groups" in data.files else None
    rank = int(os.environ.get("RANK", "0"))
    fit_distributed(est, X, y, groups, backend=args.backend)
    if rank == 0:
        extra = {"classes": est.classes_} if hasattr(est, "classes_") else {}
        if hasattr(est, "y_mean_"):
            extra = {"y_mean": est.y_mean_, "y_scale": est.y_scale_}
        atomic_torch_save(
            {
                "state_dict": est.model_.state_dict(),
                "history": est.history_,
                "params": json.dumps(est.get_params(deep=False), default=str),
                **{k: np.asarray(v).tolist() for k, v in extra.items()},
            },
            args.out,
        )
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through torchrun in the tests
    raise SystemExit(main())
