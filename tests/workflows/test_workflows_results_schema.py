"""Typed results: every task has a result class with a JSON schema; results.json follows it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from neurodl.workflows import SCHEMA_VERSION, TASKS, parse_config, run_config
from neurodl.workflows.results import TaskResult

COMMON = (
    "task",
    "dataset",
    "protocol",
    "metric",
    "score_mean",
    "score_ci",
    "chance_level",
    "p_value",
    "n_splits",
    "seed",
    "versions",
    "data_hash",
)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_has_a_typed_result_with_the_common_keys(task):
    cls = TASKS[task].result
    assert issubclass(cls, TaskResult) and cls is not TaskResult
    schema = cls.json_schema()
    for key in (*COMMON, "schema_version", "models"):
        assert key in schema["properties"], (task, key)
    assert schema["properties"]["task"].get("const", task) == task
    assert schema.get("additionalProperties") is False  # unknown keys are refused


def test_a_decoding_run_follows_its_schema_and_round_trips(tmp_path):
    raw = {
        "data": {
            "source": "simulate",
            "simulator": "motor_imagery",
            "params": {"n_subjects": 2, "n_sessions": 1, "n_trials": 30, "n_channels": 6},
        },
        "preprocessing": [{"log_bandpower": {"bands": [[8.0, 13.0], [18.0, 26.0]]}}],
        "model": {"name": "lda"},
        "evaluation": {"n_permutations": 3, "n_boot": 50, "protocol_params": {"n_splits": 3}},
        "options": {"baseline": {"name": "logistic_regression"}},
    }
    run = run_config(parse_config(raw), tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    cls = TASKS["decoding"].result
    jsonschema.validate(on_disk, cls.json_schema())
    assert on_disk["schema_version"] == SCHEMA_VERSION
    again = cls.from_dict(on_disk)
    assert again == run.result and again.to_dict() == on_disk
    # each model's statistics stay with it; the top level is the main model's
    assert list(on_disk["models"]) == ["lda", "logistic_regression"]
    assert on_disk["p_value"] == on_disk["models"]["lda"]["p_value"]
    assert on_disk["models"]["logistic_regression"]["p_value"] is not None
    assert on_disk["comparison"]["model_a"] == "lda"
    bad = {**on_disk, "scor_mean": 1.0}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, cls.json_schema())
