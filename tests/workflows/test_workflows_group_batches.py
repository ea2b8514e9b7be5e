"""A decoding config with a network trained in batches of one subject (``batch_by_group``).

The groups of the protocol must reach the network inside its Pipeline in every fit the run
makes: the cross-validation folds, the refit on all samples for the saliency map and the
refits of its sanity checks.
"""

from __future__ import annotations

import json

from neurodl.workflows import parse_config, run_config


def _config() -> dict:
    return {
        "task": "decoding",
        "name": "tsm-dsbn",
        "seed": 0,
        "data": {
            "source": "simulate",
            "simulator": "motor_imagery",
            "params": {"n_subjects": 3, "n_sessions": 1, "n_trials": 30},
        },
        "preprocessing": [{"bandpass": {"l_freq": 8.0, "h_freq": 30.0}}, {"standardize": {}}],
        "model": {
            "name": "tsmnet",
            "params": {
                "model_params": {"n_virtual": 6, "n_spatial": 4},
                "max_epochs": 2,
                "batch_size": 15,
                "batch_by_group": True,
                "adaptive_bn": True,
            },
        },
        "evaluation": {
            "protocol": "leave-one-subject-out",
            "unlabelled_test_data": True,
            "n_permutations": 0,
            "n_boot": 50,
        },
        "options": {"saliency": True},
    }


def test_batch_by_group_runs_from_a_config_with_saliency_and_its_checks(tmp_path):
    run_config(parse_config(_config()), tmp_path / "out")
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert len(res["models"]["tsmnet"]["fold_scores"]) == 3
    assert res["saliency"]["fit"] == "refitted on all samples"
    checks = {c["check"] for c in res["saliency"]["checks"]}
    assert "label randomisation" in checks  # its refit on permuted labels got the groups too
    assert res["adaptation"]["adaptive_bn"] == ["tsmnet"]  # test windows used: recorded


def test_check_refuses_batch_by_group_under_a_protocol_without_groups():
    import pytest

    from neurodl.exceptions import ConfigError
    from neurodl.workflows.crossdata import check_evaluation

    raw = _config()
    raw["evaluation"]["protocol"] = "blocked-timeseries"
    with pytest.raises(ConfigError, match="protocol 'blocked-timeseries' keeps no groups apart"):
        check_evaluation(parse_config(raw), where="run.yaml")
    check_evaluation(parse_config(_config()), where="run.yaml")  # grouped by subject: fine
