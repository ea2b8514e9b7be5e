"""A neural model in the decoding workflow: learning curves, baseline beside it, p-value owner."""

from __future__ import annotations

import json

import pytest

from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config, run_config


def _cfg(**overrides):
    cfg = {
        "name": "neural-small",
        "seed": 0,
        "data": {
            "source": "simulate",
            "simulator": "motor_imagery",
            "params": {
                "n_subjects": 1,
                "n_sessions": 2,
                "n_trials": 40,
                "n_channels": 6,
                "sfreq": 64.0,
                "effect_size": 0.7,
            },
        },
        "preprocessing": [
            {"log_bandpower": {"bands": [[8.0, 13.0], [18.0, 26.0]]}},
            {"feature_standardize": {}},
        ],
        "model": {
            "name": "mlp",
            "params": {
                "n_hidden": 8,
                "max_epochs": 8,
                "batch_size": 16,
                "lr": 0.02,
                "num_threads": 1,
            },
        },
        "evaluation": {
            "protocol": "within-session",
            "protocol_params": {"n_splits": 3},
            "n_permutations": 9,
            "n_boot": 100,
        },
        "options": {"baseline": {"name": "lda"}},
    }
    cfg.update(overrides)
    return parse_config(cfg)


def test_neural_decoding_records_curves_and_tests_the_baseline(tmp_path):
    res = run_config(_cfg(), tmp_path / "out").results
    assert res["model_kind"] == "neural"
    curves = res["learning_curves"]
    assert len(curves) == res["n_splits"] == 6  # 2 sessions x 3 folds, one curve per fit
    for c in curves:
        assert c["epoch"][0] == 0 and len(c["train_loss"]) == len(c["valid_loss"]) <= 8
    base = res["models"]["lda"]
    assert res["baseline"] == "lda" and len(base["fold_scores"]) == 6
    # auto: only the baseline is refitted on permutations beside a network; the network gets
    # its own held-out permutation p-value, which is the top-level one
    assert base["p_value"] is not None and base["permutation_method"] == "refit"
    assert res["p_value"] == res["models"]["mlp"]["p_value"] is not None
    assert res["models"]["mlp"]["permutation_method"] == "held_out"
    assert res["score_mean"] > res["chance_level"]
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    assert on_disk["learning_curves"] == curves
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Learning curves" in page and "own statistics" in page
    assert "Held-out permutation test of &#39;mlp&#39;" in page
    assert "Permutation test refitting &#39;lda&#39;" in page


def test_permutation_on_the_network_when_asked(tmp_path):
    cfg = _cfg(options={"permutation_model": "model"})
    cfg.evaluation.n_permutations = 1
    res = run_config(cfg, None).results
    assert res["models"]["mlp"]["p_value"] == res["p_value"] is not None
    assert res["baseline"] is None and res["comparison"] is None


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"permutation_model": "baseline"}, "no options.baseline"),
        ({"permutation_model": "both"}, "permutation_model"),
        ({"baseline": {"name": "lda", "bogus": 1}}, "bogus"),
    ],
)
def test_bad_decoding_options(options, match):
    with pytest.raises(ConfigError, match=match):
        run_config(_cfg(options=options), None)
