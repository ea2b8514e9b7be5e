"""The EEG decoding example configs (examples/bonn_*.yaml, examples/eegmmidb_*.yaml).

Each real-data test runs the example as written except for fewer permutations and bootstrap
resamples, and checks the score against the floor measured on these files (issue 4).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurodl.workflows import load_config, parse_config, run_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: example -> (classes, lowest acceptable balanced accuracy). The floors sit below the issue's
#: reference numbers (A vs E 0.997, E vs ABCD 0.95-0.97, 5-class 0.75-0.77, EEGMMIDB left/right
#: 0.66 averaged over CV seeds) by a margin for seed-to-seed spread, far above chance.
EXPECTED = {
    "bonn_a_vs_e": (["A", "E"], 0.97),
    "bonn_e_vs_abcd": (["E", "ABCD"], 0.92),
    "bonn_5class": (["A", "B", "C", "D", "E"], 0.70),
    "eegmmidb_imagery_lr": (["left_fist", "right_fist"], 0.55),
    "eegmmidb_imagery_fists_feet": (["both_fists", "both_feet"], 0.55),
}


def _fast_copy(name: str, data_root: Path) -> dict:
    """The example's config with fewer permutations/resamples and an explicit data root."""
    raw = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    raw["data"]["data_root"] = str(data_root)
    raw["evaluation"].update(n_permutations=4, n_boot=200)
    return raw


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_configs_validate(name):
    cfg = load_config(EXAMPLES / f"{name}.yaml")
    assert cfg.task == "decoding"
    assert cfg.data.source == "dataset"
    assert cfg.evaluation.metric == "balanced_accuracy"
    # leakage-safe protocols: Bonn windows grouped by segment, EEGMMIDB within its one session
    if name.startswith("bonn"):
        assert cfg.evaluation.protocol == "grouped-kfold"
        assert cfg.evaluation.protocol_params["group_by"] == "segment"
    else:
        assert cfg.evaluation.protocol == "within-session"


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_on_real_data(name, shared_data, tmp_path):
    root = shared_data("eeg").parent
    cfg = parse_config(_fast_copy(name, root))
    run = run_config(cfg, tmp_path / "out", config_text=(EXAMPLES / f"{name}.yaml").read_text())
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert (tmp_path / "out" / "report.html").is_file()
    classes, floor = EXPECTED[name]
    assert res["classes"] == classes
    assert res["score_mean"] >= floor, (name, res["score_mean"])
    lo, hi = res["score_ci"]
    assert lo <= res["score_mean"] <= hi
    assert 0.0 < res["p_value"] <= 1.0 and res["n_permutations"] == 4
    assert res["chance_level"] == pytest.approx(1.0 / len(classes))
    assert run.results["n_splits"] == 5
    if name.startswith("bonn"):
        # every segment's windows sit in one test fold: 4 windows of 1024 per 4097-sample segment
        n_segments = {"bonn_a_vs_e": 200, "bonn_e_vs_abcd": 500, "bonn_5class": 500}[name]
        assert res["n_samples"] == 4 * n_segments


@pytest.mark.realdata
def test_eegmmidb_registry_classes_match_the_reader(shared_data):
    from neurodl.datasets import get_dataset, load_dataset

    root = shared_data("eeg").parent
    entry = get_dataset("eegmmidb-s001")
    for task in ("imagery_lr", "imagery_fists_feet"):
        ds = load_dataset("eegmmidb-s001", data_root=root, task=task, tmin=0.5, tmax=2.5)
        assert set(ds.classes) <= set(entry.classes), (ds.classes, list(entry.classes))
        assert ds.X.shape[1:] == (64, 320)


@pytest.mark.realdata
def test_bonn_merged_sets_keep_the_set_letter(shared_data):
    from neurodl.datasets import load_dataset

    ds = load_dataset("bonn", data_root=shared_data("eeg").parent, sets=["E", "ABCD"], window=4097)
    assert ds.classes == ["E", "ABCD"]
    assert np.bincount(ds.y).tolist() == [100, 400]
    assert sorted(ds.metadata.loc[ds.y == 1, "set"].unique()) == ["A", "B", "C", "D"]


def test_decoding_workflow_gives_the_data_rate_to_models_that_need_it(tmp_path):
    """fbcsp/logbandpower_lr take no sfreq in the config: the workflow passes the data's rate."""
    base = {
        "data": {
            "source": "simulate",
            "simulator": "motor_imagery",
            "params": {"n_subjects": 1, "n_sessions": 1, "n_trials": 40, "n_channels": 8},
        },
        "evaluation": {"protocol": "within-session", "n_permutations": 0, "n_boot": 0},
        "report": {"enabled": False},
    }
    for model, params in [
        ("fbcsp", {"bands": [[8, 12], [18, 26]], "k": 4}),
        ("logbandpower_lr", {}),
    ]:
        cfg = parse_config({**base, "model": {"name": model, "params": params}})
        res = run_config(cfg).results
        assert res["score_mean"] > 0.6, (model, res["score_mean"])  # planted mu/beta ERD


@pytest.mark.realdata
@pytest.mark.parametrize("model", ["csp_lda", "fbcsp", "mdm"])
def test_single_channel_bonn_refuses_spatial_models_clearly(model, shared_data):
    from neurodl.exceptions import DataFormatError

    raw = _fast_copy("bonn_a_vs_e", shared_data("eeg").parent)
    raw["data"]["params"]["window"] = 4097
    raw["model"] = {"name": model}
    raw["evaluation"].update(n_permutations=0, n_boot=0)
    with pytest.raises(DataFormatError, match=f"'{model}' needs at least 2 channels; .* have 1"):
        run_config(parse_config(raw))
