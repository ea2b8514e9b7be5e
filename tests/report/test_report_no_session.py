"""Data without session information (the placeholder session ``"0"`` on every sample) never
show ``"session 0"`` to the user: fold labels, the score-per-block table and the data summary
name subject and run only; two real sessions are still named."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from neurodl.cli.main import main
from neurodl.data import EpochsDataset, has_sessions
from neurodl.data.simulate.eeg import simulate_motor_imagery
from neurodl.workflows.tasks._report_labels import describe_folds
from neurodl.workflows.tasks.decoding_report import _block_name


def test_has_sessions_tells_the_placeholder_from_real_sessions():
    assert not has_sessions(EpochsDataset(np.zeros((4, 2, 10))).metadata)  # the default
    assert not has_sessions(pd.DataFrame({"subject": ["1", "2"]}))  # no column at all
    assert not has_sessions(pd.DataFrame({"session": [0, 0, 0]}))  # "0" as a number
    assert has_sessions(pd.DataFrame({"session": ["1", "1"]}))
    assert has_sessions(pd.DataFrame({"session": ["0", "1"]}))  # numbered from 0: real


def test_fold_labels_without_sessions_name_subject_and_run():
    md = pd.DataFrame(
        {"subject": ["01"] * 4 + ["02"] * 4, "session": ["0"] * 8, "run": ["1", "1", "2", "2"] * 2}
    )
    folds = [np.flatnonzero((md.subject == s) & (md.run == r)) for s in ("01", "02") for r in "12"]
    labels = describe_folds(md, folds)
    assert labels == [
        "subject 01, run 1",
        "subject 01, run 2",
        "subject 02, run 1",
        "subject 02, run 2",
    ]
    # two real sessions are named
    md["session"] = ["1", "1", "2", "2"] * 2
    assert describe_folds(md, folds)[0] == "subject 01, session 1, run 1"


def test_block_names_without_sessions():
    assert _block_name("S001/0", "within-session", sessions=False) == "subject S001"
    assert _block_name("S001/2", "within-session") == "subject S001, session 2"


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


@pytest.fixture(scope="module")
def epoch_files(tmp_path_factory):
    """Four -epo.fif files, S001/S002 x 2 recordings each, with no session in their metadata."""
    folder = tmp_path_factory.mktemp("no_session")
    ds = simulate_motor_imagery(
        n_subjects=2, n_sessions=2, n_trials=30, n_channels=6, seed=0, effect_size=0.8
    )
    for (subject, rec), idx in ds.metadata.groupby(["subject", "session"]).groups.items():
        part = ds.subset(np.asarray(idx))
        epochs = EpochsDataset(part.X, part.y, None, part.sfreq, part.ch_names, part.classes)
        epochs = epochs.to_mne()
        epochs.metadata = None  # the file says nothing about sessions
        epochs.save(folder / f"S0{subject}R0{rec}-epo.fif", verbose="error")
    return folder


def _run(folder, pattern, out):
    cfg = {
        "task": "decoding",
        "name": "sessions",
        "seed": 0,
        "data": {"source": "files", "files": [f"{folder}/S*-epo.fif"], "pattern": pattern},
        "model": {"name": "csp_lda"},
        "evaluation": {
            "protocol": "within-session",
            "protocol_params": {"n_splits": 3},
            "metric": "balanced_accuracy",
            "n_permutations": 0,
            "n_boot": 20,
        },
    }
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, err = _cli(["-q", "run", str(path), "--out", str(out)])
    assert code == 0, err
    return json.loads((out / "results.json").read_text()), (out / "report.html").read_text()


def test_decoding_run_without_sessions_never_says_session_0(epoch_files, tmp_path):
    res, html = _run(epoch_files, "{subject}R{run}-epo", tmp_path / "runs")
    assert set(res["fold_blocks"]) == {"S001/0", "S002/0"}  # the placeholder is still there
    assert res["fold_labels"][0] == "subject S001, runs 01, 02 (fold 1 of 3)"
    assert not any("session" in label for label in res["fold_labels"])
    assert "session 0" not in html
    assert "<tr><td>subject S001</td>" in html  # the score-per-block table


def test_decoding_run_with_two_sessions_names_them(epoch_files, tmp_path):
    res, html = _run(epoch_files, "{subject}R{session}-epo", tmp_path / "sessions")
    assert set(res["fold_blocks"]) == {"S001/01", "S001/02", "S002/01", "S002/02"}
    assert res["fold_labels"][0] == "subject S001, session 01 (fold 1 of 3)"
    assert "<tr><td>subject S001, session 02</td>" in html
