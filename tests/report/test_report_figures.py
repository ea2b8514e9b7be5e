"""Report figures: what they draw, checked against numpy/scipy/sklearn; bad input; no pyplot state."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image
from scipy.signal import welch
from sklearn.metrics import confusion_matrix

from neurodl.exceptions import DataFormatError
from neurodl.report import (
    plot_brain_slices,
    plot_confusion_matrix,
    plot_data_summary,
    plot_fold_scores,
    plot_null_distribution,
    plot_timecourse,
)


def _render(fig) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    data = buf.getvalue()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=float)


def _bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def _hlines(ax) -> dict[str, float]:
    """Horizontal lines (2 points, same y) by legend label."""
    out = {}
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        if y.size == 2 and y[0] == y[1]:
            out[line.get_label()] = (float(y[0]), line.get_linestyle())
    return out


def test_fold_scores_draws_scores_mean_ci_chance():
    scores = np.array([0.62, 0.71, 0.80, 0.55, 0.67])
    fig = plot_fold_scores(
        scores,
        metric="balanced accuracy",
        chance_level=0.5,
        ci=(0.58, 0.74),
        fold_labels=["s1", "s2", "s3", "s4", "s5"],
    )
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    heights = [b.get_height() for b in ax.containers[0]]
    np.testing.assert_allclose(heights, scores)
    lines = _hlines(ax)
    mean_label = next(k for k in lines if k.startswith("mean"))
    assert lines[mean_label][0] == pytest.approx(np.mean(scores))
    assert mean_label == "mean = 0.67 [0.58, 0.74]"
    assert lines["chance = 0.5"] == (0.5, "--")
    (band,) = [p for p in ax.patches if p.get_label() == "CI of the mean"]
    y0, y1 = band.get_window_extent().y0, band.get_window_extent().y1
    to_data = ax.transData.inverted()
    assert to_data.transform((0, y0))[1] == pytest.approx(0.58, abs=1e-3)
    assert to_data.transform((0, y1))[1] == pytest.approx(0.74, abs=1e-3)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["s1", "s2", "s3", "s4", "s5"]
    assert ax.get_ylabel() == "balanced accuracy"
    assert ax.get_ylim() == (0.0, 1.05)
    assert _render(fig).std() > 5


def test_fold_scores_negative_scores_fit_in_view():
    scores = [-0.2, 0.1, 0.3]  # e.g. R^2
    ax = plot_fold_scores(scores, metric="R2").axes[0]
    lo, hi = ax.get_ylim()
    assert lo < -0.2 and hi > 0.3
    assert "chance" not in " ".join(_hlines(ax))


@pytest.mark.parametrize("normalize", [True, False])
def test_confusion_matrix_matches_sklearn(normalize, rng):
    y_true = rng.integers(0, 3, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, size=200))
    counts = confusion_matrix(y_true, y_pred)
    fig = plot_confusion_matrix(counts, ["a", "b", "c"], normalize=normalize)
    shown = np.asarray(fig.axes[0].images[0].get_array())
    expected = confusion_matrix(y_true, y_pred, normalize="true" if normalize else None)
    np.testing.assert_allclose(shown, expected)
    texts = [t.get_text() for t in fig.axes[0].texts]
    first = f"{expected[0, 0]:.2f}" if normalize else str(counts[0, 0])
    assert texts[0] == first and len(texts) == 9
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b", "c"]


def test_confusion_matrix_empty_row_is_zero_without_warning():
    cm = np.array([[5, 1], [0, 0]])
    shown = np.asarray(plot_confusion_matrix(cm, ["a", "b"]).axes[0].images[0].get_array())
    np.testing.assert_allclose(shown, [[5 / 6, 1 / 6], [0, 0]])


def test_null_distribution_histogram_and_observed_line(rng):
    null = rng.normal(0.5, 0.04, size=500)
    fig = plot_null_distribution(null, 0.8, p_value=0.002, metric="accuracy")
    ax = fig.axes[0]
    assert sum(b.get_height() for b in _bars(ax)) == 500
    (vline,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("observed")]
    assert np.allclose(vline.get_xdata(), 0.8)
    assert vline.get_label() == "observed = 0.8 (p = 0.002)"
    assert ax.get_xlim()[1] > 0.8
    no_p = plot_null_distribution(null, 0.8, p_value=None, metric="accuracy").axes[0]
    assert [ln.get_label() for ln in no_p.get_lines()] == ["observed = 0.8"]


def test_timecourse_lines_bands_chance_and_significance():
    times = np.linspace(-0.1, 0.5, 61)
    values = np.stack([0.5 + 0.3 * np.exp(-((times - 0.2) ** 2) / 0.005), np.full(61, 0.55)])
    ci = np.stack([values - 0.05, values + 0.05], axis=1)  # (2 lines, 2, n_times)
    sig = np.zeros((2, 61), bool)
    sig[0, 25:35] = True
    fig = plot_timecourse(
        times, values, ci=ci, chance=0.5, labels=["A", "B"], significant=sig, title="decoding"
    )
    ax = fig.axes[0]
    by_label = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_allclose(by_label["A"].get_ydata(), values[0])
    np.testing.assert_allclose(by_label["B"].get_xdata(), times)
    assert _hlines(ax)["chance = 0.5"] == (0.5, "--")
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    # the significance bar covers exactly the marked times, below the curves
    bar = next(ln for ln in ax.get_lines() if ln.get_linewidth() == 4)
    covered = np.isfinite(np.asarray(bar.get_xdata(), dtype=float))
    np.testing.assert_array_equal(covered, sig[0])
    assert bar.get_ydata()[0] < values.min() - 0.05
    one = plot_timecourse(times, values[0]).axes[0]  # single line, no legend
    assert len(one.get_lines()) == 2 and one.get_legend() is None  # curve + t=0 line


def test_data_summary_time_series(rng):
    sfreq, n_times = 100.0, 200
    t = np.arange(n_times) / sfreq
    y = np.repeat(np.array(["rest", "task"]), 30)
    groups = np.tile(["s1", "s2", "s3"], 20)
    X = rng.normal(0, 0.1, size=(60, 3, n_times))
    X[y == "task", 2] += 3 * np.sin(2 * np.pi * 12 * t)  # planted: 12 Hz, channel 2, task only
    fig = plot_data_summary(
        X, y, sfreq=sfreq, ch_names=["Fz", "Cz", "Pz"], classes=["Rest", "Task"], groups=groups
    )
    ax_counts, ax_trace, ax_psd = fig.axes[:3]
    # counts per group and class against pandas' crosstab
    table = pd.crosstab(groups, y)
    bars = _bars(ax_counts)
    np.testing.assert_array_equal([b.get_height() for b in bars], table.to_numpy().T.ravel())
    # the most variable channel is shown
    assert "Pz" in ax_trace.get_title()
    # PSD per class against scipy's welch; the planted class peaks at 12 Hz
    lines = {ln.get_label(): ln for ln in ax_psd.get_lines()}
    f, p = welch(X[y == "task"], fs=sfreq, nperseg=n_times, axis=-1)
    np.testing.assert_allclose(lines["Task"].get_xdata(), f)
    np.testing.assert_allclose(lines["Task"].get_ydata(), p.mean(axis=(0, 1)))
    assert lines["Task"].get_xdata()[np.argmax(lines["Task"].get_ydata())] == pytest.approx(12.0)
    assert lines["Rest"].get_ydata().max() < lines["Task"].get_ydata().max() / 10
    assert _render(fig).std() > 5


def test_data_summary_features_without_groups(rng):
    y = np.array([0] * 10 + [1] * 25)
    X = rng.normal(size=(35, 4))
    X[y == 1, 3] += 5
    fig = plot_data_summary(X, y)
    assert len(fig.axes) == 2
    np.testing.assert_array_equal([b.get_height() for b in _bars(fig.axes[0])], [10, 25])
    means = {c.get_label(): c for c in fig.axes[1].containers}
    np.testing.assert_allclose(means["1"].lines[0].get_ydata(), X[y == 1].mean(axis=0))


def test_data_summary_without_sfreq_has_two_panels(rng):
    fig = plot_data_summary(rng.normal(size=(8, 2, 30)), [0, 1] * 4)
    assert len(fig.axes) == 2 and fig.axes[1].get_xlabel() == "sample"


def test_brain_slices_show_planted_blob(rng):
    vol = rng.normal(0, 0.3, size=(16, 18, 20))
    vol[4:8, 5:9, 8:12] = 6.0
    fig = plot_brain_slices(vol, title="t map", n_slices=4, threshold=2.0, colorbar_label="t")
    slice_axes = [ax for ax in fig.axes if ax.images and ax.get_title().startswith("z =")]
    # thresholding (6.7 SD) leaves only the blob, so the picked slices lie around it
    picks = [int(ax.get_title().split("= ")[1]) for ax in slice_axes]
    assert len(picks) >= 2 and all(4 <= z <= 15 for z in picks)
    with_blob = [ax for ax, z in zip(slice_axes, picks) if 8 <= z < 12]
    assert with_blob
    shown = np.ma.filled(with_blob[0].images[1].get_array(), np.nan)
    np.testing.assert_allclose(np.nanmax(shown), 6.0)
    assert np.isnan(shown).mean() > 0.8  # below threshold is blank
    assert fig.get_suptitle() == "t map"


def test_brain_slices_two_sided_map_is_symmetric(rng):
    vol = rng.normal(size=(10, 10, 10))
    vol[0, 0, 0] = 7.0
    fig = plot_brain_slices(vol, title="x", orientation="coronal", n_slices=3)
    image = fig.axes[0].images[1]
    assert image.get_clim() == (-7.0, 7.0)
    assert image.get_cmap().name == "RdBu_r"
    assert fig.axes[0].get_title().startswith("y =")


def test_brain_slices_accepts_image_like(rng):
    class Img:
        def get_fdata(self):
            return np.abs(rng.normal(size=(6, 6, 6)))

    fig = plot_brain_slices(Img(), title="x")
    assert fig.axes[0].images[1].get_cmap().name == "viridis"


def test_no_pyplot_figures_are_created(rng):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_fold_scores([0.5, 0.6], metric="m")
    plot_confusion_matrix(np.eye(2), ["a", "b"])
    plot_null_distribution([0.1, 0.2, 0.3], 0.5, p_value=0.1, metric="m")
    plot_timecourse([0, 1], [0.5, 0.6])
    plot_data_summary(rng.normal(size=(4, 2)), [0, 1, 0, 1])
    plot_brain_slices(rng.normal(size=(4, 4, 4)), title="x")
    assert plt.get_fignums() == before


@pytest.mark.parametrize(
    ("func", "kwargs", "error", "match"),
    [
        (
            plot_fold_scores,
            {"fold_scores": [], "metric": "m"},
            DataFormatError,
            "must not be empty",
        ),
        (plot_fold_scores, {"fold_scores": [[0.5]], "metric": "m"}, DataFormatError, "1 dimension"),
        (plot_fold_scores, {"fold_scores": [0.5, np.nan], "metric": "m"}, DataFormatError, "NaN"),
        (plot_fold_scores, {"fold_scores": ["a"], "metric": "m"}, DataFormatError, "numeric"),
        (
            plot_fold_scores,
            {"fold_scores": [0.5], "metric": "m", "ci": (0.9, 0.1)},
            ValueError,
            "'ci'",
        ),
        (
            plot_fold_scores,
            {"fold_scores": [0.5], "metric": "m", "fold_labels": ["a", "b"]},
            ValueError,
            "one label per fold",
        ),
        (
            plot_confusion_matrix,
            {"cm": np.ones((2, 3)), "classes": ["a", "b"]},
            DataFormatError,
            "square",
        ),
        (
            plot_confusion_matrix,
            {"cm": -np.ones((2, 2)), "classes": ["a", "b"]},
            DataFormatError,
            "non-negative",
        ),
        (plot_confusion_matrix, {"cm": np.ones((2, 2)), "classes": ["a"]}, ValueError, "'classes'"),
        (
            plot_null_distribution,
            {"null": [0.1], "score": np.inf, "p_value": 0.5, "metric": "m"},
            ValueError,
            "'score'",
        ),
        (
            plot_null_distribution,
            {"null": [0.1], "score": 0.5, "p_value": 1.5, "metric": "m"},
            ValueError,
            "'p_value'",
        ),
        (
            plot_timecourse,
            {"times": [0, 1, 2], "values": [0.5, 0.6]},
            DataFormatError,
            "3 time points",
        ),
        (
            plot_timecourse,
            {"times": [0, 1], "values": [0.5, 0.6], "ci": np.zeros((3, 2))},
            DataFormatError,
            "'ci'",
        ),
        (
            plot_timecourse,
            {"times": [0, 1], "values": [0.5, 0.6], "significant": [True]},
            DataFormatError,
            "'significant'",
        ),
        (
            plot_data_summary,
            {"X": np.zeros((4, 2)), "y": [0, 1]},
            DataFormatError,
            "'y' must have shape",
        ),
        (
            plot_data_summary,
            {"X": np.zeros((4, 2, 2, 2)), "y": [0, 1, 0, 1]},
            DataFormatError,
            "2 or 3",
        ),
        (
            plot_data_summary,
            {"X": np.zeros((4, 2)), "y": [0, 1, 0, 1], "classes": ["a"]},
            ValueError,
            "'classes'",
        ),
        (
            plot_data_summary,
            {"X": np.zeros((4, 2)), "y": [0, 1, 0, 1], "groups": [1]},
            DataFormatError,
            "'groups'",
        ),
        (
            plot_data_summary,
            {"X": np.zeros((4, 2, 3)), "y": [0, 1, 0, 1], "sfreq": -1},
            ValueError,
            "'sfreq'",
        ),
        (
            plot_data_summary,
            {"X": np.zeros((4, 2, 3)), "y": [0, 1, 0, 1], "ch_names": ["a"]},
            ValueError,
            "'ch_names'",
        ),
        (
            plot_brain_slices,
            {"volume3d": np.zeros((3, 3)), "title": "x"},
            DataFormatError,
            "3 dimension",
        ),
        (
            plot_brain_slices,
            {"volume3d": np.zeros((3, 3, 3)), "title": "x", "orientation": "axil"},
            ValueError,
            "Allowed: 'sagittal'",
        ),
        (
            plot_brain_slices,
            {"volume3d": np.zeros((3, 3, 3)), "title": "x", "n_slices": 0},
            ValueError,
            "'n_slices'",
        ),
        (
            plot_brain_slices,
            {"volume3d": np.full((3, 3, 3), np.nan), "title": "x"},
            DataFormatError,
            "no finite value",
        ),
    ],
)
def test_bad_input(func, kwargs, error, match):
    with pytest.raises(error, match=match):
        func(**kwargs)


def test_brain_slices_draws_as_many_distinct_slices_as_asked():
    """Regression: rounding evenly spaced positions once put two panels on one slice."""
    import re

    from neurodl.report.figures import plot_brain_slices

    for first, last, n in [(2, 5, 3), (2, 5, 4), (0, 9, 6), (3, 4, 2), (1, 30, 6)]:
        vol = np.zeros((6, 6, 40))
        vol[:, :, first : last + 1] = 1.0
        fig = plot_brain_slices(vol, title="map", n_slices=n)
        zs = [
            int(m.group(1))
            for ax in fig.axes
            if (m := re.search(r"z\s*=\s*(\d+)", ax.get_title() or ""))
        ]
        assert len(zs) == n and len(set(zs)) == n, (first, last, n, zs)
        assert all(first <= z <= last for z in zs)
