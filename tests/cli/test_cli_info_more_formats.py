"""``neurodl info`` on annotation-only EDF+ (hypnograms), MGH/MGZ, Analyze and epoched files.

Oracles: an EDF+ TAL parser written here (EDF+ spec section 2.2), nibabel's own view of the
image files, and the epochs planted with MNE.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from neurodl.cli.main import main

SUBSET = "eeg/mne_testing_subset"


def _lines(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def _info(path: Path, capsys) -> dict[str, str]:
    assert main(["info", str(path)]) == 0
    return _lines(capsys.readouterr().out)


# ----------------------------------------------------------------------------- hypnograms
def _tal(path: Path) -> list[tuple[float, float, str]]:
    """(onset, duration, label) of every annotation of an annotation-only EDF+ file."""
    raw = path.read_bytes()
    n_signals = int(raw[252:256])
    body = raw[256 + 256 * n_signals :]
    pattern = rb"([+-][0-9.]+)\x15([0-9.]+)\x14([^\x14\x00]+)\x14"
    return [(float(o), float(d), t.decode()) for o, d, t in re.findall(pattern, body)]


def _write_hypnogram(path: Path, stages: list[tuple[float, float, str]]) -> Path:
    """An EDF+ file whose only signal is 'EDF Annotations' (as Sleep-EDF hypnograms are)."""
    tal = b"+0\x14\x14\x00" + b"".join(
        f"+{o:g}\x15{d:g}\x14{s}\x14\x00".encode() for o, d, s in stages
    )
    n_samples = (len(tal) + 1) // 2
    tal = tal.ljust(2 * n_samples, b"\x00")

    def field(value: object, width: int) -> bytes:
        return str(value).ljust(width).encode("ascii")

    header = (
        field(0, 8)
        + field("X X X X", 80)
        + field("Startdate 01-JAN-2020 X X X", 80)
        + field("01.01.20", 8)
        + field("22.00.00", 8)
        + field(512, 8)
        + field("EDF+C", 44)
        + field(1, 8)
        + field(0, 8)
        + field(1, 4)
        + field("EDF Annotations", 16)
        + field("", 80)
        + field("", 8)
        + field(0, 8)
        + field(1, 8)
        + field(-32768, 8)
        + field(32767, 8)
        + field("", 80)
        + field(n_samples, 8)
        + field("", 32)
    )
    assert len(header) == 512
    path.write_bytes(header + tal)
    return path


def _stage_lines(d: dict[str, str]) -> tuple[dict[str, int], dict[str, float]]:
    counts = {k: int(v) for k, v in re.findall(r"(Sleep stage \S+) x(\d+)", d["annotations"])}
    totals = {
        k: float(v)
        for k, v in re.findall(r"(Sleep stage \S+) ([0-9.]+) s", d["total duration by label"])
    }
    return counts, totals


def _expected(stages: list[tuple[float, float, str]]) -> tuple[dict[str, int], dict[str, float]]:
    totals: dict[str, float] = defaultdict(float)
    for _, duration, label in stages:
        totals[label] += duration
    return dict(Counter(s[2] for s in stages)), dict(totals)


def test_info_written_hypnogram(tmp_path, capsys):
    stages = [(0, 60, "Sleep stage W"), (60, 90, "Sleep stage 1"), (150, 3600, "Sleep stage 2")]
    stages += [(3750, 30, "Sleep stage W")]
    path = _write_hypnogram(tmp_path / "night-Hypnogram.edf", stages)
    assert _tal(path) == [(float(o), float(d), s) for o, d, s in stages]
    d = _info(path, capsys)
    assert d["type"] == "Annotations"
    assert _stage_lines(d) == _expected(stages)
    assert "Sleep stage 2 3600 s (1.00 h)" in d["total duration by label"]


@pytest.mark.realdata
def test_info_real_sleep_edf_hypnogram(shared_data, capsys):
    path = shared_data(f"{SUBSET}/EDF/SC4001EC-Hypnogram.edf")
    stages = _tal(path)
    assert len(stages) == 154
    d = _info(path, capsys)
    assert d["format"] == "EDF/EDF+" and d["type"] == "Annotations"
    counts, totals = _stage_lines(d)
    want_counts, want_totals = _expected(stages)
    assert counts == want_counts
    assert totals == pytest.approx(want_totals)
    assert sum(totals.values()) == pytest.approx(86400.0)  # the hypnogram spans 24 h


# ----------------------------------------------------------------------------- images
def test_info_written_mgz_and_analyze(tmp_path, capsys):
    nib = pytest.importorskip("nibabel")
    data = np.arange(4 * 5 * 6 * 3, dtype=np.float32).reshape(4, 5, 6, 3)
    mgh = nib.MGHImage(data, np.eye(4))
    mgh.header["tr"] = 2000.0  # milliseconds in MGH headers
    nib.save(mgh, tmp_path / "bold.mgz")
    d = _info(tmp_path / "bold.mgz", capsys)
    assert d["format"] == "MGH (FreeSurfer, gzip)" and d["type"] == "VolumeSeries"
    assert d["volume grid"] == "4 x 5 x 6" and d["volumes"] == "3"
    assert d["repetition time"].startswith("2 s")

    vol = data[..., 0]
    nib.save(nib.AnalyzeImage(vol, np.eye(4)), tmp_path / "anat.img")
    assert (tmp_path / "anat.hdr").exists()
    for name in ("anat.hdr", "anat.img"):
        d = _info(tmp_path / name, capsys)
        assert d["format"] == "Analyze/NIfTI pair (.hdr/.img)"
        assert d["volume grid"] == "4 x 5 x 6" and d["volumes"] == "1"
        assert d["image class"].endswith("AnalyzeImage")  # nibabel picks Spm2AnalyzeImage


@pytest.mark.realdata
def test_info_real_mgz(shared_data, capsys):
    nib = pytest.importorskip("nibabel")
    path = shared_data("fmri/nibabel_testdata/test.mgz")
    shape = nib.load(path).shape
    d = _info(path, capsys)
    assert d["volume grid"] == " x ".join(map(str, shape[:3]))
    assert d["volumes"] == str(shape[3] if len(shape) > 3 else 1)
    assert d["image class"] == "MGHImage"


@pytest.mark.realdata
def test_info_analyze_header_without_image(shared_data, capsys):
    path = shared_data("fmri/nibabel_testdata/analyze.hdr")  # the .img is not in the subset
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("neurodl: error: ") and "analyze.img" in err[-1]


# ----------------------------------------------------------------------------- epochs
def test_info_written_epochs_fif(tmp_path, capsys):
    mne = pytest.importorskip("mne")
    n = 7
    info = mne.create_info(["Fz", "Cz", "EOG1"], 200.0, ["eeg", "eeg", "eog"])
    codes = np.array([1, 1, 2, 1, 2, 1, 1])
    events = np.column_stack([100 * np.arange(1, n + 1), np.zeros(n, int), codes])
    epochs = mne.EpochsArray(
        np.zeros((n, 3, 61)),
        info,
        events,
        tmin=-0.1,
        event_id={"std": 1, "dev": 2},
        verbose="error",
    )
    epochs.save(tmp_path / "oddball-epo.fif", verbose="error")
    d = _info(tmp_path / "oddball-epo.fif", capsys)
    assert d["format"] == "FIF epochs (MNE)" and d["type"] == "EpochsDataset"
    assert d["epochs"] == "7, tmin -0.1 s to tmax 0.2 s around events"
    assert d["events"] == "std (code 1) x5, dev (code 2) x2"
    assert d["channel types"] == "eeg x2, eog x1"


@pytest.mark.realdata
def test_info_real_epoched_eeglab(shared_data, capsys):
    d = _info(shared_data(f"{SUBSET}/EEGLAB/test_epochs.set"), capsys)
    assert d["type"] == "EpochsDataset" and d["format"] == "EEGLAB"
    assert d["epochs"] == "4, tmin -0.06 s to tmax 0.08 s around events"
    assert d["events"] == "S255/S  8 (code 1) x1, S  8 (code 2) x1, S255/S  9 (code 3) x2"


def test_hdr_suffix_dispatch(tmp_path, capsys):
    from neurodl.io import _resolve
    from neurodl.io.eeg import read_raw
    from neurodl.io.fmri import read_nifti

    nirx = tmp_path / "nirx.hdr"
    nirx.write_text('[GeneralInfo]\nFileName="x"\n')
    assert _resolve(nirx) is read_raw  # MNE reads NIRx fNIRS recordings from their .hdr
    assert _resolve(tmp_path / "rec.ahdr") is read_raw  # BrainVision's other header suffix
    garbage = tmp_path / "garbage.hdr"
    garbage.write_bytes(b"\x01\x02" * 200)
    assert _resolve(garbage) is read_nifti
    assert main(["info", str(garbage)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("neurodl: error: ") and "garbage.hdr" in err[-1]
