"""Helpers shared by the population-dynamics tasks (behaviour decoding, spike trials,
forecasting, latents): torch threads, data identity, timing, per-model statistics, the
forecasters fitted by horizon, and the parts every dynamics report shares.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..._logging import logger
from .._progress import progress_steps
from ..registry import RunContext
from ..results import ModelStats, TaskResult, jsonable

__all__ = [
    "TIMING_KEYS",
    "array_hash",
    "epoch_time",
    "fit_forecasters",
    "fmt",
    "model_lines",
    "model_stats",
    "new_report",
    "save_report",
    "torch_threads",
    "versions",
]

#: Timing entries recorded beside each model's scores.
TIMING_KEYS = ("fit_time_s", "time_per_epoch_s", "latency_per_bin_s")


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch threads (None: leave torch as it is); restore after."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def array_hash(*arrays: Any) -> str:
    """SHA-256 of the arrays a task analysed (shape, dtype and bytes; None skipped)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            continue
        x = np.ascontiguousarray(a)
        h.update(str((x.shape, str(x.dtype))).encode())
        h.update(x.tobytes())
    return h.hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python and the libraries a result depends on (installed ones only)."""
    from ...evaluation import library_versions

    return {k: v for k, v in library_versions().items() if v is not None}


def fmt(value: Any) -> str:
    """A score with 3 decimals, or ``n/a`` (None or not finite)."""
    return "n/a" if value is None or not np.isfinite(value) else f"{float(value):.3f}"


def epoch_time(history: Any) -> float | None:
    """Mean training time per epoch of a ``history_`` dict (None: no epochs)."""
    v = history.get("time_per_epoch_s") if isinstance(history, dict) else None
    return None if v is None else float(np.mean(v))


def model_stats(
    name: str,
    *,
    role: str,
    kind: str,
    score: Any,
    fold_scores: Any = (),
    fit_time: Any = None,
    latency: Any = None,
    **more: Any,
) -> ModelStats:
    """One model's statistics for ``TaskResult.models`` (NaN -> None)."""
    return ModelStats.model_validate(
        jsonable(
            {
                "name": name,
                "role": role,
                "kind": kind,
                "score_mean": score,
                "fold_scores": list(fold_scores),
                "fit_time_s_per_fold": fit_time,
                "predict_time_s_per_sample": latency,
                **more,
            }
        )
    )


def model_lines(result: TaskResult, per: str = "bin") -> list[str]:
    """One line per model of ``result.models``: its score, fit time and latency, its role."""
    lines = []
    for key, m in result.models.items():
        text = f"{key}: {result.metric} = {fmt(m.score_mean)}"
        extra = []
        if m.fit_time_s_per_fold is not None:
            extra.append(f"fit {m.fit_time_s_per_fold:.2g} s")
        if m.predict_time_s_per_sample is not None:
            extra.append(f"{m.predict_time_s_per_sample:.1e} s/{per}")
        if extra:
            text += f" ({', '.join(extra)})"
        lines.append(text + (" [main]" if m.role == "main" else " [baseline]"))
    return lines


def fit_forecasters(
    forecasters: dict[str, dict[str, Any]],
    horizons: list[int],
    c_tr: np.ndarray,
    c_te: np.ndarray,
    true_te: np.ndarray | None,
    t_min: int,
    seed: int,
) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """Fit and score each forecaster by horizon, with fit time, time/epoch and latency per bin.

    Returns ``(per forecaster: by_horizon rows, params and timing; predictions on c_te)``.
    """
    from ...analyses.dynamics import forecast_scores, make_forecaster

    out: dict[str, dict[str, Any]] = {}
    preds: dict[str, np.ndarray] = {}
    for name, params in progress_steps("forecasters", forecasters.items(), unit="model"):
        t0 = time.perf_counter()
        f = make_forecaster(name, seed=seed, horizons=horizons, **params).fit(c_tr)
        fit_time = time.perf_counter() - t0
        t1 = time.perf_counter()
        pred = f.predict(c_te)
        latency = (time.perf_counter() - t1) / max(c_te.shape[0] * c_te.shape[1], 1)
        rows = forecast_scores(pred, c_te, horizons, true_rates=true_te, t_min=t_min)
        out[name] = {
            "by_horizon": rows,
            "params": {"random_state": seed, **params} if hasattr(f, "random_state") else params,
            "fit_time_s": fit_time,
            "time_per_epoch_s": epoch_time(getattr(f, "history_", None)),
            "latency_per_bin_s": latency,
        }
        preds[name] = pred
        logger.info(
            "forecasting %s: bits/spike %s", name, [round(r["bits_per_spike"], 3) for r in rows]
        )
    return out, preds


def new_report(ctx: RunContext, dataset: str, what: str) -> Any:
    """An empty report titled by the config (default ``neurodl: <name>``)."""
    from ...report import Report

    return Report(
        ctx.cfg.report.title or f"neurodl: {ctx.cfg.name}", subtitle=f"{dataset} - {what}"
    )


def save_report(rep: Any, ctx: RunContext, result: TaskResult) -> None:
    """Add the provenance block (config, seed, versions, data hash) and save ``report.html``."""
    if ctx.config_text:
        rep.add_code(ctx.config_text, title="Configuration", section="Provenance")
    rep.add_key_values(
        {"seed": ctx.cfg.seed, "data_hash": result.data_hash, "versions": result.versions},
        title="Run",
        section="Provenance",
    )
    assert ctx.out_dir is not None
    rep.save(ctx.out_dir / "report.html")
