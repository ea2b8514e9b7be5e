"""The seizure task end to end on a small copy of examples/seizure_simulated.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurodl.exceptions import ConfigError
from neurodl.workflows import TASKS, parse_config, run_config
from neurodl.workflows.tasks.seizure import SeizureResult, load_recordings, run_seizure
from neurodl.workflows.validate import task_options

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "seizure_simulated.yaml"


def _small_config(**options):
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["data"]["params"].update(n_subjects=3, duration_hours=0.4, n_channels=4)
    cfg["options"]["postprocessing_grid"] = {
        "smooth": [1, 3],
        "threshold": [0.5, 0.8],
        "min_duration": [0, 10],
        "merge_gap": [10],
    }
    cfg["options"]["inner_splits"] = 2
    cfg["options"].update(options)
    return cfg


def test_seizure_task_is_registered():
    assert "seizure" in TASKS
    assert TASKS["seizure"].run is run_seizure and TASKS["seizure"].result is SeizureResult
    # the window classifier is 'model'; protocol and scoring are the task's own
    assert TASKS["seizure"].reads == {"data", "model", "options"}


@pytest.mark.parametrize(
    "section",
    [
        {"evaluation": {"protocol": "leave-one-subject-out"}},
        {"preprocessing": [{"bandpass": {"l_freq": 1.0, "h_freq": 40.0}}]},
    ],
)
def test_sections_the_task_ignores_are_refused(section):
    with pytest.raises(ConfigError, match=r"task 'seizure' does not use the section"):
        parse_config({**_small_config(), **section})


def test_example_config_validates():
    cfg = parse_config(yaml.safe_load(EXAMPLE.read_text()))
    assert cfg.task == "seizure"
    opts = task_options(cfg)
    assert opts.fa_budget == 1.0 and opts.pre_tolerance == 30


def test_small_example_runs_and_writes_results(tmp_path):
    cfg = parse_config(_small_config())
    out = tmp_path / "out"
    res = run_config(cfg, out, config_text=EXAMPLE.read_text())
    results = json.loads((out / "results.json").read_text())
    for key in ("sensitivity", "precision", "f1", "fa_per_24h", "latency_s", "auroc"):
        assert key in results
    assert results["protocol"] == "leave-one-subject-out"
    assert results["n_subjects"] == 3 and len(results["per_subject"]) == 3
    # The planted seizures are large rhythmic discharges: the detector finds most of them.
    assert results["auroc"] > 0.8
    assert results["sensitivity"] >= 0.5
    assert results["n_reference_events"] >= 3
    # Consistency: headline sensitivity is the mean of the per-subject values.
    per = [r["sensitivity"] for r in results["per_subject"] if r["sensitivity"] is not None]
    assert results["sensitivity"] == pytest.approx(np.mean(per))
    html = (out / "report.html").read_text()
    assert "Event timeline" in html and "Probability trace" in html
    assert "Per-subject metrics" in html
    # the table's columns in words, not results.json keys
    assert "false alarms per 24 h" in html and "latency (s)" in html and "fa_per_24h" not in html
    assert res.results["task"] == "seizure"
    # the typed result is what results.json holds, and reads back unchanged
    assert isinstance(res.result, SeizureResult)
    assert SeizureResult.from_dict(results) == res.result
    assert SeizureResult.from_dict(res.result.to_dict()).to_dict() == res.result.to_dict()
    assert results["metric"] == "event_f1" and results["score_mean"] == results["f1"]
    assert results["n_splits"] == 3 and results["data_hash"]
    assert any("reference events detected" in line for line in res.result.summary_lines())


def test_fixed_postprocessing_skips_tuning(tmp_path):
    cfg = parse_config(
        _small_config(postprocessing={"smooth": 3, "threshold": 0.6, "min_duration": 6})
    )
    cfg.report.enabled = False
    res = run_config(cfg, None)
    for ev in res.results["events"]:
        assert ev["postprocessing"] == {
            "smooth": 3,
            "threshold": 0.6,
            "min_duration": 6.0,
            "merge_gap": 0.0,
        }


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"objective": "accuracy"}, "objective"),
        ({"window": -1.0}, "window"),
        ({"unknown_key": 1}, "unknown_key"),
    ],
)
def test_bad_options_are_rejected(options, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_small_config(**options))


def test_bad_postprocessing_value_names_it():
    cfg = parse_config(_small_config(postprocessing={"smooth": 3, "threshold": 2.0}))
    with pytest.raises(ConfigError, match="threshold"):
        run_config(cfg, None)


def test_decoding_samples_are_refused():
    cfg = _small_config()
    cfg["data"]["to_samples"] = {"windows": {"window": 4.0, "stride": 4.0}}
    with pytest.raises(Exception, match="continuous recordings"):
        run_config(parse_config(cfg), None)


@pytest.mark.realdata
def test_real_edf_with_annotation_files(shared_data, tmp_path):
    """Data path on real files: an EDF read by neurodl.io.read, annotations from its EDF+
    events (renamed by label_map) and from the CHB-MIT .seizures file (chb06_04.edf itself is
    not in the data subset, so its seizures at 327 s and 6211 s fall after this 125 s EDF and
    are dropped; a CSV annotation table shows the attach path)."""
    from neurodl.analyses.seizure import prepare_recording

    edf = shared_data("eeg/eegmmidb_S001/S001R04.edf")
    seizures = shared_data("eeg/mne_testing_subset/wfdb/chb06_04.edf.seizures")
    base = {"task": "seizure", "data": {"source": "file", "path": str(edf)}}
    cfg = parse_config({**base, "options": {"annotations": str(seizures)}})
    (rec,) = load_recordings(cfg, task_options(cfg))[0]
    assert rec.sfreq == 160.0 and rec.duration == pytest.approx(125.0)
    assert "seizure" not in rec.annotations.unique_labels()  # both start after the end

    table = tmp_path / "events.csv"
    table.write_text("onset,duration,label\n30.0,20.0,seizure\n200.0,10.0,seizure\n")
    cfg = parse_config(
        {**base, "options": {"annotations": str(table), "label_map": {"T2": "other"}}}
    )
    (rec,) = load_recordings(cfg, task_options(cfg))[0]
    sz = rec.annotations.select("seizure")
    assert sz.onset.tolist() == [30.0] and sz.duration.tolist() == [20.0]
    assert (
        "other" in rec.annotations.unique_labels() and "T2" not in rec.annotations.unique_labels()
    )
    rw = prepare_recording(rec, window=2.0, stride=1.0)
    # Grid windows (onsets 0, 1, 2... s) whose centre lies in [30, 50): centres 30..49 -> 20.
    assert rw.labels.sum() == 20
    np.testing.assert_allclose(rw.reference, [[30.0, 50.0]])
