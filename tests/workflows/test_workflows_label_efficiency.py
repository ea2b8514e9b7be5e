"""The decoding task's options.label_efficiency: curves on the run's own splits, in the results
and the report; bad fractions refused by --check."""

from __future__ import annotations

import json

import numpy as np
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
            "n_trials": 60,
            "n_channels": 8,
            "sfreq": 64.0,
            "trial_duration": 1.0,
            "effect_size": 0.95,
        },
    },
    "model": {"name": "logbandpower_lr"},
    "evaluation": {"protocol": "leave-one-subject-out", "n_permutations": 0, "n_boot": 0},
}


def test_label_efficiency_curves_on_the_runs_splits_in_results_and_report(tmp_path):
    cfg = {
        **BASE,
        "options": {
            "baseline": {"name": "lda"},
            "label_efficiency": {"fractions": [1.0, 0.05, 0.25]},
        },
    }
    run = run_config(parse_config(cfg), tmp_path / "out")
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    le = res["label_efficiency"]
    assert le["fractions"] == [0.05, 0.25, 1.0]  # sorted
    assert le["models"] == ["logbandpower_lr", "lda"] and le["chance_level"] == 0.5
    assert len(le["rows"]) == 4 * 3 * 2  # folds x fractions x models
    assert le["fold_labels"] == res["fold_labels"]  # the same splits as the cross-validation
    n = {f: {r["n_labels"] for r in le["rows"] if r["fraction"] == f} for f in le["fractions"]}
    assert n == {0.05: {8}, 0.25: {44}, 1.0: {180}}  # of 180 (90 per class) per fold
    # all labels: the very same fits as the cross-validation (same folds, same seed)
    full = sorted(
        (r["fold"], r["score"])
        for r in le["rows"]
        if r["model"] == "logbandpower_lr" and r["fraction"] == 1.0
    )
    np.testing.assert_allclose([s for _, s in full], run.result.fold_scores, atol=1e-12)
    # the planted effect is learnt from all labels far better than from 8
    mean = le["summary"]["logbandpower_lr"]
    assert mean["1.0"] > 0.7 and mean["1.0"] > mean["0.05"] + 0.1
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Label-efficiency curves" in html and "Mean score per fraction" in html


@pytest.mark.parametrize(
    ("le", "match"),
    [
        ({"fractions": [0.0, 0.5]}, r"each fraction must be in \(0, 1\]; got 0.0"),
        ({"fractions": [1.5]}, r"got 1.5"),
        ({"fractions": []}, r"label_efficiency.fractions"),
        ({"fraction": [0.5]}, r"Did you mean 'fractions'"),
    ],
)
def test_bad_label_efficiency_options_are_refused_by_check(le, match):
    with pytest.raises(ConfigError, match=match):
        parse_config({**BASE, "options": {"label_efficiency": le}})
