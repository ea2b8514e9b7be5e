"""Figures of model-recording comparisons: scores against their shuffle nulls, aligned geometry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._base import _CHANCE, PALETTE, _new_figure, _style_axes

__all__ = ["plot_aligned_conditions", "plot_similarity_nulls"]


def plot_similarity_nulls(rows: Sequence[dict[str, Any]]) -> Any:
    """One panel per (reference, method): the shuffle null, the observed score and its CI.

    Parameters
    ----------
    rows : sequence of dict
        Each with ``reference``, ``method``, ``description``, ``score``, ``null_scores``
        (possibly empty), ``ci_low``, ``ci_high``, ``p_value``.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    An observed Procrustes distance far below its shuffle null; a row without a score (a
    method that did not run) gets no panel:

    >>> import numpy as np
    >>> from neurodl.report.figures.dynamics_similarity import plot_similarity_nulls
    >>> null = np.random.default_rng(0).normal(0.9, 0.05, 100).tolist()
    >>> rows = [
    ...     {"reference": "monkey A", "method": "procrustes", "description": "angular distance",
    ...      "score": 0.42, "null_scores": null, "ci_low": 0.38, "ci_high": 0.47,
    ...      "p_value": 1 / 101},
    ...     {"reference": "monkey A", "method": "dsa", "score": None}]
    >>> fig = plot_similarity_nulls(rows)
    >>> len(fig.axes)
    1
    >>> print(fig.axes[0].get_title())
    monkey A
    procrustes (p = 0.010)
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['shuffle null', 'observed', 'CI']
    """
    rows = [r for r in rows if r.get("score") is not None]
    n = max(len(rows), 1)
    ncols = min(n, 4)
    nrows = int(np.ceil(n / ncols))
    fig = _new_figure(3.0 * ncols, 2.4 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, row in zip(axes, rows, strict=False):
        null = np.asarray([v for v in row.get("null_scores") or [] if v is not None], dtype=float)
        if null.size:
            ax.hist(null, bins=20, color=PALETTE[4], alpha=0.8, label="shuffle null")
        ax.axvline(row["score"], color=PALETTE[5], linewidth=2, label="observed")
        if row.get("ci_low") is not None:
            ax.axvspan(row["ci_low"], row["ci_high"], color=PALETTE[5], alpha=0.15, label="CI")
        p = row.get("p_value")
        ax.set_title(
            f"{row['reference']}\n{row['method']}" + ("" if p is None else f" (p = {p:.3f})"),
            fontsize=9,
        )
        ax.set_xlabel(row.get("description", ""), fontsize=8)
        _style_axes(ax)
    for ax in axes[len(rows) :]:
        ax.set_visible(False)
    if rows:
        axes[0].legend(fontsize=7, frameon=False)
    return fig


def plot_aligned_conditions(model: np.ndarray, recording: np.ndarray, labels: Sequence[str]) -> Any:
    """Condition means of model and recording on their top 2 PCs, the model Procrustes-aligned.

    Parameters
    ----------
    model, recording : ndarray of shape (n_conditions, n_times, n_units)
        Time points are averaged.
    labels : sequence of str
        Condition names (the recording's), one per condition.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    A model whose units are a rotation of the recording's: after the alignment its four
    condition means land on the recording's:

    >>> import numpy as np
    >>> from neurodl.report.figures.dynamics_similarity import plot_aligned_conditions
    >>> rng = np.random.default_rng(0)
    >>> recording = rng.normal(size=(4, 10, 6))  # conditions x times x units
    >>> rotation = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    >>> fig = plot_aligned_conditions(recording @ rotation, recording, ["0", "90", "180", "270"])
    >>> ax = fig.axes[0]
    >>> ax.get_legend_handles_labels()[1], [t.get_text() for t in ax.texts]
    (['recording', 'model (aligned)'], ['0', '90', '180', '270'])
    >>> bool(np.allclose(ax.lines[0].get_xydata(), ax.lines[1].get_xydata()))
    True
    """
    from scipy.linalg import orthogonal_procrustes

    def top2(x: np.ndarray) -> np.ndarray:
        m = x.mean(axis=1)
        m = m - m.mean(axis=0)
        u, s, _ = np.linalg.svd(m, full_matrices=False)
        p = u[:, :2] * s[:2]
        p = np.hstack([p, np.zeros((p.shape[0], 2 - p.shape[1]))])
        return p / (np.linalg.norm(p) or 1.0)

    rec, mod = top2(np.asarray(recording)), top2(np.asarray(model))
    rotation, _ = orthogonal_procrustes(mod, rec)
    mod = mod @ rotation
    fig = _new_figure(4.2, 3.8)
    ax = fig.subplots()
    ax.plot(*np.vstack([rec, rec[:1]]).T, "-o", color=PALETTE[0], label="recording")
    ax.plot(*np.vstack([mod, mod[:1]]).T, "--s", color=PALETTE[1], label="model (aligned)")
    for (x, y), lab in zip(rec, labels, strict=False):
        ax.annotate(
            str(lab), (x, y), fontsize=7, color=_CHANCE, xytext=(3, 3), textcoords="offset points"
        )
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=8, frameon=False)
    _style_axes(ax)
    return fig
