"""Epoched files: MNE ``-epo.fif`` and epoched EEGLAB ``.set`` read as EpochsDataset.

Oracles: the planted array, event names and positions of epochs written with MNE in
``tmp_path``; for the real EEGLAB fixture, the raw float32 samples of its ``.fdt`` file
(EEGLAB stores ``nbchan x (pnts * trials)`` column-major, in microvolts).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from neurodl.data import EpochsDataset
from neurodl.exceptions import DataFormatError
from neurodl.io import read
from neurodl.io.epochs import is_epoched, read_epochs

SUBSET = "eeg/mne_testing_subset"
CODES = {"left": 10, "right": 20}


def _planted_epochs(n: int = 8, seed: int = 0):
    """An mne.EpochsArray: 3 EEG + 1 EOG channel, 100 Hz, tmin -0.1 s, montage, two events."""
    import mne

    rng = np.random.default_rng(seed)
    info = mne.create_info(["Fz", "Cz", "Pz", "EOG1"], 100.0, ["eeg", "eeg", "eeg", "eog"])
    X = rng.normal(size=(n, 4, 50)) * 1e-5
    names = np.array(["left", "right"])[np.arange(n) % 2]
    events = np.column_stack(
        [200 + 150 * np.arange(n), np.zeros(n, int), [CODES[k] for k in names]]
    )
    epochs = mne.EpochsArray(X, info, events, tmin=-0.1, event_id=CODES, verbose="error")
    pos = {"Fz": [0.0, 0.06, 0.09], "Cz": [0.0, 0.0, 0.1], "Pz": [0.0, -0.06, 0.09]}
    montage = mne.channels.make_dig_montage(ch_pos=pos, coord_frame="head")
    epochs.set_montage(montage, on_missing="ignore")
    return epochs, X, names


@pytest.fixture
def epo_file(tmp_path):
    epochs, X, names = _planted_epochs()
    path = tmp_path / "sub-01_task-x-epo.fif"
    epochs.save(path, fmt="double", verbose="error")
    return path, X, names


def test_read_epochs_fif(epo_file):
    path, X, names = epo_file
    ds = read_epochs(path, subject="01", session="a", run="2")
    assert isinstance(ds, EpochsDataset)
    np.testing.assert_allclose(ds.X, X, rtol=1e-12)
    assert ds.sfreq == 100.0
    assert ds.ch_names == ["Fz", "Cz", "Pz", "EOG1"]
    assert ds.classes == ["left", "right"]
    assert [ds.classes[k] for k in ds.y] == names.tolist()  # event names are the labels
    md = ds.metadata
    assert set(md["subject"]) == {"01"} and set(md["session"]) == {"a"} and set(md["run"]) == {"2"}
    assert set(md["recording"]) == {"sub-01_task-x"}
    assert md["segment"].nunique() == len(ds)  # every epoch its own segment
    np.testing.assert_allclose(md["onset"], (200 + 150 * np.arange(len(ds))) / 100.0)
    assert ds.info["tmin"] == pytest.approx(-0.1)
    assert ds.info["tmax"] == pytest.approx(0.39)
    assert ds.info["event_id"] == CODES
    assert ds.info["ch_types"] == ["eeg", "eeg", "eeg", "eog"]
    assert ds.info["montage"]["ch_pos"]["Cz"] == pytest.approx([0.0, 0.0, 0.1])


def test_read_dispatches_epoched_files(epo_file, tmp_path):
    path, X, _ = epo_file
    assert is_epoched(path)
    ds = read(path, subject="01")
    assert isinstance(ds, EpochsDataset) and set(ds.metadata["subject"]) == {"01"}
    # an epochs FIF without the -epo suffix is recognised from its content
    plain = tmp_path / "renamed.fif"
    shutil.copy(path, plain)
    assert is_epoched(plain)
    np.testing.assert_allclose(read(plain).X, X, rtol=1e-12)


@pytest.mark.realdata
def test_read_epoched_eeglab_matches_fdt_samples(shared_data):
    path = shared_data(f"{SUBSET}/EEGLAB/test_epochs.set")
    assert is_epoched(path)
    assert not is_epoched(shared_data(f"{SUBSET}/EEGLAB/test_raw.set"))
    ds = read(path, subject="07")
    assert isinstance(ds, EpochsDataset)
    n_epochs, n_chans, n_times = ds.X.shape
    assert (n_epochs, n_chans, n_times) == (4, 2, 8) and ds.sfreq == 50.0
    fdt = np.fromfile(path.with_suffix(".fdt"), dtype="<f4")
    expected = fdt.reshape((n_chans, n_times * n_epochs), order="F") * 1e-6  # uV -> V
    expected = expected.reshape(n_chans, n_epochs, n_times).transpose(1, 0, 2)
    np.testing.assert_allclose(ds.X, expected, rtol=1e-6)
    labels = [ds.classes[k] for k in ds.y]
    assert sorted(labels) == sorted(["S255/S  8", "S  8", "S255/S  9", "S255/S  9"])
    assert ds.info["tmin"] == pytest.approx(-0.06)
    assert set(ds.metadata["subject"]) == {"07"}
    assert ds.metadata["segment"].nunique() == 4


def _random_bytes(tmp: Path) -> Path:
    path = tmp / "rand-epo.fif"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    return path


def _truncated(tmp: Path) -> Path:
    epochs, _, _ = _planted_epochs()
    full = tmp / "full-epo.fif"
    epochs.save(full, verbose="error")
    path = tmp / "cut-epo.fif"
    path.write_bytes(full.read_bytes()[:3000])
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty-epo.fif"
    path.write_bytes(b"")
    return path


def _raw_as_epochs(tmp: Path) -> Path:
    import mne

    raw = mne.io.RawArray(np.zeros((2, 500)), mne.create_info(2, 100.0, "eeg"), verbose="error")
    path = tmp / "cont-epo.fif"
    raw.save(path, verbose="error")
    return path


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (_random_bytes, "cannot be read as FIF epochs: it is corrupt or not a FIF file"),
        (_truncated, "cannot be read as FIF epochs"),
        (_empty, "empty"),
        (_raw_as_epochs, "continuous data, not epochs.*read_raw"),
    ],
)
def test_bad_epochs_files_give_one_clear_error(tmp_path, build, match):
    path = build(tmp_path)
    with pytest.raises(DataFormatError, match=match) as info:
        read(path)
    err = info.value
    assert str(path) in str(err)
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


def test_read_epochs_refuses_other_formats(tmp_path):
    path = tmp_path / "x.edf"
    path.write_bytes(b"0" * 300)
    with pytest.raises(DataFormatError, match=r"no epochs reader for '\.edf'.*-epo\.fif"):
        read_epochs(path)


@pytest.mark.realdata
def test_epoched_eeglab_without_fdt(shared_data, tmp_path):
    shutil.copy(shared_data(f"{SUBSET}/EEGLAB/test_epochs.set"), tmp_path / "e.set")
    with pytest.raises(DataFormatError, match=r"EEGLAB epochs.*missing.*e\.fdt"):
        read_epochs(tmp_path / "e.set")


@pytest.mark.realdata
def test_read_epochs_of_a_continuous_set(shared_data):
    with pytest.raises(DataFormatError, match="continuous data, not epochs"):
        read_epochs(shared_data(f"{SUBSET}/EEGLAB/test_raw.set"))
