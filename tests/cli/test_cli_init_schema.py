"""`neurodl config schema` and `neurodl init` (issue 13, item 1): a config you can discover.

The init tests write a starter config from real files (EEGMMIDB EDF runs, the Haxby image with a
labels CSV, an NWB file with a trials table), validate it unedited with `run --check`, and run
shrunk copies (no permutations, no bootstrap) to check the scores are sensible.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from neurodl.cli.main import main


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _flat_keys(d, prefix=""):
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        yield key
        if isinstance(v, dict) and v and k not in ("options", "params", "protocol_params"):
            yield from _flat_keys(v, key)


def test_schema_lists_every_config_key_and_reader_parameters():
    from neurodl.io import read_nifti, read_raw
    from neurodl.workflows import parse_config

    code, out, err = _cli(["config", "schema"])
    assert code == 0, err
    keys = {line.split(":")[0].strip() for line in out.splitlines() if line.startswith("  ")}
    # oracle: every key of a fully defaulted config (pydantic's own dump)
    dumped = parse_config({"data": {"source": "simulate", "simulator": "evoked"}}).model_dump()
    for key in _flat_keys(dumped):
        assert key in keys, key
    # reader parameters from their signatures, with the meaning from their docstrings
    for reader in (read_raw, read_nifti):
        for name in list(inspect.signature(reader).parameters)[1:]:
            assert f"data.params.{name}" in keys
    assert "Repetition time in seconds" in out
    # every task's options, and the epochs sampler in MNE's names
    for key in ("options.baseline", "options.label", "data.to_samples.epochs.event_id"):
        assert key in keys, key
    assert "evaluation.n_jobs: int = 1" in out


def test_schema_for_one_task_and_an_unknown_task():
    code, out, _ = _cli(["config", "schema", "--task", "spike_trial_decoding"])
    assert code == 0
    assert "options.label" in out and "options.baseline" not in out
    assert "  preprocessing:" not in out  # the task does not read preprocessing
    code, _, err = _cli(["config", "schema", "--task", "decodng"])
    assert code == 1 and "Did you mean 'decoding'" in err and "Traceback" not in err


def test_init_never_overwrites(tmp_path):
    target = tmp_path / "config.yaml"
    target.write_text("mine\n")
    code, _, err = _cli(["init", "--data", str(tmp_path / "x.edf"), "--out", str(target)])
    assert code == 1 and "never overwrites" in err
    assert target.read_text() == "mine\n"


def _data() -> Path:
    root = os.environ.get("NEURODL_DATA")
    if not root or not Path(root, "eeg", "eegmmidb_S001").is_dir():
        pytest.skip("NEURODL_DATA with eeg/eegmmidb_S001 not available")
    return Path(root)


def _init_and_check(tmp_path, *init_args):
    cfg = tmp_path / "config.yaml"
    code, out, err = _cli(["init", *init_args, "--out", str(cfg)])
    assert code == 0, err
    code, out, err = _cli(["-q", "run", str(cfg), "--check"])
    assert code == 0, err
    assert "config OK" in out
    return cfg, out


def _run_shrunk(tmp_path, cfg):
    c = yaml.safe_load(cfg.read_text())
    c["evaluation"].update(n_permutations=0, n_boot=0)
    small = tmp_path / "small.yaml"
    small.write_text(yaml.safe_dump(c))
    code, _, err = _cli(["-q", "run", str(small), "--out", str(tmp_path / "out")])
    assert code == 0, err
    return json.loads((tmp_path / "out" / "results.json").read_text())


@pytest.mark.realdata
def test_init_eegmmidb_single_run_checks(tmp_path):
    edf = _data() / "eeg" / "eegmmidb_S001" / "S001R04.edf"
    cfg, out = _init_and_check(tmp_path, "--data", str(edf))
    text = cfg.read_text()
    assert "T0 x15, T1 x8, T2 x7" in text  # the annotation counts, as neurodl info finds them
    assert "event_id: {T1: 0, T2: 1}" in text
    assert "15 samples" in out and "T1: 8, T2: 7" in out


@pytest.mark.realdata
def test_init_eegmmidb_three_runs_leave_one_run_out(tmp_path):
    folder = _data() / "eeg" / "eegmmidb_S001"
    runs = [str(folder / f"S001R{r:02d}.edf") for r in (4, 8, 12)]
    cfg, out = _init_and_check(tmp_path, "--data", *runs)
    c = yaml.safe_load(cfg.read_text())
    assert c["data"]["pattern"] == "{subject}R{run}"
    assert c["evaluation"]["protocol"] == "leave-one-run-out"
    assert "45 samples" in out and "3 folds" in out
    res = _run_shrunk(tmp_path, cfg)
    assert res["n_splits"] == 3
    # imagery left/right: the covariance model and its CSP baseline both above chance
    scores = {k: m["score_mean"] for k, m in res["models"].items()}
    assert set(scores) == {"tangent_space_lr", "csp_lda"}
    assert scores["tangent_space_lr"] > 0.6 and scores["csp_lda"] > 0.55


@pytest.mark.realdata
def test_init_haxby_image_with_labels_csv(tmp_path):
    folder = _data() / "fmri" / "haxby2001_pymvpa"
    table = pd.read_csv(
        folder / "attributes_literal.txt", sep=" ", header=None, names=["label", "run"]
    )
    labels = tmp_path / "labels.csv"  # a labels CSV as a user would have it
    table.to_csv(labels, index=False)
    cfg, out = _init_and_check(
        tmp_path,
        "--data",
        str(folder / "bold.nii.gz"),
        "--labels",
        str(labels),
        "--classes",
        "face,house",
    )
    c = yaml.safe_load(cfg.read_text())
    assert c["data"]["params"]["mask"].endswith("mask.nii.gz")
    assert c["evaluation"]["protocol"] == "leave-one-run-out"
    assert "face: 108, house: 108" in out and "12 folds" in out
    assert _run_shrunk(tmp_path, cfg)["score_mean"] >= 0.95


@pytest.mark.realdata
def test_init_nwb_trials_table(tmp_path):
    nwb = _data() / "spikes" / "pynapple_nwb" / "sub-4_ses-4_ecephys+image.nwb"
    cfg, _ = _init_and_check(tmp_path, "--data", str(nwb))
    c = yaml.safe_load(cfg.read_text())
    assert c["task"] == "spike_trial_decoding"
    # the interval tables are named and one is chosen explicitly, not stacked silently
    assert c["options"]["trials"] == {"column": "table", "values": ["recognition_table"]}
    assert "encoding_table (90)" in cfg.read_text()
    assert c["options"]["label"]["column"] == "stimuli_type"
