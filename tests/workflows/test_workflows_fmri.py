"""The searchlight, encoding and time_resolved tasks, and fMRI decoding through the decoding task."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config, run_config
from neurodl.workflows.tasks.encoding import EncodingResult
from neurodl.workflows.tasks.searchlight import SearchlightResult
from neurodl.workflows.tasks.time_resolved import TimeResolvedResult

SIM_FMRI = {
    "source": "simulate",
    "simulator": "fmri",
    "params": {"n_runs": 4, "n_categories": 2, "shape": [6, 6, 3], "n_blocks_per_category": 2},
}


def test_searchlight_task_writes_map(tmp_path):
    cfg = parse_config(
        {"task": "searchlight", "data": SIM_FMRI, "options": {"radius": 1.5, "kind": "blocks"}}
    )
    res = run_config(cfg, tmp_path / "out")
    img = nib.load(str(tmp_path / "out" / "searchlight.nii.gz"))
    assert img.shape == (6, 6, 3)
    assert res.results["score_max"] > 0.75
    assert (tmp_path / "out" / "report.html").is_file()
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert 0.0 <= saved["fraction_above_chance_plus_0.1"] <= 1.0  # the key as before
    assert saved["n_splits"] == 4 and saved["maps"] == ["searchlight.nii.gz"]
    _round_trips(res.result, SearchlightResult)


def _round_trips(result, cls):
    """The typed result survives results.json: from_dict(to_dict()) gives it back."""
    assert isinstance(result, cls)
    back = cls.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result and back.to_dict() == result.to_dict()
    assert result.summary_lines() and all(isinstance(x, str) for x in result.summary_lines())
    assert "properties" in cls.json_schema()


def test_searchlight_refuses_a_model_section():
    with pytest.raises(ConfigError, match=r"'searchlight' does not use the section.*'model'"):
        parse_config({"task": "searchlight", "data": SIM_FMRI, "model": {"name": "lda"}})


def test_encoding_task_scores_and_ceiling(tmp_path):
    cfg = parse_config(
        {
            "task": "encoding",
            "data": SIM_FMRI,
            "options": {"n_delays": 4, "test_runs": [4], "segment_length": 8, "cv_folds": 3},
        }
    )
    run = run_config(cfg, tmp_path / "out")
    res = run.results
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["heldout_r_max"] == pytest.approx(res["heldout_r_max"])
    assert res["score_mean"] == res["heldout_r_median"] and list(res["models"]) == ["ridge"]
    _round_trips(run.result, EncodingResult)
    assert res["heldout_r_max"] > 0.5 and res["test_runs"] == [4]
    for name in ("encoding_r.nii.gz", "noise_ceiling.nii.gz", "normalized_r.nii.gz"):
        assert (tmp_path / "out" / name).is_file()


def test_time_resolved_task_peaks_after_onset():
    cfg = parse_config(
        {
            "task": "time_resolved",
            "data": {"source": "simulate", "simulator": "evoked",
                     "params": {"n_subjects": 1, "n_trials": 80, "effect_size": 3.0}},
            "evaluation": {"n_boot": 50},
            "options": {"window": 0.1, "step": 0.1, "n_folds": 4, "trf_tmin": 0.0, "trf_tmax": 0.5},
        }
    )  # fmt: skip
    run = run_config(cfg, None)
    res = run.results
    _round_trips(run.result, TimeResolvedResult)
    assert res["score_mean"] == res["peak_score"] and res["score_ci"] == res["peak_ci"]
    times = np.asarray(res["times"])
    scores = np.asarray(res["scores"])
    assert res["peak_score"] > 0.7 and res["peak_time"] > 0.1
    assert scores[times < 0].max() < res["peak_score"]
    assert np.all(np.asarray(res["ci_low"]) <= scores + 1e-12)


def test_decoding_task_with_fmri_samples_leave_one_run_out():
    cfg = parse_config(
        {
            "data": {**SIM_FMRI, "to_samples": {"fmri_samples": {"kind": "blocks"}}},
            "model": {"name": "lda"},
            "evaluation": {"protocol": "leave-one-run-out", "n_permutations": 0, "n_boot": 0},
        }
    )
    res = run_config(cfg, None).results
    assert res["n_splits"] == 4 and res["score_mean"] > 0.75


@pytest.mark.realdata
def test_haxby_encoding_floors(shared_data, tmp_path):
    cfg = parse_config(
        {
            "task": "encoding",
            "data": {"source": "dataset", "dataset": "haxby2001-slice",
                     "data_root": str(shared_data("."))},
            "options": {"n_delays": 6, "train_runs": list(range(10)), "test_runs": [10, 11]},
        }
    )  # fmt: skip
    res = run_config(cfg, None).results
    assert res["heldout_r_median"] >= 0.13 and res["heldout_r_max"] >= 0.72
    assert 0.0 < res["normalized_median"] < 1.5
