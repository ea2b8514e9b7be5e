"""De-identification: canaries planted in every identifying place never reach the output."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import mne
import numpy as np
import pytest

from neurodl.exceptions import ConfigError, DataFormatError, OutputExistsError
from neurodl.privacy.deidentify import deidentify

CANARIES = {
    "patient_code": "CANARYCODE17",
    "patient_name": "Canary_Smithers",
    "birthdate": "13-AUG-1961",
    "technician": "CANARYTECH",
    "hospital": "CanaryGeneralHospital",
    "annotation": "CanaryNurseSaidHello",
    "annotation2": "seizure-CanaryRoom9",
    "participant_name": "CanaryParticipantName",
    "participant_phone": "555-CANARY-42",
    "scan_date": "2019-03-14",
    "institution": "CanaryInstitute",
    "address": "12 Canary Lane",
    "serial": "SN-CANARY-0042",
    "acq_datetime": "2019-03-14T09:10:11",
    "subject_folder": "CANARYSUBJ",
}

N_SAMPLES = 256  # per record, per signal (1-s records at 256 Hz)
N_RECORDS = 3


def _field(text: str, width: int) -> bytes:
    return text.encode("ascii").ljust(width, b" ")


def _tal_block(record: int, annotations: list[tuple[float, float, str]], width: int) -> bytes:
    block = f"+{record}\x14\x14\x00".encode()
    for onset, duration, text in annotations:
        block += f"+{onset}\x15{duration}\x14{text}\x14\x00".encode()
    assert len(block) <= width
    return block.ljust(width, b"\x00")


def write_edf_plus(
    path: Path, start: dt.datetime, rng: np.random.Generator, *, annotations=True
) -> bytes:
    """Write a small EDF+ file byte by byte (2 EEG signals + annotations); returns the signals."""
    c = CANARIES
    n_sig = 3 if annotations else 2
    labels = ["EEG Fz", "EEG Cz", "EDF Annotations"][:n_sig]
    samples = [N_SAMPLES, N_SAMPLES, 60][:n_sig]
    main = (
        _field("0", 8)
        + _field(f"{c['patient_code']} M {c['birthdate']} {c['patient_name']}", 80)
        + _field(
            f"Startdate {start:%d-%b-%Y}".upper().replace("STARTDATE", "Startdate")
            + f" ADM01 {c['technician']} {c['hospital']}",
            80,
        )
        + _field(f"{start:%d.%m.%y}", 8)
        + _field(f"{start:%H.%M.%S}", 8)
        + _field(str(256 * (n_sig + 1)), 8)
        + _field("EDF+C" if annotations else "", 44)
        + _field(str(N_RECORDS), 8)
        + _field("1", 8)
        + _field(str(n_sig), 4)
    )
    per = b"".join(_field(lab, 16) for lab in labels)
    per += b"".join(_field("AgAgCl", 80) for _ in labels)
    per += b"".join(_field("uV" if i < 2 else "", 8) for i in range(n_sig))
    per += b"".join(_field("-3200" if i < 2 else "-1", 8) for i in range(n_sig))
    per += b"".join(_field("3200" if i < 2 else "1", 8) for i in range(n_sig))
    per += b"".join(_field("-32768", 8) for _ in labels)
    per += b"".join(_field("32767", 8) for _ in labels)
    per += b"".join(_field("", 80) for _ in labels)
    per += b"".join(_field(str(s), 8) for s in samples)
    per += b"".join(_field("", 32) for _ in labels)
    signals = b""
    records = b""
    for r in range(N_RECORDS):
        eeg = rng.integers(-30000, 30000, size=2 * N_SAMPLES, dtype="<i2").tobytes()
        signals += eeg
        records += eeg
        if annotations:
            notes = {0: [(0.5, 1.0, c["annotation"])], 2: [(2.25, 0.5, c["annotation2"])]}
            records += _tal_block(r, notes.get(r, []), 2 * 60)
    path.write_bytes(main + per + records)
    return signals


def _signal_bytes(path: Path, annotations: bool = True) -> bytes:
    raw = path.read_bytes()
    n_sig = 3 if annotations else 2
    data = raw[256 * (n_sig + 1) :]
    size = 2 * N_SAMPLES * 2 + (120 if annotations else 0)
    return b"".join(data[r * size : r * size + 4 * N_SAMPLES] for r in range(N_RECORDS))


@pytest.fixture
def bids_root(tmp_path):
    """A BIDS dataset with canaries in 10+ places; two sessions of one subject 9 days apart."""
    c = CANARIES
    root = tmp_path / "in"
    rng = np.random.default_rng(0)
    sub = f"sub-{c['subject_folder']}"
    signals = {}
    starts = {
        "ses-1": dt.datetime(2019, 3, 14, 9, 10, 11),
        "ses-2": dt.datetime(2019, 3, 23, 14, 0, 0),
    }
    for ses, start in starts.items():
        folder = root / sub / ses / "eeg"
        folder.mkdir(parents=True)
        name = f"{sub}_{ses}_task-rest_eeg"
        signals[ses] = write_edf_plus(folder / f"{name}.edf", start, rng)
        (folder / f"{name}.json").write_text(
            json.dumps(
                {
                    "TaskName": "rest",
                    "SamplingFrequency": 256,
                    "InstitutionName": c["institution"],
                    "InstitutionAddress": c["address"],
                    "DeviceSerialNumber": c["serial"],
                    "AcquisitionDateTime": c["acq_datetime"],
                }
            )
        )
        (root / sub / ses / f"{sub}_{ses}_scans.tsv").write_text(
            f"filename\tacq_time\neeg/{name}.edf\t{start:%Y-%m-%dT%H:%M:%S}\n"
        )
    (root / "participants.tsv").write_text(
        "participant_id\tage\tsex\tname\tphone\n"
        f"{sub}\t37\tM\t{c['participant_name']}\t{c['participant_phone']}\n"
        "sub-02\t93\tF\tn/a\tn/a\n"
    )
    (root / "participants.json").write_text(
        json.dumps({"name": {"Description": "full name"}, "age": {"Units": "years"}})
    )
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "canary test", "BIDSVersion": "1.8.0"})
    )
    return root, signals, starts


def _all_output_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_no_canary_survives_and_signals_are_byte_identical(bids_root, tmp_path):
    root, signals, starts = bids_root
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    mapping = tmp_path / "private" / "mapping.tsv"
    report = deidentify(root, out, mapping_file=mapping, key="test-secret")

    # every canary is in the input (it was planted) and in no output file, names included
    input_blob = b"".join(before.values()) + str(sorted(map(str, before))).encode()
    for name, canary in CANARIES.items():
        assert canary.encode() in input_blob, name
        for rel, content in _all_output_bytes(out).items():
            assert canary.encode() not in content, (name, rel)
            assert canary not in rel, (name, rel)
    # the EDF start date is not in the EDF headers in any notation either
    for rel, content in _all_output_bytes(out).items():
        assert b"14.03.19" not in content and b"23.03.19" not in content, rel

    # the input is untouched
    assert before == {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}

    # signals byte-identical; intervals between the subject's files preserved
    edfs = sorted(out.rglob("*.edf"))
    assert len(edfs) == 2
    new_starts = []
    for ses, edf in zip(sorted(signals), edfs, strict=True):
        assert ses in edf.name
        assert _signal_bytes(edf) == signals[ses]
        raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
        new_starts.append(raw.info["meas_date"].replace(tzinfo=None))
        # annotations: onsets and durations kept, texts neutral codes
        onsets = [round(o, 3) for o in raw.annotations.onset]
        assert onsets == [0.5, 2.25]
        assert list(raw.annotations.duration) == [1.0, 0.5]
        assert sorted(raw.annotations.description) == ["A1", "A2"]
    assert new_starts[1] - new_starts[0] == starts["ses-2"] - starts["ses-1"]
    assert new_starts[0] < starts["ses-1"] - dt.timedelta(days=364)

    # scans.tsv times shifted by the same offset as the EDF header
    scans = sorted(out.rglob("*_scans.tsv"))
    shifted = dt.datetime.fromisoformat(scans[0].read_text().splitlines()[1].split("\t")[1])
    assert shifted == new_starts[0]

    # participants: identifying columns dropped, ages binned, codes mapped
    lines = (out / "participants.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["participant_id", "age", "sex"]
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in lines[1:]}
    table = dict(line.split("\t") for line in mapping.read_text().splitlines()[1:])
    assert set(table) == {f"sub-{CANARIES['subject_folder']}", "sub-02"}
    assert rows[table[f"sub-{CANARIES['subject_folder']}"]] == ["35-39", "M"]
    assert rows[table["sub-02"]] == ["90+", "F"]
    assert json.loads((out / "participants.json").read_text()).keys() == {"age"}

    # the report says what was found, without identities
    saved = json.loads((out / "deidentification_report.json").read_text())
    totals = saved["totals"]
    assert totals["edf"] == 2 and totals["annotation_texts_replaced"] == 4
    assert totals["patient_field_blanked"] == 2 and totals["recording_field_blanked"] == 2
    assert totals["times_shifted"] == 2 and totals["columns_dropped"] == 2
    assert totals["fields_removed"] >= 8
    assert "2 patient and 2 recording fields blanked" in report.summary()

    # the same key gives the same output codes and dates
    again = deidentify(root, tmp_path / "out2", key="test-secret", recode_subjects=True)
    assert sorted(_all_output_bytes(out)) == sorted(_all_output_bytes(tmp_path / "out2"))
    assert again.keyed


def test_plain_edf_file_and_header_fields(tmp_path):
    rng = np.random.default_rng(1)
    src = tmp_path / "rec.edf"
    signals = write_edf_plus(src, dt.datetime(2001, 5, 6, 7, 8, 9), rng, annotations=False)
    out = tmp_path / "out"
    deidentify(src, out)
    new = (out / "rec.edf").read_bytes()
    assert new[8:88] == b"X X X X".ljust(80)
    assert new[88:168] == b"Startdate X X X X".ljust(80)
    assert new[168:176] != src.read_bytes()[168:176]
    assert new[176:] == src.read_bytes()[176:]  # start time, sizes, signal headers, data
    assert _signal_bytes(out / "rec.edf", annotations=False) == signals


def test_refuses_unsafe_places_and_unsupported_formats(bids_root, tmp_path):
    root, _, _ = bids_root
    with pytest.raises(ConfigError, match="outside the input"):
        deidentify(root, root / "derivatives" / "deid")
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(OutputExistsError, match="already exists"):
        deidentify(root, existing)
    with pytest.raises(ConfigError, match="mapping_file"):
        deidentify(root, tmp_path / "o", mapping_file=tmp_path / "o" / "map.tsv")
    assert not (tmp_path / "o").exists()
    (root / "sub-02").mkdir()
    (root / "sub-02" / "rec.gdf").write_bytes(b"\x00")  # EEGLAB and NWB are handled now
    (root / "sub-02" / "rec.nii").write_bytes(b"\x00")
    with pytest.raises(DataFormatError, match="not supported yet: GDF, NIfTI"):
        deidentify(root, tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_broken_edf_header_is_refused(tmp_path):
    src = tmp_path / "bad.edf"
    src.write_bytes(b"0       " + b" " * 100)
    with pytest.raises(DataFormatError, match="shorter than 256"):
        deidentify(src, tmp_path / "out")


def test_cli_claims_the_output_folder(bids_root, tmp_path, capsys):
    from neurodl.cli.main import main

    root, _, _ = bids_root
    out = tmp_path / "deid"
    key_file = tmp_path / "key.txt"
    key_file.write_text("cli-secret\n")
    args = ["deidentify", str(root), str(out), "--key-file", str(key_file), "--recode-subjects"]
    assert main(args) == 0
    assert "2 patient and 2 recording fields blanked" in capsys.readouterr().out
    assert (out / ".neurodl-output").is_file()
    assert not any(CANARIES["subject_folder"] in str(p) for p in out.rglob("*"))
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    capsys.readouterr()
    assert main(["deidentify", str(root), str(root / "deid")]) == 1
    assert "outside the input" in capsys.readouterr().err
    assert not (root / "deid").exists() and not list(root.glob(".deid*"))
    other = tmp_path / "mine"
    other.mkdir()
    assert main(["deidentify", str(root), str(other), "--overwrite"]) == 1
    assert "not written by neurodl" in capsys.readouterr().err


def test_fif_anonymised_with_the_same_values(tmp_path):
    rng = np.random.default_rng(2)
    data = rng.normal(scale=1e-5, size=(3, 600))
    info = mne.create_info(["Fz", "Cz", "Pz"], 200.0, "eeg")
    raw = mne.io.RawArray(data, info, verbose="error")
    start = dt.datetime(2018, 7, 1, 10, 0, 0, tzinfo=dt.timezone.utc)
    raw.set_meas_date(start)
    with raw.info._unlock():
        raw.info["subject_info"] = {
            "his_id": CANARIES["patient_code"],
            "last_name": CANARIES["patient_name"],
            "birthday": dt.date(1961, 8, 13),
        }
        raw.info["experimenter"] = CANARIES["technician"]
        raw.info["description"] = CANARIES["hospital"]
    raw.set_annotations(mne.Annotations([0.5], [1.0], [CANARIES["annotation"]], orig_time=start))
    folder = tmp_path / "in" / "sub-01" / "meg"
    folder.mkdir(parents=True)
    raw.save(folder / "sub-01_task-rest_raw.fif", fmt="double", verbose="error")
    out = tmp_path / "out"
    report = deidentify(tmp_path / "in", out, key="k")
    new_file = out / "sub-01" / "meg" / "sub-01_task-rest_raw.fif"
    content = new_file.read_bytes()
    for name in ("patient_code", "patient_name", "technician", "hospital", "annotation"):
        assert CANARIES[name].encode() not in content, name
    new = mne.io.read_raw_fif(new_file, preload=True, verbose="error")
    np.testing.assert_array_equal(new.get_data(), raw.get_data())
    assert new.annotations.onset.tolist() == [0.5]
    assert new.annotations.description.tolist() == ["A1"]
    assert set(new.info["subject_info"]) <= {"his_id"}
    assert new.info["meas_date"] <= start - dt.timedelta(days=365)
    assert report.totals()["subject_info_removed"] == 1


@pytest.mark.realdata
@pytest.mark.parametrize(
    "relpath",
    [
        "eeg/mne_testing_subset/EDF/test_edf_overlapping_annotations.edf",
        "eeg/mne_testing_subset/EDF/test_utf8_annotations.edf",
        "eeg/mne_testing_subset/EDF/test_reduced.edf",
        "eeg/mne_testing_subset/BDF/multiple_annotation_chans.bdf",
        "eeg/eegmmidb_S001/S001R03.edf",
    ],
)
def test_real_edf_bdf_values_and_annotation_timing_kept(shared_data, tmp_path, relpath):
    src = shared_data(relpath)
    deidentify(src, tmp_path / "out", key="k")
    dst = tmp_path / "out" / src.name
    read = mne.io.read_raw_bdf if src.suffix == ".bdf" else mne.io.read_raw_edf
    before = read(src, preload=True, verbose="error")
    after = read(dst, preload=True, verbose="error")
    np.testing.assert_array_equal(after.get_data(), before.get_data())
    np.testing.assert_array_equal(after.annotations.onset, before.annotations.onset)
    np.testing.assert_array_equal(after.annotations.duration, before.annotations.duration)
    codes = dict(zip(before.annotations.description, after.annotations.description, strict=True))
    assert len(set(codes.values())) == len(codes)  # one code per distinct text
    assert after.info["meas_date"] <= before.info["meas_date"] - dt.timedelta(days=365)
    assert dst.read_bytes()[8:168] == b"X X X X".ljust(80) + b"Startdate X X X X".ljust(80)


def test_brainvision_comments_markers_and_dates(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    data = np.random.default_rng(3).normal(size=(500, 2)).astype("<f4")
    (folder / "rec.eeg").write_bytes(data.tobytes())
    (folder / "rec.vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n"
        f"; recorded by {CANARIES['technician']}\n"
        "[Common Infos]\nCodepage=UTF-8\nDataFile=rec.eeg\nMarkerFile=rec.vmrk\n"
        "DataFormat=BINARY\nDataOrientation=MULTIPLEXED\nNumberOfChannels=2\n"
        "SamplingInterval=4000\n[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n"
        "[Channel Infos]\nCh1=Fz,,1,µV\nCh2=Cz,,1,µV\n"
        f"[Comment]\nPatient: {CANARIES['patient_name']}\nImpedance [kOhm] at 09:10:11 :\n"
    )
    (folder / "rec.vmrk").write_text(
        "Brain Vision Data Exchange Marker File Version 1.0\n"
        "[Common Infos]\nCodepage=UTF-8\nDataFile=rec.eeg\n[Marker Infos]\n"
        "Mk1=New Segment,,1,1,0,20190314091011000000\n"
        f"Mk2=Comment,{CANARIES['annotation']},101,1,0\n"
        "Mk3=Stimulus,S  1,201,1,0\n"
        "Mk4=Stimulus,S  1,301,1,0\n"
    )
    out = tmp_path / "out"
    report = deidentify(folder, out, key="k")
    for rel, content in _all_output_bytes(out).items():
        for name in ("technician", "patient_name", "annotation", "scan_date"):
            canary = CANARIES[name].replace("-", "").encode()
            assert canary not in content.replace(b"-", b""), (name, rel)
    assert (out / "rec.eeg").read_bytes() == (folder / "rec.eeg").read_bytes()
    before = mne.io.read_raw_brainvision(folder / "rec.vhdr", preload=True, verbose="error")
    after = mne.io.read_raw_brainvision(out / "rec.vhdr", preload=True, verbose="error")
    np.testing.assert_array_equal(after.get_data(), before.get_data())
    np.testing.assert_array_equal(after.annotations.onset, before.annotations.onset)
    assert len(set(after.annotations.description)) == len(set(before.annotations.description))
    assert after.info["meas_date"] <= before.info["meas_date"] - dt.timedelta(days=365)
    assert after.info["meas_date"].time() == before.info["meas_date"].time()
    totals = report.totals()
    assert totals["marker_texts_replaced"] == 3 and totals["dates_shifted"] == 1
    deidentify(folder / "rec.vhdr", tmp_path / "one", key="k")  # a header brings its files
    assert sorted(p.name for p in (tmp_path / "one").glob("rec.*")) == [
        "rec.eeg",
        "rec.vhdr",
        "rec.vmrk",
    ]
