"""De-identification of EEGLAB and NWB recordings: planted identifiers never survive, the
signals do (byte for byte where they live in their own file), and the copies still read."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from neurodl.exceptions import DataFormatError
from neurodl.privacy import deidentify

CANARY = re.compile(rb"CANARY[A-Z]+")


def _canaries(folder: Path) -> list[tuple[str, bytes]]:
    """Every planted identifier still present in any byte of any output file."""
    return sorted(
        (p.name, hit)
        for p in folder.rglob("*")
        if p.is_file()
        for hit in set(CANARY.findall(p.read_bytes()))
    )


def _eeglab_fields() -> dict:
    return {
        "setname": "CANARYSETNAME",
        "filename": "CANARYFILENAME.set",
        "filepath": "/home/CANARYUSER/study",
        "subject": "CANARYSUBJECT",
        "group": "CANARYGROUP",
        "condition": "CANARYCONDITION",
        "session": "CANARYSESSION",
        "comments": "Original file: CANARYCOMMENT patient Jane",
        "history": "EEG = pop_loadset('/home/CANARYUSER/x.set');",
        "etc": {"note": "CANARYETC"},
        "chaninfo": {"filename": "/home/CANARYUSER/locs.ced"},
    }


def _raw(rng):
    import mne

    raw = mne.io.RawArray(
        rng.normal(0, 1e-5, (3, 600)),
        mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg"),
        verbose="error",
    )
    raw.set_annotations(
        mne.Annotations([1.0, 2.0, 3.0], [0, 0, 0], ["left", "right", "CANARYFREE"])
    )
    return raw


@pytest.fixture
def eeglab_one_file(tmp_path):
    """A single-file .set (top-level variables, data inside) with planted identifiers."""
    import mne
    import scipy.io

    path = tmp_path / "in" / "sub-01_task-x_eeg.set"
    path.parent.mkdir()
    mne.export.export_raw(path, _raw(np.random.default_rng(0)), fmt="eeglab", verbose="error")
    mat = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    scipy.io.savemat(path, {**mat, **_eeglab_fields()}, format="5", oned_as="row")
    assert len(set(CANARY.findall(path.read_bytes()))) >= 10  # planted for real
    return path


@pytest.fixture
def eeglab_two_files(tmp_path, eeglab_one_file):
    """The same recording as an EEG structure whose signals live in a .fdt file."""
    import scipy.io

    mat = {k: v for k, v in scipy.io.loadmat(eeglab_one_file).items() if not k.startswith("__")}
    folder = tmp_path / "two"
    folder.mkdir()
    data = np.asarray(mat.pop("data"), dtype="<f4")
    (folder / "sub-02_eeg.fdt").write_bytes(data.T.tobytes())  # EEGLAB: channels vary fastest
    mat.update(data="sub-02_eeg.fdt", datfile="sub-02_eeg.fdt")
    scipy.io.savemat(folder / "sub-02_eeg.set", {"EEG": mat}, format="5", oned_as="row")
    return folder / "sub-02_eeg.set"


def _read_eeglab(path):
    import mne

    raw = mne.io.read_raw_eeglab(path, preload=True, verbose="error")
    return raw.get_data(), list(raw.annotations.description)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_eeglab_one_file_identifiers_removed_signals_kept(tmp_path, eeglab_one_file):
    before, labels = _read_eeglab(eeglab_one_file)
    out = tmp_path / "out"
    report = deidentify(eeglab_one_file, out)
    assert _canaries(out) == []
    after, coded = _read_eeglab(out / eeglab_one_file.name)
    assert after.dtype == before.dtype and np.array_equal(after, before)  # same values
    assert len(coded) == len(labels) and "CANARYFREE" not in coded
    assert coded[0] != coded[1] and coded[0] == "A1"  # distinct texts keep distinct codes
    entry = report.files[0]
    assert entry["kind"] == "set" and entry["data_in_file"] is True
    assert {"subject", "session", "comments", "filepath", "history", "etc"} <= set(
        entry["fields_blanked"]
    )
    assert entry["event_texts_replaced"] == 3
    assert "1 EEGLAB" in report.summary()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_eeglab_fdt_copied_byte_for_byte_and_recoded_name(tmp_path, eeglab_two_files):
    before, _ = _read_eeglab(eeglab_two_files)
    out = tmp_path / "out"
    deidentify(eeglab_two_files.parent, out, mapping_file=tmp_path / "map.tsv")
    assert _canaries(out) == []
    fdt = list(out.glob("*.fdt"))
    assert len(fdt) == 1 and "sub-02" not in fdt[0].name  # subject code re-coded in the name
    assert fdt[0].read_bytes() == eeglab_two_files.with_suffix(".fdt").read_bytes()
    (new_set,) = out.glob("*.set")
    after, _ = _read_eeglab(new_set)  # the .set points at the re-coded .fdt name
    assert np.array_equal(after, before)


@pytest.mark.realdata
def test_eeglab_real_file_keeps_its_signals(tmp_path):
    root = os.environ.get("NEURODL_DATA")
    src = Path(root or "") / "eeg" / "mne_testing_subset" / "EEGLAB" / "test_raw.set"
    if not src.is_file():
        pytest.skip("MNE testing EEGLAB file not under NEURODL_DATA")
    out = tmp_path / "out"
    report = deidentify(src, out)  # a single .set brings its .fdt along
    assert (out / "test_raw.fdt").read_bytes() == src.with_suffix(".fdt").read_bytes()
    import scipy.io

    path_in = scipy.io.loadmat(src)["EEG"]["filepath"][0, 0]
    path_out = scipy.io.loadmat(out / "test_raw.set")["EEG"]["filepath"][0, 0]
    assert "/home/" in str(path_in) and "/home/" not in str(path_out)  # a real leak, removed
    assert b"/home/" not in (out / "test_raw.set").read_bytes()  # written uncompressed
    before, _ = _read_eeglab(src)
    after, _ = _read_eeglab(out / "test_raw.set")
    assert np.array_equal(before, after)
    assert "filepath" in report.files[0]["fields_blanked"]


@pytest.mark.realdata
def test_eeglab_real_epochs_file_reads_back_identical(tmp_path):
    import mne

    root = os.environ.get("NEURODL_DATA")
    src = Path(root or "") / "eeg" / "mne_testing_subset" / "EEGLAB" / "test_epochs.set"
    if not src.is_file():
        pytest.skip("MNE testing EEGLAB file not under NEURODL_DATA")
    report = deidentify(src, tmp_path / "out")
    before = mne.read_epochs_eeglab(src, verbose="error")
    after = mne.read_epochs_eeglab(tmp_path / "out" / src.name, verbose="error")
    assert np.array_equal(before.get_data(), after.get_data())
    assert len(after.event_id) == len(before.event_id)  # event texts coded, classes kept
    assert not set(after.event_id) & set(before.event_id)
    assert report.files[0]["event_texts_replaced"] > 0


def _write_nwb(path, data):
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.file import Subject

    start = dt.datetime(2003, 4, 5, 6, 7, 8, tzinfo=dt.timezone.utc)
    nwb = NWBFile(
        session_description="CANARYSESSDESC",
        identifier="CANARYIDENT",
        session_start_time=start,
        session_id="CANARYSESSID",
        experimenter=["CANARYEXPERIMENTER"],
        institution="CANARYINSTITUTE",
        lab="CANARYLAB",
        notes="CANARYNOTES",
        experiment_description="CANARYEXPDESC",
        subject=Subject(
            subject_id="CANARYSUBJ",
            date_of_birth=dt.datetime(1961, 2, 3, tzinfo=dt.timezone.utc),
            description="CANARYSUBJDESC",
            weight="CANARYWEIGHT",
            sex="F",
            species="Homo sapiens",
            age="P40Y",
        ),
    )
    nwb.add_acquisition(
        TimeSeries(name="sig", data=data, unit="V", rate=100.0, comments="CANARYCOMMENT")
    )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return start


def test_nwb_subject_and_session_fields_removed_signals_kept(tmp_path):
    from pynwb import NWBHDF5IO

    data = np.random.default_rng(0).normal(size=(500, 4)).astype("float32")
    src = tmp_path / "in" / "rec.nwb"
    src.parent.mkdir()
    start = _write_nwb(src, data)
    assert len(set(CANARY.findall(src.read_bytes()))) >= 10 and b"1961" in src.read_bytes()
    out = tmp_path / "out"
    report = deidentify(src.parent, out)
    assert _canaries(out) == []
    raw = (out / "rec.nwb").read_bytes()
    assert b"1961" not in raw and b"2003-04-05" not in raw
    with NWBHDF5IO(str(out / "rec.nwb"), "r") as io:
        nwb = io.read()
        assert np.array_equal(nwb.acquisition["sig"].data[:], data)
        assert nwb.acquisition["sig"].data.dtype == np.float32
        shift = start - nwb.session_start_time
        assert dt.timedelta(days=365) <= shift <= dt.timedelta(days=4015)
        assert shift.seconds == 0  # whole days: intervals and time of day survive
        assert nwb.subject.subject_id is None and nwb.subject.sex == "F"
        assert nwb.subject.date_of_birth is None and nwb.experimenter is None
    entry = report.files[0]
    assert entry["kind"] == "nwb" and entry["date_shifted"] is True
    assert "subject_id" in entry["subject_fields_removed"]
    assert {"session_id", "experimenter", "notes"} <= set(entry["session_fields_removed"])
    assert entry["comments_replaced"] == 1
    saved = json.loads((out / "deidentification_report.json").read_text())
    assert "CANARY" not in json.dumps(saved)


def test_nwb_subject_id_recoded_with_a_mapping(tmp_path):
    from pynwb import NWBHDF5IO

    root = tmp_path / "bids" / "sub-CANARYSUBJ" / "ses-1"
    root.mkdir(parents=True)
    _write_nwb(root / "sub-CANARYSUBJ_ses-1_ieeg.nwb", np.zeros((50, 2), dtype="float32"))
    out = tmp_path / "out"
    deidentify(tmp_path / "bids", out, mapping_file=tmp_path / "map.tsv")
    assert _canaries(out) == []
    (new,) = out.rglob("*.nwb")
    with NWBHDF5IO(str(new), "r") as io:
        code = io.read().subject.subject_id
    assert code and f"sub-{code}" in (tmp_path / "map.tsv").read_text()


def test_folder_with_any_unsupported_file_is_refused_whole(tmp_path, eeglab_one_file):
    folder = eeglab_one_file.parent
    (folder / "scan.nii").write_bytes(b"\x00")
    (folder / "rec.gdf").write_bytes(b"\x00")
    out = tmp_path / "out"
    with pytest.raises(
        DataFormatError, match=r"not supported yet: GDF, NIfTI.*Nothing was written"
    ):
        deidentify(folder, out)
    assert not out.exists()  # nothing of the supported .set was written either
    (folder / "scan.nii").unlink()
    (folder / "rec.gdf").unlink()
    (folder / "orphan.fdt").write_bytes(b"\x00" * 8)
    with pytest.raises(DataFormatError, match=r"EEGLAB data without its \.set"):
        deidentify(folder, out)


def test_eeglab_v73_and_broken_files_are_refused_clearly(tmp_path):
    import h5py

    v73 = tmp_path / "a" / "rec.set"
    v73.parent.mkdir()
    with h5py.File(v73, "w", userblock_size=512) as fh:
        fh["nbchan"] = 3
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: x HDF5 schema 1.00 .".ljust(116)
    with open(v73, "r+b") as fh:
        fh.write(header + b"\x00" * 8 + b"\x00\x02IM")
    with pytest.raises(DataFormatError, match=r"MATLAB v7\.3 \(HDF5\)"):
        deidentify(v73.parent, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    broken = tmp_path / "b" / "rec.set"
    broken.parent.mkdir()
    broken.write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(DataFormatError, match="EEGLAB"):
        deidentify(broken.parent, tmp_path / "out2")


def _write_nwb_with_echoes(path, data):
    """An NWB file whose removed identifiers also sit in free text and table columns."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.file import Subject

    nwb = NWBFile(
        session_description="rest",
        identifier="CANARYIDENT",
        session_start_time=dt.datetime(2003, 4, 5, tzinfo=dt.timezone.utc),
        experimenter=["CANARYEXPERIMENTER"],
        institution="CANARYINSTITUTE",
        subject=Subject(subject_id="CANARYSUBJ", sex="M", species="Homo sapiens"),
    )
    device = nwb.create_device(name="amp", description="amplifier of CANARYINSTITUTE")
    group = nwb.create_electrode_group(
        "grid", description="grid of patient CANARYSUBJ", location="cortex", device=device
    )
    nwb.add_electrode_column("note", "free text")
    for i in range(2):
        nwb.add_electrode(
            group=group, location=f"contact {i} (CANARYSUBJ)", note="placed by CANARYEXPERIMENTER"
        )
    nwb.add_trial_column("rater", "who scored the trial")
    nwb.add_trial(start_time=0.0, stop_time=1.0, rater="CANARYEXPERIMENTER")
    nwb.add_trial(start_time=1.0, stop_time=2.0, rater="someone else")
    nwb.add_acquisition(
        TimeSeries(
            name="sig", data=data, unit="V", rate=100.0, description="recorded from CANARYSUBJ"
        )
    )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def test_nwb_identifier_echoes_in_text_and_columns_are_removed(tmp_path):
    """The subject code, experimenter and institution planted in a series' description, a
    device, an electrode group, electrode-table and trials-table columns: none survives in any
    byte; the other texts and the signals do."""
    from pynwb import NWBHDF5IO

    data = np.random.default_rng(1).normal(size=(200, 2)).astype("float32")
    src = tmp_path / "in" / "rec.nwb"
    src.parent.mkdir()
    _write_nwb_with_echoes(src, data)
    assert src.read_bytes().count(b"CANARYSUBJ") >= 4
    out = tmp_path / "out"
    report = deidentify(src.parent, out)
    assert _canaries(out) == []
    with NWBHDF5IO(str(out / "rec.nwb"), "r") as io:
        nwb = io.read()
        assert np.array_equal(nwb.acquisition["sig"].data[:], data)
        assert nwb.acquisition["sig"].description == "recorded from [removed]"
        assert list(nwb.electrodes["location"].data[:]) == [
            "contact 0 ([removed])",
            "contact 1 ([removed])",
        ]
        assert list(nwb.trials["rater"].data[:]) == ["[removed]", "someone else"]
        assert nwb.devices["amp"].description == "amplifier of [removed]"
    assert report.files[0]["identifier_echoes_removed"] >= 5


def test_nwb_echo_the_rewrite_misses_refuses_the_file_and_writes_nothing(tmp_path, monkeypatch):
    """If an identifier survives the rewrite (here: the rewrite switched off), the copy is
    deleted and the file refused naming the field, never the value."""
    from neurodl.privacy import deidentify_nwb as mod

    src = tmp_path / "in" / "rec.nwb"
    src.parent.mkdir()
    _write_nwb_with_echoes(src, np.zeros((50, 2), dtype="float32"))
    monkeypatch.setattr(mod, "_scrub_echoes", lambda nwb, echoes: 0)
    with pytest.raises(
        DataFormatError, match=r"removed (subject_id|experimenter|institution)"
    ) as e:
        deidentify(src.parent, tmp_path / "out")
    assert "CANARY" not in str(e.value)
    assert not (tmp_path / "out").exists()  # the half-written output folder is removed
