"""Cross-dataset evaluation and adaptation from a config: --check refusals and a small run."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config, run_config

SIM = {"source": "simulate", "simulator": "motor_imagery"}
SIM_PARAMS = {"n_subjects": 2, "n_sessions": 1, "n_trials": 24, "n_channels": 6}

BASE: dict[str, Any] = {
    "name": "xdata",
    "data": {**SIM, "params": SIM_PARAMS},
    "model": {"name": "tangent_space_lr"},
    "evaluation": {
        "protocol": "cross-dataset",
        "protocol_params": {
            "test_data": {**SIM, "params": {**SIM_PARAMS, "seed": 7}},
            "test_shift": {"gain": 0.5, "sfreq": 100.0},
            "sfreq": 128.0,
            "train_name": "lab_a",
            "test_name": "lab_b",
        },
        "unlabelled_test_data": True,
        "adaptation": [{"name": "riemannian_recentring", "by": "dataset"}],
        "n_permutations": 0,
        "n_boot": 0,
    },
    "options": {"saliency": False},
}


def _cfg(**edits: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(BASE)
    for path, value in edits.items():
        node = cfg
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        if value is _DELETE:
            node.pop(keys[-1])
        else:
            node[keys[-1]] = value
    return cfg


_DELETE = object()


def test_valid_config_passes_check() -> None:
    cfg = parse_config(_cfg())
    assert cfg.evaluation.unlabelled_test_data is True


@pytest.mark.parametrize(
    "edits, match",
    [
        ({"evaluation__protocol": "cross_dataset"}, r"'evaluation.protocol'.*'cross-dataset'"),
        (
            {"evaluation__protocol_params__test_data": _DELETE},
            r"missing required key 'evaluation.protocol_params.test_data'",
        ),
        (
            {"evaluation__protocol_params__test_data": {"source": "dataset"}},
            r"evaluation.protocol_params.test_data.*data.dataset is required",
        ),
        ({"evaluation__protocol_params__sfreq": -1}, r"protocol_params.sfreq"),
        ({"evaluation__protocol_params__n_splits": 3}, "Invalid value for 'group_by'"),
        (
            {"evaluation__protocol_params__test_preprocessing": [{"standardize": {}}]},
            r"test_preprocessing\[0\].*per-sample step",
        ),
        ({"evaluation__protocol_params__tets_data": {}}, r"Did you mean 'test_data'"),
        (
            {"evaluation__unlabelled_test_data": False},
            r"riemannian_recentring.*unlabelled_test_data: true",
        ),
        ({"evaluation__adaptation": [{"name": "coral"}]}, r"adaptation\[0\]\.name.*got 'coral'"),
        (
            {
                "evaluation__protocol": "within-session",
                "evaluation__protocol_params": {"n_split": 2},
            },
            "Invalid parameters for protocol 'within-session'",
        ),
        (
            {"model": {"name": "shallow", "params": {"augment": [{"name": "jitter"}]}}},
            r"model.params.augment\[0\]\.name.*got 'jitter'",
        ),
        (
            {
                "model": {"name": "shallow", "params": {"adaptive_bn": True}},
                "evaluation__adaptation": [],
                "evaluation__unlabelled_test_data": False,
            },
            r"adaptive_bn of 'shallow'.*unlabelled_test_data: true",
        ),
        ({"model": {"name": "lda", "params": {"augment": []}}}, "is for networks"),
    ],
)
def test_check_refuses_what_would_fail_at_run_time(edits: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(_cfg(**edits))


def test_other_tasks_refuse_adaptation() -> None:
    raw = {
        "task": "time_resolved",
        "data": {"source": "simulate", "simulator": "motor_imagery"},
        "evaluation": {"unlabelled_test_data": True},
    }
    with pytest.raises(ConfigError, match="supported by the task"):
        parse_config(raw)


def test_cross_dataset_run_records_datasets_and_adaptation() -> None:
    res = run_config(parse_config(_cfg())).result
    assert res.protocol == "cross-dataset" and res.n_splits == 1
    assert res.cross_dataset["train"] == "lab_a" and res.cross_dataset["test"] == "lab_b"
    assert res.cross_dataset["n_train"] == res.cross_dataset["n_test"] == 48
    assert res.cross_dataset["test_shift"] == {"gain": 0.5, "sfreq": 100.0}
    assert res.adaptation["unlabelled_test_data"] is True
    (step,) = res.adaptation["steps"]
    assert step["name"] == "riemannian_recentring" and step["nested_in_folds"] is True
    assert res.fold_blocks == ["lab_b"] and res.score_mean > 0.6
    plain = run_config(
        parse_config(_cfg(evaluation__adaptation=[], evaluation__unlabelled_test_data=False))
    ).result
    assert plain.adaptation == {
        "unlabelled_test_data": False,
        "steps": [],
        "adaptive_bn": [],
        "test_data_used": "none",
    }
