"""The decoding run's error table (which test samples are wrong, where they concentrate) and
the permutation null scores kept in results.json."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import confusion_matrix

from neurodl.analyses.decoding import misclassified_samples
from neurodl.data import EpochsDataset
from neurodl.evaluation import cross_validate, get_protocol
from neurodl.report import check_report_offline
from neurodl.workflows import parse_config, run_config


def _planted(seed: int = 0) -> EpochsDataset:
    """Two well-separated classes in 40 segments of 4 windows; segment "S07" is labelled
    class 0 but its windows are drawn from class 1 (an outlier segment no model can get)."""
    rng = np.random.default_rng(seed)
    n_seg, per = 40, 4
    seg_label = np.repeat([0, 1], n_seg // 2)
    y = np.repeat(seg_label, per)
    segments = np.repeat([f"S{k:02d}" for k in range(n_seg)], per)
    looks_like = y.copy()
    looks_like[segments == "S07"] = 1
    X = rng.normal(size=(len(y), 5)) + 3.0 * looks_like[:, None]
    md = pd.DataFrame(
        {
            "segment": segments,
            "trial": np.tile(np.arange(per), n_seg),
            "set": np.repeat(np.where(seg_label == 0, "N", "S"), per),
        }
    )
    return EpochsDataset(X, y, md, classes=["non-ictal", "ictal"])


def test_error_table_matches_predictions_and_finds_the_planted_segment():
    ds = _planted()
    protocol = get_protocol("grouped-kfold", n_splits=5, group_by="segment")
    cv = cross_validate(LinearDiscriminantAnalysis(), ds, protocol, "balanced_accuracy")
    err = misclassified_samples(cv, ds, score_kind="predict_proba")
    # oracle: the off-diagonal of sklearn's confusion matrix of the pooled predictions
    cm = confusion_matrix(cv.y_true, cv.y_pred)
    assert err["n_errors"] == cm.sum() - np.trace(cm) >= 4
    assert err["n_tested"] == ds.n_samples
    wrong = set(np.asarray(cv.sample_index)[cv.y_true != cv.y_pred].tolist())
    assert {r["sample"] for r in err["rows"]} == wrong
    # the planted segment: all four windows wrong, and the segment holds the most errors
    bad = set(np.flatnonzero(ds.metadata["segment"].to_numpy() == "S07").tolist())
    assert bad <= wrong
    assert err["concentration"]["segment"]["top_value"] == "S07"
    assert err["concentration"]["segment"]["top_count"] == 4
    assert err["concentration"]["segment"]["top_error_rate"] == 1.0
    assert err["error_rate"] == pytest.approx(err["n_errors"] / ds.n_samples)
    assert "trial" not in err["concentration"]
    # rows: class names, most confidently wrong first, probabilities of the pooled scores
    p_true = [r["p_true"] for r in err["rows"]]
    assert p_true == sorted(p_true)
    row = err["rows"][0]
    assert row["true"] == "non-ictal" and row["predicted"] == "ictal"
    pos = int(np.flatnonzero(np.asarray(cv.sample_index) == row["sample"])[0])
    assert row["p_true"] == pytest.approx(cv.y_score[pos, 0])
    assert row["p_pred"] == pytest.approx(cv.y_score[pos, 1])
    assert row["p_true"] + row["p_pred"] == pytest.approx(1.0)
    assert row["segment"] == ds.metadata["segment"].iloc[row["sample"]]
    assert row["fold"] == int(cv.fold[pos])
    assert err["score_kind"] == "predict_proba"


def test_error_table_row_cap_and_no_scores():
    ds = _planted()
    protocol = get_protocol("grouped-kfold", n_splits=5, group_by="segment")
    cv = cross_validate(LinearDiscriminantAnalysis(), ds, protocol, "balanced_accuracy")
    err = misclassified_samples(cv, ds, max_rows=2)
    assert len(err["rows"]) == 2 and err["n_errors"] > 2
    cv.y_score = None
    err = misclassified_samples(cv, ds)
    assert err["score_kind"] is None and np.isnan(err["rows"][0]["p_true"])
    cv.y_pred = None
    assert misclassified_samples(cv, ds) is None


def _raw(effect: float) -> dict:
    return {
        "task": "decoding",
        "name": "errors",
        "data": {
            "source": "simulate",
            "simulator": "motor_imagery",
            "params": {
                "n_subjects": 1,
                "n_sessions": 1,
                "n_trials": 30,
                "n_channels": 6,
                "sfreq": 64.0,
                "trial_duration": 1.0,
                "effect_size": effect,
            },
        },
        "preprocessing": [{"log_bandpower": {"bands": [[8.0, 13.0], [13.0, 30.0]]}}],
        "model": {"name": "lda"},
        "evaluation": {
            "protocol": "within-session",
            "protocol_params": {"n_splits": 3},
            "n_permutations": 0,
            "n_boot": 0,
        },
        "options": {"saliency": False},
    }


def test_run_writes_error_table_to_results_and_report(tmp_path):
    run_config(parse_config(_raw(0.3)), tmp_path / "out")
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    err = res["errors"]
    cm = np.asarray(res["confusion_matrix"])
    assert err["n_errors"] == cm.sum() - np.trace(cm) > 0
    assert err["n_tested"] == res["n_samples"] == cm.sum()
    assert {r["true"] for r in err["rows"]} <= set(res["classes"])
    assert "segment" not in err["concentration"]  # one trial per segment: nothing concentrates
    html = (tmp_path / "out" / "report.html").read_text()
    assert check_report_offline(html, allow_links=False) == []
    assert "Misclassified test samples, most confidently wrong first" in html
    assert f"{err['n_errors']} of {err['n_tested']} test samples misclassified" in html


def test_results_keep_the_permutation_null_scores(tmp_path):
    raw = _raw(0.3)
    raw["evaluation"]["n_permutations"] = 9
    run_config(parse_config(raw), tmp_path / "out")
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    null = np.asarray(res["models"][res["model"]]["null_scores"], dtype=float)
    assert len(null) == 9 and np.isfinite(null).all()
    # the recorded p-value is the one the null scores give: (1 + #null >= observed) / (1 + n)
    expected = (1 + np.sum(null >= res["score_mean"] - 1e-12)) / 10
    assert res["p_value"] == pytest.approx(expected)
    run_config(parse_config(_raw(0.3)), tmp_path / "none")
    none = json.loads((tmp_path / "none" / "results.json").read_text())
    assert none["models"][none["model"]]["null_scores"] is None


def test_a_union_option_gets_one_line_naming_the_key_without_type_tags():
    """``saliency: bool | 'auto'``: pydantic reports one error per member with its type tag in
    the location; the message names the key once and lists what is allowed."""
    from neurodl.exceptions import ConfigError
    from neurodl.workflows.validate import parse_config

    cfg = {
        "task": "decoding",
        "data": {"source": "simulate", "simulator": "motor_imagery"},
        "model": {"name": "lda"},
        "options": {"saliency": "x"},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(cfg)
    msg = str(info.value)
    assert msg.count("invalid value at") == 1, msg
    assert "'options.saliency': Input should be a valid boolean or 'auto' (got 'x')" in msg
    assert ".bool" not in msg and "literal[" not in msg


@pytest.mark.parametrize(
    ("params", "suggestion"),
    [
        ({"max_epoch": 3}, "max_epochs"),
        ({"dropout": 0.5}, "drop_prob"),
        ({"batchsize": 32}, "batch_size"),
    ],
)
def test_a_network_params_typo_names_the_closest_training_or_architecture_key(params, suggestion):
    """Training keys (max_epochs, lr) sit beside the architecture's under model.params: a typo of
    either gets the right suggestion, and the list names both kinds (not 'sfreq', set by the run)."""
    from neurodl.exceptions import ConfigError
    from neurodl.workflows.config import ModelConfig
    from neurodl.workflows.validate import check_model

    with pytest.raises(ConfigError) as info:
        check_model(ModelConfig(name="shallow", params=params), where="model")
    msg = str(info.value)
    assert f"Did you mean {suggestion!r}?" in msg, msg
    assert "training 'adaptive_bn'" in msg and "architecture 'n_filters_time'" in msg
    assert "'sfreq'" not in msg
