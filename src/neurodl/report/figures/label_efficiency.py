"""The label-efficiency figure: each model's score against the fraction of training labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...exceptions import DataFormatError
from ._base import _CHANCE, PALETTE, _new_figure

__all__ = ["plot_label_efficiency"]


def plot_label_efficiency(
    rows: Sequence[dict[str, Any]], models: Sequence[str], *, chance: float | None = None
) -> Any:
    """Mean score over folds against the fraction of labels, one line per model.

    Parameters
    ----------
    rows : sequence of dict
        One per (fold, fraction, model) with ``fraction``, ``model`` and ``score`` (as
        :attr:`neurodl.evaluation.label_efficiency.LabelEfficiencyResult.rows`).
    models : sequence of str
        The models to draw, in legend order.
    chance : float, optional
        Drawn as a dotted line.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes, fraction on a log axis with percent ticks; per model the mean over folds and
        a bar spanning the folds' lowest to highest score.

    Examples
    --------
    >>> rows = [{"fold": k, "fraction": f, "model": m, "score": s + 0.02 * k}
    ...         for k in range(3) for m, lift in (("net", 0.0), ("lda", 0.1))
    ...         for f, s in ((0.1, 0.55 + lift), (1.0, 0.8 + lift))]
    >>> fig = plot_label_efficiency(rows, ["net", "lda"], chance=0.5)
    >>> ax = fig.axes[0]
    >>> ax.get_legend_handles_labels()[1], [t.get_text() for t in ax.get_xticklabels()]
    (['net', 'lda', 'chance'], ['10%', '100%'])
    >>> [round(float(y), 2) for y in ax.lines[0].get_ydata()]  # net: mean over the 3 folds
    [0.57, 0.82]
    """
    missing = [m for m in models if not any(r["model"] == m for r in rows)]
    if not rows or missing:
        raise DataFormatError(
            f"No label-efficiency rows for model(s) {missing or list(models)}; "
            "expected dicts with 'fraction', 'model' and 'score'."
        )
    fractions = sorted({float(r["fraction"]) for r in rows})
    fig = _new_figure(5.5, 3.4, pad=False)
    ax = fig.add_subplot()
    for i, m in enumerate(models):
        means, lows, highs = [], [], []
        for f in fractions:
            s = [r["score"] for r in rows if r["model"] == m and r["fraction"] == f]
            s = np.asarray([v for v in s if v is not None], float)
            means.append(np.mean(s) if s.size else np.nan)
            lows.append(np.min(s) if s.size else np.nan)
            highs.append(np.max(s) if s.size else np.nan)
        mean = np.asarray(means)
        color = PALETTE[i % len(PALETTE)]
        ax.plot(fractions, mean, "o-", color=color, lw=2, label=m)
        ax.vlines(fractions, lows, highs, color=color, alpha=0.35, lw=3)
    if chance is not None:
        ax.axhline(chance, ls=":", color=_CHANCE, lw=1, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(fractions, [f"{f:.0%}" for f in fractions])
    ax.minorticks_off()
    ax.set_xlabel("training labels used")
    ax.set_ylabel("test score")
    ax.legend(frameon=False)
    return fig
