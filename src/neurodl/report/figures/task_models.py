"""Figures of task-trained networks: state-space trajectories, fixed points, behaviour, lesions."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...exceptions import DataFormatError
from ._base import PALETTE, _as_float_array, _new_figure, _style_axes

__all__ = [
    "plot_dose_response",
    "plot_fixed_points",
    "plot_psychometric",
    "plot_state_trajectories",
]

#: Colour of each fixed-point stability class.
STABILITY_COLOURS = {"stable": "#009E73", "saddle": "#E69F00", "unstable": "#D55E00"}


def plot_state_trajectories(
    trajectories: Any,
    labels: list[str],
    *,
    points: Any = None,
    stability: list[str] | None = None,
    title: str = "State-space trajectories",
) -> Any:
    """Condition-averaged trajectories in the first two principal components.

    Parameters
    ----------
    trajectories : array-like of shape (n_conditions, n_steps, n_components >= 2)
        Mean hidden-state trajectory of each condition, projected on the top PCs.
    labels : list of str
        One label per condition.
    points : array-like of shape (n_points, n_components >= 2), optional
        Fixed points in the same PC space, drawn on top.
    stability : list of str, optional
        ``stable``, ``saddle`` or ``unstable`` per fixed point (colours the markers).
    title : str

    Examples
    --------
    Two conditions diverging from a saddle at the origin to one stable point each:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_state_trajectories
    >>> t = np.linspace(0, 1, 30)
    >>> traj = np.stack([np.stack([t, sign * t**2], axis=-1) for sign in (1.0, -1.0)])
    >>> traj.shape  # conditions x steps x PCs
    (2, 30, 2)
    >>> fig = plot_state_trajectories(traj, ["left", "right"],
    ...                               points=[[1.0, 1.0], [1.0, -1.0], [0.0, 0.0]],
    ...                               stability=["stable", "stable", "saddle"])
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['left', 'right', 'stable fixed point', 'saddle fixed point']

    One label per condition is required:

    >>> from neurodl.exceptions import DataFormatError
    >>> try:
    ...     plot_state_trajectories(traj, ["left"])
    ... except DataFormatError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    trajectories must be (n_conditions, n_steps, >= 2) with one label per condition;
    got (2, 30, 2) and 1 labels.
    """
    traj = _as_float_array(trajectories, name="trajectories", ndim=3)
    if traj.shape[2] < 2 or len(labels) != traj.shape[0]:
        raise DataFormatError(
            f"trajectories must be (n_conditions, n_steps, >= 2) with one label per condition; "
            f"got {traj.shape} and {len(labels)} labels."
        )
    fig = _new_figure(5.2, 4.2)
    ax = fig.add_subplot()
    for i, (tr, lab) in enumerate(zip(traj, labels)):
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(tr[:, 0], tr[:, 1], color=colour, lw=1.5, label=lab)
        ax.plot(tr[0, 0], tr[0, 1], "o", color=colour, ms=4)
        ax.plot(tr[-1, 0], tr[-1, 1], "s", color=colour, ms=4)
    if points is not None and len(points):
        pts = _as_float_array(points, name="points", ndim=2)
        kinds = stability or ["stable"] * len(pts)
        for kind in dict.fromkeys(kinds):
            sel = np.array([k == kind for k in kinds])
            ax.scatter(
                pts[sel, 0],
                pts[sel, 1],
                marker="x" if kind != "stable" else "*",
                s=60,
                color=STABILITY_COLOURS.get(kind, "#000000"),
                label=f"{kind} fixed point",
                zorder=3,
            )
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=7, loc="best")
    _style_axes(ax)
    return fig


def plot_fixed_points(
    eigenvalues: list[Any], stability: list[str], *, title: str = "Fixed points: Jacobian spectra"
) -> Any:
    """Eigenvalues of each fixed point's Jacobian in the complex plane, with the unit circle.

    Parameters
    ----------
    eigenvalues : list of array-like of complex, each of shape (n_hidden,)
        One spectrum per fixed point (a discrete-time map is stable when every |lambda| < 1).
    stability : list of str
        ``stable``, ``saddle`` or ``unstable`` per fixed point.
    title : str

    Examples
    --------
    A stable point (all 8 eigenvalues inside the unit circle) and a saddle (one outside):

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_fixed_points
    >>> stable = 0.5 * np.exp(1j * np.linspace(0, 2 * np.pi, 8, endpoint=False))
    >>> saddle = np.append(stable[:-1], 1.3)
    >>> fig = plot_fixed_points([stable, saddle], ["stable", "saddle"])
    >>> ax = fig.axes[0]
    >>> ax.get_legend_handles_labels()[1], [c.get_offsets().shape for c in ax.collections]
    (['stable', 'saddle'], [(8, 2), (8, 2)])
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Re(lambda)', 'Im(lambda)')
    """
    if len(eigenvalues) != len(stability):
        raise DataFormatError(
            f"one stability label per fixed point: got {len(eigenvalues)} spectra and "
            f"{len(stability)} labels."
        )
    fig = _new_figure(4.4, 4.2)
    ax = fig.add_subplot()
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
    ax.plot(circle.real, circle.imag, color="#888888", lw=0.8)
    seen: set[str] = set()
    for ev, kind in zip(eigenvalues, stability):
        ev = np.asarray(ev, dtype=complex)
        ax.scatter(
            ev.real,
            ev.imag,
            s=10,
            alpha=0.6,
            color=STABILITY_COLOURS.get(kind, "#000000"),
            label=kind if kind not in seen else None,
        )
        seen.add(kind)
    ax.set_aspect("equal")
    ax.set_xlabel("Re(lambda)")
    ax.set_ylabel("Im(lambda)")
    ax.set_title(title, fontsize=10)
    if seen:
        ax.legend(frameon=False, fontsize=7)
    return fig


def plot_psychometric(
    levels: Any,
    fraction: Any,
    *,
    ci: Any = None,
    fit_x: Any = None,
    fit_y: Any = None,
    xlabel: str = "stimulus",
    ylabel: str = "fraction of choice 1",
    groups: dict[str, tuple[Any, Any]] | None = None,
    title: str = "Psychometric curve",
) -> Any:
    """Choice fraction per stimulus level, with confidence intervals and a fitted curve.

    Parameters
    ----------
    levels, fraction : array-like of shape (n_levels,)
        Stimulus levels and the fraction of choice 1 at each.
    ci : array-like of shape (n_levels, 2), optional
        Lower and upper bound of each fraction (e.g. Wilson intervals).
    fit_x, fit_y : array-like, optional
        A fitted curve drawn as a line.
    groups : dict, optional
        Further ``name -> (levels, fraction)`` curves (e.g. one per gain level).

    Examples
    --------
    A logistic psychometric curve over motion coherence with CIs and its fit, and a flatter
    curve at half gain:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_psychometric
    >>> levels = np.array([-0.4, -0.2, -0.1, 0.0, 0.1, 0.2, 0.4])
    >>> frac = 1 / (1 + np.exp(-levels / 0.08))
    >>> x = np.linspace(-0.4, 0.4, 50)
    >>> fig = plot_psychometric(levels, frac, ci=np.stack([frac - 0.05, frac + 0.05], axis=1),
    ...                         fit_x=x, fit_y=1 / (1 + np.exp(-x / 0.08)), xlabel="coherence",
    ...                         groups={"gain 0.5": (levels, 1 / (1 + np.exp(-levels / 0.2)))})
    >>> ax = fig.axes[0]
    >>> ax.get_xlabel(), ax.get_ylabel(), ax.get_legend_handles_labels()[1]
    ('coherence', 'fraction of choice 1', ['gain 0.5'])
    """
    x = _as_float_array(levels, name="levels", ndim=1)
    y = _as_float_array(fraction, name="fraction", ndim=1, allow_nan=True)
    fig = _new_figure(4.8, 3.4)
    ax = fig.add_subplot()
    if ci is not None:
        c = _as_float_array(ci, name="ci", ndim=2, allow_nan=True)
        ax.errorbar(x, y, yerr=[y - c[:, 0], c[:, 1] - y], fmt="o", color=PALETTE[0], ms=4)
    else:
        ax.plot(x, y, "o", color=PALETTE[0], ms=4)
    if fit_x is not None and fit_y is not None:
        ax.plot(np.asarray(fit_x, float), np.asarray(fit_y, float), "-", color=PALETTE[0])
    for i, (name, (gx, gy)) in enumerate((groups or {}).items()):
        ax.plot(np.asarray(gx, float), np.asarray(gy, float), "o-", ms=3,
                color=PALETTE[(i + 1) % len(PALETTE)], label=name)  # fmt: skip
    ax.axhline(0.5, color="#888888", lw=0.8, ls="--")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if groups:
        ax.legend(frameon=False, fontsize=7)
    _style_axes(ax)
    return fig


def plot_dose_response(
    levels: Any,
    curves: dict[str, tuple[Any, Any, Any]],
    *,
    xlabel: str = "lesion size (units)",
    ylabel: str = "score",
    chance: float | None = None,
    title: str = "Dose-response",
) -> Any:
    """Score against perturbation strength, one line (with a CI band) per curve.

    Parameters
    ----------
    levels : array-like of shape (n_levels,)
        Perturbation strengths (units ablated, gain factor, noise level...).
    curves : dict of str to (mean, low, high)
        Each curve's mean score and CI bounds, arrays of shape (n_levels,) (bounds may be None).
    chance : float, optional
        Drawn as a dashed line.

    Examples
    --------
    Ablating the most selective units drops the score to chance; random units barely matter:

    >>> from neurodl.report.figures import plot_dose_response
    >>> curves = {"targeted": ([0.95, 0.80, 0.60, 0.50], [0.93, 0.76, 0.55, 0.45],
    ...                        [0.97, 0.84, 0.65, 0.55]),
    ...           "random": ([0.95, 0.94, 0.92, 0.88], None, None)}
    >>> fig = plot_dose_response([0, 8, 16, 32], curves, chance=0.5)
    >>> ax = fig.axes[0]
    >>> ax.get_legend_handles_labels()[1], len(ax.collections)  # one CI band
    (['targeted', 'random'], 1)

    Each curve needs one value per level:

    >>> from neurodl.exceptions import DataFormatError
    >>> try:
    ...     plot_dose_response([0, 8, 16, 32], {"bad": ([0.9, 0.8], None, None)})
    ... except DataFormatError as err:
    ...     print(err)
    curve 'bad': 2 values for 4 levels.
    """
    x = _as_float_array(levels, name="levels", ndim=1)
    fig = _new_figure(4.8, 3.4)
    ax = fig.add_subplot()
    for i, (name, (mean, low, high)) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        m = _as_float_array(mean, name=f"{name} mean", ndim=1, allow_nan=True)
        if len(m) != len(x):
            raise DataFormatError(f"curve {name!r}: {len(m)} values for {len(x)} levels.")
        ax.plot(x, m, "o-", color=colour, ms=3, label=name)
        if low is not None and high is not None:
            ax.fill_between(x, np.asarray(low, float), np.asarray(high, float), color=colour,
                            alpha=0.2, lw=0)  # fmt: skip
    if chance is not None:
        ax.axhline(chance, color="#888888", lw=0.8, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=7)
    _style_axes(ax)
    return fig
