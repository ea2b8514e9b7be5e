"""Biomarker figures: subject-level metrics with CIs, site decodability, effect-size volcano."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._base import _CHANCE, PALETTE, _as_float_array, _new_figure, _style_axes

__all__ = ["plot_effect_volcano", "plot_site_decodability", "plot_subject_metrics"]

_ORDER = ("balanced_accuracy", "auc", "sensitivity", "specificity")


def plot_subject_metrics(models: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Any:
    """Bars of balanced accuracy, AUC, sensitivity, specificity with CIs, one colour per model.

    Parameters
    ----------
    models : mapping of str to mapping
        model name -> metric name -> ``{"estimate", "low", "high"}`` (None for undefined).

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    Two models, each with the four metrics; an undefined metric (None) leaves its bar empty:

    >>> from neurodl.report.figures.biomarkers import plot_subject_metrics
    >>> ci = {"balanced_accuracy": {"estimate": 0.71, "low": 0.62, "high": 0.80},
    ...       "auc": {"estimate": 0.78, "low": 0.69, "high": 0.86},
    ...       "sensitivity": {"estimate": 0.66, "low": 0.52, "high": 0.79},
    ...       "specificity": {"estimate": None, "low": None, "high": None}}
    >>> fig = plot_subject_metrics({"logreg": ci, "svm": ci})
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['balanced accuracy', 'auc', 'sensitivity', 'specificity']
    >>> ax.get_legend_handles_labels()[1], len(ax.patches)  # one bar per model and metric
    (['chance', 'logreg', 'svm'], 8)
    """
    fig = _new_figure(6.0, 3.2)
    ax = fig.add_subplot()
    width = 0.8 / max(len(models), 1)
    for k, (name, metrics) in enumerate(models.items()):
        x = np.arange(len(_ORDER)) + (k - (len(models) - 1) / 2) * width
        est = np.array(
            [np.nan if metrics[m]["estimate"] is None else metrics[m]["estimate"] for m in _ORDER],
            dtype=float,
        )
        lo = np.array([np.nan if metrics[m]["low"] is None else metrics[m]["low"] for m in _ORDER])
        hi = np.array(
            [np.nan if metrics[m]["high"] is None else metrics[m]["high"] for m in _ORDER]
        )
        err = np.vstack([est - lo, hi - est])
        ax.bar(x, est, width * 0.9, color=PALETTE[k % len(PALETTE)], label=name)
        ax.errorbar(x, est, yerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3)
    ax.axhline(0.5, color=_CHANCE, linestyle="--", linewidth=1, label="chance")
    ax.set_xticks(np.arange(len(_ORDER)), [m.replace("_", " ") for m in _ORDER])
    ax.set_ylim(0, 1)
    ax.set_ylabel("score (out-of-fold, subject bootstrap CI)")
    _style_axes(ax)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_site_decodability(before: float, after: float, chance: float) -> Any:
    """Balanced accuracy of predicting the site before and after harmonisation, with chance.

    Examples
    --------
    Three sites (chance 1/3): easy to tell apart before ComBat, at chance after it:

    >>> from neurodl.report.figures.biomarkers import plot_site_decodability
    >>> fig = plot_site_decodability(0.93, 0.36, chance=1 / 3)
    >>> ax = fig.axes[0]
    >>> [float(bar.get_height()) for bar in ax.patches]
    [0.93, 0.36]
    >>> [t.get_text() for t in ax.get_xticklabels()], ax.get_legend().get_texts()[0].get_text()
    (['raw features', 'after ComBat'], 'chance 0.33')
    """
    fig = _new_figure(3.6, 3.0)
    ax = fig.add_subplot()
    ax.bar([0, 1], [before, after], color=[PALETTE[5], PALETTE[2]], width=0.6)
    ax.axhline(chance, color=_CHANCE, linestyle="--", linewidth=1, label=f"chance {chance:.2f}")
    ax.set_xticks([0, 1], ["raw features", "after ComBat"])
    ax.set_ylim(0, 1)
    ax.set_ylabel("site balanced accuracy")
    _style_axes(ax)
    ax.legend(fontsize=8)
    return fig


def plot_effect_volcano(hedges_g: Any, q: Any, *, alpha: float = 0.05) -> Any:
    """Hedges' g of every feature against -log10 of its FDR-adjusted q-value.

    Parameters
    ----------
    hedges_g, q : array-like of shape (n_features,)
    alpha : float, default=0.05
        FDR level drawn as a horizontal line; features below it are coloured.

    Examples
    --------
    200 features of which 5 have a large effect and survive FDR; the legend counts them:

    >>> import io
    >>> import numpy as np
    >>> from neurodl.report.figures.biomarkers import plot_effect_volcano
    >>> g = np.random.default_rng(0).normal(0.0, 0.3, 200)
    >>> g[:5] = 1.2
    >>> q = np.full(200, 0.5)
    >>> q[:5] = 1e-4
    >>> fig = plot_effect_volcano(g, q, alpha=0.05)
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['not significant', 'q < 0.05 (5)']
    >>> buf = io.BytesIO()
    >>> fig.savefig(buf, format="png")  # renders headless (Agg canvas)
    >>> buf.getvalue()[1:4]
    b'PNG'
    """
    g = _as_float_array(hedges_g, name="hedges_g", ndim=1, allow_nan=True)
    qv = _as_float_array(q, name="q", ndim=1, allow_nan=True)
    y = -np.log10(np.clip(np.nan_to_num(qv, nan=1.0), 1e-300, 1))
    sig = np.nan_to_num(qv, nan=1.0) < alpha
    fig = _new_figure(5.0, 3.4)
    ax = fig.add_subplot()
    ax.scatter(
        g[~sig], y[~sig], s=4, color="#9aa5b1", alpha=0.5, rasterized=True, label="not significant"
    )
    if sig.any():
        ax.scatter(g[sig], y[sig], s=8, color=PALETTE[5], label=f"q < {alpha:g} ({sig.sum()})")
    ax.axhline(-np.log10(alpha), color=_CHANCE, linestyle="--", linewidth=1)
    ax.set_xlabel("Hedges' g (class 1 - class 0)")
    ax.set_ylabel("-log10 q (BH-FDR)")
    _style_axes(ax)
    ax.legend(fontsize=8)
    return fig
