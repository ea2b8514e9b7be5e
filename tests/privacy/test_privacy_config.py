"""``privacy: {pseudonymise_subjects: true}`` in the YAML config: no real subject code leaves.

Same guarantee as ``neurodl run --pseudonymise-subjects``, but set in the config file (and so
recorded with the run): ``results.json``, ``report.html`` and the log lines carry pseudonyms,
never the planted subject code; without the setting the code is there (the test can see it).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from neurodl.cli.main import main
from neurodl.workflows import load_config, run_config

SUBJECT = "CANARYSUBJ9"


@pytest.fixture(scope="module")
def edf(tmp_path_factory):
    import mne

    rng = np.random.default_rng(1)
    sfreq, n = 100.0, 8000
    t = np.arange(n) / sfreq
    data = rng.normal(0, 10e-6, (4, n))
    onsets = np.arange(1.0, 77.0, 3.0)
    labels = ["left" if i % 2 else "right" for i in range(len(onsets))]
    for onset, label in zip(onsets, labels, strict=True):  # planted class effect
        sel = (t >= onset) & (t < onset + 2)
        data[0 if label == "left" else 1, sel] += 20e-6 * np.sin(2 * np.pi * 10 * t[sel])
    raw = mne.io.RawArray(data, mne.create_info(4, sfreq, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations(onsets, 2.0, labels))
    path = tmp_path_factory.mktemp("edf") / f"sub-{SUBJECT}_task-mi_eeg.edf"
    mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")
    return path


def _config(tmp_path, edf, privacy):
    cfg = {
        "name": "pseudo-config",
        "data": {
            "source": "file",
            "path": str(edf),
            "params": {"subject": SUBJECT},
            "to_samples": {"epochs": {"event_labels": ["left", "right"], "tmin": 0.0, "tmax": 2.0}},
        },
        "preprocessing": [{"log_bandpower": {"bands": [[8.0, 12.0]]}}],
        "model": {"name": "lda"},
        "evaluation": {
            "protocol": "blocked-timeseries",
            "protocol_params": {"n_splits": 3},
            "n_permutations": 0,
            "n_boot": 20,
        },
    }
    if privacy is not None:
        cfg["privacy"] = privacy
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _outputs(out):
    return {p.name: p.read_text(errors="replace") for p in out.iterdir() if p.is_file()}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_config_setting_pseudonymises_results_report_and_logs(tmp_path, edf, capsys):
    plain = _config(tmp_path / "plain", edf, None)
    assert main(["-v", "run", str(plain), "--out", str(tmp_path / "plain_out")]) == 0
    capsys.readouterr()
    assert SUBJECT in (tmp_path / "plain_out" / "results.json").read_text()  # visible by default

    path = _config(tmp_path / "pseudo", edf, {"pseudonymise_subjects": True})
    out = tmp_path / "pseudo_out"
    assert main(["-v", "run", str(path), "--out", str(out)]) == 0  # no CLI flag, no env
    captured = capsys.readouterr()
    texts = {**_outputs(out), "logs": captured.out + captured.err}
    assert {"results.json", "report.html"} <= set(texts)
    assert [name for name, text in texts.items() if SUBJECT in text] == []
    results = json.loads(texts["results.json"])
    assert results["config"]["privacy"] == {"pseudonymise_subjects": True}
    assert results["score_mean"] > 0.6  # the data were read and the planted effect learned
    assert "P1" in texts["results.json"] or "P1" in texts["report.html"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_library_run_config_honours_the_setting(tmp_path, edf):
    cfg = load_config(_config(tmp_path, edf, {"pseudonymise_subjects": True}))
    res = run_config(cfg, None)  # no CLI, no environment variable: the config alone
    assert SUBJECT not in json.dumps(res.results)


def test_unknown_privacy_key_is_refused(tmp_path, edf):
    from neurodl.exceptions import ConfigError

    with pytest.raises(ConfigError, match="pseudonymise_subjects"):
        load_config(_config(tmp_path, edf, {"pseudonymize_subjects": True}))
