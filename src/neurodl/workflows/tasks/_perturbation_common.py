"""What the lesion tasks on trained networks share: layer checks, a model guard, CI rows.

Used by ``perturbation_decoder`` (EEG networks trained per fold) and ``perturbation_rsa`` (the
RSA CNN). Every study runs inside :func:`unchanged_model`, which fails the run if the trained
network's ``state_dict`` differs in any bit afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from pydantic import Field

from ...exceptions import ConfigError
from ..results import ResultPart
from .perturbation import state_hash, torch_equal

__all__ = [
    "CurvePoint",
    "check_fractions",
    "check_layers",
    "check_untrained_network",
    "curve_point",
    "fit_params",
    "interval",
    "unchanged_model",
]


class CurvePoint(ResultPart):
    """One point of a lesion (or gain) curve, averaged over repeats (folds x seeds)."""

    strategy: str = Field(description="selectivity | importance | random | gain")
    layer: str
    fraction: float | None = Field(None, description="Fraction of the layer's units lesioned.")
    size: int | None = Field(
        None, description="Units lesioned (per repeat; the mean if it varies)."
    )
    level: float | None = Field(None, description="Gain factor (gain rows).")
    score: float | None = Field(description="Mean over repeats.")
    ci_low: float | None = None
    ci_high: float | None = None
    drop: float | None = Field(None, description="Mean intact score minus mean score.")
    vs_random: float | None = Field(
        None, description="Mean paired difference targeted - random (same repeat, same size)."
    )
    vs_random_ci: list[float | None] | None = None
    spread_low: float | None = Field(
        None,
        description="Random rows of perturbation_rsa: percentile interval of the drop "
        "over all draws pooled over seeds (low).",
    )
    spread_high: float | None = None
    n: int = Field(description="Repeats averaged.")
    values: list[float | None] = Field(description="The score of each repeat.")


def interval(values: Sequence[float], ci: float) -> tuple[float, float | None, float | None]:
    """Mean and Student-t interval over repeats (None with fewer than 2 finite values)."""
    from ...evaluation import fold_ci

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), None, None
    if len(v) < 2:
        return float(v.mean()), None, None
    if np.ptp(v) == 0:  # identical repeats: a zero-width interval (fold_ci would give NaN)
        return float(v[0]), float(v[0]), float(v[0])
    iv = fold_ci(v, ci=ci)
    return float(v.mean()), float(iv.low), float(iv.high)


def check_layers(model: Any, layers: Sequence[str], what: str) -> None:
    """Raise a ConfigError naming the first layer of ``layers`` that ``model`` does not have."""
    import difflib

    names = [n for n, _ in model.named_modules() if n]
    for layer in layers:
        if layer not in names:
            close = difflib.get_close_matches(layer, names, n=3, cutoff=0.5)
            hint = f" Close matches: {', '.join(map(repr, close))}." if close else ""
            raise ConfigError(
                f"Invalid value for {what!r}: the network has no layer {layer!r}.{hint} "
                f"Layers: {', '.join(map(repr, names))}."
            )


@contextlib.contextmanager
def unchanged_model(model: Any) -> Iterator[str]:
    """Yield the sha256 of ``model.state_dict()``; raise if the block changed any tensor."""
    before = state_hash(model)
    snapshot = {k: v.detach().clone() for k, v in model.state_dict().items()}
    yield before
    after = model.state_dict()
    same = set(after) == set(snapshot) and all(torch_equal(after[k], snapshot[k]) for k in snapshot)
    if not same or state_hash(model) != before:
        raise RuntimeError("the perturbation study changed the trained model's state_dict")


def curve_point(
    strategy: str,
    layer: str,
    values: Sequence[float],
    ci: float,
    *,
    baseline: Sequence[float] | None = None,
    random: Sequence[float] | None = None,
    **keys: Any,
) -> dict[str, Any]:
    """A :class:`CurvePoint` dict from per-repeat scores (and the paired intact/random ones)."""
    mean, low, high = interval(values, ci)
    row = {
        "strategy": strategy,
        "layer": layer,
        "score": mean,
        "ci_low": low,
        "ci_high": high,
        "n": len(values),
        "values": [float(v) for v in values],
        **keys,
    }
    if baseline is not None:
        row["drop"] = float(np.nanmean(baseline)) - mean
    if random is not None:
        diff = np.asarray(values, float) - np.asarray(random, float)
        d_mean, d_low, d_high = interval(diff, ci)
        row["vs_random"] = d_mean
        row["vs_random_ci"] = [d_low, d_high]
    return row


def check_fractions(value: list[float]) -> list[float]:
    """Lesion fractions: a non-empty list of numbers in (0, 1]."""
    if not value:
        raise ValueError("fractions must not be empty")
    for f in value:
        if not np.isfinite(f) or not 0 < f <= 1:
            raise ValueError(
                f"Invalid value for 'fractions'. Allowed: numbers in (0, 1]; got {f!r}"
            )
    return sorted(value)


def check_untrained_network(opts: Any, est: Any, ds: Any, fold_steps: Any, n_classes: int) -> None:
    """Before any training: the layers of ``perturbation_decoder`` options exist and
    ``gain.channels`` are in range (an untrained copy of the network on 2 samples; skipped when
    per-fold preprocessing reshapes the data)."""
    import torch

    from ...analyses.perturb import unit_axis
    from ...models import build_model

    name = getattr(est, "model", None)
    if fold_steps is not None or not isinstance(name, str) or np.asarray(ds.X).ndim not in (2, 3):
        return
    X = np.asarray(ds.X[:2], dtype=np.float32)
    X = X[:, None, :] if X.ndim == 2 else X
    params = dict(getattr(est, "model_params", None) or {})
    with torch.random.fork_rng(devices=[]):
        net = build_model(
            name,
            n_chans=X.shape[1],
            n_times=X.shape[2],
            n_outputs=n_classes,
            sfreq=ds.sfreq,
            **params,
        ).eval()
    glayer = (opts.gain.layer or opts.layer) if opts.gain is not None else None
    check_layers(net, [opts.layer] + ([glayer] if glayer else []), "options.layer")
    if opts.gain is None or opts.gain.channels is None:
        return
    module = dict(net.named_modules())[glayer]
    sizes: list[int] = []

    def hook(mod: Any, args: Any, output: Any) -> None:
        out = output[0] if isinstance(output, (tuple, list)) else output
        sizes.append(int(out.shape[unit_axis(mod, output)]))

    handle = module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            net(torch.as_tensor(X))
    finally:
        handle.remove()
    bad = [c for c in opts.gain.channels if c >= sizes[0]]
    if bad:
        raise ConfigError(
            f"Invalid value for 'gain.channels': layer {glayer!r} has {sizes[0]} channels "
            f"(0..{sizes[0] - 1}); got channel {bad[0]}."
        )


def fit_params(est: Any) -> list[str]:
    """Names of the parameters of ``est.fit`` (a Pipeline's ``**params`` gives none named)."""
    import inspect

    try:
        return list(inspect.signature(est.fit).parameters)
    except (TypeError, ValueError):
        return []
