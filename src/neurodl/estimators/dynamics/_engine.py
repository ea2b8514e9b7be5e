"""Glue between the dynamics models and the shared training engine.

Every neural model of :mod:`neurodl.estimators.dynamics` (the GRU/LSTM decoders, the forecaster
and the LFADS-family VAE) is trained by :func:`neurodl.estimators.torch_engine.train`; the
forecaster and the VAE pass their likelihoods as a custom ``objective``. The shared settings
are: Adam (``weight_decay`` as an L2 penalty), learning rate halved on a validation-loss plateau (``schedule="plateau"``,
``plateau_patience = max(3, patience // 3)``), gradient clipping at 200 (global L2 norm), the
``"skip"`` divergence guard (batches with a non-finite loss or gradient are skipped and
counted), early stopping with the best epoch's weights restored, a seeded, forked torch RNG
(fitting leaves the caller's RNG untouched) and deterministic algorithms during the fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...exceptions import ConfigError

__all__ = ["fit_network", "history_dict", "random_split"]


def random_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices: ``round(fraction * n)`` samples drawn at random.

    No validation split when ``fraction == 0`` or ``n < 10``.
    """
    if not 0 <= fraction < 1:
        raise ConfigError(
            f"Invalid value for 'validation_fraction'. Allowed: [0, 1); got {fraction!r}."
        )
    idx = np.arange(n)
    if fraction <= 0 or n < 10:
        return idx, idx[:0]
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(fraction * n))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def history_dict(result: Any) -> dict[str, Any]:
    """The dynamics models' ``history_`` from a :class:`~neurodl.estimators.torch_engine.TrainResult`."""
    h = result.history
    times = [r["time_s"] for r in h]
    return {
        "train_loss": [r["train_loss"] for r in h],
        "val_loss": [r["valid_loss"] for r in h if "valid_loss" in r],
        "time_per_epoch_s": float(np.mean(times)) if times else float("nan"),
        "n_epochs": len(h),
        "best_epoch": -1 if result.best_epoch is None else int(result.best_epoch),
        "n_nan_skipped": int(sum(r.get("n_skipped", 0) for r in h)),
        "stopped_reason": result.stopped_reason,
    }


def fit_network(
    build: Callable[[], Any],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_valid: np.ndarray | None,
    y_valid: np.ndarray | None,
    *,
    max_epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    patience: int | None,
    seed: int,
    objective: Any = None,
    grad_clip: float | None = 200.0,
    optimizer: str = "adam",
) -> tuple[Any, dict[str, Any]]:
    """Build a network (``build()``, seeded with ``seed``) and train it with the shared engine.

    Parameters
    ----------
    build : callable
        Returns the ``torch.nn.Module`` to train (called once, after seeding).
    X_train, y_train : ndarray of shape (n_train, ...)
    X_valid, y_valid : ndarray of shape (n_valid, ...) or None
        Early-stopping split (``None`` or empty: train for ``max_epochs`` epochs).
    max_epochs, batch_size, lr, weight_decay : training settings
    patience : int or None
        Epochs without a lower validation loss before stopping; ``None``: never stop early (the
        best epoch's weights are still restored at the end).
    seed : int
    objective : callable or None
        Custom loss (see :func:`neurodl.estimators.torch_engine.train`); None: MSE.
    grad_clip : float or None, default=200.0
    optimizer : {"adam", "adamw"}, default="adam"
        Adam with ``weight_decay`` as an L2 penalty in the gradient, or AdamW (decoupled).

    Returns
    -------
    model : torch.nn.Module
        The trained network, in eval mode.
    history : dict
        ``train_loss``, ``val_loss`` (per epoch), ``time_per_epoch_s``, ``n_epochs``,
        ``best_epoch``, ``n_nan_skipped``, ``stopped_reason``.
    """
    import torch

    from ..torch_engine import TrainConfig, determinism, train

    if (
        isinstance(max_epochs, bool)
        or not isinstance(max_epochs, int | np.integer)
        or max_epochs < 1
    ):
        raise ConfigError(
            f"Invalid value for 'max_epochs'. Allowed: an integer >= 1; got {max_epochs!r}."
        )
    if patience is not None and (
        isinstance(patience, bool) or not isinstance(patience, int | np.integer) or patience < 1
    ):
        raise ConfigError(
            f"Invalid value for 'patience'. Allowed: an integer >= 1 or None; got {patience!r}."
        )
    has_valid = X_valid is not None and len(X_valid) > 0
    cfg = TrainConfig(
        task="regression",
        max_epochs=int(max_epochs),
        batch_size=int(batch_size),
        lr=float(lr),
        weight_decay=float(weight_decay),
        schedule="plateau",
        plateau_patience=max(3, (patience or 20) // 3),
        early_stopping=has_valid,
        patience=int(patience) if patience is not None else int(max_epochs) + 1,
        grad_clip=grad_clip,
        deterministic=True,
        device="cpu",
        on_divergence="skip",
        seed=int(seed),
        optimizer=optimizer,
    )
    with torch.random.fork_rng(devices=[]), determinism(True, "cpu"):
        torch.manual_seed(int(seed))
        model = build()
        result = train(
            model,
            X_train,
            y_train,
            X_valid if has_valid else None,
            y_valid if has_valid else None,
            cfg,
            objective=objective,
        )
    model.eval()
    return model, history_dict(result)
