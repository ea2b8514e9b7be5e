"""EEG/MEG readers: every MNE testing fixture, CHB-MIT seizure files.

Oracles: MNE itself for recordings (shape, rate, channel types, annotations), a small EDF+ TAL
parser written here for the hypnogram, the CHB-MIT summary for seizure times. The readers of
named datasets (EEGMMIDB, Bonn, EEGMAT) are tested in tests/datasets.
"""

from __future__ import annotations

import re
from pathlib import Path

import mne
import numpy as np
import pytest

from neurodl.data import Annotations, Recording
from neurodl.exceptions import DataFormatError
from neurodl.io import read
from neurodl.io.eeg import read_annotations, read_chbmit_seizures, read_raw

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


@pytest.mark.realdata
def test_read_raw_without_preload(shared_data):
    path = shared_data(f"{SUBSET}/EDF/test_edf_overlapping_annotations.edf")
    lazy, eager = read_raw(path, preload=False), read_raw(path)
    np.testing.assert_array_equal(lazy.data, eager.data)
    np.testing.assert_array_equal(lazy.annotations.onset, eager.annotations.onset)
