"""Nested hyper-parameter search: the planted best parameter found, inner splits inside the
outer training fold only, early stopping of bad trials, clear errors for bad search spaces."""

from __future__ import annotations

import numpy as np
import pytest
from _search_data import PLANTED, SEEN, Pick, planted_search_dataset
from sklearn.linear_model import LogisticRegression

from neurodl.evaluation import cross_validate, get_protocol
from neurodl.evaluation.search import SearchCV, resolve_inner_protocol, search_hyperparameters
from neurodl.evaluation.search_space import SearchSpace, sample_configs
from neurodl.exceptions import ConfigError
from neurodl.execution import run_trials

GRID = {"feature": {"grid": list(range(6))}}


@pytest.mark.parametrize("scheduler", ["none", "asha"])
def test_search_finds_the_planted_feature(scheduler):
    ds = planted_search_dataset()
    res = search_hyperparameters(Pick(), ds, GRID, scheduler=scheduler)
    assert res.best_params == {"feature": PLANTED}
    scores = {t["params"]["feature"]: t["score"] for t in res.trials}
    assert scores[PLANTED] > 0.8 and max(v for k, v in scores.items() if k != PLANTED) < 0.7
    assert res.inner_protocol["groups"] == ["subject"] and res.n_inner_splits == 3
    if scheduler == "asha":  # bad trials stopped after fewer inner folds; the best ran them all
        assert res.n_stopped >= 3
        assert res.trials[PLANTED]["n_folds"] == 3 and not res.trials[PLANTED]["stopped"]
    else:
        assert res.n_stopped == 0 and all(t["n_folds"] == 3 for t in res.trials)


def test_nested_cv_picks_it_in_every_outer_fold():
    ds = planted_search_dataset()
    est = SearchCV(Pick(), GRID, metadata=ds.metadata, scheduler="asha")
    cv = cross_validate(est, ds, "leave-one-subject-out")
    assert cv.fold_info is not None and len(cv.fold_info) == 5
    assert all(f["search"]["best_params"] == {"feature": PLANTED} for f in cv.fold_info)
    assert cv.score > 0.8
    # an estimator without cv_fold_info_ leaves fold_info empty
    assert cross_validate(Pick(), ds, "leave-one-subject-out").fold_info is None


@pytest.mark.parametrize(
    ("outer", "column"), [("leave-one-subject-out", "subject"), ("cross-session", "session")]
)
def test_inner_splits_never_touch_the_outer_test_fold(outer, column):
    ds = planted_search_dataset()
    proto = get_protocol(outer)
    inner = "auto" if column == "subject" else "grouped-kfold"
    # cross-session trains on one session of the tested subject: inner folds by segment
    params = None if column == "subject" else {"group_by": "segment", "n_splits": 3}
    groups = ds.groups(column) if column == "subject" else ds.groups(["subject", "session"])
    for train, test in proto.split(ds):
        SEEN.clear()
        est = SearchCV(
            Pick(spy=True),
            GRID,
            metadata=ds.metadata,
            inner_protocol=inner,
            protocol_params=params,
            group_by=proto.groups,
            scheduler="none",
        )
        est.fit(ds.X[train], ds.y[train], sample_index=train)
        test_groups = set(groups[test])
        seen = np.unique(np.concatenate(SEEN))
        assert set(seen) <= set(train)  # the search and the refit saw training rows only
        assert not set(groups[seen]) & test_groups
        inner_col = ds.groups(est.search_.inner_protocol["groups"][0])
        for itr, iva in est.inner_splits_:
            assert not set(groups[itr]) & test_groups and not set(groups[iva]) & test_groups
            assert not set(inner_col[itr]) & set(inner_col[iva])  # grouped inner folds
            assert set(itr) | set(iva) <= set(train)


def test_auto_inner_protocol_needs_two_groups():
    ds = planted_search_dataset(n_subjects=1)
    with pytest.raises(ConfigError, match="fewer than two"):
        resolve_inner_protocol("auto", ds, group_by=("subject",))
    assert resolve_inner_protocol("auto", ds, group_by=("subject", "session")).groups == (
        "session",
    )
    with pytest.raises(ConfigError, match="Did you mean 'grouped-kfold'"):
        resolve_inner_protocol("grouped-kfol", ds)


def test_random_search_is_reproducible_and_in_bounds():
    space = {"C": {"loguniform": [1e-3, 1e2]}, "k": {"randint": [1, 4]}, "p": {"choice": ["a"]}}
    a, b = sample_configs(space, 20, seed=3), sample_configs(space, 20, seed=3)
    assert a == b and len(a) == 20 and a != sample_configs(space, 20, seed=4)
    assert all(1e-3 <= c["C"] < 1e2 and c["k"] in (1, 2, 3) and c["p"] == "a" for c in a)
    logs = np.log10([c["C"] for c in sample_configs(space, 400, seed=0)])
    assert abs(np.mean(logs) + 0.5) < 0.3  # uniform in log space: mean of log10 ~ (-3 + 2) / 2
    mixed = sample_configs({"g": {"grid": [1, 2]}, "u": {"uniform": [0, 1]}}, 3)
    assert [c["g"] for c in mixed] == [1, 1, 1, 2, 2, 2]


BAD_SPACES = [
    ({"C": {"logunifrom": [1e-3, 1]}}, "Did you mean 'loguniform'"),
    ({"C": {"loguniform": [0, 1]}}, "0 < low < high"),
    ({"C": {"uniform": [2, 1]}}, "low < high"),
    ({"C": {"randint": [1.5, 3]}}, "integers"),
    ({"C": {"grid": []}}, "non-empty list"),
    ({"C": [0.1, 1.0]}, "one distribution"),
    ({"C": {"grid": [1], "choice": [2]}}, "one distribution"),
    ({}, "non-empty mapping"),
]


@pytest.mark.parametrize(("space", "match"), BAD_SPACES)
def test_bad_search_spaces_are_refused(space, match):
    with pytest.raises(ConfigError, match=match):
        SearchSpace.from_mapping(space)


def test_bad_search_settings_are_refused():
    ds = planted_search_dataset()
    with pytest.raises(ConfigError, match="Did you mean 'C'"):
        search_hyperparameters(LogisticRegression(), ds, {"c": {"grid": [1.0]}})
    with pytest.raises(ConfigError, match="grid-only"):
        sample_configs(GRID, n_trials=4)
    with pytest.raises(ConfigError, match="scheduler"):
        search_hyperparameters(Pick(), ds, GRID, scheduler="hyperband")
    with pytest.raises(ConfigError, match="reduction_factor"):
        run_trials(lambda s, c, k: 0.0, [{}], 2, reduction_factor=1)


def test_local_successive_halving_rungs():
    """Synchronous halving with reduction factor 2 over 4 steps: 8 trials -> 4 -> 2."""
    configs = [{"x": x} for x in range(8)]
    out = run_trials(lambda s, c, k: float(c["x"]), configs, 4, scheduler="asha")
    assert [t.n_steps for t in out] == [1, 1, 1, 1, 2, 2, 4, 4]
    assert [t.stopped for t in out] == [True] * 6 + [False] * 2
    low = run_trials(lambda s, c, k: float(c["x"]), configs, 4, mode="min", scheduler="asha")
    assert [t.n_steps for t in low][:2] == [4, 4]
