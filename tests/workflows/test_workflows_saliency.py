"""Decoding report pieces: saliency of the refitted model and per-pair decoding scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from neurodl.analyses.decoding import make_decoder, pairwise_scores
from neurodl.evaluation import cross_validate, get_protocol
from neurodl.exceptions import ConfigError
from neurodl.report import check_report_offline
from neurodl.workflows import parse_config, run_config
from neurodl.workflows.data import load_samples

SHALLOW = {
    "name": "shallow",
    "params": {
        "model_params": {
            "filter_time_length": 9,
            "pool_time_length": 16,
            "pool_time_stride": 8,
            "n_filters_time": 8,
            "n_filters_spat": 8,
        },
        "max_epochs": 3,
        "batch_size": 16,
        "device": "cpu",
        "num_threads": 1,
    },
}


def _raw(model=None, n_classes=2, options=None, n_channels=8, **sim):
    return {
        "task": "decoding",
        "name": "tiny",
        "data": {
            "source": "simulate",
            "simulator": "motor_imagery",
            "params": {
                "n_subjects": 1,
                "n_sessions": 1,
                "n_trials": 30 if n_classes == 2 else 36,
                "n_channels": n_channels,
                "sfreq": 64.0,
                "trial_duration": 1.0,
                "effect_size": 0.8,
                "n_classes": n_classes,
                **sim,
            },
        },
        "model": model or {"name": "lda"},
        "evaluation": {
            "protocol": "within-session",
            "protocol_params": {"n_splits": 3},
            "n_permutations": 0,
            "n_boot": 0,
        },
        "options": options or {},
    }


def test_network_run_has_topomap_and_time_profile(tmp_path):
    run_config(parse_config(_raw(SHALLOW)), tmp_path / "out")
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    sal = res["saliency"]
    assert sal["method"] == "integrated_gradients" and sal["fit"] == "refitted on all samples"
    assert len(sal["channel"]) == len(sal["channels"]) == 8
    assert len(sal["time"]) == len(sal["times"]) == 64 and sal["time_unit"] == "s"
    ds, _ = load_samples(parse_config(_raw(SHALLOW)).data)
    assert sal["times"][0] == pytest.approx(ds.info.get("tmin", 0.0))
    assert sal["times"][1] - sal["times"][0] == pytest.approx(1 / 64)
    assert sal["freqs"][-1] == pytest.approx(32.0)
    shares = [t["share"] for t in sal["top_channels"]]
    assert len(shares) == 5 and shares == sorted(shares, reverse=True)
    assert sal["top_channels"][0]["channel"] == sal["channels"][int(np.argmax(sal["channel"]))]
    assert res["pairwise"] is None  # two classes: no pairwise table
    html = (tmp_path / "out" / "report.html").read_text()
    assert check_report_offline(html, allow_links=False) == []
    for text in ("Saliency", "Channel importance", "Attribution over time and frequency"):
        assert text in html
    assert "Top channels" in html and "Pairwise decoding" not in html
    assert f"Most important channels: {sal['top_channels'][0]['channel']} (" in html
    # sanity checks (Adebayo et al. 2018): cascading model randomisation, then the label refit
    checks = sal["checks"]
    assert [c["check"] for c in checks][-1] == "label randomisation"
    model_rows = [c for c in checks if c["check"] == "model randomisation"]
    assert len(model_rows) >= 2 and model_rows[-1]["step"] == "all layers"
    assert [c["final"] for c in model_rows] == [False] * (len(model_rows) - 1) + [True]
    assert sal["sanity_verdict"] in ("pass", "fail", "undefined")
    for c in checks:
        assert c["verdict"] == ("fail" if c["rank_correlation"] > 0.5 else "pass")
    assert "Sanity checks of the saliency map" in html
    # the network refitted with the next seed: stability of the map across seeds
    assert -1.0 <= sal["stability_seeds"] <= 1.0
    assert "Stability across seeds" in html


BANDPOWER = [
    {"bandpass": {"l_freq": 6.0, "h_freq": 30.0}},
    {"log_bandpower": {"bands": [[8.0, 13.0], [13.0, 20.0], [20.0, 30.0]]}},
]
MLP = {
    "name": "mlp",
    "params": {"n_hidden": 8, "max_epochs": 3, "validation_fraction": 0.0, "num_threads": 1},
}


@pytest.mark.parametrize(
    ("model", "method"), [(MLP, "integrated_gradients"), (None, "permutation")]
)
def test_band_power_features_fold_back_onto_electrodes(tmp_path, model, method):
    raw = _raw(model, options={"saliency": True})
    raw["preprocessing"] = BANDPOWER
    run_config(parse_config(raw), tmp_path / "out")
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    sal = res["saliency"]
    ds, _ = load_samples(parse_config(raw).data)
    assert sal["method"] == method and sal["channels"] == ds.ch_names  # 8 electrodes, not 24
    assert len(sal["channel"]) == 8
    if method == "integrated_gradients":
        assert sal["bands"] == ["8-13 Hz", "13-20 Hz", "20-30 Hz"]
        # per-channel and per-band sums of the same 24 feature values
        assert sum(sal["channel"]) == pytest.approx(sum(sal["band"]))
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Channel importance" in html
    assert ("Band importance" in html) == (method == "integrated_gradients")


def test_classical_run_skips_saliency_unless_asked(tmp_path):
    run_config(parse_config(_raw()), tmp_path / "a")
    res = json.loads((tmp_path / "a" / "results.json").read_text())
    assert res["saliency"] is None
    assert "Saliency" not in (tmp_path / "a" / "report.html").read_text()
    run_config(parse_config(_raw(options={"saliency": True})), tmp_path / "b")
    sal = json.loads((tmp_path / "b" / "results.json").read_text())["saliency"]
    assert sal["method"] == "permutation" and len(sal["channel"]) == 8
    assert "drop" in sal["top_channels"][0]
    assert "Channel importance" in (tmp_path / "b" / "report.html").read_text()
    # LDA has weights: model randomisation (random coef_) and the label refit
    assert [c["check"] for c in sal["checks"]] == ["model randomisation", "label randomisation"]
    assert sal["stability_seeds"] is None  # LDA has no seed
    raw = _raw(options={"saliency": True, "saliency_checks": False})
    sal = run_config(parse_config(raw), None).results["saliency"]
    assert sal.get("checks") is None and sal.get("sanity_verdict") is None


def test_network_saliency_can_be_switched_off(tmp_path):
    res = run_config(parse_config(_raw(SHALLOW, options={"saliency": False})), None).results
    assert res["saliency"] is None


def test_three_classes_pairwise_cv_table(tmp_path):
    run_config(parse_config(_raw(n_classes=3)), tmp_path / "out")
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    pw = res["pairwise"]
    assert pw["method"] == "cv" and len(pw["pairs"]) == 3 and pw["chance_level"] == 0.5
    assert pw["classes"] == res["classes"]
    m = np.array([[np.nan if v is None else v for v in row] for row in pw["matrix"]])
    assert np.isnan(np.diag(m)).all() and np.allclose(m, m.T, equal_nan=True)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Pairwise decoding" in html and "binary CV per pair" in html
    worst = min(pw["pairs"], key=lambda r: r["score"])
    assert f"Hardest pair: {worst['a']} vs {worst['b']} ({worst['score']:.2f})" in html
    assert "Confusion matrix" in html


def test_pairwise_cv_matches_an_independent_binary_cv():
    cfg = parse_config(_raw(n_classes=3))
    ds, _ = load_samples(cfg.data, seed=cfg.seed)
    est = make_decoder(cfg.model.name, cfg.model.params, seed=cfg.seed, sfreq=ds.sfreq)
    protocol = get_protocol("within-session", n_splits=3)
    cv = cross_validate(est, ds, protocol, "balanced_accuracy", seed=0)
    pw = pairwise_scores(cv, ds, "cv", estimator=est, protocol=protocol, seed=0)
    # oracle: the same binary CV run by hand on classes 0 and 2
    sub = ds.subset(np.isin(ds.y, [0, 2]))
    ref = cross_validate(est, sub, protocol, "balanced_accuracy", seed=0).score
    assert pw["matrix"][0, 2] == pytest.approx(ref)
    rec = next(r for r in pw["pairs"] if (r["a"], r["b"]) == (ds.classes[0], ds.classes[2]))
    assert rec["n_samples"] == int(np.isin(ds.y, [0, 2]).sum())


def test_pairwise_from_predictions_matches_a_hand_computation():
    cfg = parse_config(_raw(n_classes=3))
    ds, _ = load_samples(cfg.data, seed=cfg.seed)
    est = make_decoder(cfg.model.name, cfg.model.params, seed=cfg.seed, sfreq=ds.sfreq)
    cv = cross_validate(est, ds, get_protocol("within-session", n_splits=3), seed=0)
    pw = pairwise_scores(cv, ds, "predictions")
    assert pw["method"] == "predictions"
    keep = np.isin(cv.y_true, [1, 2])
    pred = np.where(cv.y_score[keep, 1] >= cv.y_score[keep, 2], 1, 2)
    expected = balanced_accuracy_score(cv.y_true[keep], pred)
    assert pw["matrix"][1, 2] == pytest.approx(expected)
    # without probabilities only the samples predicted as one of the two classes count
    cv.y_score = None
    pw2 = pairwise_scores(cv, ds, "predictions")
    both = keep & np.isin(cv.y_pred, [1, 2])
    assert pw2["pairs"][2]["n_samples"] == int(both.sum())
    assert pw2["matrix"][1, 2] == pytest.approx(
        balanced_accuracy_score(cv.y_true[both], cv.y_pred[both])
    )
    with pytest.raises(ConfigError, match=r"'pairwise'"):
        pairwise_scores(cv, ds, "bootstrap")


def test_network_multiclass_uses_predictions(tmp_path):
    raw = _raw(SHALLOW, n_classes=3, options={"saliency": False})
    res = run_config(parse_config(raw), tmp_path / "out").results
    assert res["pairwise"]["method"] == "predictions"
    assert "from multi-class predictions" in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.parametrize(
    ("options", "match"),
    [({"saliency": "yes"}, "options.saliency"), ({"pairwise": "all"}, "options.pairwise")],
)
def test_bad_options(options, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_raw(options=options))


def test_bonn_like_single_channel_falls_back_to_bars():
    from neurodl.report.figures import channel_positions, plot_channel_importance

    assert channel_positions(["ch"])[0] is None
    assert plot_channel_importance([0.3], ["ch"]).neurodl_kind == "bars"
    names = ["Fc5", "C3", "Cz", "C4", "Pz"]  # EEGMMIDB spelling, matched case-insensitively
    info, picks = channel_positions(names)
    assert picks.tolist() == [0, 1, 2, 3, 4] and info.ch_names == names
    assert plot_channel_importance(np.arange(5.0), names).neurodl_kind == "topomap"
    assert plot_channel_importance(np.arange(5.0), names, montage=None).neurodl_kind == "bars"


@pytest.mark.parametrize("model", ["mlp", "ridge"])
def test_saliency_of_a_regression(model):
    from neurodl.analyses.decoding import make_decoder, saliency
    from neurodl.data import EpochsDataset

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4, 16))
    y = 2.0 * X[:, 1].mean(axis=1)  # only channel "b" carries the target
    ds = EpochsDataset(X, y, sfreq=16.0, ch_names=list("abcd"))
    params = {"task": "regression", "max_epochs": 30, "lr": 0.02, "validation_fraction": 0.0}
    raw = _raw({"name": model, "params": params if model == "mlp" else {}})
    raw["evaluation"]["metric"] = "r2"
    cfg = parse_config(raw)
    est = make_decoder(cfg.model.name, cfg.model.params, seed=cfg.seed, sfreq=ds.sfreq)
    sal = saliency(est, ds, metric="r2", seed=cfg.seed, neural=model == "mlp")
    assert sal["method"] == ("integrated_gradients" if model == "mlp" else "permutation")
    assert sal["top_channels"][0]["channel"] == "b"
    assert "r2" in sal["unit"] or "first output" in sal["description"]


@pytest.mark.realdata
def test_haxby_pairwise_table(shared_data, tmp_path):
    from pathlib import Path

    import yaml

    examples = Path(__file__).resolve().parents[2] / "examples"
    raw = yaml.safe_load((examples / "haxby_8way.yaml").read_text())
    raw["data"]["data_root"] = str(shared_data("fmri").parent)
    raw["evaluation"].update(n_permutations=0, n_boot=0)
    # four of the eight categories keep the test fast: 6 pairwise CVs instead of 28
    raw["data"]["to_samples"]["fmri_samples"]["labels"] = ["cat", "face", "house", "shoe"]
    res = run_config(parse_config(raw), tmp_path / "out").results
    pw = res["pairwise"]
    assert pw["method"] == "cv" and len(pw["pairs"]) == 6
    assert pw["classes"] == ["cat", "face", "house", "shoe"]
    score = {frozenset((r["a"], r["b"])): r["score"] for r in pw["pairs"]}
    assert score[frozenset(("face", "house"))] >= 0.98  # issue 5's face vs house floor
    assert min(score.values()) > 0.5  # every pair above chance
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Per-pair decoding (binary CV per pair)" in html
    assert "easiest: face vs house (1.00)" in html or "Hardest pair" in html


def test_fmri_voxel_saliency_map_lands_in_the_planted_roi(tmp_path):
    from neurodl.data.simulate import simulate_fmri

    params = {
        "n_runs": 4,
        "n_categories": 2,
        "shape": [8, 8, 4],
        "n_blocks_per_category": 3,
        "effect_size": 2.0,
    }
    raw = {
        "data": {
            "source": "simulate",
            "simulator": "fmri",
            "params": params,
            "to_samples": {"fmri_samples": {"kind": "volumes", "delay": 4.0}},
        },
        "model": {
            "name": "mlp",
            "params": {"n_hidden": 16, "max_epochs": 20, "lr": 3e-3, "num_threads": 1},
        },
        "evaluation": {"protocol": "leave-one-run-out", "n_permutations": 0, "n_boot": 0},
    }
    res = run_config(parse_config(raw), tmp_path / "out").results
    sal = res["saliency"]
    roi = simulate_fmri(seed=0, **params).info["ground_truth"]["roi"]
    top = [tuple(int(v) for v in t["channel"].strip("()").split(", ")) for t in sal["top_channels"]]
    assert sum(bool(roi[ijk]) for ijk in top) >= 4  # the ROI holds 35% of the mask's voxels
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Voxel importance" in html and "Channel importance" not in html


def test_results_keep_only_the_top_of_a_large_saliency():
    from neurodl.analyses.decoding import SALIENCY_MAX_STORED
    from neurodl.analyses.decoding import trim_saliency as _results_saliency

    big = {"channel": np.ones(SALIENCY_MAX_STORED + 1), "channels": ["x"] * 257, "top_channels": []}
    out = _results_saliency(big)
    assert "channel" not in out and out["n_channels"] == SALIENCY_MAX_STORED + 1
    small = {"channel": np.ones(3), "channels": list("abc"), "top_channels": []}
    assert _results_saliency(small) is small and _results_saliency(None) is None
