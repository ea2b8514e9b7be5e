"""The neural fMRI decoder (MLP on voxels) runs through the decoding task beside a linear baseline."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from neurodl.workflows import parse_config, run_config
from neurodl.workflows.validate import task_options

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["haxby_face_vs_house_mlp", "haxby_8way_mlp"])
def test_neural_fmri_examples_validate(name):
    cfg = parse_config(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))
    assert cfg.model.name == "mlp" and cfg.evaluation.protocol == "leave-one-run-out"
    assert task_options(cfg).baseline.name == "lda"


@pytest.mark.realdata
def test_mlp_on_haxby_voxels_beside_lda(shared_data, tmp_path):
    raw = yaml.safe_load((EXAMPLES / "haxby_face_vs_house_mlp.yaml").read_text())
    raw["data"]["data_root"] = str(shared_data("fmri").parent)
    raw["model"]["params"].update(max_epochs=5)
    raw["evaluation"]["n_boot"] = 200
    res = run_config(parse_config(raw), tmp_path / "out").results
    assert res["model"] == "mlp" and res["n_splits"] == 12  # one fold per run
    assert res["score_ci"][0] <= res["score_mean"] <= res["score_ci"][1]
    assert res["score_mean"] > 0.8  # face vs house is easy: far above chance 0.5
    base = res["models"][res["baseline"]]
    assert res["baseline"] == "lda" and base["score_mean"] > 0.95
    # cost beside every score: fit time per fold and predict time per sample, model and baseline
    for r in (res, res["models"]["mlp"], base):
        assert 0 < r["predict_time_s_per_sample"] < r["fit_time_s_per_fold"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "predict ms/sample" in html and "fit s/fold" in html
