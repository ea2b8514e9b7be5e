"""Trial decoding from spike counts (neurodl.analyses.dynamics.trials) with a planted effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurodl.analyses.dynamics import (
    decode_trial_label,
    trial_dataset,
    trial_estimator,
    trial_labels,
    trial_rows,
    trial_window_counts,
)
from neurodl.data import SpikeTrains
from neurodl.exceptions import ConfigError, DataFormatError

N_TRIALS, N_UNITS = 60, 4


@pytest.fixture(scope="module")
def spikes() -> SpikeTrains:
    """Units fire 5 Hz; in class "A" trials unit 2 adds ~6 spikes 0.1-0.5 s after onset."""
    rng = np.random.default_rng(0)
    starts = 2.0 * np.arange(N_TRIALS) + 1.0
    cond = rng.permutation(np.repeat(["A", "B"], N_TRIALS // 2))
    duration = starts[-1] + 2.0
    times = []
    for u in range(N_UNITS):
        t = list(rng.uniform(0, duration, rng.poisson(5 * duration)))
        if u == 2:
            for s in starts[cond == "A"]:
                t += list(s + rng.uniform(0.1, 0.5, rng.poisson(6)))
        times.append(np.sort(t))
    resp = rng.integers(1, 3, N_TRIALS).astype(float)
    resp[[4, 9]] = np.nan  # missing
    resp[[11, 30]] = 0  # "no response" code
    trials = pd.DataFrame(
        {
            "start_time": starts,
            "stop_time": starts + 1.0 + 0.1 * (np.arange(N_TRIALS) % 3),
            "cond": cond,
            "resp": resp,
            "rt": rng.uniform(0.3, 0.6, N_TRIALS),
            "block": np.repeat(["x", "y"], N_TRIALS // 2),
        }
    )
    return SpikeTrains(times, trials=trials, subject="s1", session="1")


def _hand_counts(spikes, anchor, start, width, n_bins):
    """(n_trials, n_bins, n_units) counts with numpy only: left <= t < right in every bin."""
    edges = start + width / n_bins * np.arange(n_bins + 1)
    out = np.zeros((len(anchor), n_bins, spikes.n_units))
    for i, a in enumerate(anchor):
        for u, t in enumerate(spikes.times):
            for b in range(n_bins):
                out[i, b, u] = np.sum((t >= a + edges[b]) & (t < a + edges[b + 1]))
    return out


def test_window_counts_match_a_hand_computation(spikes):
    rows = np.zeros(N_TRIALS, bool)
    rows[5:40] = True
    c = trial_window_counts(spikes, rows=rows, t_start=0.2, t_after=0.9, bin_size=0.35, sqrt=False)
    assert c.X.shape == (N_TRIALS, 2 * N_UNITS) and c.n_bins == 2 and c.window == (0.2, 0.9)
    anchor = spikes.trials["start_time"].to_numpy()
    hand = _hand_counts(spikes, anchor, 0.2, 0.7, 2)
    np.testing.assert_array_equal(c.X[rows], hand[rows].reshape(rows.sum(), -1))  # bin-major
    assert not c.X[~rows].any()  # trials not counted stay 0
    np.testing.assert_allclose(c.trials["_window_start"], anchor + 0.2)
    root = trial_window_counts(spikes, rows=rows, t_start=0.2, t_after=0.9, bin_size=0.35)
    np.testing.assert_array_equal(root.X, np.sqrt(c.X))  # sqrt=True is the default


def test_window_counts_shift_t_before_and_default_end(spikes):
    # aligned to start_time + rt, from 0.3 s before it to the shortest stop_time - anchor.
    c = trial_window_counts(spikes, align_shift="rt", t_before=0.3, sqrt=False)
    tr = spikes.trials
    anchor = (tr["start_time"] + tr["rt"]).to_numpy()
    t_after = float(np.min(tr["stop_time"].to_numpy() - anchor))
    assert c.window == (-0.3, t_after) and c.n_bins == 1
    hand = _hand_counts(spikes, anchor, -0.3, t_after + 0.3, 1)
    np.testing.assert_array_equal(c.X, hand.reshape(N_TRIALS, -1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"align": "nope"}, "got 'nope'"),
        ({"align_shift": "nope"}, "align_shift.*got 'nope'"),
        ({"t_start": 1.0, "t_after": 0.5}, "window must end after"),
    ],
)
def test_window_counts_bad_input(spikes, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        trial_window_counts(spikes, **kwargs)


def test_window_counts_need_a_trial_table():
    with pytest.raises(DataFormatError, match="no trial table"):
        trial_window_counts(SpikeTrains([np.array([0.1])]))


def test_trial_rows_and_labels(spikes):
    tr = spikes.trials
    base = trial_rows(tr, "block", ["x"], dropna=False)
    assert base.sum() == N_TRIALS // 2
    rows = trial_rows(tr, "resp", [1, 2], base=base, min_trials=10)
    expected = (tr["block"] == "x") & tr["resp"].isin([1, 2])
    np.testing.assert_array_equal(rows, expected.to_numpy())
    assert not rows[[4, 9, 11]].any()
    y, names = trial_labels(tr[rows], "resp")
    assert names == ["1", "2"]  # float-coded integers keep their names (issue 13, item 5)
    np.testing.assert_array_equal(y, (tr["resp"][rows] == 2).to_numpy().astype(int))
    y, names = trial_labels(tr, "rt", threshold=0.45)
    np.testing.assert_array_equal(y, (tr["rt"] >= 0.45).to_numpy().astype(int))
    assert names == ["rt < 0.45", ">= 0.45"]
    assert trial_labels(tr, "cond", names=["a", "b"])[1] == ["a", "b"]


def test_trial_rows_and_labels_bad_input(spikes):
    tr = spikes.trials
    with pytest.raises(ConfigError, match=r"'options\.label\.column'.*got 'nope'"):
        trial_rows(tr, "nope", where="options.label.column")
    with pytest.raises(ConfigError, match="got 'nope'"):
        trial_labels(tr, "nope")
    with pytest.raises(DataFormatError, match=r"Only 0 trials .*'resp'; need >= 10"):
        trial_rows(tr, "resp", [9], min_trials=10)
    with pytest.raises(ConfigError, match=r"'label\.names'.*2 names.*A, B.*\['x'\]"):
        trial_labels(tr, "cond", names=["x"], where="label.column")


def test_trial_dataset_metadata(spikes):
    tr = spikes.trials.iloc[:10]
    ds = trial_dataset(np.ones((10, 3)), np.arange(10) % 2, tr, classes=["a", "b"], source="s")
    assert list(ds.metadata.columns[:7]) == [
        "subject", "session", "run", "recording", "segment", "trial", "onset"
    ]  # fmt: skip
    assert set(ds.metadata["subject"]) == {"0"} and ds.classes == ["a", "b"]
    np.testing.assert_array_equal(ds.metadata["onset"], tr["start_time"])
    assert ds.info["source"] == "s"
    with pytest.raises(DataFormatError, match="one row per trial"):
        trial_dataset(np.ones((9, 3)), np.arange(10) % 2, tr)


def test_trial_estimator_inner_search():
    from sklearn.model_selection import GridSearchCV

    assert not isinstance(trial_estimator("lda"), GridSearchCV)
    est = trial_estimator(
        "logistic_regression", inner_search={"param": "C", "values": [0.1, 1.0], "n_splits": 3}
    )
    assert isinstance(est, GridSearchCV) and est.cv.n_splits == 3
    assert list(est.param_grid.values()) == [[0.1, 1.0]]
    with pytest.raises(ConfigError, match=r"inner_search\.param.*got 'gamma'"):
        trial_estimator("logistic_regression", inner_search={"param": "gamma", "values": [1, 2]})


def _dataset(spikes, **window):
    counts = trial_window_counts(spikes, **window)
    y, names = trial_labels(counts.trials, "cond")
    return trial_dataset(counts.X, y, counts.trials, classes=names, subject=spikes.subject)


def test_decoder_finds_the_planted_unit_only_in_its_window(spikes):
    ds = _dataset(spikes, t_start=0.0, t_after=0.6)
    stats, res = decode_trial_label(
        trial_estimator("lda"), ds, n_permutations=19, n_boot=200, label="cond"
    )
    assert stats["label"] == "cond" and stats["classes"] == ["A", "B"]
    assert stats["class_counts"] == [30, 30] and stats["n_trials"] == N_TRIALS
    assert stats["chance_level"] == 0.5 and stats["score_mean"] > 0.85
    assert stats["p_value"] == pytest.approx(1 / 20)  # nothing in the null reaches it
    assert stats["score_ci"][0] <= stats["score_mean"] <= stats["score_ci"][1]
    assert len(stats["fold_scores"]) == 5 and stats["inner_selected"] is None
    assert len(res.main_scores.permutation.null_distribution) == 19
    # Before stimulus onset there is nothing to find.
    control = _dataset(spikes, t_start=-0.6, t_after=0.0)
    stats, _ = decode_trial_label(trial_estimator("lda"), control, n_boot=0)
    assert stats["score_mean"] < 0.75 and stats["p_value"] is None


def test_decode_trial_label_inner_selection(spikes):
    ds = _dataset(spikes, t_start=0.0, t_after=0.6)
    est = trial_estimator(
        "logistic_regression", inner_search={"param": "C", "values": [0.01, 1.0], "n_splits": 3}
    )
    stats, _ = decode_trial_label(est, ds, n_boot=0)
    assert stats["inner_selected"] in (0.01, 1.0) and stats["score_mean"] > 0.85


def test_decode_trial_label_equals_cv_and_unblocked_permutations(spikes):
    # One subject and session: the protocol's blocks are one block, i.e. within=None.
    from neurodl.analyses.decoding import score_ci
    from neurodl.evaluation import cross_validate, get_protocol, permutation_test

    ds = _dataset(spikes, t_start=0.0, t_after=0.6)
    protocol = get_protocol("within-session", n_splits=4)
    stats, _ = decode_trial_label(trial_estimator("lda"), ds, protocol, n_permutations=5, n_boot=50)
    cv = cross_validate(trial_estimator("lda"), ds, protocol, "balanced_accuracy", seed=0)
    perm = permutation_test(
        trial_estimator("lda"), ds, protocol, n_permutations=5, seed=0, within=None
    )
    ci, _ = score_ci(cv, "balanced_accuracy", n_boot=50)
    assert stats["score_mean"] == cv.score and stats["p_value"] == perm.p_value
    assert stats["fold_scores"] == list(cv.scores) and stats["score_ci"] == list(ci)
