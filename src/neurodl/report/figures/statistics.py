"""Statistics figures: fold scores, confusion and pairwise matrices, permutation nulls,
score time courses and learning curves. Plain NumPy in, a :class:`matplotlib.figure.Figure` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...exceptions import DataFormatError
from ._base import (
    _ACCENT,
    _CHANCE,
    PALETTE,
    _as_float_array,
    _check_ci,
    _fmt,
    _new_figure,
    _style_axes,
)

__all__ = [
    "plot_confusion_matrix",
    "plot_fold_scores",
    "plot_learning_curves",
    "plot_null_distribution",
    "plot_pairwise_matrix",
    "plot_timecourse",
]


def plot_fold_scores(
    fold_scores: Sequence[float] | np.ndarray,
    *,
    metric: str,
    chance_level: float | None = None,
    ci: tuple[float, float] | None = None,
    fold_labels: Sequence[str] | None = None,
) -> Any:
    """Plot one score per cross-validation fold, their mean with its CI, and chance.

    Parameters
    ----------
    fold_scores : array-like of shape (n_folds,)
        Test score of each fold.
    metric : str
        Name of the score (y-axis label), e.g. ``"balanced accuracy"``.
    chance_level : float, optional
        Drawn as a labelled dashed line.
    ci : (float, float), optional
        Confidence interval of the mean score, drawn as a band around the mean line.
    fold_labels : sequence of str of length n_folds, optional
        Tick labels (e.g. the held-out subject of each fold). Default ``"1"``, ``"2"``, ...

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    Five leave-one-subject-out folds of a two-class decoder:

    >>> from neurodl.report.figures import plot_fold_scores
    >>> fig = plot_fold_scores([0.72, 0.81, 0.64, 0.77, 0.70], metric="balanced accuracy",
    ...                        chance_level=0.5, ci=(0.66, 0.79),
    ...                        fold_labels=["sub-01", "sub-02", "sub-03", "sub-04", "sub-05"])
    >>> fig.axes[0].get_title()
    'balanced accuracy per fold (n = 5)'
    >>> [t.get_text() for t in fig.legends[0].get_texts()]
    ['CI of the mean', 'mean = 0.728 [0.66, 0.79]', 'chance = 0.5', 'fold score']

    A CI whose bounds are swapped is refused:

    >>> try:
    ...     plot_fold_scores([0.7, 0.8], metric="accuracy", ci=(0.9, 0.6))
    ... except ValueError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid value for 'ci'. Allowed: a (low, high) pair of finite numbers with low <= high;
    got (0.9, 0.6).
    """
    scores = _as_float_array(fold_scores, name="fold_scores", ndim=1)
    n_folds = scores.size
    ci_pair = _check_ci(ci)
    if fold_labels is None:
        labels = [str(i + 1) for i in range(n_folds)]
    else:
        labels = [str(lab) for lab in fold_labels]
        if len(labels) != n_folds:
            raise ValueError(
                f"'fold_labels' must have one label per fold ({n_folds}); got {len(labels)}."
            )
    if chance_level is not None and not np.isfinite(float(chance_level)):
        raise ValueError(f"'chance_level' must be a finite number; got {chance_level!r}.")

    width = max(5.5, min(12.0, 2.0 + 0.45 * n_folds))
    fig = _new_figure(width, 3.8)
    ax = fig.add_subplot()
    x = np.arange(n_folds)
    ax.bar(x, scores, width=0.6, color=_ACCENT, alpha=0.35, edgecolor=_ACCENT, label="fold score")
    ax.plot(x, scores, "o", color=_ACCENT, markersize=5)
    mean = float(scores.mean())
    mean_label = f"mean = {_fmt(mean)}"
    if ci_pair is not None:
        mean_label += f" [{_fmt(ci_pair[0])}, {_fmt(ci_pair[1])}]"
        ax.axhspan(
            ci_pair[0],
            ci_pair[1],
            color=PALETTE[1],
            alpha=0.25,
            linewidth=0,
            label="CI of the mean",
        )
    ax.axhline(mean, color=PALETTE[1], linewidth=2, label=mean_label)
    if chance_level is not None:
        ax.axhline(
            float(chance_level),
            color=_CHANCE,
            linestyle="--",
            linewidth=1.2,
            label=f"chance = {_fmt(float(chance_level))}",
        )
    ax.set_xticks(
        x,
        labels,
        rotation=45 if max(len(s) for s in labels) > 4 else 0,
        ha="right" if max(len(s) for s in labels) > 4 else "center",
    )
    ax.set_xlabel("fold")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per fold (n = {n_folds})")
    values = [
        *scores.tolist(),
        *(ci_pair or ()),
        *([float(chance_level)] if chance_level is not None else []),
    ]
    lo, hi = min(0.0, min(values)), max(values)
    if 0.0 <= lo and hi <= 1.0:
        ax.set_ylim(0.0, 1.05)
    else:
        pad = 0.08 * (hi - lo or 1.0)
        ax.set_ylim(lo - pad if lo < 0 else 0.0, hi + pad)
    _style_axes(ax)
    fig.legend(loc="outside lower center", ncols=4 if width >= 7 else 2, fontsize=8, frameon=False)
    return fig


def plot_confusion_matrix(
    cm: np.ndarray | Sequence[Sequence[float]],
    classes: Sequence[str],
    *,
    normalize: bool = True,
) -> Any:
    """Plot a confusion matrix (rows: true class, columns: predicted class).

    Parameters
    ----------
    cm : array-like of shape (n_classes, n_classes)
        Counts, as returned by :func:`sklearn.metrics.confusion_matrix`.
    classes : sequence of str of length n_classes
        Class names, in the order of the rows.
    normalize : bool, default=True
        Show each row as proportions of the true class (rows with no samples show 0), like
        ``confusion_matrix(..., normalize="true")``; otherwise show the counts.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The shown matrix is ``fig.axes[0].images[0].get_array()``.

    Examples
    --------
    Counts of a two-class decoder, shown as proportions of each true class:

    >>> from neurodl.report.figures import plot_confusion_matrix
    >>> fig = plot_confusion_matrix([[8, 2], [1, 9]], ["left", "right"])
    >>> ax = fig.axes[0]
    >>> ax.get_title(), ax.images[0].get_array().tolist()
    ('Confusion matrix (row-normalized)', [[0.8, 0.2], [0.1, 0.9]])
    >>> [t.get_text() for t in ax.texts], fig.axes[1].get_ylabel()
    (['0.80', '0.20', '0.10', '0.90'], 'proportion of true class')
    >>> fig = plot_confusion_matrix([[8, 2], [1, 9]], ["left", "right"], normalize=False)
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['8', '2', '1', '9']
    """
    mat = _as_float_array(cm, name="cm", ndim=2)
    if mat.shape[0] != mat.shape[1]:
        raise DataFormatError(f"'cm' must be square; got shape {mat.shape}.")
    if (mat < 0).any():
        raise DataFormatError(f"'cm' must hold non-negative counts; got minimum {mat.min()}.")
    names = [str(c) for c in classes]
    if len(names) != mat.shape[0]:
        raise ValueError(
            f"'classes' must name each of the {mat.shape[0]} rows of 'cm'; got {len(names)} names."
        )
    if normalize:
        sums = mat.sum(axis=1, keepdims=True)
        shown = np.divide(mat, sums, out=np.zeros_like(mat), where=sums > 0)
        vmax = 1.0
    else:
        shown = mat
        vmax = float(mat.max()) or 1.0
    n = len(names)
    size = max(3.6, min(10.0, 1.6 + 0.55 * n))
    fig = _new_figure(size + 0.8, size)
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8, label="proportion of true class" if normalize else "count")
    if n <= 25:
        integer_counts = not normalize and np.allclose(mat, np.round(mat))
        for i in range(n):
            for j in range(n):
                value = shown[i, j]
                text = (
                    f"{value:.2f}"
                    if normalize
                    else (f"{round(value)}" if integer_counts else _fmt(value))
                )
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8 if n > 10 else 10,
                    color="white" if value > 0.6 * vmax else "#222222",
                )
    ax.set_xticks(
        np.arange(n), names, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center"
    )
    ax.set_yticks(np.arange(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Confusion matrix" + (" (row-normalized)" if normalize else " (counts)"))
    return fig


def plot_null_distribution(
    null: Sequence[float] | np.ndarray,
    score: float,
    *,
    p_value: float | None,
    metric: str,
) -> Any:
    """Plot a permutation null distribution with the observed score.

    Parameters
    ----------
    null : array-like of shape (n_permutations,)
        Scores obtained with permuted labels.
    score : float
        The observed (unpermuted) score, drawn as a vertical line.
    p_value : float or None
        Shown in the legend; ``None`` to omit.
    metric : str
        Name of the score (x-axis label).

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    200 permutations around chance and an observed score beyond all of them (p = 1/201):

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_null_distribution
    >>> null = np.random.default_rng(0).normal(0.5, 0.05, 200)
    >>> fig = plot_null_distribution(null, 0.71, p_value=1 / 201, metric="balanced accuracy")
    >>> ax = fig.axes[0]
    >>> ax.get_xlabel(), ax.get_legend_handles_labels()[1]
    ('balanced accuracy', ['null (200 permutations)', 'observed = 0.71 (p = 0.00498)'])
    """
    values = _as_float_array(null, name="null", ndim=1)
    score = float(score)
    if not np.isfinite(score):
        raise ValueError(f"'score' must be a finite number; got {score!r}.")
    if p_value is not None and not 0.0 <= float(p_value) <= 1.0:
        raise ValueError(f"'p_value' must be in [0, 1] or None; got {p_value!r}.")
    fig = _new_figure(5.5, 3.4)
    ax = fig.add_subplot()
    n_bins = int(np.clip(np.sqrt(values.size) * 2, 10, 60))
    ax.hist(
        values,
        bins=n_bins,
        color="#9aa5b1",
        edgecolor="white",
        label=f"null ({values.size} permutations)",
    )
    label = f"observed = {_fmt(score)}"
    if p_value is not None:
        label += f" (p = {float(p_value):.3g})"
    ax.axvline(score, color=PALETTE[5], linewidth=2.2, label=label)
    lo, hi = min(values.min(), score), max(values.max(), score)
    pad = 0.05 * (hi - lo or 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_xlabel(metric)
    ax.set_ylabel("count")
    ax.set_title("Permutation test")
    _style_axes(ax)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    return fig


def plot_timecourse(
    times: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    *,
    ci: np.ndarray | None = None,
    chance: float | None = None,
    labels: Sequence[str] | None = None,
    significant: np.ndarray | None = None,
    xlabel: str = "time (s)",
    ylabel: str = "score",
    title: str | None = None,
) -> Any:
    """Plot one or more score time courses (e.g. time-resolved decoding).

    Parameters
    ----------
    times : array-like of shape (n_times,)
    values : array-like of shape (n_times,) or (n_lines, n_times)
    ci : array-like of shape (2, n_times) or (n_lines, 2, n_times), optional
        Lower and upper bounds, drawn as bands.
    chance : float, optional
        Drawn as a labelled dashed line.
    labels : sequence of str of length n_lines, optional
        Legend entries of the lines.
    significant : array-like of bool, shape (n_times,) or (n_lines, n_times), optional
        Time points to mark (e.g. cluster-corrected significance) as a bar under the curves.
    xlabel, ylabel, title : str

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    A decoding time course from -0.2 to 0.8 s peaking at 0.3 s, with its CI band and the
    significant time points marked under the curve:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_timecourse
    >>> t = np.linspace(-0.2, 0.8, 51)
    >>> auc = 0.5 + 0.3 * np.exp(-(((t - 0.3) / 0.1) ** 2))
    >>> fig = plot_timecourse(t, auc, ci=np.stack([auc - 0.05, auc + 0.05]), chance=0.5,
    ...                       labels=["decoder"], significant=auc > 0.6, ylabel="AUC",
    ...                       title="time-resolved decoding")
    >>> ax = fig.axes[0]
    >>> ax.get_title(), ax.get_legend_handles_labels()[1]
    ('time-resolved decoding', ['decoder', 'chance = 0.5'])

    Values must have one point per time:

    >>> from neurodl.exceptions import DataFormatError
    >>> try:
    ...     plot_timecourse(t, auc[:-1])
    ... except DataFormatError as err:
    ...     print(err)
    'values' must have 51 time points (len(times)); got shape (50,).
    """
    t = _as_float_array(times, name="times", ndim=1)
    vals = _as_float_array(values, name="values", ndim=(1, 2), allow_nan=True)
    vals2 = vals[None] if vals.ndim == 1 else vals
    n_lines, n_times = vals2.shape
    if n_times != t.size:
        raise DataFormatError(
            f"'values' must have {t.size} time points (len(times)); got shape {vals.shape}."
        )
    bands = None
    if ci is not None:
        ci_arr = _as_float_array(ci, name="ci", ndim=(2, 3), allow_nan=True)
        bands = ci_arr[None] if ci_arr.ndim == 2 else ci_arr
        if bands.shape != (n_lines, 2, n_times):
            raise DataFormatError(
                f"'ci' must have shape (2, {n_times}) or ({n_lines}, 2, {n_times}); got {ci_arr.shape}."
            )
    if labels is not None and len(labels) != n_lines:
        raise ValueError(f"'labels' must have one entry per line ({n_lines}); got {len(labels)}.")
    sig = None
    if significant is not None:
        sig = np.asarray(significant, dtype=bool)
        sig = sig[None] if sig.ndim == 1 else sig
        if sig.shape != (n_lines, n_times):
            raise DataFormatError(
                f"'significant' must have shape ({n_times},) or ({n_lines}, {n_times}); "
                f"got {np.shape(significant)}."
            )
    fig = _new_figure(6.5, 3.4)
    ax = fig.add_subplot()
    for k in range(n_lines):
        color = PALETTE[k % len(PALETTE)]
        label = str(labels[k]) if labels is not None else None
        ax.plot(t, vals2[k], color=color, linewidth=1.8, label=label)
        if bands is not None:
            ax.fill_between(t, bands[k, 0], bands[k, 1], color=color, alpha=0.2, linewidth=0)
    if chance is not None:
        ax.axhline(
            float(chance),
            color=_CHANCE,
            linestyle="--",
            linewidth=1.2,
            label=f"chance = {_fmt(float(chance))}",
        )
    if t.min() < 0.0 < t.max():
        ax.axvline(0.0, color="#999999", linewidth=0.8)
    if sig is not None and sig.any():
        y0, y1 = ax.get_ylim()
        step = 0.03 * (y1 - y0)
        dt = np.median(np.diff(t)) if t.size > 1 else 1.0
        for k in range(n_lines):
            y = y0 - step * (k + 1)
            ax.plot(
                np.where(sig[k], t, np.nan),
                np.full(n_times, y),
                color=PALETTE[k % len(PALETTE)],
                linewidth=4,
                solid_capstyle="butt",
            )
            if sig[k].sum() == 1:  # a lone point would be invisible as a line
                ax.plot(
                    [t[sig[k]][0] - dt / 2, t[sig[k]][0] + dt / 2],
                    [y, y],
                    color=PALETTE[k % len(PALETTE)],
                    linewidth=4,
                )
        ax.set_ylim(y0 - step * (n_lines + 1), y1)
    if t.size > 1:
        ax.set_xlim(t.min(), t.max())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    _style_axes(ax)
    if labels is not None or chance is not None:
        ax.legend(loc="best", fontsize=8, framealpha=0.9)
    return fig


def plot_pairwise_matrix(
    matrix: np.ndarray | Sequence[Sequence[float]],
    classes: Sequence[str],
    *,
    metric: str = "balanced accuracy",
    chance: float = 0.5,
) -> Any:
    """Symmetric heat map of a score for every pair of classes (diagonal blank).

    Parameters
    ----------
    matrix : array-like of shape (n_classes, n_classes)
        ``matrix[i, j]``: the score of class i vs class j (NaN on the diagonal / when missing).
    classes : sequence of str of length n_classes
    metric : str
    chance : float, default=0.5
        Bottom of the colour scale.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    Pairwise decoding of three categories (the diagonal is blank):

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_pairwise_matrix
    >>> m = np.array([[np.nan, 0.9, 0.7], [0.9, np.nan, 0.6], [0.7, 0.6, np.nan]])
    >>> fig = plot_pairwise_matrix(m, ["face", "house", "tool"])
    >>> ax = fig.axes[0]
    >>> ax.get_title(), [t.get_text() for t in ax.texts]
    ('Pairwise balanced accuracy', ['0.90', '0.70', '0.90', '0.60', '0.70', '0.60'])
    """
    mat = _as_float_array(matrix, name="matrix", ndim=2, allow_nan=True)
    if mat.shape[0] != mat.shape[1]:
        raise DataFormatError(f"'matrix' must be square; got shape {mat.shape}.")
    names = [str(c) for c in classes]
    if len(names) != mat.shape[0]:
        raise ValueError(
            f"'classes' must name each of the {mat.shape[0]} rows of 'matrix'; got {len(names)}."
        )
    n = len(names)
    size = max(3.6, min(10.0, 1.6 + 0.55 * n))
    fig = _new_figure(size + 0.8, size)
    ax = fig.add_subplot()
    shown = np.ma.masked_invalid(mat)
    im = ax.imshow(shown, cmap="viridis", vmin=chance, vmax=1.0, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8, label=metric)
    if n <= 25:
        for i in range(n):
            for j in range(n):
                if np.isfinite(mat[i, j]):
                    ax.text(
                        j,
                        i,
                        f"{mat[i, j]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=8 if n > 10 else 10,
                        color="black" if mat[i, j] > chance + 0.6 * (1 - chance) else "white",
                    )
    ax.set_xticks(
        np.arange(n), names, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center"
    )
    ax.set_yticks(np.arange(n), names)
    ax.set_title(f"Pairwise {metric}")
    return fig


def plot_learning_curves(curves: Sequence[dict[str, Sequence[float]]]) -> Any:
    """Training and validation loss per epoch, one thin line per fit and the mean.

    Parameters
    ----------
    curves : sequence of dict
        One per fit, with ``"train_loss"`` and/or ``"valid_loss"``: sequences of shape
        (n_epochs,) (fits may differ in length; the mean is taken over the fits that reached
        an epoch).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes: per key present, one thin line per fit and a thick line of the mean.

    Examples
    --------
    Two fits, the second stopped early after 2 epochs: the mean of epoch 3 is the first fit's:

    >>> from neurodl.report.figures import plot_learning_curves
    >>> curves = [{"train_loss": [1.0, 0.6, 0.4], "valid_loss": [1.1, 0.8, 0.7]},
    ...           {"train_loss": [0.9, 0.5], "valid_loss": [1.0, 0.9]}]
    >>> fig = plot_learning_curves(curves)
    >>> ax = fig.axes[0]
    >>> ax.get_legend_handles_labels()[1]
    ['training', 'validation']
    >>> ax.lines[2].get_ydata().round(2).tolist()  # mean training loss per epoch
    [0.95, 0.55, 0.4]
    """
    fig = _new_figure(6.0, 3.2, pad=False)
    ax = fig.add_subplot()
    for key, style, color in (("train_loss", "-", "C0"), ("valid_loss", "--", "C1")):
        runs = [np.asarray(c[key], float) for c in curves if key in c and len(c[key])]
        if not runs:
            continue
        for r in runs:
            ax.plot(np.arange(len(r)), r, style, color=color, alpha=0.25, lw=0.8)
        n = max(len(r) for r in runs)
        padded = np.full((len(runs), n), np.nan)
        for i, r in enumerate(runs):
            padded[i, : len(r)] = r
        label = "training" if key == "train_loss" else "validation"
        ax.plot(np.arange(n), np.nanmean(padded, axis=0), style, color=color, lw=2, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(frameon=False)
    return fig
