"""EEG/MEG figures: data summary of labelled epochs, channel importance (scalp topomap or
bars), attribution profiles over time and frequency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...exceptions import DataFormatError
from ..wording import amplitude_label
from ._base import _ACCENT, PALETTE, _as_float_array, _new_figure, _style_axes

__all__ = [
    "channel_positions",
    "plot_attribution_profile",
    "plot_channel_importance",
    "plot_data_summary",
]


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
    unit: str | None = None,
    group_label: str = "group",
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
    unit : str, optional
        Unit of the values (``"V"``, ``"a.u."``...): on the amplitude and power axes; None says
        "unit unknown".
    group_label : str, default="group"
        What a group is (``"subject / session"``): the x-axis label of the class counts.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Time series: class counts, mean trace per class of one channel (the channel with the
        largest variance), and the mean power spectrum per class when ``sfreq`` is given.
        Features: class counts, and mean ± SD of each feature per class.

    Examples
    --------
    40 epochs of 4 channels x 2 s at 100 Hz; the "move" class carries a 10 Hz rhythm on C4,
    which the most-variable-channel panel picks:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_data_summary
    >>> rng = np.random.default_rng(0)
    >>> X = 1e-5 * rng.normal(size=(40, 4, 200))
    >>> y = np.repeat([0, 1], 20)
    >>> X[y == 1, 2] += 2e-5 * np.sin(2 * np.pi * 10 * np.arange(200) / 100)
    >>> fig = plot_data_summary(X, y, sfreq=100.0, ch_names=["C3", "Cz", "C4", "Pz"],
    ...                         classes=["rest", "move"], unit="V")
    >>> for ax in fig.axes:
    ...     print(ax.get_title())
    Class counts (n = 40)
    Mean ± SD per class, C4
    Mean power spectrum per class

    A feature matrix with subjects gives class counts per subject and per-feature means:

    >>> fig = plot_data_summary(rng.normal(size=(30, 3)), np.repeat(["a", "b", "c"], 10),
    ...                         groups=np.tile([1, 2], 15), group_label="subject")
    >>> [ax.get_title() for ax in fig.axes]
    ['Class counts per group (2 groups, n = 30)', 'Feature mean ± SD per class (3 features)']

    One label per sample is required:

    >>> from neurodl.exceptions import DataFormatError
    >>> try:
    ...     plot_data_summary(X, y[:10])
    ... except DataFormatError as err:
    ...     print(err)
    'y' must have shape (40,) (one label per sample of X); got (10,).
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
        ax.set_xlabel(group_label)
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
        ax.set_ylabel(amplitude_label(unit))
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
            ax.set_ylabel(f"power ({unit or 'unit unknown'}²/Hz, mean over channels)")
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
        ax.set_ylabel(f"value ({unit})" if unit else "value")
        ax.set_title(f"Feature mean ± SD per class ({n_ch} features)")
        ax.legend(fontsize=8, framealpha=0.9)
        _style_axes(ax)
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

    Examples
    --------
    ``Fc5`` is matched as ``FC5``; the EMG channel has no scalp position and is dropped:

    >>> from neurodl.report.figures import channel_positions
    >>> info, picks = channel_positions(["Fc5", "Cz", "C4", "EMG1", "Pz"])
    >>> info.ch_names, picks.tolist()
    (['Fc5', 'Cz', 'C4', 'Pz'], [0, 1, 2, 4])
    >>> info.get_montage() is not None
    True

    Fewer than ``min_channels`` (3) placeable channels:

    >>> channel_positions(["EMG1", "EOG", "Cz"])
    (None, None)
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

    Examples
    --------
    Four 10-20 channels are placed on the scalp (the unknown ``X1`` is counted in the title):

    >>> from neurodl.report.figures import plot_channel_importance
    >>> fig = plot_channel_importance([0.1, 0.5, 0.3, 0.9, 0.2], ["Fz", "Cz", "C3", "C4", "X1"],
    ...                               label="|attribution|")
    >>> fig.neurodl_kind, fig.axes[0].get_title()
    ('topomap', 'Channel importance (1 unplaced)')

    Without a montage: bars of the largest values, in decreasing order:

    >>> fig = plot_channel_importance([0.1, 0.5, 0.3, 0.9], ["Fz", "Cz", "C3", "C4"],
    ...                               montage=None, max_bars=3)
    >>> ax = fig.axes[0]
    >>> fig.neurodl_kind, ax.get_title(), [t.get_text() for t in ax.get_xticklabels()]
    ('bars', 'Channel importance (top 3 of 4)', ['C4', 'Cz', 'C3'])
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

    Examples
    --------
    Attribution peaking at 0.3 s in time and at 10 Hz in frequency, side by side:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_attribution_profile
    >>> t, f = np.linspace(0, 1, 101), np.arange(1.0, 41.0)
    >>> fig = plot_attribution_profile(t, np.exp(-(((t - 0.3) / 0.05) ** 2)), title="saliency",
    ...                                x2=f, values2=np.exp(-(((f - 10) / 2) ** 2)))
    >>> [ax.get_xlabel() for ax in fig.axes], fig.get_suptitle()
    (['time (s)', 'frequency (Hz)'], 'saliency')
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
