"""voxel_cnn through the decoding task: the workflow hands it the samples' mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from neurodl.analyses.decoding import make_decoder
from neurodl.workflows import parse_config, run_config
from neurodl.workflows.data import load_samples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SIM_FMRI = {
    "source": "simulate",
    "simulator": "fmri",
    "params": {
        "n_runs": 4,
        "n_categories": 2,
        "shape": [8, 8, 4],
        "n_blocks_per_category": 3,
        "effect_size": 2.0,
    },
}


@pytest.mark.parametrize("name", ["haxby_face_vs_house_cnn", "haxby_8way_cnn"])
def test_cnn_fmri_examples_validate(name):
    cfg = parse_config(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))
    assert cfg.model.name == "voxel_cnn" and cfg.evaluation.protocol == "leave-one-run-out"
    assert "mask" not in cfg.model.params  # filled from the samples
    assert cfg.task_options().baseline.name == "lda"
    assert cfg.model.params["num_threads"] == 1


def test_samples_carry_their_mask_and_the_estimator_gets_it():
    cfg = parse_config(
        {
            "data": {**SIM_FMRI, "to_samples": {"fmri_samples": {"kind": "volumes"}}},
            "model": {"name": "voxel_cnn", "params": {"max_epochs": 1}},
        }
    )
    ds, _ = load_samples(cfg.data)
    mask = ds.info["mask"]
    assert mask.shape == (8, 8, 4) and int(mask.sum()) == ds.X.shape[1]
    est = make_decoder(cfg.model.name, cfg.model.params, data_info=ds.info)
    assert est.model_params["mask"] is mask
    # models that do not list data_params get nothing extra; configs can override the mask
    assert "mask" not in (make_decoder("mlp", data_info=ds.info).model_params or {})
    own = np.zeros_like(mask)
    cfg_own = cfg.model_copy(deep=True)
    cfg_own.model.params["mask"] = own
    assert make_decoder("voxel_cnn", cfg_own.model.params, data_info=ds.info).model_params["mask"] is own


def test_voxel_cnn_decodes_simulated_fmri_beside_lda(tmp_path):
    cfg = parse_config(
        {
            "data": {**SIM_FMRI, "to_samples": {"fmri_samples": {"kind": "volumes", "delay": 4.0}}},
            "model": {
                "name": "voxel_cnn",
                "params": {
                    "max_epochs": 20,
                    "num_threads": 1,
                    "n_filters": 8,
                    "lr": 3e-3,
                    "dropout": 0.1,
                },
            },
            "evaluation": {"protocol": "leave-one-run-out", "n_permutations": 0, "n_boot": 100},
            "options": {"baseline": {"name": "lda"}},
        }
    )
    res = run_config(cfg, tmp_path / "out").results
    assert res["model"] == "voxel_cnn" and res["n_splits"] == 4
    assert res["score_mean"] > 0.8, res["score_mean"]  # chance 0.5; LDA 0.97 here
    assert res["baseline"] == "lda" and res["models"]["lda"]["name"] == "lda"
    assert (tmp_path / "out" / "report.html").is_file()


@pytest.mark.realdata
def test_voxel_cnn_on_haxby_slice_beside_lda(shared_data, tmp_path):
    raw = yaml.safe_load((EXAMPLES / "haxby_face_vs_house_cnn.yaml").read_text())
    raw["data"]["data_root"] = str(shared_data("fmri").parent)
    raw["model"]["params"].update(max_epochs=5)
    raw["evaluation"]["n_boot"] = 200
    res = run_config(parse_config(raw), tmp_path / "out").results
    assert res["model"] == "voxel_cnn" and res["n_splits"] == 12  # one fold per run
    assert res["score_ci"][0] <= res["score_mean"] <= res["score_ci"][1]
    assert res["score_mean"] > 0.8  # far above chance 0.5
    assert res["baseline"] == "lda" and res["models"]["lda"]["score_mean"] > 0.95
