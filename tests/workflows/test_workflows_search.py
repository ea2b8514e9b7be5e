"""The decoding task's options.search: validated by --check, run nested, shown in the report."""

from __future__ import annotations

import json

import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config, run_config

BASE = {
    "task": "decoding",
    "data": {
        "source": "simulate",
        "simulator": "motor_imagery",
        "params": {
            "n_subjects": 4,
            "n_sessions": 1,
            "n_trials": 40,
            "n_channels": 8,
            "sfreq": 64.0,
            "trial_duration": 1.0,
            "effect_size": 0.9,
        },
    },
    "model": {"name": "logbandpower_lr"},
    "evaluation": {"protocol": "leave-one-subject-out", "n_permutations": 0, "n_boot": 0},
}


def _cfg(search, **over):
    return {**BASE, "options": {"search": search}, **over}


def test_nested_search_run_keeps_the_planted_best_and_reports_it(tmp_path):
    # the class effect is a mu/beta power drop: power in 1-4 Hz cannot decode, 8-30 Hz can
    space = {"model.params.bands": {"grid": [[[1.0, 4.0]], [[8.0, 30.0]]]}}
    search = {"space": space, "scheduler": "none"}
    run = run_config(parse_config(_cfg(search)), tmp_path / "out")
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    s = res["search"]
    assert s["backend"] == "local" and len(s["folds"]) == 4
    for fold in s["folds"]:
        assert fold["best_params"] == {"model.params.bands": [[8.0, 30.0]]}
        assert fold["inner_protocol"]["groups"] == ["subject"]  # grouped like the outer folds
        assert fold["n_inner_splits"] == 3 and fold["n_trials"] == 2
        delta = fold["trials"][0]
        assert delta["score"] < 0.6 and fold["inner_score"] > 0.7
    assert run.result.score_mean > 0.6
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Hyper-parameter search" in html and "Best configuration per outer fold" in html


BAD = [
    (
        {"space": {"model.params.C": {"grid": [1.0]}}, "n_trails": 3},
        r"options\.search\.n_trails'\. Did you mean 'n_trials'",
    ),
    ({"space": {"C": {"grid": [1.0]}}}, r"model\.params\.<name>"),
    (
        {"space": {"model.params.C": {"logunifrom": [1e-3, 1.0]}}},
        r"'options\.search\.space\.model\.params\.C'\. Did you mean 'loguniform'",
    ),
    ({"space": {"model.params.C": {"loguniform": [-1.0, 1.0]}}}, r"0 < low < high"),
    ({"space": {"model.params.c": {"grid": [1.0]}}}, r"options\.search\.space.*'c'"),
    ({"space": {"model.params.C": {"grid": [1.0, 2.0]}}, "n_trials": 3}, r"n_trials is 3.*grid"),
    ({"space": {"model.params.C": {"grid": [1.0]}}, "scheduler": "hyperband"}, r"scheduler"),
    ({"space": {"model.params.C": {"grid": [1.0]}}, "metric": "balanced_acc"}, r"balanced_acc"),
    ({"space": {"model.params.C": {"grid": [1.0]}}, "reduction_factor": 1}, r"reduction_factor"),
]


@pytest.mark.parametrize(("search", "match"), BAD)
def test_bad_search_configs_are_refused_by_check(search, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_cfg(search))


@pytest.mark.parametrize(
    ("inner", "match"),
    [
        ({"inner_protocol": "grouped-kfol"}, "Did you mean 'grouped-kfold'"),
        ({"inner_protocol": "grouped-kfold", "inner_protocol_params": {"n_split": 3}}, "n_split"),
        ({"inner_protocol_params": {"n_splits": 3}}, "need a named inner_protocol"),
    ],
)
def test_bad_inner_protocols_are_refused_before_fitting(inner, match):
    search = {"space": {"model.params.C": {"grid": [1.0]}}, **inner}
    with pytest.raises(ConfigError, match=match):
        parse_config(_cfg(search))


def test_on_ray_the_outer_folds_stay_here_and_the_search_goes_to_tune():
    """With execution.backend ray, outer folds run in this process (no Tune inside Ray tasks)
    and each fold's search gets the Ray settings; locally nothing changes."""
    from neurodl.execution import get_execution, use_execution
    from neurodl.workflows.tasks.decoding_search import SearchOptions, outer_execution

    opts = SearchOptions.model_validate({"space": {"model.params.C": {"grid": [1.0]}}})
    ray_cfg = {"backend": "ray", "address": "127.0.0.1:1", "cache_dir": "cache"}
    with use_execution(ray_cfg), outer_execution(opts) as search_exec:
        assert search_exec.backend == "ray" and search_exec.address == "127.0.0.1:1"
        assert get_execution().backend == "local" and get_execution().cache_dir == "cache"
    with use_execution("local"), outer_execution(opts) as search_exec:
        assert search_exec.backend == "local" and get_execution().backend == "local"
    with use_execution(ray_cfg), outer_execution(None) as search_exec:
        assert search_exec is None and get_execution().backend == "ray"


def test_a_searched_model_alone_gets_the_held_out_test_not_a_search_per_permutation(tmp_path):
    """Under permutation_model auto a searched model without a baseline is not refitted (whole
    search) on every permutation: its trained folds are kept and their test labels permuted."""
    space = {"model.params.bands": {"grid": [[[1.0, 4.0]], [[8.0, 30.0]]]}}
    cfg = _cfg(
        {"space": space, "scheduler": "none"},
        evaluation={"protocol": "leave-one-subject-out", "n_permutations": 20, "n_boot": 0},
    )
    run_config(parse_config(cfg), tmp_path / "out")
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    stats = res["models"]["logbandpower_lr"]
    assert stats["permutation_method"] == "held_out"
    assert stats["n_permutations"] == 1000  # options.held_out_permutations
    assert stats["p_value"] <= 0.01  # the planted effect: no permutation scores as well
