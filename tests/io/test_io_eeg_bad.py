"""Bad input to read_raw/read_annotations: one clear DataFormatError, nothing written to disk.

Each case builds a damaged copy of a real fixture in tmp_path (truncated, random bytes, empty,
wrong extension, missing companion file) and checks the error names the file and the problem.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from neurodl.exceptions import DataFormatError
from neurodl.io import read
from neurodl.io.eeg import read_annotations, read_raw

SUBSET = "eeg/mne_testing_subset"


def _head(src: str, name: str, n_bytes: int | None = None) -> Callable[[Path, Path], Path]:
    """Copy the first ``n_bytes`` (default: half) of a fixture."""

    def make(root: Path, tmp: Path) -> Path:
        data = (root / src).read_bytes()
        (tmp / name).write_bytes(data[: len(data) // 2 if n_bytes is None else n_bytes])
        return tmp / name

    return make


def _random(name: str, n: int = 5000) -> Callable[[Path, Path], Path]:
    def make(root: Path, tmp: Path) -> Path:
        (tmp / name).write_bytes(np.random.default_rng(0).bytes(n))
        return tmp / name

    return make


def _empty(name: str) -> Callable[[Path, Path], Path]:
    def make(root: Path, tmp: Path) -> Path:
        (tmp / name).write_bytes(b"")
        return tmp / name

    return make


def _copy(files: dict[str, str], target: str) -> Callable[[Path, Path], Path]:
    """Copy fixture files to new names (source -> name); return the file called ``target``."""

    def make(root: Path, tmp: Path) -> Path:
        for src, name in files.items():
            shutil.copyfile(root / src, tmp / name)
        return tmp / target

    return make


def _truncated_fdt(root: Path, tmp: Path) -> Path:
    shutil.copyfile(root / "EEGLAB/test_raw.set", tmp / "test_raw.set")
    (tmp / "test_raw.fdt").write_bytes((root / "EEGLAB/test_raw.fdt").read_bytes()[:100_000])
    return tmp / "test_raw.set"


VHDR = {
    "Brainvision/test_NO.vhdr": "test_NO.vhdr",
    "Brainvision/test_NO.eeg": "test_NO.eeg",
    "Brainvision/test_NO.vmrk": "test_NO.vmrk",
}

#: case id -> (builder, regex the message must match)
CASES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "edf_half": (_head("EDF/test_reduced.edf", "half.edf"), "truncated"),
    "bdf_half": (_head("BDF/test_bdf_stim_channel.bdf", "half.bdf"), "truncated"),
    "fif_half": (
        _head("SSS/sample_audvis_trunc_raw_sss.fif", "half_raw.fif"),
        "FIF recording.*Number of channels",
    ),
    # cut inside the signal headers (1000 bytes of a 139-channel EDF)
    "edf_header_only": (_head("EDF/test_reduced.edf", "hdr.edf", 1000), "EDF/EDF\\+ recording"),
    "edf_random": (_random("rand.edf"), "EDF/EDF\\+ recording.*corrupt"),
    "bdf_random": (_random("rand.bdf"), "BDF recording.*corrupt"),
    "gdf_random": (_random("rand.gdf"), "GDF recording.*corrupt"),
    "vhdr_random": (_random("rand.vhdr"), "BrainVision recording.*corrupt"),
    "set_random": (_random("rand.set"), "not a valid MATLAB/EEGLAB"),
    "fif_random": (_random("rand_raw.fif"), "FIF recording.*corrupt"),
    "nk_random": (_random("RAND.EEG"), "Nihon Kohden recording.*corrupt"),
    "edf_empty": (_empty("empty.edf"), "empty"),
    "vhdr_empty": (_empty("empty.vhdr"), "empty"),
    "set_empty": (_empty("empty.set"), "empty"),
    "fif_empty": (_empty("empty_raw.fif"), "empty"),
    "vhdr_as_edf": (_copy({"Brainvision/test_NO.vhdr": "hdr.edf"}, "hdr.edf"), "corrupt"),
    "edf_as_set": (_copy({"EDF/test_reduced.edf": "edf.set"}, "edf.set"), "not a valid MATLAB"),
    "edf_as_vhdr": (_copy({"EDF/test_reduced.edf": "edf.vhdr"}, "edf.vhdr"), "BrainVision"),
    "edf_unknown_ext": (_copy({"EDF/test_reduced.edf": "rec.xyz"}, "rec.xyz"), "no reader"),
    "vhdr_missing_eeg": (
        _copy({k: v for k, v in VHDR.items() if not k.endswith(".eeg")}, "test_NO.vhdr"),
        r"data file \(\.eeg\) 'test_NO\.eeg'.*missing",
    ),
    "vhdr_missing_vmrk": (
        _copy({k: v for k, v in VHDR.items() if not k.endswith(".vmrk")}, "test_NO.vhdr"),
        r"marker file \(\.vmrk\) 'test_NO\.vmrk'.*missing",
    ),
    "vhdr_renamed": (
        _copy({k: "renamed" + Path(v).suffix for k, v in VHDR.items()}, "renamed.vhdr"),
        "'test_NO.eeg'.*missing",
    ),
    "set_missing_fdt": (
        _copy({"EEGLAB/test_raw.set": "test_raw.set"}, "test_raw.set"),
        r"\.fdt data file is missing",
    ),
    "set_truncated_fdt": (
        _truncated_fdt,
        r"data file holds only 100000 bytes: the header is corrupt or the data file is truncated",
    ),
    "eeg_companion": (_copy(VHDR, "test_NO.eeg"), r"read test_NO\.vhdr instead"),
    "hypnogram": (
        _copy({"EDF/SC4001EC-Hypnogram.edf": "hyp.edf"}, "hyp.edf"),
        "annotation-only.*read_annotations",
    ),
}


def _listing(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in folder.iterdir()}


def _check_single_clean_error(err: DataFormatError, path: Path) -> None:
    assert str(path) in str(err)
    # one error: MNE's exception is not chained into the traceback
    assert err.__cause__ is None
    assert err.__context__ is None or err.__suppress_context__


@pytest.mark.realdata
@pytest.mark.parametrize("case", list(CASES))
def test_read_raw_bad_input(shared_data, tmp_path, case):
    build, match = CASES[case]
    path = build(shared_data(SUBSET), tmp_path)
    before = _listing(tmp_path)
    with pytest.raises(DataFormatError, match=match) as info:
        read_raw(path)
    _check_single_clean_error(info.value, path)
    assert _listing(tmp_path) == before  # nothing written next to the input


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [("missing.edf", None, "no such file"), ("folder.edf", "dir", "is a folder")],
)
def test_read_raw_missing(tmp_path, name, content, match):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    with pytest.raises(DataFormatError, match=match):
        read_raw(path)


@pytest.mark.realdata
@pytest.mark.parametrize("case", ["edf_half", "edf_random", "vhdr_missing_eeg", "set_empty"])
def test_dispatch_bad_input(shared_data, tmp_path, case):
    build, match = CASES[case]
    path = build(shared_data(SUBSET), tmp_path)
    with pytest.raises(DataFormatError, match=match):
        read(path)


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("edf_random", "EDF/BDF header is corrupt"),
        ("vhdr_random", "BrainVision annotations.*corrupt"),
        ("edf_empty", "empty"),
    ],
)
def test_read_annotations_bad_input(shared_data, tmp_path, case, match):
    path = CASES[case][0](shared_data(SUBSET), tmp_path)
    before = _listing(tmp_path)
    with pytest.raises(DataFormatError, match=match) as info:
        read_annotations(path)
    _check_single_clean_error(info.value, path)
    assert _listing(tmp_path) == before


@pytest.mark.realdata
def test_read_annotations_signal_only_edf(shared_data, tmp_path):
    shutil.copyfile(shared_data(f"{SUBSET}/BDF/test_bdf_stim_channel.bdf"), tmp_path / "s.bdf")
    with pytest.raises(DataFormatError, match="no 'EDF Annotations' signal"):
        read_annotations(tmp_path / "s.bdf")


def test_mne_warnings_go_to_the_logger(tmp_path, caplog):
    """Non-fatal MNE warnings reach the neurodl logger; fatal ones raise; none escape."""
    import warnings

    from neurodl.io.eeg import _mne_guard

    path = tmp_path / "x.edf"
    with caplog.at_level("DEBUG", logger="neurodl"), warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked warning would fail here
        with _mne_guard(path, "EDF recording"):
            warnings.warn("Channel names are not unique", RuntimeWarning, stacklevel=1)
            warnings.warn(
                "x does not conform to MNE naming conventions", RuntimeWarning, stacklevel=1
            )
    levels = {r.getMessage().split(": ", 1)[1]: r.levelname for r in caplog.records}
    assert levels == {
        "Channel names are not unique": "WARNING",
        "x does not conform to MNE naming conventions": "DEBUG",
    }
    with pytest.raises(
        DataFormatError,
        match=r"x\.edf: cannot be read as EDF recording: the "
        "file is truncated",
    ):
        with _mne_guard(path, "EDF recording"):
            warnings.warn(
                "Number of records from the header does not match the file size",
                RuntimeWarning,
                stacklevel=1,
            )


@pytest.mark.realdata
def test_clean_fixture_logs_no_warning(shared_data, caplog):
    with caplog.at_level("DEBUG", logger="neurodl"):
        read_raw(shared_data(f"{SUBSET}/EDF/test_reduced.edf"), verbose="debug")
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert any("Read <Recording" in r.getMessage() for r in caplog.records)
