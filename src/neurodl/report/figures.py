"""Report figures: plain NumPy in, a :class:`matplotlib.figure.Figure` out.

Every function builds its figure with :class:`matplotlib.figure.Figure` directly (never
``pyplot``), so no global figure state accumulates and nothing needs closing; the Agg canvas is
attached explicitly, so the figures render headless. Pass the result to
:meth:`neurodl.report.Report.add_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import DataFormatError

__all__ = [
    "channel_positions",
    "plot_attribution_profile",
    "plot_brain_slices",
    "plot_channel_importance",
    "plot_confusion_matrix",
    "plot_data_summary",
    "plot_fold_scores",
    "plot_null_distribution",
    "plot_pairwise_matrix",
    "plot_timecourse",
]

# One palette for all report figures (colour-blind safe: Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_ACCENT = "#0072B2"
_CHANCE = "#555555"


def _new_figure(width: float, height: float) -> Any:
    """Return a Figure with an Agg canvas, not registered with pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
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


# --------------------------------------------------------------------------------------------
# Cross-validation results
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def _class_names(y: np.ndarray, classes: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    uniq = np.unique(y)
    if classes is None:
        return uniq, [str(u) for u in uniq]
    names = [str(c) for c in classes]
    if len(names) != uniq.size:
        raise ValueError(
            f"'classes' must name each of the {uniq.size} distinct labels in y "
            f"({', '.join(map(str, uniq[:10]))}); got {len(names)} names."
        )
    return uniq, names


def plot_data_summary(
    X: np.ndarray,
    y: Sequence[Any] | np.ndarray,
    *,
    sfreq: float | None = None,
    ch_names: Sequence[str] | None = None,
    classes: Sequence[str] | None = None,
    groups: Sequence[Any] | np.ndarray | None = None,
    max_per_class: int = 200,
) -> Any:
    """Summarize a labelled data set: class counts, and what a sample looks like per class.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_channels, n_times) or (n_samples, n_features)
        Epoched time series, or a feature matrix.
    y : array-like of shape (n_samples,)
        Class labels.
    sfreq : float, optional
        Sampling rate in Hz (time series only): enables the time axis in seconds and the mean
        power spectrum (Welch) per class.
    ch_names : sequence of str, optional
        Channel names (time series) or feature names (feature matrix).
    classes : sequence of str, optional
        Display names of the distinct labels, in sorted label order (``np.unique(y)``).
    groups : array-like of shape (n_samples,), optional
        Group of each sample (subject, session, ...): class counts are shown per group.
    max_per_class : int, default=200
        At most this many samples per class (the first ones) enter the averages.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Time series: class counts, mean trace per class of one channel (the channel with the
        largest variance), and the mean power spectrum per class when ``sfreq`` is given.
        Features: class counts, and mean ± SD of each feature per class.
    """
    Xa = _as_float_array(X, name="X", ndim=(2, 3), allow_nan=True)
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.shape[0] != Xa.shape[0]:
        raise DataFormatError(
            f"'y' must have shape ({Xa.shape[0]},) (one label per sample of X); got {y_arr.shape}."
        )
    uniq, names = _class_names(y_arr, classes)
    g_arr = None
    if groups is not None:
        g_arr = np.asarray(groups)
        if g_arr.shape != y_arr.shape:
            raise DataFormatError(
                f"'groups' must have shape {y_arr.shape} (one group per sample); got {g_arr.shape}."
            )
    if sfreq is not None:
        sfreq = float(sfreq)
        if not np.isfinite(sfreq) or sfreq <= 0:
            raise ValueError(f"'sfreq' must be a positive finite number; got {sfreq!r}.")
    n_ch = Xa.shape[1]
    if ch_names is not None and len(ch_names) != n_ch:
        raise ValueError(f"'ch_names' must have {n_ch} entries (X.shape[1]); got {len(ch_names)}.")

    is_ts = Xa.ndim == 3
    n_panels = 1 + (1 if not is_ts else (2 if sfreq is not None else 1))
    fig = _new_figure(4.2 * n_panels, 3.4)
    axes = fig.subplots(1, n_panels, squeeze=False)[0]
    colors = {u: PALETTE[k % len(PALETTE)] for k, u in enumerate(uniq)}

    # Panel 1: class counts, stacked per group.
    ax = axes[0]
    if g_arr is None:
        counts = np.array([(y_arr == u).sum() for u in uniq])
        ax.bar(np.arange(uniq.size), counts, color=[colors[u] for u in uniq])
        ax.set_xticks(
            np.arange(uniq.size),
            names,
            rotation=45 if uniq.size > 4 else 0,
            ha="right" if uniq.size > 4 else "center",
        )
        ax.set_xlabel("class")
        ax.set_title(f"Class counts (n = {y_arr.size})")
    else:
        g_uniq = np.unique(g_arr)
        bottom = np.zeros(g_uniq.size)
        for u, name in zip(uniq, names):
            counts = np.array([((g_arr == g) & (y_arr == u)).sum() for g in g_uniq])
            ax.bar(np.arange(g_uniq.size), counts, bottom=bottom, color=colors[u], label=name)
            bottom += counts
        step = max(1, g_uniq.size // 20)
        ticks = np.arange(g_uniq.size)[::step]
        ax.set_xticks(ticks, [str(g) for g in g_uniq[::step]], rotation=45, ha="right")
        ax.set_xlabel("group")
        ax.set_title(f"Class counts per group ({g_uniq.size} groups, n = {y_arr.size})")
        ax.legend(fontsize=8, framealpha=0.9)
    ax.set_ylabel("samples")
    _style_axes(ax)

    selected = {u: np.flatnonzero(y_arr == u)[:max_per_class] for u in uniq}
    if is_ts:
        # Panel 2: mean trace per class of the most variable channel.
        with np.errstate(invalid="ignore"):
            ch = int(np.nanargmax(np.nanvar(Xa, axis=(0, 2)))) if np.isfinite(Xa).any() else 0
        ch_label = ch_names[ch] if ch_names is not None else f"channel {ch}"
        n_times = Xa.shape[2]
        t = np.arange(n_times) / sfreq if sfreq is not None else np.arange(n_times)
        ax = axes[1]
        for u, name in zip(uniq, names):
            trace = Xa[selected[u], ch, :]
            mean = np.nanmean(trace, axis=0)
            sd = np.nanstd(trace, axis=0)
            ax.plot(t, mean, color=colors[u], linewidth=1.2, label=name)
            ax.fill_between(t, mean - sd, mean + sd, color=colors[u], alpha=0.15, linewidth=0)
        ax.set_xlabel("time (s)" if sfreq is not None else "sample")
        ax.set_ylabel("amplitude")
        ax.set_title(f"Mean ± SD per class, {ch_label}")
        ax.legend(fontsize=8, framealpha=0.9)
        _style_axes(ax)
        if sfreq is not None:
            from scipy.signal import welch

            ax = axes[2]
            nperseg = min(n_times, int(2 * sfreq)) if n_times >= 8 else n_times
            for u, name in zip(uniq, names):
                data = np.nan_to_num(Xa[selected[u]])
                freqs, psd = welch(data, fs=sfreq, nperseg=nperseg, axis=-1)
                mean_psd = psd.mean(axis=(0, 1))
                ax.semilogy(
                    freqs,
                    np.maximum(mean_psd, np.finfo(float).tiny),
                    color=colors[u],
                    linewidth=1.2,
                    label=name,
                )
            ax.set_xlabel("frequency (Hz)")
            ax.set_ylabel("power (mean over channels)")
            ax.set_title("Mean power spectrum per class")
            ax.legend(fontsize=8, framealpha=0.9)
            _style_axes(ax)
    else:
        # Panel 2: feature mean ± SD per class.
        ax = axes[1]
        idx = np.arange(n_ch)
        for u, name in zip(uniq, names):
            feats = Xa[selected[u]]
            mean = np.nanmean(feats, axis=0)
            sd = np.nanstd(feats, axis=0)
            if n_ch <= 30:
                ax.errorbar(
                    idx,
                    mean,
                    yerr=sd,
                    fmt="o-",
                    color=colors[u],
                    markersize=3,
                    linewidth=1,
                    capsize=2,
                    label=name,
                )
            else:
                ax.plot(idx, mean, color=colors[u], linewidth=1.2, label=name)
                ax.fill_between(idx, mean - sd, mean + sd, color=colors[u], alpha=0.15, linewidth=0)
        if ch_names is not None and n_ch <= 30:
            ax.set_xticks(idx, [str(c) for c in ch_names], rotation=45, ha="right")
        else:
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("feature")
        ax.set_ylabel("value")
        ax.set_title(f"Feature mean ± SD per class ({n_ch} features)")
        ax.legend(fontsize=8, framealpha=0.9)
        _style_axes(ax)
    return fig


_SLICE_AXES = {"sagittal": 0, "coronal": 1, "axial": 2}


def plot_brain_slices(
    volume3d: Any,
    *,
    title: str,
    n_slices: int = 6,
    orientation: str = "axial",
    threshold: float | None = None,
    cmap: str | None = None,
    vmax: float | None = None,
    colorbar_label: str = "",
) -> Any:
    """Plot a few evenly spaced slices of a 3-D map (voxel space), with one colorbar.

    Parameters
    ----------
    volume3d : ndarray of shape (nx, ny, nz), or an object with ``get_fdata()``
        The map (e.g. decoding accuracy or t values per voxel); NaN voxels are left blank.
    title : str
    n_slices : int, default=6
        Number of slices, spread over the extent where the map is non-zero and finite.
    orientation : {"axial", "coronal", "sagittal"}, default="axial"
        Slices along the third, second or first voxel axis.
    threshold : float, optional
        Voxels with ``abs(value) < threshold`` are left blank.
    cmap : str, optional
        Default ``"RdBu_r"`` centred on 0 when the map has both signs, else ``"viridis"``.
    vmax : float, optional
        Colour limit (default: the largest absolute value).
    colorbar_label : str, default=""

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    data = volume3d.get_fdata() if hasattr(volume3d, "get_fdata") else volume3d
    vol = _as_float_array(data, name="volume3d", ndim=3, allow_nan=True)
    if orientation not in _SLICE_AXES:
        raise ValueError(
            f"Invalid value for 'orientation'. Allowed: {', '.join(map(repr, _SLICE_AXES))}; "
            f"got {orientation!r}."
        )
    if isinstance(n_slices, bool) or not isinstance(n_slices, (int, np.integer)) or n_slices < 1:
        raise ValueError(f"'n_slices' must be a positive integer; got {n_slices!r}.")
    axis = _SLICE_AXES[orientation]
    shown = vol.copy()
    if threshold is not None:
        with np.errstate(invalid="ignore"):
            shown[np.abs(shown) < float(threshold)] = np.nan
    finite = np.isfinite(shown)
    if not finite.any():
        raise DataFormatError(
            "'volume3d' has no finite value to show (all NaN or below threshold)."
        )
    other = tuple(a for a in range(3) if a != axis)
    occupied = np.flatnonzero((finite & (shown != 0)).any(axis=other))
    if occupied.size == 0:
        occupied = np.arange(vol.shape[axis])
    n_slices = min(int(n_slices), occupied.size)
    if occupied.size > n_slices:  # evenly spaced inside the occupied extent, edges excluded
        grid = np.linspace(occupied[0], occupied[-1], n_slices + 2)[1:-1]
        picks = np.unique(np.round(grid).astype(int))
    else:
        picks = occupied
    lo, hi = float(np.nanmin(shown)), float(np.nanmax(shown))
    if lo < 0.0 < hi:  # both signs: diverging map centred on 0
        limit = float(vmax) if vmax is not None else max(-lo, hi)
        vmin_v, vmax_v = -limit, limit
        cmap = cmap or "RdBu_r"
    else:
        vmin_v, vmax_v = lo, float(vmax) if vmax is not None else hi
        cmap = cmap or "viridis"
    if not vmin_v < vmax_v:
        vmin_v, vmax_v = vmin_v - 0.5, vmin_v + 0.5

    n_cols = min(len(picks), 6)
    n_rows = int(np.ceil(len(picks) / n_cols))
    fig = _new_figure(1.9 * n_cols + 1.0, 2.0 * n_rows + 0.5)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    im = None
    letter = "xyz"[axis]
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k >= len(picks):
            continue
        sl = np.take(shown, picks[k], axis=axis)
        background = np.take(np.isfinite(vol), picks[k], axis=axis)
        ax.imshow(
            np.rot90(np.where(background, 0.15, np.nan)),
            cmap="Greys",
            vmin=0.0,
            vmax=1.0,
            interpolation="nearest",
        )
        im = ax.imshow(np.rot90(sl), cmap=cmap, vmin=vmin_v, vmax=vmax_v, interpolation="nearest")
        ax.set_title(f"{letter} = {picks[k]}", fontsize=9)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label=colorbar_label)
    fig.suptitle(title)
    return fig


#: Old MNE montage names -> their current names (MNE 1.13 deprecates ``standard_*``).
_MONTAGE_ALIASES = {"standard_1005": "colin27_1005", "standard_1020": "colin27_1020"}


def channel_positions(
    ch_names: Sequence[str], montage: str = "colin27_1005", *, min_channels: int = 3
) -> Any:
    """An :class:`mne.Info` of the channels found in a standard montage, or None.

    Names are matched case-insensitively (EEGMMIDB's ``Fc5`` is ``FC5``). Returns None when
    fewer than ``min_channels`` channels have a position.

    Returns
    -------
    info : mne.Info or None
        EEG channels with positions, in the order of ``ch_names`` (missing ones dropped).
    picks : ndarray of int or None
        Indices into ``ch_names`` of the channels in ``info``.
    """
    import warnings

    import mne

    names = [str(c) for c in ch_names]
    if len(set(names)) != len(names):
        return None, None
    if montage not in mne.channels.get_builtin_montages():
        montage = _MONTAGE_ALIASES.get(montage, montage)
    std = mne.channels.make_standard_montage(montage)
    known = {n.lower() for n in std.ch_names}
    picks = np.array([i for i, n in enumerate(names) if n.lower() in known], dtype=int)
    if len(picks) < min_channels:
        return None, None
    with warnings.catch_warnings(), mne.utils.use_log_level("error"):
        warnings.simplefilter("ignore")
        info = mne.create_info([names[i] for i in picks], 100.0, "eeg")
        info.set_montage(std, match_case=False, on_missing="ignore")
    return info, picks


def plot_channel_importance(
    values: np.ndarray | Sequence[float],
    ch_names: Sequence[str],
    *,
    label: str = "importance",
    title: str | None = None,
    montage: str | None = "colin27_1005",
    max_bars: int = 30,
    sort: bool = True,
) -> Any:
    """Channel importance as a scalp topomap (channels with montage positions) or a bar chart.

    Parameters
    ----------
    values : array-like of shape (n_channels,)
        One value per channel (e.g. mean absolute attribution, or a score drop).
    ch_names : sequence of str of length n_channels
    label : str
        Colour-bar / axis label.
    title : str, optional
    montage : str or None, default="colin27_1005"
        MNE standard montage (the 10-05 positions MNE called ``standard_1005``) used to place the channels; None (or fewer than 3 channels found in
        it) draws a bar chart of the ``max_bars`` largest values instead.
    max_bars : int, default=30
    sort : bool, default=True
        Bars in decreasing order (else in the given order, first ``max_bars``).

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``fig.neurodl_kind`` is ``"topomap"`` or ``"bars"``.
    """
    vals = _as_float_array(values, name="values", ndim=1)
    names = [str(c) for c in ch_names]
    if len(names) != len(vals):
        raise ValueError(
            f"'ch_names' must name each of the {len(vals)} values; got {len(names)} names."
        )
    info, picks = channel_positions(names, montage) if montage else (None, None)
    if info is not None:
        import warnings

        import mne

        fig = _new_figure(4.6, 3.8)
        ax = fig.add_subplot()
        with warnings.catch_warnings(), mne.utils.use_log_level("error"):
            warnings.simplefilter("ignore")
            im, _ = mne.viz.plot_topomap(
                vals[picks],
                info,
                axes=ax,
                show=False,
                cmap="Reds",
                vlim=(0.0, float(vals[picks].max()) or 1.0),
                names=[names[i] for i in picks] if len(picks) <= 32 else None,
                sensors=True,
                contours=0,
            )
        fig.colorbar(im, ax=ax, shrink=0.8, label=label)
        missing = len(names) - len(picks)
        ax.set_title(
            (title or "Channel importance") + (f" ({missing} unplaced)" if missing else "")
        )
        fig.neurodl_kind = "topomap"
        return fig
    order = (np.argsort(vals)[::-1] if sort else np.arange(len(vals)))[: max(int(max_bars), 1)]
    fig = _new_figure(max(4.0, min(10.0, 1.5 + 0.3 * len(order))), 3.2)
    ax = fig.add_subplot()
    ax.bar(np.arange(len(order)), vals[order], color=_ACCENT)
    ax.set_xticks(
        np.arange(len(order)),
        [names[i] for i in order],
        rotation=45 if len(order) > 6 else 0,
        ha="right" if len(order) > 6 else "center",
    )
    ax.set_ylabel(label)
    _style_axes(ax)
    shown = "" if len(order) == len(vals) else f" (top {len(order)} of {len(vals)})"
    ax.set_title((title or "Channel importance") + shown)
    fig.neurodl_kind = "bars"
    return fig


def plot_attribution_profile(
    x: np.ndarray | Sequence[float],
    values: np.ndarray | Sequence[float],
    *,
    xlabel: str = "time (s)",
    ylabel: str = "mean |attribution|",
    title: str | None = None,
    x2: np.ndarray | Sequence[float] | None = None,
    values2: np.ndarray | Sequence[float] | None = None,
    xlabel2: str = "frequency (Hz)",
) -> Any:
    """Attribution over one axis (time), optionally beside a second profile (frequency).

    Parameters
    ----------
    x, values : array-like of shape (n,)
        Positions and values of the first profile.
    x2, values2 : array-like of shape (m,), optional
        A second profile drawn in a second panel.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    xs = _as_float_array(x, name="x", ndim=1)
    vs = _as_float_array(values, name="values", ndim=1)
    if xs.shape != vs.shape:
        raise ValueError(f"'x' and 'values' must have the same shape; got {xs.shape}, {vs.shape}.")
    panels = [(xs, vs, xlabel)]
    if x2 is not None and values2 is not None:
        xs2 = _as_float_array(x2, name="x2", ndim=1)
        vs2 = _as_float_array(values2, name="values2", ndim=1)
        if xs2.shape != vs2.shape:
            raise ValueError(
                f"'x2' and 'values2' must have the same shape; got {xs2.shape}, {vs2.shape}."
            )
        panels.append((xs2, vs2, xlabel2))
    fig = _new_figure(4.2 * len(panels), 3.0)
    for i, (px, pv, lab) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.plot(px, pv, color=PALETTE[i], lw=1.6)
        ax.fill_between(px, 0, pv, color=PALETTE[i], alpha=0.2)
        ax.set_xlabel(lab)
        ax.set_ylabel(ylabel)
        _style_axes(ax)
    if title:
        fig.suptitle(title)
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
