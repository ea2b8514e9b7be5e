"""``neurodl info PATH`` and the summaries of io/_summary.py (run in-process)."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

import neurodl.io
from neurodl.cli.main import main
from neurodl.data import Annotations, EpochsDataset, Recording, SpikeTrains, VolumeSeries
from neurodl.io._summary import describe, format_name


def _has_reader(module: str, func: str) -> bool:
    try:
        return hasattr(importlib.import_module(f"neurodl.io.{module}"), func)
    except ImportError:
        return False


needs_arrays = pytest.mark.skipif(
    not _has_reader("arrays", "read_array"), reason="neurodl.io.arrays.read_array not written yet"
)
needs_eeg = pytest.mark.skipif(
    not _has_reader("eeg", "read_raw"), reason="neurodl.io.eeg.read_raw not written yet"
)
needs_fmri = pytest.mark.skipif(
    not _has_reader("fmri", "read_nifti"), reason="neurodl.io.fmri.read_nifti not written yet"
)


def _lines(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


# ------------------------------------------------------------------------------- describe()
def test_describe_recording():
    ann = Annotations([1.0, 2.0, 3.0, 9.0], [0.5, 0.5, 0.5, 1.0], ["T1", "T0", "T1", "T1"])
    names = [f"EEG{i}" for i in range(10)]
    rec = Recording(np.zeros((10, 2500)), 250.0, names, ["eeg"] * 9 + ["stim"],
                    annotations=ann, subject="7")  # fmt: skip
    d = _lines(describe(rec, "x/run1.edf"))
    assert d["file"] == "x/run1.edf"
    assert d["format"] == "EDF/EDF+"
    assert d["type"] == "Recording"
    assert d["channels"] == "10 (EEG0, EEG1, EEG2, EEG3, EEG4, EEG5, EEG6, EEG7, ... (+2))"
    assert d["channel types"] == "eeg x9, stim x1"
    assert d["sampling rate"] == "250 Hz"
    assert d["duration"] == "10.000 s (2500 samples)"
    assert d["annotations"] == "4 (2 labels: T1 x3, T0 x1)"
    assert d["annotation span"] == "1.000 s to 10.000 s"
    assert d["identity"] == "subject 7"


def test_describe_volume_series():
    mask = np.zeros((4, 3, 2), bool)
    mask[:2] = True
    events = pd.DataFrame({"label": ["face"] * 3 + ["house"] * 2, "run": [0] * 5})
    vol = VolumeSeries(np.zeros((12, 5)), tr=2.5, mask=mask, events=events)
    d = _lines(describe(vol, "bold.nii.gz"))
    assert d["format"] == "NIfTI (gzip)"
    assert d["type"] == "VolumeSeries"
    assert d["volume grid"] == "4 x 3 x 2"
    assert d["volumes"] == "5"
    assert d["repetition time"] == "2.5 s (sampling rate 0.4 Hz)"
    assert d["duration"] == "12.500 s"
    assert d["mask"] == "12 voxels"
    assert d["labels (label)"] == "face x3, house x2"


def test_describe_spike_trains():
    trials = pd.DataFrame({"start_time": [0.0, 1.0], "stop_time": [1.0, 2.0]})
    st = SpikeTrains([np.array([0.5, 0.1]), np.array([1.5]), np.array([])], ["u1", "u2", "u3"],
                     trials=trials)  # fmt: skip
    d = _lines(describe(st, "s.nwb"))
    assert d["format"] == "NWB (HDF5)"
    assert d["units"] == "3 (u1, u2, u3)"
    assert d["spikes"] == "3"
    assert d["time span"] == "0.100 s to 1.500 s"
    assert d["trials"] == "2 (columns start_time, stop_time)"


def test_describe_epochs_and_annotations():
    y = np.array([0, 1, 1, 2, 1])
    ds = EpochsDataset(np.zeros((5, 2, 100)), y, sfreq=50.0, ch_names=["a", "b"],
                       classes=["rest", "left", "right"])  # fmt: skip
    d = _lines(describe(ds))
    assert "file" not in d
    assert d["samples"] == "5"
    assert d["X shape"] == "(5, 2, 100)"
    assert d["channels"] == "2 (a, b)"
    assert d["window"] == "2.000 s (100 samples)"
    assert d["labels"] == "left x3, rest x1, right x1"
    reg = EpochsDataset(np.zeros((3, 4)), np.array([0.5, 1.5, 2.0]))
    assert _lines(describe(reg))["targets"] == "shape (3,) (float64)"
    d = _lines(describe(Annotations([0.0], [30.0], ["seizure"]), "a.seizures"))
    assert d["type"] == "Annotations"
    assert d["annotations"] == "1 (1 labels: seizure x1)"
    assert _lines(describe(Annotations()))["annotations"] == "none"


def test_describe_collections_and_unknown():
    rec = Recording(np.zeros((1, 10)), 10.0)
    text = describe({"run1": rec, "run2": [rec, rec]})
    assert text.splitlines()[0] == "type: dict of 2 items"
    assert "  type: list of 2 items" in text
    assert text.count("type: Recording") == 3
    assert _lines(describe(np.zeros((2, 3))))["shape"] == "(2, 3) (float64)"
    assert _lines(describe(42))["value"] == "42"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.NII.GZ", "NIfTI (gzip)"), ("b.vhdr", "BrainVision"), ("c.fif.gz", "FIF (MNE/Neuromag, gzip)"),
     ("d.xyz", "unknown"), ("e.npy", "NumPy NPY")],
)  # fmt: skip
def test_format_name(name, expected):
    assert format_name(name) == expected


def test_format_name_folders(tmp_path):
    (tmp_path / "s2p").mkdir()
    (tmp_path / "s2p/F.npy").write_bytes(b"")
    assert format_name(tmp_path / "s2p") == "suite2p plane folder"
    assert format_name(tmp_path) == "folder"


# ------------------------------------------------------------------------------- the command
def test_info_prints_describe_of_what_read_returns(tmp_path, monkeypatch, capsys):
    seen = {}

    def fake_read(path, **kwargs):
        seen.update(path=path, kwargs=kwargs)
        return Recording(np.zeros((3, 600)), 300.0, ["x", "y", "z"])

    monkeypatch.setattr(neurodl.io, "read", fake_read)
    assert main(["info", str(tmp_path / "f.fif")]) == 0
    out = capsys.readouterr().out
    assert seen == {"path": tmp_path / "f.fif", "kwargs": {}}
    assert "format: FIF (MNE/Neuromag)" in out
    assert "channels: 3 (x, y, z)" in out
    assert "duration: 2.000 s (600 samples)" in out


def test_info_turns_reader_crashes_into_one_line(tmp_path, monkeypatch, capsys):
    def broken_read(path, **kwargs):
        raise ValueError("buffer is too small\nsecond line")

    monkeypatch.setattr(neurodl.io, "read", broken_read)
    assert main(["info", str(tmp_path / "f.edf")]) == 1
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"neurodl: error: {tmp_path / 'f.edf'}: cannot be read (ValueError: buffer is too small)."
    )


@pytest.mark.parametrize(
    ("filename", "content", "match"),
    [
        ("notes.xyz", b"hello", "unsupported file type '.xyz'"),
        ("absent.edf", None, "no such file or folder"),
    ],
)
def test_info_unreadable_paths(tmp_path, capsys, filename, content, match):
    path = tmp_path / filename
    if content is not None:
        path.write_bytes(content)
    assert main(["info", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("neurodl: error: ")
    assert match in captured.err
    assert "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1


@needs_arrays
def test_info_synthetic_npy(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((4, 1000)))
    assert main(["info", str(tmp_path / "x.npy"), "--sfreq", "250"]) == 0
    d = _lines(capsys.readouterr().out)
    assert d["format"] == "NumPy NPY"
    assert d["type"] == "Recording"
    assert d["channels"].startswith("4 (")
    assert d["sampling rate"] == "250 Hz"
    assert d["duration"] == "4.000 s (1000 samples)"


@needs_arrays
@pytest.mark.parametrize("filename", ["bad.npy", "bad.mat", "bad.npz"])
def test_info_corrupt_array_file(tmp_path, capsys, filename):
    (tmp_path / filename).write_bytes(b"\x93NUMPY garbage" + bytes(range(50)))
    assert main(["info", str(tmp_path / filename), "--sfreq", "100"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("neurodl: error: ")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@needs_eeg
def test_info_corrupt_edf(tmp_path, capsys):
    (tmp_path / "bad.edf").write_bytes(b"0       " + b"x" * 300)
    assert main(["info", str(tmp_path / "bad.edf")]) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # reader warnings (logged) may come first
    assert last.startswith("neurodl: error: ") and "bad.edf" in last
    assert "Traceback" not in err


@pytest.mark.realdata
@needs_eeg
def test_info_real_edf(shared_data, capsys):
    path = shared_data("eeg/eegmmidb_S001/S001R04.edf")
    assert main(["info", str(path)]) == 0
    d = _lines(capsys.readouterr().out)
    assert d["format"] == "EDF/EDF+"
    assert d["type"] == "Recording"
    assert d["channels"].startswith("64 (")
    assert d["sampling rate"] == "160 Hz"
    assert d["duration"] == "125.000 s (20000 samples)"
    assert d["annotations"].startswith("30 (3 labels: ")


@pytest.mark.realdata
@needs_eeg
def test_info_real_mne_testing_edf(shared_data, capsys):
    path = shared_data("eeg/mne_testing_subset/EDF/test_utf8_annotations.edf")
    assert main(["info", str(path)]) == 0
    d = _lines(capsys.readouterr().out)
    assert d["format"] == "EDF/EDF+"
    assert d["channels"].startswith("11 (")
    assert d["sampling rate"] == "200 Hz"
    assert d["duration"] == "10.000 s (2000 samples)"
    assert d["annotations"].startswith("2 (")


@needs_eeg
def test_info_refuses_sfreq_for_formats_that_store_it(tmp_path, capsys):
    (tmp_path / "x.edf").write_bytes(b"0" * 300)
    assert main(["info", str(tmp_path / "x.edf"), "--sfreq", "30"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "neurodl: error: --sfreq is not used for EDF/EDF+ files: their sampling rate is stored "
        "in the file (got --sfreq 30)."
    )


@pytest.mark.realdata
@pytest.mark.skipif(
    not _has_reader("spikes", "read_suite2p"),
    reason="neurodl.io.spikes.read_suite2p not written yet",
)
def test_info_real_suite2p_folder_takes_sfreq_as_fs(shared_data, capsys):
    path = shared_data("spikes/pynapple_suite2p_plane0")
    assert main(["info", str(path), "--sfreq", "30"]) == 0
    d = _lines(capsys.readouterr().out)
    assert d["format"] == "suite2p plane folder"
    assert d["sampling rate"] == "30 Hz"
    assert d["duration"] == "66.667 s (2000 samples)"


@pytest.mark.realdata
@needs_fmri
def test_info_real_nifti(shared_data, capsys):
    path = shared_data("fmri/haxby2001_pymvpa/bold.nii.gz")
    assert main(["info", str(path)]) == 0
    d = _lines(capsys.readouterr().out)
    assert d["format"] == "NIfTI (gzip)"
    assert d["type"] == "VolumeSeries"
    assert d["volume grid"] == "40 x 20 x 1"
    assert d["volumes"] == "1452"
    assert d["repetition time"].startswith("2.5 s")
