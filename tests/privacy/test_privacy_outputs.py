"""Identifiers never leave: a run on an EDF full of planted canaries writes none of them.

The recording carries a patient name, patient code, birth date, recording date, technician
and free-text annotations; it lives in a folder whose absolute path is itself a canary. After
``neurodl -v run`` nothing of it may appear in ``results.json``, ``report.html``, any other
output file or the log lines; with ``--pseudonymise-subjects`` the subject code is gone too.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import numpy as np
import pytest
import yaml

from neurodl.cli.main import main
from neurodl.evaluation import provenance
from neurodl.privacy import pseudonym_map, pseudonymise_subjects, redact_paths

HEADER_CANARIES = ("CANARYNAME", "CANARYPCODE", "CANARYTECH", "CANARYEQUIP", "CANARYFREETEXT")
SUBJECT = "CANARYSUBJ7"


def _write_edf(path):
    import mne

    rng = np.random.default_rng(0)
    sfreq, n_ch, dur = 100.0, 6, 80.0
    n = int(sfreq * dur)
    t = np.arange(n) / sfreq
    data = rng.normal(0, 10e-6, (n_ch, n))
    onsets = np.arange(1.0, dur - 3, 3.0)
    labels = ["left" if i % 2 else "right" for i in range(len(onsets))]
    for onset, label in zip(onsets, labels, strict=True):  # planted class effect on channel 0/1
        sel = (t >= onset) & (t < onset + 2)
        data[0 if label == "left" else 1, sel] += 20e-6 * np.sin(2 * np.pi * 10 * t[sel])
    info = mne.create_info([f"EEG{i}" for i in range(n_ch)], sfreq, "eeg")
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_meas_date(dt.datetime(1987, 6, 5, 4, 3, 2, tzinfo=dt.timezone.utc))
    raw.info["subject_info"] = {
        "his_id": "CANARYPCODE",
        "first_name": "CANARYNAME",
        "last_name": "Doe",
        "birthday": dt.date(1961, 2, 3),
        "sex": 2,
    }
    raw.info["experimenter"] = "CANARYTECH"
    descriptions = [*labels, "CANARYFREETEXT patient said her name"]
    raw.set_annotations(mne.Annotations([*onsets, 5.5], [2.0] * len(onsets) + [0.0], descriptions))
    raw.info["device_info"] = {"type": "CANARYEQUIP"}
    mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")
    return path


@pytest.fixture(scope="module")
def canary_edf(tmp_path_factory):
    folder = tmp_path_factory.mktemp("CANARYDIR")
    path = _write_edf(folder / f"sub-{SUBJECT}_task-mi_eeg.edf")
    raw_header = path.read_bytes()[:256].decode("latin-1")
    assert "CANARYPCODE" in raw_header and "CANARYNAME" in raw_header  # planted for real
    assert "05.06.87" in raw_header
    return path


def _run(tmp_path, edf, capsys, *extra):
    cfg = {
        "name": "canary",
        "data": {
            "source": "file",
            "path": str(edf),  # absolute: a machine path that must not leave
            "params": {"subject": SUBJECT},
            "to_samples": {"epochs": {"event_labels": ["left", "right"], "tmin": 0.0, "tmax": 2.0}},
        },
        "preprocessing": [{"log_bandpower": {"bands": [[8.0, 12.0]]}}],
        "model": {"name": "lda"},
        "evaluation": {
            "protocol": "blocked-timeseries",
            "protocol_params": {"n_splits": 3},
            "n_permutations": 9,
            "n_boot": 50,
        },
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "canary.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    code = main(["-v", "run", str(path), "--out", str(out), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    texts = {p.name: p.read_text(errors="replace") for p in out.iterdir() if p.is_file()}
    texts["stdout+stderr (logs)"] = captured.out + captured.err
    return out, texts


def _leaks(texts, forbidden):
    return sorted(
        (name, bad) for name, text in texts.items() for bad in forbidden if bad and bad in text
    )


def _machine_paths(edf):
    return [str(edf.parent), sys.executable, sys.prefix]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_no_header_identity_date_or_machine_path_leaves(tmp_path, canary_edf, capsys):
    out, texts = _run(tmp_path, canary_edf, capsys)
    assert {"results.json", "report.html"} <= set(texts)
    results = json.loads((out / "results.json").read_text())
    assert results["score_mean"] > 0.6  # the run read the data and learned the planted effect
    forbidden = [*HEADER_CANARIES, "1987", "1961", "05.06.87", *_machine_paths(canary_edf)]
    assert _leaks(texts, forbidden) == []


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pseudonymised_run_never_shows_the_subject_code(tmp_path, canary_edf, capsys):
    _, plain = _run(tmp_path / "plain", canary_edf, capsys)
    assert _leaks(plain, [SUBJECT])  # the code is there without the setting...
    _, texts = _run(tmp_path / "pseudo", canary_edf, capsys, "--pseudonymise-subjects")
    assert _leaks(texts, [SUBJECT, *HEADER_CANARIES, *_machine_paths(canary_edf)]) == []
    assert "P1" in texts["results.json"] or "P1" in texts["report.html"]


def test_provenance_records_no_machine_path():
    record = json.dumps(provenance(protocol="within-session", seed=0))
    for bad in (sys.executable, sys.prefix):
        assert bad not in record
    assert "executable" not in record


def test_redact_paths():
    cwd = "/srv/project"
    assert redact_paths("read /home/jane/study/sub-01.edf ok", cwd=cwd) == "read .../sub-01.edf ok"
    assert redact_paths({"p": ["/srv/project/data/x.npy"]}, cwd=cwd) == {"p": ["data/x.npy"]}
    for kept in ("../shared/data/x.edf", "a/b", "https://x.org/a/b", "1/f noise", "µV/Hz"):
        assert redact_paths(kept, cwd=cwd) == kept
    assert redact_paths(r"C:\Users\jane\x.edf", cwd=cwd) == ".../x.edf"


def test_pseudonyms():
    from neurodl.data.simulate import simulate_motor_imagery

    ds = simulate_motor_imagery(n_subjects=3, n_sessions=1, n_trials=4, n_channels=4)
    codes = sorted(set(ds.metadata["subject"]))
    pseudo, mapping = pseudonymise_subjects(ds)
    assert sorted(set(pseudo.metadata["subject"])) == ["P1", "P2", "P3"]
    assert mapping == dict(zip(codes, ["P1", "P2", "P3"], strict=True))
    assert list(ds.metadata["subject"]) != list(pseudo.metadata["subject"])  # input untouched
    np.testing.assert_array_equal(pseudo.X, ds.X)
    keyed = pseudonym_map(codes, key="k1")
    assert keyed == pseudonym_map(codes, key="k1") != pseudonym_map(codes, key="k2")
    assert all(v.startswith("S-") and len(v) == 12 for v in keyed.values())
