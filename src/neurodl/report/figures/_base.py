"""Shared pieces of the report figures: the figure factory, palette, axes style, input checks.

Every figure is built with :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so no
global figure state accumulates and nothing needs closing; the Agg canvas is attached
explicitly, so the figures render headless.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...exceptions import DataFormatError

# One palette for all report figures (colour-blind safe: Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_ACCENT = "#0072B2"
_CHANCE = "#555555"


def _new_figure(
    width: float, height: float, *, layout: str | None = "constrained", pad: bool = True
) -> Any:
    """Return a Figure with an Agg canvas, not registered with pyplot.

    Parameters
    ----------
    width, height : float
        Size in inches.
    layout : {"constrained", None}, default="constrained"
        Layout engine (None: the caller lays out, e.g. with ``fig.tight_layout()``).
    pad : bool, default=True
        Set the constrained layout's margins to 0.08 inch (else matplotlib's defaults).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout=layout)
    if layout == "constrained" and pad:
        fig.get_layout_engine().set(w_pad=0.08, h_pad=0.08)  # inches of margin around the content
    FigureCanvasAgg(fig)
    return fig


def _style_axes(ax: Any) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


def _as_float_array(
    x: Any, *, name: str, ndim: int | tuple[int, ...], allow_nan: bool = False
) -> np.ndarray:
    """Return ``x`` as a float array of the given dimensionality (messages name ``name``)."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise DataFormatError(
            f"{name!r} must be numeric; got {type(x).__name__} {x!r:.80}."
        ) from None
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        raise DataFormatError(
            f"{name!r} must have {' or '.join(map(str, ndims))} dimension(s); got shape {arr.shape}."
        )
    if arr.size == 0:
        raise DataFormatError(f"{name!r} must not be empty; got shape {arr.shape}.")
    if not allow_nan and not np.isfinite(arr).all():
        n_bad = int((~np.isfinite(arr)).sum())
        raise DataFormatError(f"{name!r} must be finite; got {n_bad} NaN/inf value(s).")
    return arr


def _check_ci(ci: Any, *, name: str = "ci") -> tuple[float, float] | None:
    if ci is None:
        return None
    arr = np.asarray(ci, dtype=float)
    if arr.shape != (2,) or not np.isfinite(arr).all() or arr[0] > arr[1]:
        raise ValueError(
            f"Invalid value for {name!r}. Allowed: a (low, high) pair of finite numbers with "
            f"low <= high; got {ci!r}."
        )
    return float(arr[0]), float(arr[1])


def _fmt(value: float) -> str:
    return f"{value:.3g}"
