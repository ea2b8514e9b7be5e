"""The ``attribution_sanity`` task: attribution maps scored against a planted truth, with checks."""

from __future__ import annotations

import json

import jsonschema
import pytest

from neurodl.exceptions import ConfigError
from neurodl.report import check_report_offline
from neurodl.workflows import TASKS, parse_config, run_config


def _config(**options):
    base = {
        "simulation": {"n_trials": 200, "n_channels": 6, "effect_size": 3.0},
        "network": {"name": "mlp", "max_epochs": 6},
        "network_methods": ["integrated_gradients", "feature_ablation"],
        "n_splits": 2,
        "n_explain": 40,
        "n_check_samples": 30,
        "n_seeds": 1,
    }
    base.update(options)
    return {"task": "attribution_sanity", "name": "tiny", "options": base}


def test_tiny_run_follows_its_schema_scores_methods_and_reports_checks(tmp_path):
    run = run_config(parse_config(_config()), tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    cls = TASKS["attribution_sanity"].result
    jsonschema.validate(on_disk, cls.json_schema())
    assert cls.from_dict(on_disk) == run.result
    methods = {m["method"]: m for m in on_disk["methods"]}
    assert set(methods) == {
        "integrated_gradients",
        "feature_ablation",
        "linear_filter",
        "linear_gradient_x_input",
        "linear_pattern",
    }
    truth = on_disk["truth"]
    assert len(truth["source_channels"]) == 2 and len(truth["suppressor_channels"]) == 2
    # the planted suppressors: the LDA filter loads on them, the Haufe pattern much less
    assert (
        methods["linear_pattern"]["mass_suppressors"] < methods["linear_filter"]["mass_suppressors"]
    )
    assert methods["linear_pattern"]["rank_channels"] == 1.0
    for m in on_disk["methods"]:
        assert len(m["map"]) == 6 and len(m["map"][0]) == 32
        final = [c for c in m["checks"] if c["final"]]
        assert [c["check"] for c in final] == ["model randomisation", "label randomisation"]
        expected = "fail" if any(c["verdict"] == "fail" for c in final) else m["verdict"]
        assert m["verdict"] == expected
        assert (m["method"] in on_disk["flagged"]) == (m["verdict"] == "fail")
    assert on_disk["models"]["linear"]["score_mean"] > 0.9
    html = (tmp_path / "out" / "report.html").read_text()
    assert check_report_offline(html, allow_links=False) == []
    for text in ("Methods against the truth", "Sanity checks", "Ground truth", "Maps"):
        assert text in html
    lines = run.result.summary_lines()
    assert any(line.startswith("linear_pattern (linear): mass on sources") for line in lines)
    assert lines[-1].startswith("goal (>= 80% on sources, < 5% on suppressors) met by:")


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"network_methods": ["lrp"]}, "network_methods"),
        ({"linear_methods": []}, "linear_methods"),
        ({"n_splits": 1}, "n_splits"),
        ({"linear": "svm"}, "linear"),
        ({"threshold": 1.0}, "threshold"),
        ({"simulation": {"n_trails": 10}}, "n_trails"),
    ],
)
def test_bad_options_name_the_key(options, where):
    with pytest.raises(ConfigError, match=where):
        parse_config(_config(**options))


def test_simulation_errors_name_the_value(tmp_path):
    raw = _config(simulation={"n_trials": 241})
    with pytest.raises(ConfigError, match="'n_trials'"):
        run_config(parse_config(raw), None)
