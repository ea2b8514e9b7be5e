"""Attribution figures: channel x time maps of several methods beside the planted truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...exceptions import DataFormatError
from ._base import _as_float_array, _new_figure

__all__ = ["plot_attribution_maps"]


def plot_attribution_maps(
    maps: Mapping[str, Any],
    ch_names: Sequence[str],
    *,
    times: Any = None,
    sources: Sequence[int] = (),
    suppressors: Sequence[int] = (),
    window: tuple[float, float] | None = None,
    verdicts: Mapping[str, str] | None = None,
    n_cols: int = 3,
) -> Any:
    """One heat map per method (|map| scaled to its maximum), truth marked on the axes.

    Parameters
    ----------
    maps : dict of str to ndarray of shape (n_chans, n_times)
    ch_names : list of str
    times : ndarray of shape (n_times,), optional
        Seconds (default: sample indices).
    sources, suppressors : list of int
        Channel indices labelled in the y-axis ("S" / "U" markers).
    window : (float, float), optional
        True time window, drawn as dashed lines.
    verdicts : dict of str to str, optional
        Sanity verdict per method, shown in the panel title.
    n_cols : int, default=3

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    Two methods on 4 channels x 50 samples; channel 1 is the planted source, channel 3 a
    suppressor, the effect sits in 0.2-0.3 s. The panel titles carry the sanity verdicts:

    >>> import numpy as np
    >>> from neurodl.report.figures.attribution import plot_attribution_maps
    >>> rng = np.random.default_rng(0)
    >>> times = np.arange(50) / 100
    >>> truth = np.zeros((4, 50))
    >>> truth[1, 20:30] = 1.0
    >>> maps = {"saliency": truth + 0.1 * rng.standard_normal((4, 50)),
    ...         "random": rng.standard_normal((4, 50))}
    >>> fig = plot_attribution_maps(
    ...     maps, ["Fz", "Cz", "Pz", "Oz"], times=times, sources=[1], suppressors=[3],
    ...     window=(0.2, 0.3), verdicts={"saliency": "pass", "random": "fail"})
    >>> [ax.get_title() for ax in fig.axes]
    ['saliency [pass]', 'random [fail]']
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['Fz', 'Cz (S)', 'Pz', 'Oz (U)']

    Maps of different shapes are refused:

    >>> from neurodl.exceptions import DataFormatError
    >>> try:
    ...     plot_attribution_maps({"a": np.ones((4, 50)), "b": np.ones((4, 40))}, list("ABCD"))
    ... except DataFormatError as err:
    ...     print(err)
    Every map must have shape (4, n_times) with one shape for all; got [(4, 40), (4, 50)].
    """
    if not maps:
        raise DataFormatError("'maps' must hold at least one map.")
    arrays = {k: np.abs(_as_float_array(v, name=k, ndim=2)) for k, v in maps.items()}
    shape = next(iter(arrays.values())).shape
    if any(a.shape != shape for a in arrays.values()) or shape[0] != len(ch_names):
        raise DataFormatError(
            f"Every map must have shape ({len(ch_names)}, n_times) with one shape for all; got "
            f"{sorted({a.shape for a in arrays.values()})}."
        )
    t = np.arange(shape[1], dtype=float) if times is None else np.asarray(times, float)
    n = len(arrays)
    cols = min(n_cols, n)
    rows = int(np.ceil(n / cols))
    fig = _new_figure(3.2 * cols, 0.25 * shape[0] * rows + 1.0 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    labels = [
        f"{c} (S)" if i in sources else f"{c} (U)" if i in suppressors else str(c)
        for i, c in enumerate(ch_names)
    ]
    step = t[1] - t[0] if len(t) > 1 else 1.0
    for ax, (name, arr) in zip(axes, arrays.items(), strict=False):
        top = arr.max() or 1.0
        ax.imshow(
            arr / top,
            aspect="auto",
            cmap="viridis",
            vmin=0.0,
            vmax=1.0,
            interpolation="nearest",
            extent=(t[0] - step / 2, t[-1] + step / 2, len(ch_names) - 0.5, -0.5),
        )
        ax.set_yticks(range(len(ch_names)), labels, fontsize=7)
        for i in sources:
            ax.get_yticklabels()[i].set_color("#D55E00")
        for i in suppressors:
            ax.get_yticklabels()[i].set_color("#0072B2")
        if window is not None:
            for edge in window:
                ax.axvline(edge, color="white", linestyle="--", linewidth=0.8)
        verdict = (verdicts or {}).get(name)
        ax.set_title(name + (f" [{verdict}]" if verdict else ""), fontsize=9)
        ax.set_xlabel("time (s)" if times is not None else "sample", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig
