"""The ``biomarker`` task: a planted effect end to end, the typed result, the report, bad input."""

from __future__ import annotations

import json

import jsonschema
import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import TASKS, parse_config, run_config


def _config(**over):
    cfg = {
        "task": "biomarker",
        "name": "sim",
        "seed": 0,
        "data": {
            "source": "simulate",
            "simulator": "cohort",
            "params": {
                "n_subjects": 60,
                "n_features": 12,
                "n_sites": 3,
                "group_effect": 1.2,
                "site_shift": 1.5,
            },
        },
        "evaluation": {"protocol": "leave-one-site-out", "n_permutations": 19, "n_boot": 100},
        "options": {"combat": "on", "top_k": 5, "n_stability_boot": 3},
    }
    for key, value in over.items():
        cfg[key] = value
    return cfg


def test_planted_effect_end_to_end_with_report(tmp_path):
    run = run_config(parse_config(_config()), tmp_path / "out")
    res = run.result
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    jsonschema.validate(on_disk, TASKS["biomarker"].result.json_schema())
    assert TASKS["biomarker"].result.from_dict(on_disk) == res
    assert res.score_mean > 0.7 and res.p_value == pytest.approx(0.05)
    assert res.site_decodability["before"]["balanced_accuracy"] > 0.9
    assert res.site_decodability["after"]["balanced_accuracy"] < 0.5
    assert res.effect_sizes["n_significant"] >= 3  # 5 informative features, d = 1.2
    assert "d >= " in res.small_sample.statement
    html = (tmp_path / "out" / "report.html").read_text()
    for part in ("Site decodability", "Effect sizes", "What this sample can show"):
        assert part in html


def test_null_cohort_reports_no_effect(tmp_path):
    cfg = _config()
    cfg["data"]["params"]["group_effect"] = 0.0
    cfg["report"] = {"enabled": False}
    res = run_config(parse_config(cfg), tmp_path / "out").result
    assert res.p_value > 0.05


def test_network_beside_linear_on_the_same_folds(tmp_path):
    cfg = _config()
    cfg["evaluation"]["n_permutations"] = 0
    cfg["options"]["network"] = {
        "name": "mlp",
        "params": {
            "max_epochs": 3,
            "n_hidden": 8,
            "validation_fraction": None,
            "early_stopping": False,
        },
    }
    cfg["report"] = {"enabled": False}
    res = run_config(parse_config(cfg), tmp_path / "out").result
    assert res.comparison is not None and res.comparison.n_splits == 3
    assert set(res.models) == {"linear", "mlp"}


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"features": "tangent"}, r"Invalid value for 'features' with a vector cohort"),
        ({"combat": "maybe"}, r"combat"),
    ],
)
def test_bad_options_are_refused(options, match, tmp_path):
    cfg = _config()
    cfg["options"] = options
    cfg["report"] = {"enabled": False}
    with pytest.raises(ConfigError, match=match):
        run_config(parse_config(cfg), tmp_path / "out")


@pytest.mark.realdata
def test_abide_small_run_reports_its_exclusions(shared_data, tmp_path):
    shared_data("fmri/abide_pcp_cc200")
    cfg = {
        "task": "biomarker",
        "data": {
            "source": "dataset",
            "dataset": "abide-cc200",
            "params": {"sites": ["KKI", "MAX_MUN", "TRINITY"], "max_subjects_per_site": 10},
        },
        "evaluation": {"protocol": "leave-one-site-out", "n_permutations": 0, "n_boot": 50},
        "options": {"features": "correlation", "site_check": False},
        "report": {"enabled": False},
    }
    res = run_config(parse_config(cfg), tmp_path / "out").result
    assert res.n_subjects == 30 and set(res.per_site) == {"KKI", "MAX_MUN", "TRINITY"}
    assert res.excluded["constant_regions"] > 0
    assert {e["rule"] for e in res.exclusions} >= {"constant_regions", "subsampled"}
