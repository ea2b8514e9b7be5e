"""The ``perturbation`` task: train a leaky RNN as ``task_model`` does, then lesion and modulate it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import TASKS, parse_config, run_config
from neurodl.workflows.tasks import perturbation


def _config(**options):
    base = {
        "tasks": "perceptual_decision_making",
        "n_train_trials": 160,
        "n_test_trials": 48,
        "network": {"name": "leaky_rnn", "params": {"n_hidden": 16}},
        "training": {"max_epochs": 4, "batch_size": 16},
        "lesion": {"sizes": [1, 4], "n_random": 3},
        "gain": {"target": ["recurrent", "sensory"], "levels": [0.5, 1.0, 1.5]},
    }
    base.update(options)
    return {"task": "perturbation", "name": "tiny", "options": base}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One tiny run; the trained model and a copy of its state_dict taken right after training."""
    seen = {}
    original = perturbation.train_network

    def spy(opts, seed):
        out = original(opts, seed)
        seen["model"] = out[0]
        seen["state"] = {k: v.detach().clone() for k, v in out[0].state_dict().items()}
        return out

    out = tmp_path_factory.mktemp("perturbation") / "out"
    mp = pytest.MonkeyPatch()
    mp.setattr(perturbation, "train_network", spy)
    try:
        run = run_config(parse_config(_config()), out)
    finally:
        mp.undo()
    return run, out, seen


def test_tiny_run_follows_its_schema_and_round_trips(tiny):
    run, out, _ = tiny
    on_disk = json.loads((out / "results.json").read_text())
    cls = TASKS["perturbation"].result
    jsonschema.validate(on_disk, cls.json_schema())
    again = cls.from_dict(on_disk)
    assert again == run.result and again.to_dict() == on_disk
    assert (out / "report.html").is_file()
    assert on_disk["task"] == "perturbation" and on_disk["metric"] == "accuracy"
    assert on_disk["dataset"] == "simulated:perceptual_decision_making"
    assert on_disk["chance_level"] == 0.5 and on_disk["seed"] == 0
    assert on_disk["score_mean"] == on_disk["baseline_accuracy"]
    assert on_disk["layer"] == "cell" and on_disk["n_hidden"] == 16
    assert on_disk["sensory_inputs"] == ["stim_1", "stim_2"]
    assert [r["size"] for r in on_disk["lesion_curve"]] == [1, 4]
    assert [(r["target"], r["level"]) for r in on_disk["dose_response"]] == [
        (t, g) for t in ("recurrent", "sensory") for g in (0.5, 1.0, 1.5)
    ]
    assert len(on_disk["psychometric"]) == 6
    assert any("held-out accuracy" in line for line in run.result.summary_lines())


def test_importance_and_curves_are_consistent(tiny):
    res = tiny[0].result
    drops = [r.drop for r in res.importance]
    assert drops == sorted(drops, reverse=True)
    assert [r.rank for r in res.importance] == list(range(1, len(drops) + 1))
    assert res.n_units_scored == 16
    top = res.importance[0]
    assert top.accuracy == pytest.approx(res.baseline_accuracy - top.drop)
    # the size-1 targeted lesion is the single ablation of the most important unit
    assert res.lesion_curve[0].targeted == pytest.approx(top.accuracy)
    for row in res.lesion_curve:
        assert row.random_low <= row.random_mean <= row.random_high
    # gain 1 leaves the network intact
    for row in res.dose_response:
        if row.level == 1.0:
            assert row.accuracy == res.baseline_accuracy


def test_state_dict_is_unchanged_by_the_study(tiny):
    res, seen = tiny[0].result, tiny[2]
    after = seen["model"].state_dict()
    assert set(after) == set(seen["state"])
    for name, tensor in seen["state"].items():
        assert tensor.dtype == after[name].dtype and tensor.equal(after[name]), name
    assert res.state_dict_unchanged
    assert res.state_dict_hash == perturbation.state_hash(seen["model"])


def test_targeted_lesions_hurt_at_least_as_much_as_random_on_average(tiny):
    # the top unit by importance is, by construction, the worst single lesion
    res = tiny[0].result
    row = res.lesion_curve[0]
    assert row.targeted <= row.random_mean + 1e-12


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"gain": {"levels": [1.0, -0.5]}}, "-0.5"),
        ({"lesion": {"sizes": [1, 17]}}, "17"),
        ({"gain": {"target": "motor", "levels": [1.0]}}, "'motor'"),
        ({"network": {"name": "gru", "params": {"n_hidden": 8}}}, "'gru'"),
        ({"gain": {"target": "sensory", "inputs": ["nope"]}}, "'nope'"),
    ],
)
def test_bad_options_give_one_clear_error(options, needle):
    with pytest.raises(ConfigError) as err:
        parse_config(_config(**options))
    assert needle in str(err.value)


def test_a_model_section_is_refused():
    raw = _config()
    raw["model"] = {"name": "lda"}
    with pytest.raises(ConfigError, match="model"):
        parse_config(raw)
