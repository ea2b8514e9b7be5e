"""The ``dynamics_comparison`` task: model trajectories against a recording, planted and real."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from neurodl.analyses.dynamics_similarity import dynamics_matrix, simulate_linear_system
from neurodl.exceptions import ConfigError
from neurodl.workflows import TASKS, parse_config, run_config

SIM = {"kind": "rotation", "n_units": 8, "noise": 0.02, "n_conditions": 6, "n_times": 30}


def _recording(path, *, kind="rotation", shuffle_labels=False, seed=0):
    """Noisy trials of the model's own latent system (or another) seen through another map."""
    rng = np.random.default_rng(100)
    latent = simulate_linear_system(
        dynamics_matrix(kind),
        n_units=SIM["n_units"],
        noise=SIM["noise"],
        n_conditions=SIM["n_conditions"],
        n_times=SIM["n_times"],
        seed=seed,  # the task simulates the model with seed = cfg.seed = 0
    )
    mixed = latent @ rng.standard_normal((SIM["n_units"], 12))
    labels = np.repeat(np.arange(SIM["n_conditions"]), 5)
    trials = mixed[labels] + 0.1 * rng.standard_normal((labels.size, SIM["n_times"], 12))
    if shuffle_labels:
        labels = rng.permutation(labels)
    np.savez(path, X=trials.astype(float), y=labels)
    return path


def _config(path, **options):
    base = {
        "model": {"source": "simulated", "simulated": SIM},
        "n_components": 3,
        "dsa": {"n_delays": 2, "n_pca": 4, "rank": 2, "n_starts": 1},
        "n_shuffles": 9,
        "n_boot": 10,
    }
    base.update(options)
    return {
        "task": "dynamics_comparison",
        "name": "planted",
        "data": {
            "source": "file",
            "path": str(path),
            "params": {"key": "X", "label_key": "y", "axis_order": "epochs_times_channels"},
        },
        "options": base,
    }


def test_planted_recording_of_the_same_system_scores_similar_and_beats_its_nulls(tmp_path):
    path = _recording(tmp_path / "rec.npz")
    run = run_config(parse_config(_config(path)), tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    cls = TASKS["dynamics_comparison"].result
    jsonschema.validate(on_disk, cls.json_schema())
    assert cls.from_dict(on_disk) == run.result
    assert (tmp_path / "out" / "report.html").is_file()
    scores = {m["method"]: m for m in on_disk["comparisons"][0]["methods"]}
    assert scores["cca"]["score"] > 0.95
    assert scores["procrustes"]["score"] < 0.5
    assert scores["rsa"]["score"] > 0.8
    assert scores["dsa"]["score"] < 0.2
    for name in ("cca", "procrustes", "rsa"):
        assert scores[name]["p_value"] == pytest.approx(1 / 10)  # every shuffle does worse
        assert scores[name]["bootstrap"] == "conditions"  # the simulated model has no trials
        assert scores[name]["null"] == "condition"
    assert scores["dsa"]["null"] == "time" and scores["dsa"]["p_value"] == pytest.approx(0.1)
    assert on_disk["metric"] == "cca" and on_disk["score_mean"] == scores["cca"]["score"]


def test_shuffled_condition_labels_leave_geometry_at_chance(tmp_path):
    path = _recording(tmp_path / "rec.npz", shuffle_labels=True)
    options = {"methods": ["rsa"], "n_shuffles": 49}
    result = run_config(parse_config(_config(path, **options)), None).result
    (rsa,) = result.comparisons[0].methods
    assert rsa.p_value > 0.05


def test_dsa_controls_rank_the_true_dynamics_first(tmp_path):
    path = _recording(tmp_path / "rec.npz")
    controls = [
        {**SIM, "kind": "rotation"},
        {**SIM, "kind": "stable_point"},
        {**SIM, "kind": "line_attractor"},
    ]
    options = {"methods": ["dsa"], "controls": controls, "n_shuffles": 0, "n_boot": 0}
    result = run_config(parse_config(_config(path, **options)), None).result
    dsa = {c.reference: c.methods[0].score for c in result.comparisons if c.kind == "control"}
    assert min(dsa, key=dsa.get) == "simulated:rotation"


def test_static_recording_skips_dsa_and_bootstraps_trials(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(8), 6)
    np.savez(tmp_path / "rates.npz", X=rng.poisson(5.0, (labels.size, 20)).astype(float), y=labels)
    raw = _config(tmp_path / "rates.npz", n_shuffles=9, n_boot=10)
    raw["data"]["params"]["axis_order"] = "epochs_features"
    raw["options"]["model"] = {
        "source": "task_rnn",
        "condition": "location",
        "epoch": "response",
        "trained": {
            "tasks": "anti_saccade",
            "task_params": {"anti_saccade": {"n_locations": 8, "rules": ["pro"]}},
            "n_train_trials": 32,
            "n_test_trials": 48,
            "network": {"name": "leaky_rnn", "params": {"n_hidden": 10}},
            "training": {"max_epochs": 1, "batch_size": 16},
        },
    }
    result = run_config(parse_config(raw), None).result
    comp = result.comparisons[0]
    assert comp.static and comp.model_shape == [8, 1, 10]
    methods = {m.method: m for m in comp.methods}
    assert methods["dsa"].skipped and methods["dsa"].score is None
    assert methods["cca"].bootstrap == "trials" and methods["cca"].ci_low is not None
    assert result.condition == "location" and result.conditions_model[0] == "0"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"methods": ["cca", "cca"]}, "give each method once"),
        ({"methods": ["svcca"]}, "svcca"),
        ({"dsa": {"n_delays": 0}}, "n_delays"),
        ({"model": {"source": "simulated", "simulated": {**SIM, "kind": "spiral"}}}, "spiral"),
    ],
)
def test_bad_options_are_refused_when_parsed(tmp_path, change, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_config(tmp_path / "rec.npz", **change))


def test_condition_count_mismatch_names_both_sides(tmp_path):
    path = _recording(tmp_path / "rec.npz")
    sim = {**SIM, "n_conditions": 5}
    raw = _config(path, model={"source": "simulated", "simulated": sim})
    with pytest.raises(ConfigError, match=r"model has 5 conditions.*has 6"):
        run_config(parse_config(raw), None)


@pytest.mark.realdata
def test_centerout_rates_against_a_tiny_rnn(shared_data, monkeypatch):
    shared_data("spikes/centuri_hatsopoulos_centerout/Dataset1.mat")
    raw = {
        "task": "dynamics_comparison",
        "data": {"source": "dataset", "dataset": "hatsopoulos-centerout"},
        "options": {
            "model": {
                "condition": "location",
                "epoch": "response",
                "trained": {
                    "tasks": "anti_saccade",
                    "task_params": {"anti_saccade": {"n_locations": 8, "rules": ["pro"]}},
                    "n_train_trials": 32,
                    "n_test_trials": 48,
                    "network": {"name": "leaky_rnn", "params": {"n_hidden": 10}},
                    "training": {"max_epochs": 1, "batch_size": 16},
                },
            },
            "methods": ["cca", "procrustes", "rsa", "dsa"],
            "n_shuffles": 9,
            "n_boot": 10,
        },
    }
    result = run_config(parse_config(raw), None).result
    comp = result.comparisons[0]
    assert comp.reference_shape == [8, 1, 143] and comp.static
    assert result.conditions_reference == [str(k) for k in range(1, 9)]
    methods = {m.method: m for m in comp.methods}
    assert methods["dsa"].skipped
    for name in ("cca", "procrustes", "rsa"):
        assert methods[name].p_value is not None and methods[name].bootstrap == "trials"
