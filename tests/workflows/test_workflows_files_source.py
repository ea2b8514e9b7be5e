"""``data.source: files`` and the epochs sampler in MNE's names (issue 13, item 3).

Raw EEGMMIDB EDF runs 4/8/12 listed in a config (run from the file names, epochs cut with
``event_id``/``tmin``/``tmax``) give the same samples and the same leave-one-run-out scores as
the named-dataset loader; each epoch is its own segment.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from neurodl.workflows import parse_config, run_config
from neurodl.workflows.data import load_samples
from neurodl.workflows.files import file_entities


@pytest.mark.parametrize(
    ("name", "pattern", "expected"),
    [
        (
            "sub-01_ses-2_task-mi_run-03_eeg.edf",
            None,
            {"subject": "01", "session": "2", "run": "03"},
        ),
        ("S001R04.edf", "{subject}R{run}", {"subject": "S001", "run": "04"}),
        ("bold.nii.gz", None, {}),
    ],
)
def test_file_entities(name, pattern, expected):
    assert file_entities(name, pattern) == expected


def test_file_entities_refuses_a_name_that_does_not_match():
    from neurodl.exceptions import ConfigError

    with pytest.raises(ConfigError, match="does not match"):
        file_entities("S001R04.edf", "sub{subject}_run{run}")
    with pytest.raises(ConfigError, match=r"unknown field \{task\}"):
        file_entities("S001R04.edf", "{task}R{run}")


def _folder() -> Path:
    root = os.environ.get("NEURODL_DATA")
    if not root or not Path(root, "eeg", "eegmmidb_S001").is_dir():
        pytest.skip("NEURODL_DATA with eeg/eegmmidb_S001 not available")
    return Path(root, "eeg", "eegmmidb_S001")


EVALUATION = {"protocol": "leave-one-run-out", "n_permutations": 0, "n_boot": 0}


@pytest.mark.realdata
def test_raw_edf_runs_match_the_named_dataset_loader():
    folder = _folder()
    sfreq = 160.0
    raw = parse_config(
        {
            "data": {
                "source": "files",
                "files": [str(folder / "S001R0[48].edf"), str(folder / "S001R12.edf")],
                "pattern": "{subject}R{run}",
                # the loader's window is [0.5, 2.5) s: MNE's tmax is inclusive, so one sample less
                "to_samples": {
                    "epochs": {"event_id": {"T1": 0, "T2": 1}, "tmin": 0.5, "tmax": 2.5 - 1 / sfreq}
                },
            },
            "model": {"name": "csp_lda"},
            "evaluation": EVALUATION,
        }
    )
    named = parse_config(
        {
            "data": {
                "source": "dataset",
                "dataset": "eegmmidb-s001",
                "data_root": str(folder.parent.parent),
                "params": {"task": "imagery_lr", "tmin": 0.5, "tmax": 2.5},
            },
            "model": {"name": "csp_lda"},
            "evaluation": EVALUATION,
        }
    )
    a, _ = load_samples(raw.data)
    b, _ = load_samples(named.data)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.metadata["run"].astype(int).tolist() == b.metadata["run"].astype(int).tolist()
    assert a.metadata["segment"].nunique() == a.n_samples == 45  # one segment per epoch
    ra, rb = run_config(raw).result, run_config(named).result
    assert ra.n_splits == rb.n_splits == 3
    np.testing.assert_allclose(ra.fold_scores, rb.fold_scores)
    assert ra.score_mean == pytest.approx(rb.score_mean)


@pytest.mark.realdata
def test_epochs_sampler_picks_and_rejects_like_mne():
    import mne

    edf = _folder() / "S001R04.edf"
    base = {"source": "file", "path": str(edf)}
    epochs = {"event_id": {"T1": 0, "T2": 1}, "tmin": 0.0, "tmax": 1.0}
    picked, _ = load_samples(
        parse_config(
            {"data": {**base, "to_samples": {"epochs": {**epochs, "picks": ["C3..", "C4.."]}}}}
        ).data
    )
    assert picked.ch_names == ["C3..", "C4.."] and picked.X.shape[1] == 2
    # oracle: mne.Epochs with the same reject threshold drops the same number of epochs
    limit = 300e-6  # mne.Epochs keeps 6 of the 15 T1/T2 epochs of this run
    kept, _ = load_samples(
        parse_config(
            {"data": {**base, "to_samples": {"epochs": {**epochs, "reject": {"eeg": limit}}}}}
        ).data
    )
    raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
    events, ids = mne.events_from_annotations(raw, verbose="error")
    ref = mne.Epochs(
        raw,
        events,
        {k: ids[k] for k in ("T1", "T2")},
        0.0,
        1.0,
        baseline=None,
        reject={"eeg": limit},
        preload=True,
        verbose="error",
    )
    assert kept.n_samples == len(ref) == 6
    assert kept.info["rejection"]["n_dropped"] == 15 - len(ref)
