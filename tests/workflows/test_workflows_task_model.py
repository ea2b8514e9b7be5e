"""The ``task_model`` task: train a recurrent network on cognitive tasks, then analyse it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import TASKS, parse_config, run_config


def _config(**options):
    base = {
        "tasks": "perceptual_decision_making",
        "n_train_trials": 48,
        "n_test_trials": 32,
        "network": {"name": "leaky_rnn", "params": {"n_hidden": 12}},
        "training": {"max_epochs": 2, "batch_size": 16},
        "fixed_points": {"n_initial": 16, "max_iters": 100},
    }
    base.update(options)
    return {"task": "task_model", "name": "tiny", "options": base}


def test_tiny_perceptual_run_follows_its_schema_and_round_trips(tmp_path):
    run = run_config(parse_config(_config()), tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    cls = TASKS["task_model"].result
    jsonschema.validate(on_disk, cls.json_schema())
    again = cls.from_dict(on_disk)
    assert again == run.result and again.to_dict() == on_disk
    assert (tmp_path / "out" / "report.html").is_file()
    assert on_disk["metric"] == "accuracy" and on_disk["chance_level"] == 0.5
    assert on_disk["dataset"] == "simulated:perceptual_decision_making"
    assert 0.0 <= on_disk["score_mean"] <= 1.0
    assert on_disk["score_mean"] == on_disk["accuracy"]
    assert on_disk["training"]["n_epochs"] == 2
    assert len(on_disk["learning_curve"]["train_loss"]) == 2
    psy = on_disk["psychometric"]
    assert psy["stimulus"] == "coherence" and len(psy["levels"]) == 8
    assert on_disk["trajectories"]["condition"] == "coherence"
    assert any("held-out accuracy" in line for line in run.result.summary_lines())


def test_flipflop_gru_finds_fixed_points(tmp_path):
    raw = _config(
        tasks="flip_flop",
        network={"name": "gru", "params": {"n_hidden": 8}},
        n_train_trials=32,
        n_test_trials=8,
        psychometric={"enabled": False},
    )
    raw["report"] = {"enabled": False}
    res = run_config(parse_config(raw), tmp_path / "out").result
    fp = res.fixed_points[0]
    assert fp.input == "zero" and fp.n_points >= 1
    assert sum(fp.counts.values()) == fp.n_points == len(fp.stability)
    assert res.accuracy_kind == {"flip_flop": "sign"} and res.chance_level == 0.5
    assert res.psychometric is None


def test_multitask_has_rule_inputs_and_per_task_accuracy(tmp_path):
    raw = _config(
        tasks=["go_nogo", "anti_saccade"],
        n_train_trials=32,
        n_test_trials=16,
        training={"max_epochs": 1},
        fixed_points={"inputs": "rule:go_nogo", "n_initial": 8, "max_iters": 20},
    )
    raw["report"] = {"enabled": False}
    res = run_config(parse_config(raw), tmp_path / "out").result
    assert res.input_names[-2:] == ["rule:go_nogo", "rule:anti_saccade"]
    assert set(res.accuracy_per_task) == {"go_nogo", "anti_saccade"}
    assert res.trajectories.condition == "task"
    assert res.dataset == "simulated:go_nogo+anti_saccade"


def test_context_fixed_points_at_combined_inputs_report_the_line_search(tmp_path):
    raw = _config(
        tasks="context_dependent_integration",
        training={"max_epochs": 1, "batch_size": 16, "schedule": "cosine"},
        fixed_points={
            "inputs": ["fixation+context_motion", "zero"],
            "n_initial": 12,
            "max_iters": 50,
            "polish_iters": 0,
        },
    )
    raw["report"] = {"enabled": False}
    res = run_config(parse_config(raw), tmp_path / "out").result
    assert [fp.input for fp in res.fixed_points] == ["fixation+context_motion", "zero"]
    la = res.fixed_points[0].line_attractor
    assert la.n_considered == res.fixed_points[0].n_points + res.fixed_points[0].n_slow_points
    if la.n_considered:
        assert la.leading_modulus_max >= la.leading_modulus_median > 0


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"tasks": "dot_counting"}, r"options\.tasks.*'dot_counting'"),
        ({"dt": 500}, r"options.*'dt': 500(\.0)? ms is longer than"),
        ({"network": {"name": "transformer"}}, r"options\.network\.name.*'transformer'"),
        ({"fixed_points": {"inputs": "context_motion"}}, r"unknown input 'context_motion'"),
        (
            {"fixed_points": {"inputs": "fixation+colour"}},
            r"unknown input 'colour' in 'fixation\+colour'",
        ),
        ({"training": {"max_time_s": 0}}, r"options\.training\.max_time_s"),
        ({"psychometric": {"stimulus": "volume"}}, r"no column 'volume'"),
    ],
)
def test_bad_options_give_one_clear_error(options, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_config(**options), source="t.yaml")


@pytest.mark.parametrize("section", ["model", "evaluation", "data"])
def test_sections_the_task_does_not_read_are_refused(section):
    raw = _config()
    raw[section] = {"name": "lda"} if section == "model" else {}
    if section == "data":
        raw[section] = {"source": "simulate", "simulator": "motor_imagery"}
    with pytest.raises(ConfigError, match=rf"does not use the section\(s\) '{section}'"):
        parse_config(raw)


def test_tasks_reading_data_still_require_it():
    with pytest.raises(ConfigError, match=r"missing required key 'data'.*'decoding' needs"):
        parse_config({"task": "decoding"})
