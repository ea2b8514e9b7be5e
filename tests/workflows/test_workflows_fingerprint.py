"""The ``fingerprint`` task end to end: a config with planted fingerprints gives near-perfect
identification and a report with the numbers; none planted gives chance; bad configs are
refused clearly; and the EEGMAT example runs on the real data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.workflows import load_config, parse_config, run_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _cfg(spatial: float, **options):
    return parse_config(
        {
            "task": "fingerprint",
            "name": "fp",
            "seed": 0,
            "data": {
                "source": "simulate",
                "simulator": "fingerprint_sessions",
                "params": {"n_subjects": 8, "duration": 30.0, "spatial": spatial},
            },
            "options": {"n_permutations": 199, "l_freq": None, "h_freq": None, **options},
        }
    )


def test_planted_fingerprint_run_writes_numbers_to_results_and_report(tmp_path):
    res = run_config(_cfg(1.0, features=["correlation", "bandpower"]), tmp_path / "out")
    r = res.result
    assert r.n_subjects == 8 and r.chance_level == pytest.approx(1 / 8)
    before = r.row("correlation", "none")
    assert before.accuracy_ab >= 0.85 and before.accuracy_ba >= 0.85 and before.p_value < 0.01
    assert r.row("correlation", "recentre").accuracy == pytest.approx(1 / 8)
    assert r.reduction["correlation"]["recentre"] >= 0.7
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["task"] == "fingerprint" and len(saved["rows"]) == 6
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Identification accuracy" in html and f"{before.accuracy_ab:.3f}"[:4] in html
    assert any("correlation, recentre" in line for line in r.summary_lines())


def test_no_fingerprint_is_chance():
    r = run_config(_cfg(0.0, mitigations=["none"], features=["correlation"])).result
    row = r.row("correlation", "none")
    assert row.accuracy <= 0.3 and row.p_value > 0.01


def test_bad_configs_are_refused():
    with pytest.raises(ConfigError, match="'none'"):
        _cfg(1.0, mitigations=["recentre"])
    with pytest.raises(ConfigError, match=r"options\.features"):
        _cfg(1.0, features=["coherence"])
    with pytest.raises(ConfigError, match="evaluation"):
        parse_config(
            {
                "task": "fingerprint",
                "data": {"source": "simulate", "simulator": "fingerprint_sessions"},
                "evaluation": {"protocol": "within-session"},
            }
        )
    windows = parse_config(
        {
            "task": "fingerprint",
            "data": {
                "source": "simulate",
                "simulator": "motor_imagery",
                "params": {"n_trials": 20},
            },
        }
    )
    with pytest.raises(DataFormatError, match="continuous recordings"):
        run_config(windows)
    with pytest.raises(ConfigError, match="sessions"):
        run_config(_cfg(1.0, sessions=["1", "9"]))


@pytest.mark.realdata
def test_eegmat_example_identifies_subjects_across_rest_and_arithmetic(tmp_path):
    root = os.environ.get("NEURODL_DATA")
    if not root or not (Path(root) / "eeg" / "eegmat_mental_arithmetic").is_dir():
        pytest.skip("EEGMAT data not available under NEURODL_DATA")
    cfg = load_config(EXAMPLES / "eegmat_fingerprint.yaml")
    cfg.options["n_permutations"] = 199
    r = run_config(cfg, tmp_path / "out").result
    assert r.n_subjects == 12 and r.sessions == ["rest", "task"]
    # real fingerprints: well above chance (1/12) before mitigation, gone for the correlation
    # profile after re-centring, still there for band power (benchmarks/results/fingerprint.md)
    assert r.row("bandpower", "none").accuracy >= 0.5 and r.row("bandpower", "none").p_value < 0.01
    assert r.row("correlation", "none").accuracy >= 0.4
    assert r.row("correlation", "recentre").accuracy == pytest.approx(1 / 12)
    assert r.row("bandpower", "recentre").accuracy >= 0.4
    assert (
        yaml.safe_load((EXAMPLES / "eegmat_fingerprint.yaml").read_text())["task"] == "fingerprint"
    )
