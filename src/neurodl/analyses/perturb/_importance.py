"""Unit importance, lesion curves and dose-response curves built on :func:`perturbed`.

``score_fn(model) -> float`` is user-given (e.g. accuracy on held-out trials); higher is better.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from ...exceptions import ConfigError
from ._apply import _first, _get_module, _resolve_axis, perturbed
from ._specs import Ablate, _check_indices

__all__ = ["dose_response", "lesion_curve", "unit_importance"]


def _score(score_fn: Callable[[nn.Module], float], model: nn.Module) -> float:
    value = score_fn(model)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"'score_fn' must return a float; got {value!r}.") from None
    if math.isnan(value):
        raise ConfigError("'score_fn' returned NaN.")
    return value


def _baseline_and_n_units(
    model: nn.Module, score_fn: Callable, layer: str, axis: int | None
) -> tuple[float, int]:
    """Score the intact model while reading the number of units of ``layer``."""
    module = _get_module(model, layer)
    sizes: list[int] = []

    def hook(mod: nn.Module, args: Any, output: Any) -> None:
        out = _first(output)
        sizes.append(out.shape[_resolve_axis(mod, out, axis)])

    handle = module.register_forward_hook(hook)
    try:
        baseline = _score(score_fn, model)
    finally:
        handle.remove()
    if not sizes:
        raise ConfigError(f"Layer {layer!r} was not called by 'score_fn'.")
    return baseline, sizes[0]


def _check_random_draws(n_random: Any, ci: Any) -> None:
    """Refuse a non-positive or non-int ``n_random`` and a ``ci`` outside (0, 1)."""
    if isinstance(n_random, bool) or not isinstance(n_random, numbers.Integral) or n_random < 1:
        raise ConfigError(f"'n_random' must be a positive int; got {n_random!r}.")
    if not 0 < ci < 1:
        raise ConfigError(f"'ci' must be in (0, 1); got {ci!r}.")


def _lesion_scorer(
    model: nn.Module,
    score_fn: Callable[[nn.Module], float],
    layer: str,
    mode: str,
    reference: Any,
    axis: int | None,
    baseline: float,
) -> Callable[[Sequence[int]], float]:
    """``units -> score`` with ``units`` of ``layer`` ablated together (``baseline`` if none)."""

    def ablated(units: Sequence[int]) -> float:
        if len(units) == 0:
            return baseline
        spec = Ablate(layer, [int(u) for u in units], mode, reference=reference, axis=axis)
        with perturbed(model, spec):
            return _score(score_fn, model)

    return ablated


def _random_lesions(
    ablated: Callable[[Sequence[int]], float],
    n_units: int,
    size: int,
    n_random: int,
    rng: np.random.Generator,
    ci: float,
) -> dict[str, float]:
    """Score ``n_random`` random sets of ``size`` of the ``n_units`` units, each ablated.

    Returns ``random_mean``, ``random_low`` and ``random_high`` (the ``ci`` percentile
    interval over the draws).
    """
    draws = np.array([ablated(rng.choice(n_units, size, replace=False)) for _ in range(n_random)])
    low, high = np.quantile(draws, [(1 - ci) / 2, (1 + ci) / 2])
    return {
        "random_mean": float(draws.mean()),
        "random_low": float(low),
        "random_high": float(high),
    }


def unit_importance(
    model: nn.Module,
    score_fn: Callable[[nn.Module], float],
    layer: str,
    units: Sequence[int] | None = None,
    mode: str = "zero",
    *,
    reference: Any = None,
    axis: int | None = None,
) -> pd.DataFrame:
    """Score drop when each unit of ``layer`` is ablated alone.

    Parameters
    ----------
    model : torch.nn.Module
        Any torch model.
    score_fn : callable
        ``score_fn(model) -> float``, higher is better.
    layer : str
        Module name as in ``model.named_modules()``.
    units : sequence of int, optional
        Units to test; default all units along ``axis``.
    mode : {"zero", "mean", "resample"}, default="zero"
        Ablation mode, see :class:`Ablate`.
    reference : ndarray or Tensor of shape (n_ref, ...), optional
        Reference activations for ``"mean"``/``"resample"``.
    axis : int or None, default=None
        Unit axis of the layer output.

    Returns
    -------
    table : DataFrame of shape (n_units, 4)
        Columns ``unit``, ``score`` (ablated), ``drop`` (baseline - score) and ``rank``
        (1 = most important), sorted by decreasing ``drop``; ``table.attrs["baseline"]`` holds
        the intact score.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    >>> score = lambda m: m(torch.ones(1, 2)).sum().item()
    >>> len(unit_importance(net, score, "0"))
    3
    """
    baseline, n_units = _baseline_and_n_units(model, score_fn, layer, axis)
    units = tuple(range(n_units)) if units is None else _check_indices("units", units)
    rows = []
    for unit in units:
        with perturbed(model, Ablate(layer, [unit], mode, reference=reference, axis=axis)):
            score = _score(score_fn, model)
        rows.append({"unit": unit, "score": score, "drop": baseline - score})
    table = pd.DataFrame(rows, columns=["unit", "score", "drop"])
    table = table.sort_values("drop", ascending=False, kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    table.attrs["baseline"] = baseline
    return table


def lesion_curve(
    model: nn.Module,
    score_fn: Callable[[nn.Module], float],
    layer: str,
    order: Sequence[int],
    sizes: Sequence[int],
    mode: str = "zero",
    *,
    n_random: int = 20,
    seed: int = 0,
    ci: float = 0.95,
    reference: Any = None,
    axis: int | None = None,
) -> pd.DataFrame:
    """Score after ablating the top-k units of ``order`` vs random sets of the same size.

    Parameters
    ----------
    model : torch.nn.Module
        Any torch model.
    score_fn : callable
        ``score_fn(model) -> float``, higher is better.
    layer : str
        Module name as in ``model.named_modules()``.
    order : sequence of int
        Units from most to least important (e.g. ``unit_importance(...)["unit"]``).
    sizes : sequence of int
        Lesion sizes k, each in ``0..len(order)``.
    mode : {"zero", "mean", "resample"}, default="zero"
        Ablation mode, see :class:`Ablate`.
    n_random : int, default=20
        Random unit sets (drawn from all units of the layer) per size.
    seed : int, default=0
        Seed of the random sets.
    ci : float, default=0.95
        Coverage of the percentile interval over random draws.
    reference : ndarray or Tensor of shape (n_ref, ...), optional
        Reference activations for ``"mean"``/``"resample"``.
    axis : int or None, default=None
        Unit axis of the layer output.

    Returns
    -------
    curve : DataFrame of shape (n_sizes, 5)
        Columns ``size``, ``targeted`` (score with the top-k ablated), ``random_mean``,
        ``random_low`` and ``random_high`` (percentile interval over random draws);
        ``curve.attrs["baseline"]`` holds the intact score.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 1))
    >>> with torch.no_grad():
    ...     net[2].weight[:, 3:] = 0.0  # the readout ignores hidden units 3-5
    >>> x = torch.randn(200, 4)
    >>> with torch.no_grad():
    ...     target = net(x)
    >>> def score(model):  # R^2 of the output against the intact model's: 1 when intact
    ...     with torch.no_grad():
    ...         return 1 - float(((model(x) - target) ** 2).mean() / target.var())
    >>> from neurodl.analyses.perturb import unit_importance
    >>> ranked = unit_importance(net, score, "1").sort_values("drop", ascending=False)
    >>> curve = lesion_curve(net, score, "1", ranked["unit"].tolist(), [0, 1, 3], n_random=10)
    >>> curve.attrs["baseline"]
    1.0
    >>> curve.round(2)  # the most important units hurt more than random ones
       size  targeted  random_mean  random_low  random_high
    0     0      1.00         1.00        1.00         1.00
    1     1      0.28         0.74        0.28         1.00
    2     3     -0.18         0.26       -0.26         0.74
    """
    baseline, n_units = _baseline_and_n_units(model, score_fn, layer, axis)
    order = _check_indices("order", order)
    bad = [u for u in order if u >= n_units]
    if bad:
        raise ConfigError(
            f"'order' holds unit {bad[0]}, out of range for layer {layer!r} with {n_units} units."
        )
    sizes = list(sizes)
    for k in sizes:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k <= len(order):
            raise ConfigError(f"'sizes' must hold ints in 0..{len(order)}; got {k!r}.")
    _check_random_draws(n_random, ci)
    rng = np.random.default_rng(seed)
    ablated = _lesion_scorer(model, score_fn, layer, mode, reference, axis, baseline)
    rows = []
    for k in sizes:
        random = _random_lesions(ablated, n_units, k, n_random, rng, ci)
        rows.append({"size": k, "targeted": ablated(order[:k]), **random})
    curve = pd.DataFrame(
        rows, columns=["size", "targeted", "random_mean", "random_low", "random_high"]
    )
    curve.attrs["baseline"] = baseline
    return curve


def dose_response(
    model: nn.Module,
    score_fn: Callable[[nn.Module], float],
    make_perturbation: Callable[[Any], Any],
    levels: Sequence[Any],
) -> pd.DataFrame:
    """Score the model under a perturbation at each of several levels.

    Parameters
    ----------
    model : torch.nn.Module
        Any torch model.
    score_fn : callable
        ``score_fn(model) -> float``.
    make_perturbation : callable
        ``make_perturbation(level)`` returns one perturbation or a sequence of them, e.g.
        ``lambda g: Gain("rnn_cell", units, factor=g)``.
    levels : sequence
        The levels, e.g. gain factors.

    Returns
    -------
    curve : DataFrame of shape (n_levels, 2)
        Columns ``level`` and ``score``, in the order of ``levels``.

    Examples
    --------
    >>> import torch
    >>> from neurodl.analyses.perturb import Gain
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3))
    >>> score = lambda m: m(torch.ones(1, 2)).abs().sum().item()
    >>> dose_response(net, score, lambda g: Gain("0", [0, 1, 2], factor=g), [0.0])["score"].tolist()
    [0.0]
    """
    levels = list(levels)
    if not levels:
        raise ConfigError("'levels' must not be empty.")
    rows = []
    for level in levels:
        made = make_perturbation(level)
        specs = tuple(made) if isinstance(made, (list, tuple)) else (made,)
        with perturbed(model, *specs):
            rows.append({"level": level, "score": _score(score_fn, model)})
    return pd.DataFrame(rows, columns=["level", "score"])
