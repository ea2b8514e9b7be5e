"""Figures of task-trained networks build from tiny inputs and refuse inconsistent ones."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.exceptions import DataFormatError
from neurodl.report.figures import (
    plot_dose_response,
    plot_fixed_points,
    plot_psychometric,
    plot_state_trajectories,
)


def test_state_trajectories_draw_one_line_per_condition_and_the_fixed_points():
    rng = np.random.default_rng(0)
    traj = rng.normal(size=(3, 20, 3)).cumsum(axis=1)
    fig = plot_state_trajectories(
        traj, ["a", "b", "c"], points=rng.normal(size=(4, 3)),
        stability=["stable", "stable", "saddle", "unstable"],
    )  # fmt: skip
    (ax,) = fig.axes
    assert len(ax.lines) == 3 * 3  # a line, a start and an end marker per condition
    assert len(ax.collections) == 3  # one scatter per stability class
    with pytest.raises(DataFormatError, match="one label per condition"):
        plot_state_trajectories(traj, ["a"])


def test_fixed_point_spectra_and_unit_circle():
    fig = plot_fixed_points([np.array([0.5, 0.2j]), np.array([1.5, 0.1])], ["stable", "saddle"])
    (ax,) = fig.axes
    assert len(ax.lines) == 1 and len(ax.collections) == 2
    with pytest.raises(DataFormatError, match="one stability label"):
        plot_fixed_points([np.zeros(2)], [])


def test_psychometric_and_dose_response():
    x = np.linspace(-0.5, 0.5, 6)
    y = 1 / (1 + np.exp(-8 * x))
    fig = plot_psychometric(x, y, ci=np.c_[y - 0.05, y + 0.05], fit_x=x, fit_y=y,
                            groups={"gain 2": (x, y)})  # fmt: skip
    assert len(fig.axes[0].lines) >= 3
    fig = plot_dose_response([0, 1, 2], {"top": ([0.9, 0.7, 0.5], None, None),
                                         "random": ([0.9, 0.88, 0.86], [0.85] * 3, [0.95] * 3)},
                             chance=0.5)  # fmt: skip
    assert len(fig.axes[0].lines) == 3 and len(fig.axes[0].collections) == 1
    with pytest.raises(DataFormatError, match="3 levels"):
        plot_dose_response([0, 1, 2], {"bad": ([1.0], None, None)})
