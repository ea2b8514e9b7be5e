"""Data-parallel (DDP) training of a neural estimator on a Ray cluster with Ray Train.

:func:`fit_distributed` starts ``num_workers`` Ray Train workers (one process each, anywhere in
the cluster) with :class:`ray.train.torch.TorchTrainer`, which sets up the torch process group
(``gloo`` on CPUs, ``nccl`` on GPUs). Every worker then runs the engine's own DDP code path,
:func:`neurodl.estimators.distributed.fit_distributed`, exactly as under ``torchrun``: each rank
trains a ``DistributedDataParallel`` replica on its ``DistributedSampler`` share of every batch,
so the weights match single-process training up to summation order (same conditions as under
``torchrun``: ``batch_size`` divisible by ``num_workers``, no dropout for a bit-level match).

The data travel once (``ray.put`` on the driver, read from the object store by each worker);
rank 0 sends the fitted estimator back through a small result actor, so no storage shared
between nodes is needed (Ray Train's own run folder, ``storage_path``, holds only its run
state). Ray Train is optional: ``pip install 'neurodl[ray]'`` (``ray[train]``).

Examples
--------
Needs a Ray cluster, so not run as a doctest:

>>> est = NeuralClassifier(model="shallow", batch_size=64)  # doctest: +SKIP
>>> fit_distributed(  # doctest: +SKIP
...     est, X, y, num_workers=4, execution={"backend": "ray", "address": "head:6379"}
... )
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from typing import Any

from .._logging import logger
from ..exceptions import ConfigError, MissingDependencyError
from .config import ExecutionConfig, get_execution
from .ray_backend import connect_ray

__all__ = ["fit_distributed"]


def _import_torch_trainer() -> Any:
    try:
        from ray import train
        from ray.train.torch import TorchTrainer
    except ImportError as err:  # pragma: no cover - exercised where ray[train] is absent
        raise MissingDependencyError(
            "fit_distributed on Ray needs Ray Train, an optional dependency: "
            "pip install 'neurodl[ray]' (ray[train])."
        ) from err
    return train, TorchTrainer


class _ResultBox:
    """Holds the pickled fitted estimator sent by rank 0 (a Ray actor on the driver's side)."""

    def __init__(self) -> None:
        self.payload: bytes | None = None

    def put(self, payload: bytes) -> None:
        self.payload = payload

    def get(self) -> bytes | None:
        return self.payload


def _train_loop(config: dict[str, Any]) -> None:
    """One Ray Train worker: the engine's DDP fit in the process group Ray Train set up."""
    import ray
    import torch.distributed as dist
    from ray import train

    from ..estimators.distributed import fit_distributed as fit_in_group

    estimator = pickle.loads(config["estimator"])
    X, y, groups = ray.get(config["data"])
    fit_in_group(estimator, X, y, groups)
    rank = dist.get_rank() if dist.is_initialized() else 0
    if rank == 0:
        ray.get(config["box"].put.remote(pickle.dumps(estimator)))
    train.report({"rank0_done": rank == 0})


def _check_workers(num_workers: Any) -> int:
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ConfigError(
            f"Invalid value for 'num_workers'. Allowed: an int >= 1; got {num_workers!r}."
        )
    return num_workers


def fit_distributed(
    estimator: Any,
    X: Any,
    y: Any,
    groups: Any = None,
    *,
    num_workers: int = 2,
    use_gpu: bool = False,
    resources_per_worker: Mapping[str, float] | None = None,
    execution: ExecutionConfig | Mapping[str, Any] | str | None = None,
    storage_path: str | None = None,
    max_failures: int = 0,
) -> Any:
    """Fit a neural estimator with DDP over ``num_workers`` Ray Train workers.

    Parameters
    ----------
    estimator : NeuralClassifier or NeuralRegressor
        Fitted in place (its fitted attributes are those of rank 0, which every rank shares).
    X : ndarray of shape (n_samples, n_chans, n_times) or (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    groups : ndarray of shape (n_samples,) or None
        Groups for the estimator's inner validation split.
    num_workers : int, default=2
        DDP processes (ranks); keep ``batch_size`` divisible by it.
    use_gpu : bool, default=False
        One GPU per worker and the ``nccl`` backend; otherwise CPUs and ``gloo``.
    resources_per_worker : mapping or None
        Ray resources of one worker (e.g. ``{"CPU": 4}``); Ray Train's default is one CPU.
    execution : ExecutionConfig, mapping, str or None
        Where the Ray cluster is: a ``ray`` backend's ``address`` (None: a private instance
        on this machine; a ``local`` backend also means a private instance). None uses
        :func:`~neurodl.execution.get_execution`.
    storage_path : str or None
        Ray Train's run folder (default: a temporary folder on the driver, removed after).
        neurodl reports no Ray Train checkpoint, so it need not be shared between nodes.
    max_failures : int, default=0
        Times Ray Train restarts the whole worker group after a worker or node died
        (training then starts over; with the estimator's ``checkpoint_dir`` on storage every
        node sees, it resumes from rank 0's last checkpoint).

    Returns
    -------
    estimator : the fitted estimator (the same object)

    Raises
    ------
    ConfigError
        ``num_workers`` not a positive int, an estimator that is not a neural estimator, an
        invalid estimator parameter, or ``X`` and ``y`` of different lengths (all checked
        before any worker starts).
    MissingDependencyError
        Ray Train is not installed.

    Examples
    --------
    Training needs a Ray cluster; everything about the call is checked before any worker starts:

    >>> import numpy as np
    >>> from neurodl.estimators import NeuralClassifier
    >>> X, y = np.zeros((8, 2, 100), dtype="float32"), np.tile([0, 1], 4)
    >>> try:
    ...     fit_distributed(NeuralClassifier(model="shallow"), X, y, num_workers=0)
    ... except ValueError as err:
    ...     print(err)
    Invalid value for 'num_workers'. Allowed: an int >= 1; got 0.
    >>> try:
    ...     fit_distributed(NeuralClassifier(model="shallow", max_epochs=-1), X, y)
    ... except ValueError as err:
    ...     print(err)
    Invalid value for 'max_epochs'. Allowed: an int >= 1; got -1.
    >>> try:
    ...     fit_distributed(NeuralClassifier(model="shallow"), X, y[:7])
    ... except ValueError as err:
    ...     print(err)
    'X' and 'y' must have as many samples; got 8 and 7.
    """
    from ..estimators.distributed import ESTIMATOR_CLASSES

    num_workers = _check_workers(num_workers)
    if not isinstance(estimator, tuple(ESTIMATOR_CLASSES.values())):
        raise ConfigError(
            "Invalid value for 'estimator'. Allowed: a NeuralClassifier or NeuralRegressor; "
            f"got {type(estimator).__name__}."
        )
    estimator._check_params()  # a bad parameter fails here, before any worker starts
    if len(X) != len(y):
        raise ConfigError(f"'X' and 'y' must have as many samples; got {len(X)} and {len(y)}.")
    train, TorchTrainer = _import_torch_trainer()
    cfg = get_execution() if execution is None else ExecutionConfig.from_value(execution)
    ray_cfg = cfg if cfg.backend == "ray" else ExecutionConfig(backend="ray")
    ray = connect_ray(ray_cfg)
    box = ray.remote(num_cpus=0)(_ResultBox).remote()
    data_ref = ray.put((X, y, groups))
    run_dir = storage_path or tempfile.mkdtemp(prefix="neurodl-ray-train-")
    trainer = TorchTrainer(
        _train_loop,
        train_loop_config={
            "estimator": pickle.dumps(estimator),
            "data": data_ref,
            "box": box,
        },
        scaling_config=train.ScalingConfig(
            num_workers=num_workers,
            use_gpu=use_gpu,
            resources_per_worker=dict(resources_per_worker) if resources_per_worker else None,
        ),
        run_config=train.RunConfig(
            name=f"neurodl-ddp-{uuid.uuid4().hex[:8]}",
            storage_path=run_dir,
            failure_config=train.FailureConfig(max_failures=max_failures),
        ),
    )
    logger.info("Ray Train DDP: %d workers (%s)", num_workers, "GPU" if use_gpu else "CPU")
    try:
        trainer.fit()
        payload = ray.get(box.get.remote())
    finally:
        ray.kill(box)
        if storage_path is None:
            shutil.rmtree(run_dir, ignore_errors=True)
    if payload is None:  # pragma: no cover - fit() raises when a worker fails
        raise RuntimeError("Ray Train finished but rank 0 sent no fitted estimator.")
    fitted = pickle.loads(payload)
    estimator.__dict__.update(fitted.__dict__)
    return estimator
