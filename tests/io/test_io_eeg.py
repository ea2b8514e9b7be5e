"""EEG/MEG readers: every MNE testing fixture, EEGMMIDB, Bonn, CHB-MIT seizure files.

Oracles: MNE itself for recordings (shape, rate, channel types, annotations), a small EDF+ TAL
parser written here for the hypnogram, the CHB-MIT summary for seizure times, the raw text
files for Bonn, and the EDF read by MNE directly for EEGMMIDB epochs.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import mne
import numpy as np
import pytest

from neurodl.data import Annotations, EpochsDataset, Recording
from neurodl.exceptions import DataFormatError, DatasetError
from neurodl.io import read
from neurodl.io.eeg import (
    read_annotations,
    read_bonn,
    read_chbmit_seizures,
    read_eegmmidb,
    read_raw,
)

SUBSET = "eeg/mne_testing_subset"

#: every file in the MNE testing subset -> what it is.
#: raw: a recording; annotations: annotation-only EDF+; seizures: CHB-MIT WFDB annotations;
#: companion: data/marker file of a header (read_raw points to the header);
#: not_raw: a recording-format file without continuous data; other: not a neural data file.
FIXTURES: dict[str, str] = {
    "BDF/multiple_annotation_chans.bdf": "raw",
    "BDF/test_bdf_stim_channel.bdf": "raw",
    "Brainvision/test_NO.vhdr": "raw",
    "Brainvision/test_NO.eeg": "companion",
    "Brainvision/test_NO.vmrk": "companion",
    "EDF/SC4001EC-Hypnogram.edf": "annotations",
    "EDF/chtypes_edf.edf": "raw",
    "EDF/test_edf_overlapping_annotations.edf": "raw",
    "EDF/test_reduced.edf": "raw",
    "EDF/test_utf8_annotations.edf": "raw",
    "EEGLAB/README": "other",
    "EEGLAB/test_epochs.fdt": "companion",
    "EEGLAB/test_epochs.set": "not_raw",
    "EEGLAB/test_raw.fdt": "companion",
    "EEGLAB/test_raw.set": "raw",
    "GDF/test_1ch.gdf": "raw",
    "MEG/sample/sample_audvis_trunc_raw-eve.fif": "not_raw",
    "NihonKohden/MB0400FU.11D": "other",
    "NihonKohden/MB0400FU.21E": "other",
    "NihonKohden/MB0400FU.CMT": "other",
    "NihonKohden/MB0400FU.CN2": "other",
    "NihonKohden/MB0400FU.EDF": "raw",
    "NihonKohden/MB0400FU.EEG": "raw",
    "NihonKohden/MB0400FU.LOG": "other",
    "NihonKohden/MB0400FU.PNT": "other",
    "README.md": "other",
    "SSS/sample_audvis_trunc_raw_sss.fif": "raw",
    "version.txt": "other",
    "wfdb/chb06_04.edf.seizures": "seizures",
}
RAW = [k for k, v in FIXTURES.items() if v == "raw"]
NOT_RAW = {
    "EEGLAB/test_epochs.set": "epoched data",
    "MEG/sample/sample_audvis_trunc_raw-eve.fif": "no continuous measurement",
}


@pytest.mark.realdata
def test_fixture_table_lists_every_file(shared_data):
    root = shared_data(SUBSET)
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert found == set(FIXTURES), "update FIXTURES: the testing subset changed"


@pytest.mark.realdata
@pytest.mark.parametrize("relpath", RAW)
def test_read_raw_matches_mne(shared_data, relpath):
    path = shared_data(f"{SUBSET}/{relpath}")
    rec = read_raw(path, subject="01", run="2")
    raw = mne.io.read_raw(path, preload=True, verbose="error")  # the oracle
    assert isinstance(rec, Recording)
    assert rec.n_channels == raw.info["nchan"] == len(rec.ch_names)
    assert rec.sfreq == raw.info["sfreq"]
    assert rec.n_times == raw.n_times
    assert rec.duration == pytest.approx(raw.n_times / raw.info["sfreq"])
    assert rec.ch_names == raw.ch_names
    assert rec.ch_types == raw.get_channel_types()
    assert len(rec.annotations) == len(raw.annotations)
    assert sorted(map(str, rec.annotations.label)) == sorted(raw.annotations.description)
    np.testing.assert_array_equal(rec.data, raw.get_data())
    assert (rec.subject, rec.run, rec.source) == ("01", "2", str(path))
    assert rec.info["reader"] == "mne"
    # the dispatcher reaches the same reader
    via_dispatch = read(path)
    assert isinstance(via_dispatch, Recording) and via_dispatch.n_times == rec.n_times


@pytest.mark.realdata
def test_read_raw_meg_units_and_types(shared_data):
    rec = read_raw(shared_data(f"{SUBSET}/SSS/sample_audvis_trunc_raw_sss.fif"))
    units = dict(zip(rec.ch_types, rec.units))
    assert {"mag", "grad", "eeg", "eog", "stim"} <= set(rec.ch_types)
    assert (units["mag"], units["grad"], units["eeg"]) == ("T", "T/m", "V")
    mag = rec.pick_types("mag").data
    assert 1e-15 < np.abs(mag).max() < 1e-9  # tesla, not fT


@pytest.mark.realdata
def test_read_raw_utf8_annotations(shared_data):
    rec = read_raw(shared_data(f"{SUBSET}/EDF/test_utf8_annotations.edf"))
    assert "仰卧" in set(rec.annotations.label)


@pytest.mark.realdata
def test_annotation_onsets_count_from_first_sample(shared_data):
    """Recording.from_mne must subtract first_time also when meas_date is None (cropped raw)."""
    raw = mne.io.read_raw(shared_data(f"{SUBSET}/EEGLAB/test_raw.set"), verbose="error")
    assert raw.info["meas_date"] is None
    raw.crop(10.0, None)
    events, _ = mne.events_from_annotations(raw, verbose="error")  # sample numbers: the oracle
    expected = (events[:, 0] - raw.first_samp) / raw.info["sfreq"]
    onsets = Recording.from_mne(raw).annotations.onset
    np.testing.assert_allclose(np.sort(onsets)[: len(expected)], np.sort(expected), atol=1 / 128)


@pytest.mark.realdata
@pytest.mark.parametrize("relpath", [k for k, v in FIXTURES.items() if v == "companion"])
def test_read_raw_companion_points_to_header(shared_data, relpath):
    path = shared_data(f"{SUBSET}/{relpath}")
    header = {".eeg": ".vhdr", ".vmrk": ".vhdr", ".fdt": ".set"}[path.suffix]
    with pytest.raises(DataFormatError, match=rf"read {re.escape(path.stem + header)} instead"):
        read_raw(path)


@pytest.mark.realdata
@pytest.mark.parametrize(("relpath", "match"), NOT_RAW.items())
def test_read_raw_non_continuous(shared_data, relpath, match):
    with pytest.raises(DataFormatError, match=match):
        read_raw(shared_data(f"{SUBSET}/{relpath}"))


@pytest.mark.realdata
@pytest.mark.parametrize("relpath", [k for k, v in FIXTURES.items() if v == "other"])
def test_read_raw_other_files(shared_data, relpath):
    with pytest.raises(DataFormatError, match="cannot be read as a recording"):
        read_raw(shared_data(f"{SUBSET}/{relpath}"))


# ---------------------------------------------------------------------------- hypnogram
def _edf_tal_annotations(path: Path) -> list[tuple[float, float, str]]:
    """Independent EDF+ TAL parser (EDF+ spec section 2.2) for annotation-only files."""
    raw = path.read_bytes()
    n_signals = int(raw[252:256])
    body = raw[256 + 256 * n_signals :]
    out = []
    for tal in body.split(b"\x14\x00"):
        parts = tal.strip(b"\x00").split(b"\x14")
        if len(parts) < 2:
            continue
        timing = parts[0].decode().split("\x15")
        for text in parts[1:]:
            if text:
                duration = float(timing[1]) if len(timing) > 1 else 0.0
                out.append((float(timing[0]), duration, text.decode("utf-8")))
    return out


@pytest.mark.realdata
def test_hypnogram_is_annotations_only(shared_data):
    path = shared_data(f"{SUBSET}/EDF/SC4001EC-Hypnogram.edf")
    with pytest.raises(DataFormatError, match=r"annotation-only.*read_annotations"):
        read_raw(path)
    with pytest.raises(DataFormatError, match="read_annotations"):
        read(path)
    ann = read_annotations(path)
    expected = _edf_tal_annotations(path)
    assert isinstance(ann, Annotations)
    assert len(ann) == len(expected) == 154
    np.testing.assert_allclose(ann.onset, [e[0] for e in expected])
    np.testing.assert_allclose(ann.duration, [e[1] for e in expected])
    assert list(ann.label) == [e[2] for e in expected]
    assert set(ann.unique_labels()) <= {f"Sleep stage {s}" for s in "W1234R?"}
    # stages tile the night: each one starts where the previous ends
    np.testing.assert_allclose(ann.onset[1:], ann.onset[:-1] + ann.duration[:-1])


@pytest.mark.realdata
def test_read_annotations_of_a_recording(shared_data):
    path = shared_data(f"{SUBSET}/EEGLAB/test_raw.set")
    assert len(read_annotations(path)) == len(read_raw(path).annotations) == 154


# ---------------------------------------------------------------------------- CHB-MIT
@pytest.mark.realdata
def test_chbmit_seizures_match_summary(shared_data):
    """Expected times from PhysioNet CHB-MIT chb06/chb06-summary.txt, file chb06_04.edf:
    Seizure 1 327-347 s, Seizure 2 6211-6231 s (https://physionet.org/content/chbmit/1.0.0/)."""
    path = shared_data(f"{SUBSET}/wfdb/chb06_04.edf.seizures")
    ann = read_chbmit_seizures(path)
    np.testing.assert_allclose(ann.onset, [327.0, 6211.0])
    np.testing.assert_allclose(ann.onset + ann.duration, [347.0, 6231.0])
    assert list(ann.label) == ["seizure", "seizure"]
    same = read_chbmit_seizures(path, sfreq=None)  # the file's "## time resolution: 256"
    np.testing.assert_allclose(same.onset, ann.onset)
    for other in (read(path), read_annotations(path)):
        np.testing.assert_allclose(other.onset, ann.onset)
    with pytest.raises(DataFormatError, match="time resolution of 256 Hz but sfreq=512"):
        read_chbmit_seizures(path, sfreq=512.0)


def _wfdb(events: list[tuple[int, int]], aux: str | None = None) -> bytes:
    """Encode (sample, code) annotations in WFDB MIT format, using SKIP for long intervals."""
    out, t = bytearray(), 0
    if aux is not None:
        out += (22 << 10).to_bytes(2, "little")  # NOTE at sample 0 carrying the AUX string
        data = aux.encode() + (b"\x00" if len(aux) % 2 else b"")
        out += ((63 << 10) | len(aux)).to_bytes(2, "little") + data
    for sample, code in events:
        delta = sample - t
        if delta > 1023:
            out += (59 << 10).to_bytes(2, "little")
            out += (delta >> 16).to_bytes(2, "little") + (delta & 0xFFFF).to_bytes(2, "little")
            delta = 0
        out += ((code << 10) | delta).to_bytes(2, "little")
        t = sample
    return bytes(out + b"\x00\x00")


def test_chbmit_seizures_synthetic(tmp_path):
    path = tmp_path / "chb99_01.edf.seizures"
    path.write_bytes(
        _wfdb(
            [(1000, 32), (1500, 33), (512 * 3600, 1), (2_000_000, 32), (2_000_512, 33)],
            aux="## time resolution: 512",
        )
    )
    ann = read_chbmit_seizures(path, sfreq=None)
    np.testing.assert_allclose(ann.onset, [1000 / 512, 2_000_000 / 512])
    np.testing.assert_allclose(ann.duration, [500 / 512, 1.0])
    no_note = tmp_path / "plain.seizures"
    no_note.write_bytes(_wfdb([(256, 32), (768, 33)]))
    ann = read_chbmit_seizures(no_note)  # default 256 Hz
    np.testing.assert_allclose([ann.onset[0], ann.duration[0]], [1.0, 2.0])
    with pytest.raises(DataFormatError, match="no time resolution"):
        read_chbmit_seizures(no_note, sfreq=None)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"\xff" * 10, "truncated"),
        (b"\x00\xdc\x00\x00", "invalid annotation code 55"),
        (_wfdb([(256, 32), (768, 33)])[:-2], "no end-of-file marker"),
        (_wfdb([(256, 32)]), "has no end marker"),
        (_wfdb([(256, 33)]), "without a start"),
        (_wfdb([(256, 32), (300, 32), (400, 33)]), "before the previous seizure"),
    ],
)
def test_chbmit_seizures_bad(tmp_path, content, match):
    path = tmp_path / "bad.seizures"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=match):
        read_chbmit_seizures(path)


@pytest.mark.parametrize("sfreq", [0.0, -256.0, float("nan")])
def test_chbmit_seizures_bad_sfreq(tmp_path, sfreq):
    path = tmp_path / "x.seizures"
    path.write_bytes(_wfdb([(256, 32), (768, 33)]))
    with pytest.raises(ValueError, match="'sfreq'"):
        read_chbmit_seizures(path, sfreq=sfreq)


# ---------------------------------------------------------------------------- EEGMMIDB
@functools.lru_cache(maxsize=4)
def _mmidb(root: Path, **kwargs) -> EpochsDataset:
    return read_eegmmidb(root, **kwargs)


@pytest.mark.realdata
def test_eegmmidb_imagery_lr(shared_data):
    root = shared_data("eeg/eegmmidb_S001")
    ds = _mmidb(root)
    assert ds.X.shape == (45, 64, 640)  # 3 runs x 15 cues; 4 s at 160 Hz
    assert ds.sfreq == 160.0
    assert ds.classes == ["left_fist", "right_fist"]
    counts = np.bincount(ds.y, minlength=2)
    assert counts.sum() == 45 and counts.min() >= 20
    assert all("." not in c for c in ds.ch_names) and {"C3", "Cz", "C4", "Fcz"} <= set(ds.ch_names)
    md = ds.metadata
    assert sorted(md["run"].unique()) == ["12", "4", "8"]
    assert set(md["recording"]) == {"S001R04", "S001R08", "S001R12"}
    assert (md["subject"] == "S001").all() and md["segment"].nunique() == 45
    assert md.groupby("run")["trial"].apply(list).map(lambda t: t == list(range(15))).all()
    # oracle: the first epoch of run 8 cut from MNE's own reading of the EDF
    raw = mne.io.read_raw_edf(root / "S001R08.edf", preload=True, verbose="error")
    ann = raw.annotations[np.isin(raw.annotations.description, ["T1", "T2"])]
    row = md.index[(md["run"] == "8") & (md["trial"] == 0)][0]
    assert md.loc[row, "onset"] == pytest.approx(ann.onset[0])
    assert ds.y[row] == {"T1": 0, "T2": 1}[ann.description[0]]
    start = round(ann.onset[0] * 160)
    np.testing.assert_array_equal(ds.X[row], raw.get_data()[:, start : start + 640])


@pytest.mark.realdata
def test_eegmmidb_rest_and_filter(shared_data):
    root = shared_data("eeg/eegmmidb_S001")
    ds = read_eegmmidb(root, task="rest", tmin=0.0, tmax=2.0, l_freq=8.0, h_freq=30.0)
    assert ds.classes == ["eyes_open", "eyes_closed"]
    assert ds.X.shape == (60, 64, 320)  # 2 runs x 60 s / 2 s windows
    np.testing.assert_array_equal(np.bincount(ds.y), [30, 30])
    assert list(ds.metadata.loc[ds.y == 1, "run"].unique()) == ["2"]
    freqs = np.fft.rfftfreq(320, 1 / 160)
    power = (np.abs(np.fft.rfft(ds.X, axis=-1)) ** 2).mean(axis=(0, 1))
    in_band = power[(freqs >= 9) & (freqs <= 28)].mean()
    assert power[(freqs >= 1) & (freqs <= 4)].mean() < 0.05 * in_band  # planted: the band-pass
    assert power[freqs >= 45].mean() < 0.05 * in_band


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("task", "runs", "classes"),
    [
        ("real_lr", {"3", "7", "11"}, ["left_fist", "right_fist"]),
        ("imagery_fists_feet", {"6", "10", "14"}, ["both_fists", "both_feet"]),
    ],
)
def test_eegmmidb_tasks(shared_data, task, runs, classes):
    ds = read_eegmmidb(shared_data("eeg/eegmmidb_S001"), task=task, tmin=0.5, tmax=2.5)
    assert set(ds.metadata["run"]) == runs and ds.classes == classes
    assert ds.X.shape[1:] == (64, 320) and len(ds) >= 40
    assert set(ds.metadata["event"]) == {"T1", "T2"}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"task": "imagery"}, ValueError, "Invalid value for 'task'.*'imagery_lr'"),
        ({"tmin": 2.0, "tmax": 1.0}, ValueError, "tmax > tmin"),
        ({"subject": "sub1"}, ValueError, "'subject'"),
        ({"subject": 2}, DatasetError, r"S002R04\.edf"),
    ],
)
def test_eegmmidb_bad(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        read_eegmmidb(tmp_path, **kwargs)


# ---------------------------------------------------------------------------- Bonn
@functools.lru_cache(maxsize=4)
def _bonn(root: Path, **kwargs) -> EpochsDataset:
    return read_bonn(root, **kwargs)


@pytest.mark.realdata
def test_bonn_segments(shared_data):
    root = shared_data("eeg/bonn")
    ds = _bonn(root)
    assert ds.X.shape == (500, 1, 4097)
    assert ds.sfreq == pytest.approx(173.61)
    assert ds.classes == ["A", "B", "C", "D", "E"]
    np.testing.assert_array_equal(np.bincount(ds.y), [100] * 5)
    md = ds.metadata
    assert md["segment"].nunique() == 500 and (md["subject"] == "unknown").all()
    assert list(md["recording"].unique()) == ["A", "B", "C", "D", "E"]
    # oracle: the raw text of one file per set (C uses .TXT)
    for letter, rel in [("A", "A_Z/Z001.txt"), ("C", "C_N/N042.TXT"), ("E", "E_S/S100.txt")]:
        expected = np.loadtxt(root / rel)
        segment = f"{letter}_{Path(rel).stem}"
        row = md.index[md["segment"] == segment][0]
        np.testing.assert_array_equal(ds.X[row, 0], expected)
        assert ds.y[row] == "ABCDE".index(letter)


@pytest.mark.realdata
def test_bonn_windows(shared_data):
    root = shared_data("eeg/bonn")
    ds = read_bonn(root, sets=("E", "A"), window=1024, stride=512)
    n_win = (4097 - 1024) // 512 + 1
    assert ds.X.shape == (200 * n_win, 1, 1024)
    assert ds.classes == ["E", "A"]
    assert (ds.y[ds.metadata["set"] == "E"] == 0).all()
    groups = ds.groups("segment")
    assert len(np.unique(groups)) == 200
    rows = np.flatnonzero(groups == "E_S007")
    assert len(rows) == n_win
    signal = np.loadtxt(root / "E_S" / "S007.txt")
    for k, row in enumerate(rows):
        assert ds.metadata.loc[row, "trial"] == k
        assert ds.metadata.loc[row, "onset"] == pytest.approx(k * 512 / 173.61)
        np.testing.assert_array_equal(ds.X[row, 0], signal[k * 512 : k * 512 + 1024])


def _fake_bonn(root: Path, bad: str | None = None) -> Path:
    folder = root / "A_Z"
    folder.mkdir(parents=True)
    for i in range(3):
        (folder / f"Z00{i}.txt").write_text("\n".join(str(v) for v in range(4097)) + "\n")
    if bad is not None:
        (folder / "Z009.txt").write_text(bad)
    return root


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sets": ("F",)}, ValueError, "Invalid value for 'sets'"),
        ({"sets": ("A", "A")}, ValueError, "distinct letters"),
        ({"sets": ()}, ValueError, "'sets'"),
        ({"window": 0}, ValueError, "Invalid value for 'window'"),
        ({"window": 5000}, ValueError, r"'window'.*\[1, 4097\]"),
        ({"window": 10.5}, ValueError, "'window'"),
        ({"window": 100, "stride": 0}, ValueError, "'stride'"),
        ({"sets": ("A", "B")}, DatasetError, "set 'B' not found"),
    ],
)
def test_bonn_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        read_bonn(_fake_bonn(tmp_path), **kwargs)


@pytest.mark.parametrize(
    ("content", "match"),
    [("1\n2\n3\n", "4097 samples; got 3"), ("1\nx\n", "expected integers")],
)
def test_bonn_bad_segment(tmp_path, content, match):
    root = _fake_bonn(tmp_path, bad=content)
    with pytest.raises(DataFormatError, match=match):
        read_bonn(root, sets=("A",))


def test_bonn_synthetic_windows(tmp_path):
    ds = read_bonn(_fake_bonn(tmp_path), sets=["A"], window=4000, stride=97)
    assert ds.X.shape == (3 * 2, 1, 4000)  # starts 0 and 97
    np.testing.assert_array_equal(ds.X[1, 0], np.arange(97, 4097))


@pytest.mark.realdata
def test_read_raw_without_preload(shared_data):
    path = shared_data(f"{SUBSET}/EDF/test_edf_overlapping_annotations.edf")
    lazy, eager = read_raw(path, preload=False), read_raw(path)
    np.testing.assert_array_equal(lazy.data, eager.data)
    np.testing.assert_array_equal(lazy.annotations.onset, eager.annotations.onset)


@pytest.mark.realdata
def test_eegmmidb_physionet_layout(shared_data, tmp_path):
    """Files may also sit in a ``S001/`` sub-folder, as on PhysioNet."""
    src = shared_data("eeg/eegmmidb_S001")
    (tmp_path / "S001").mkdir()
    for run in (4, 8, 12):
        (tmp_path / "S001" / f"S001R{run:02d}.edf").symlink_to(src / f"S001R{run:02d}.edf")
    ds = read_eegmmidb(tmp_path, subject=1, tmin=-0.5, tmax=0.5)
    assert ds.X.shape[1:] == (64, 160) and ds.metadata["subject"].eq("S001").all()
    ref = _mmidb(src)
    np.testing.assert_array_equal(ds.y, ref.y)
    np.testing.assert_array_equal(ds.X[:, :, 80:], ref.X[:, :, :80])  # tmin shifts the window
