"""The figures package: every subject module builds its figures from tiny inputs.

The run layer's figures (RSA, dynamics, seizure, learning curves, fMRI encoding scores) moved
into :mod:`neurodl.report.figures`; these tests check each one builds a
:class:`~matplotlib.figure.Figure` with the expected axes and lines, and that the old import
paths of the report layer still resolve.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from neurodl.analyses.rsa import compute_rdm, evaluate_models
from neurodl.analyses.rsa.model_brain import ModelBrainResult
from neurodl.report import figures
from neurodl.report.figures import (
    CATEGORY_GROUPS,
    category_order,
    plot_behavior,
    plot_ceiling_normalized_scores,
    plot_encoder_comparison,
    plot_event_timeline,
    plot_forecast_scores,
    plot_latent_trajectories,
    plot_layer_curves,
    plot_learning_curves,
    plot_mds,
    plot_model_comparison,
    plot_probability_trace,
    plot_raster_rates,
    plot_rdms,
    plot_stimuli,
    plot_training,
)


def _visible_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]


def _render(fig: Figure) -> None:
    fig.canvas.draw()  # layout and drawing raise on bad input; nothing is shown


# ----------------------------------------------------------------------------- package


def test_every_public_name_is_importable_from_the_package_and_report():
    import neurodl.report as report

    for name in figures.__all__:
        assert getattr(figures, name) is not None
    for name in (
        "plot_brain_slices",
        "plot_confusion_matrix",
        "plot_data_summary",
        "plot_fold_scores",
        "plot_null_distribution",
        "plot_timecourse",
    ):
        assert getattr(report, name) is getattr(figures, name)


@pytest.mark.parametrize("module", ["statistics", "eeg", "fmri", "rsa", "dynamics", "seizure"])
def test_subject_modules_list_only_what_they_define(module):
    import importlib

    mod = importlib.import_module(f"neurodl.report.figures.{module}")
    assert mod.__all__
    for name in mod.__all__:
        assert name.isupper() or getattr(mod, name).__module__ == mod.__name__


# ----------------------------------------------------------------------------- rsa


def _descriptors(n_per: int = 3) -> dict[str, np.ndarray]:
    # two groups ("human face", "natural object") and one condition in none
    n = 2 * n_per + 1
    desc = {k: np.zeros(n, bool) for k in ("is_human", "is_face", "is_natObj")}
    desc["is_human"][n_per : 2 * n_per] = True
    desc["is_face"][n_per : 2 * n_per] = True
    desc["is_natObj"][:n_per] = True
    return desc


def test_category_order_follows_category_groups():
    order, group = category_order(_descriptors())
    assert list(CATEGORY_GROUPS).index("human face") < list(CATEGORY_GROUPS).index("natural object")
    assert group[order].tolist() == ["human face"] * 3 + ["natural object"] * 3 + ["other"]


def _rdms(n_rdms: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    desc = _descriptors()
    n = len(desc["is_human"])
    return [
        compute_rdm(rng.normal(size=(n, 5)), names=[f"r{i}"], condition_descriptors=desc)
        for i in range(n_rdms)
    ]


def test_plot_rdms_one_image_per_rdm():
    from neurodl.analyses.rsa import RDMs

    parts = _rdms(3)
    rdms = RDMs(
        np.stack([r.dissimilarities[0] for r in parts]),
        names=["a", "b", "c"],
        condition_descriptors=parts[0].condition_descriptors,
    )
    fig = plot_rdms(rdms, n_cols=2)
    images = [ax for ax in fig.axes if ax.images]
    assert isinstance(fig, Figure) and len(images) == 3
    assert [ax.get_title() for ax in images] == ["a", "b", "c"]
    _render(fig)


def test_plot_mds_one_scatter_per_group():
    rdm = _rdms(1)[0]
    _, group = category_order(rdm.condition_descriptors)
    fig = plot_mds(rdm.dissimilarities[0], group, title="mds", seed=0)
    (ax,) = fig.axes
    assert len(ax.collections) == 3  # human face, natural object, other
    _render(fig)


def _rsa_result(n_models: int = 3):
    from neurodl.analyses.rsa import RDMs

    rng = np.random.default_rng(1)
    base = rng.normal(size=15)
    data = RDMs(np.abs(base + 0.3 * rng.normal(size=(4, 15))))
    models = RDMs(
        np.abs(base + rng.normal(size=(n_models, 15)) * np.arange(1, n_models + 1)[:, None]),
        names=[f"m{i}" for i in range(n_models)],
    )
    return evaluate_models(models, data, bootstrap="subjects", n_bootstrap=50, seed=0)


def test_plot_model_comparison_bars_and_pairwise_matrix():
    res = _rsa_result()
    fig = plot_model_comparison(res)
    ax, axm = fig.axes
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 1 and len(bars[0]) == 3  # one bar per model
    assert len(axm.images) == 1 and axm.images[0].get_array().shape == (3, 3)
    _render(fig)


def test_plot_layer_curves_one_line_per_network_and_area():
    res = _rsa_result(4)  # 2 networks x 2 layers, network-major
    result = ModelBrainResult(
        layers=["conv1", "fc"],
        networks=["trained", "untrained"],
        areas=["hIT", "mIT"],
        results={"hIT": res, "mIT": res},
        rdms={},
        control_tests={"hIT": {"p_fdr": np.array([0.01, 0.5])}},
    )
    fig = plot_layer_curves(result)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.get_lines()) == 2 + 1  # two networks and the zero line
    assert sum(t.get_text() == "*" for t in fig.axes[0].texts) == 1
    _render(fig)


def test_plot_stimuli_and_training():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(5, 3, 8, 8))
    fig = plot_stimuli(X, np.array([0, 1, 0, 1, 0]), ["disk", "square"], n=5)
    assert sum(bool(ax.images) for ax in fig.axes) == 5
    fig = plot_training([1.0, 0.6, 0.4])
    (ax,) = fig.axes
    assert ax.get_lines()[0].get_ydata().tolist() == [1.0, 0.6, 0.4]
    _render(fig)


# ----------------------------------------------------------------------------- dynamics


def test_dynamics_figures():
    rng = np.random.default_rng(0)
    fig = plot_behavior(rng.normal(size=(30, 2)), rng.normal(size=(30, 2)), "behaviour")
    assert len(fig.axes) == 2 and all(len(ax.get_lines()) == 2 for ax in fig.axes)
    _render(fig)

    fig = plot_latent_trajectories(rng.normal(size=(4, 10, 5)), np.array([0, 1, 0, 1]), "lat")
    (ax,) = fig.axes
    assert ax.name == "3d" and len(ax.get_lines()) == 4
    _render(fig)

    counts = rng.poisson(0.3, size=(20, 6))
    fig = plot_raster_rates(counts, np.full((20, 6), 0.3), 0.01, "trial 0")
    assert len(_visible_axes(fig)) == 2
    _render(fig)

    rows = {
        name: [{"horizon": h, "bits_per_spike": 0.1 * h, "r2_counts": 0.2} for h in (1, 2, 4)]
        for name in ("lfads", "glm")
    }
    fig = plot_forecast_scores(rows)
    assert len(fig.axes) == 2
    assert all(len(ax.get_lines()) == 2 + 1 for ax in fig.axes)  # + the zero line
    assert fig.axes[1].get_ylabel() == "R^2 (counts)"
    _render(fig)


# ----------------------------------------------------------------------------- seizure


def test_seizure_figures():
    rows = [
        {
            "label": "rec1",
            "duration": 7200.0,
            "reference": np.array([[100.0, 160.0]]),
            "hypothesis": np.array([[110.0, 150.0], [3000.0, 3040.0]]),
        },
        {
            "label": "rec2",
            "duration": 3600.0,
            "reference": np.zeros((0, 2)),
            "hypothesis": np.zeros((0, 2)),
        },
    ]
    fig = plot_event_timeline(rows)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["rec2", "rec1"]
    assert len(ax.collections) == 3  # one broken_barh per event
    _render(fig)

    onsets = np.arange(0.0, 600.0, 2.0)
    proba = np.clip(np.sin(onsets / 60.0), 0, 1)
    trace = {
        "onsets": onsets,
        "window": 4.0,
        "proba": proba,
        "reference": np.array([[60.0, 120.0]]),
        "hypothesis": np.array([[70.0, 110.0]]),
        "recording_id": "rec1",
        "subject": "s1",
    }
    fig = plot_probability_trace(trace, 0.5, 3)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 4  # raw, smoothed, threshold, one detected event
    _render(fig)


# ----------------------------------------------------------------------------- statistics, fmri


def test_plot_learning_curves_thin_lines_and_means():
    curves = [
        {"train_loss": [1.0, 0.8, 0.6], "valid_loss": [1.1, 0.9]},
        {"train_loss": [1.2, 0.7], "valid_loss": [1.0, 0.95, 0.9]},
    ]
    fig = plot_learning_curves(curves)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 2 * (2 + 1)  # per key: one per fit and the mean
    mean_train = ax.get_lines()[2].get_ydata()
    np.testing.assert_allclose(mean_train, [1.1, 0.75, 0.6])
    _render(fig)


def test_fmri_encoding_figures():
    rng = np.random.default_rng(0)
    norms = {"ridge": rng.uniform(0, 1.2, 50), "mlp": np.r_[rng.uniform(0, 1.2, 49), np.nan]}
    fig = plot_ceiling_normalized_scores(norms)
    (ax,) = fig.axes
    assert len(ax.patches) == 2 and len(ax.get_lines()) == 1  # two outlines, the ceiling
    _render(fig)

    r = rng.uniform(-0.1, 0.6, 40)
    fig = plot_encoder_comparison(r, r + 0.05, encoder="mlp")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "held-out r, mlp" and len(ax.get_lines()) == 1
    _render(fig)
