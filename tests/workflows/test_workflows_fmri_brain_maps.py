"""Brain maps of the fMRI tasks: decoder weights as NIfTI on the mask's grid, maps in the report."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurodl.workflows import parse_config, run_config

SIM_FMRI = {
    "source": "simulate",
    "simulator": "fmri",
    "params": {"n_runs": 4, "n_categories": 2, "shape": [6, 6, 3], "n_blocks_per_category": 2},
}
QUICK = {"protocol": "leave-one-run-out", "n_permutations": 0, "n_boot": 0}


def test_decoding_writes_weight_map_and_report_figure(tmp_path):
    cfg = parse_config(
        {
            "data": {**SIM_FMRI, "to_samples": {"fmri_samples": {"kind": "blocks"}}},
            "model": {"name": "lda"},
            "evaluation": QUICK,
        }
    )
    run_config(cfg, tmp_path / "out")
    img = nib.load(str(tmp_path / "out" / "decoder_weights.nii.gz"))
    assert img.shape == (6, 6, 3)
    assert np.count_nonzero(img.get_fdata()) > 0
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Decoder weights on anatomy" in html and "Brain maps" in html
    prov = json.loads((tmp_path / "out" / "results.json").read_text())["provenance"]
    assert [s["step"] for s in prov["cleaning_steps"]] == ["detrend", "standardize"]
    assert prov["brain_maps"] == ["decoder_weights.nii.gz"]


def test_samples_without_a_voxel_grid_or_linear_weights_get_no_brain_map(tmp_path):
    from neurodl.analyses.decoding import make_decoder
    from neurodl.data import EpochsDataset
    from neurodl.workflows.tasks._brain_maps import decoder_weight_map

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    meta = pd.DataFrame({"subject": "1", "run": np.tile(["0", "1"], 20)})
    eeg_like = EpochsDataset(rng.normal(size=(40, 8)), y, meta, None, None, ["a", "b"], {})
    assert decoder_weight_map(make_decoder("lda"), eeg_like, tmp_path) is None
    mask = np.zeros((2, 2, 2), bool)
    mask.flat[:8] = True
    voxels = EpochsDataset(rng.normal(size=(40, 8)), y, meta, None, None, ["a", "b"],
                           {"mask": mask, "affine": np.eye(4)})  # fmt: skip
    assert decoder_weight_map(make_decoder("mlp"), voxels, tmp_path) is None  # no coef_
    assert not (tmp_path / "decoder_weights.nii.gz").exists()
    maps = decoder_weight_map(make_decoder("lda"), voxels, tmp_path)
    assert len(maps) == 1 and maps[0]["title"] == "Decoder weights on anatomy (b vs a)"
    assert nib.load(str(tmp_path / "decoder_weights.nii.gz")).shape == (2, 2, 2)


def test_searchlight_report_shows_the_map_on_anatomy(tmp_path):
    cfg = parse_config(
        {"task": "searchlight", "data": SIM_FMRI, "options": {"radius": 1.5, "kind": "blocks"}}
    )
    run_config(cfg, tmp_path / "out")
    assert "Searchlight map on anatomy" in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.realdata
def test_haxby_face_vs_house_config_with_mask(shared_data, tmp_path):
    """A config as a user writes it: the image, a mask path and a labels table."""
    root = shared_data("fmri/haxby2001_pymvpa")
    labels = pd.read_csv(root / "attributes_literal.txt", sep=" ", header=None,
                         names=["label", "run"])  # fmt: skip
    labels.to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    cfg = parse_config(
        {
            "data": {
                "source": "file",
                "path": str(root / "bold.nii.gz"),
                "params": {
                    "mask": str(root / "mask.nii.gz"),
                    "events": str(tmp_path / "labels.tsv"),
                },
                "to_samples": {"fmri_samples": {"labels": ["face", "house"]}},
            },
            "model": {"name": "lda"},
            "evaluation": QUICK,
        }
    )
    res = run_config(cfg, tmp_path / "out").results
    assert res["n_splits"] == 12 and res["score_mean"] > 0.9  # PyMVPA reference (SVM): 0.981
    mask = nib.load(str(root / "mask.nii.gz"))
    wmap = nib.load(str(tmp_path / "out" / "decoder_weights.nii.gz"))
    assert wmap.shape == mask.shape == (40, 20, 1)
    np.testing.assert_allclose(wmap.affine, mask.affine)
    inside = mask.get_fdata() > 0
    w = wmap.get_fdata()
    assert np.count_nonzero(w[inside]) == 530 and np.all(w[~inside] == 0)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Decoder weights on anatomy (house vs face)" in html


def test_encoding_report_shows_the_map_on_anatomy(tmp_path):
    cfg = parse_config(
        {
            "task": "encoding",
            "data": SIM_FMRI,
            "options": {"n_delays": 4, "test_runs": [4], "segment_length": 8, "cv_folds": 3},
        }
    )
    run_config(cfg, tmp_path / "out")
    assert "Encoding map on anatomy: ridge" in (tmp_path / "out" / "report.html").read_text()
