"""``data.source: files`` with epoched files (``-epo.fif``): one EpochsDataset, decoded as is.

Three subjects' epochs written with MNE carry a planted class effect on channel C3; the config
lists them with a glob, the subject comes from the BIDS-style file name, and a
leave-one-subject-out decoding finds the effect.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config, run_config
from neurodl.workflows.data import load_samples

mne = pytest.importorskip("mne")

EVALUATION = {"protocol": "leave-one-subject-out", "n_permutations": 0, "n_boot": 0}


def _write(folder, subject: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 30
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 4, 40))
    X[y == 1, 0] += 1.0
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 100.0, "eeg")
    events = np.column_stack([100 * np.arange(n), np.zeros(n, int), y + 1])
    epochs = mne.EpochsArray(
        X * 1e-5, info, events, tmin=-0.1, event_id={"left": 1, "right": 2}, verbose="error"
    )
    epochs.save(folder / f"sub-{subject}_task-mi-epo.fif", verbose="error")


def test_epoched_files_are_decoded_across_subjects(tmp_path):
    for seed, subject in enumerate(["01", "02", "03"]):
        _write(tmp_path, subject, seed)
    cfg = parse_config(
        {
            "data": {"source": "files", "files": [str(tmp_path / "sub-*_task-mi-epo.fif")]},
            "model": {"name": "lda"},
            "evaluation": EVALUATION,
        }
    )
    ds, _ = load_samples(cfg.data)
    assert ds.X.shape == (90, 4, 40)
    assert ds.classes == ["left", "right"]
    assert sorted(ds.metadata["subject"].unique()) == ["01", "02", "03"]
    assert ds.metadata["segment"].nunique() == 90  # one segment per epoch, unique across files
    result = run_config(cfg).result
    assert result.n_splits == 3
    assert result.score_mean > 0.8  # planted effect


def test_epoched_and_continuous_files_are_not_mixed(tmp_path):
    _write(tmp_path, "01", 0)
    raw = mne.io.RawArray(np.zeros((4, 500)), mne.create_info(4, 100.0, "eeg"), verbose="error")
    raw.save(tmp_path / "sub-02_task-mi_raw.fif", verbose="error")
    cfg = parse_config(
        {
            "data": {"source": "files", "files": [str(tmp_path / "sub-*.fif")]},
            "model": {"name": "lda"},
            "evaluation": EVALUATION,
        }
    )
    with pytest.raises(ConfigError, match=r"different readers.*read_epochs.*read_raw"):
        load_samples(cfg.data)


def test_init_writes_a_config_for_epoched_files_that_runs(tmp_path):
    from neurodl.workflows import load_config
    from neurodl.workflows.starter import starter_config

    for seed, subject in enumerate(["01", "02", "03"]):
        _write(tmp_path, subject, seed)
    files = sorted(tmp_path.glob("sub-*_task-mi-epo.fif"))
    text = starter_config(files, n_permutations=0)
    assert "Events (the classes): left x15, right x15." in text
    assert "to_samples" not in text and "leave-one-subject-out" in text
    path = tmp_path / "epo.yaml"
    path.write_text(text)
    result = run_config(load_config(path)).result  # unedited
    assert result.n_splits == 3 and result.score_mean > 0.8
    with pytest.raises(ConfigError, match="every event is a class"):
        starter_config(files, classes=["left"])
