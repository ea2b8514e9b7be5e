"""Label-efficiency curves: label draws, folds, and what may enter pretraining."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from neurodl.evaluation import compare_models
from neurodl.evaluation.label_efficiency import (
    UnlabelledPool,
    label_efficiency,
    label_subset,
    pretrain_pool,
)
from neurodl.exceptions import ConfigError, LeakageError


def test_label_subset_is_stratified_nested_and_keeps_one_per_class():
    y = np.r_[np.zeros(90), np.ones(10)]
    small, big = label_subset(y, 0.1, 0), label_subset(y, 0.5, 0)
    assert np.bincount(y[small].astype(int)).tolist() == [9, 1]
    assert np.bincount(y[big].astype(int)).tolist() == [45, 5]
    assert set(small) <= set(big)
    assert np.bincount(y[label_subset(y, 0.01, 0)].astype(int)).tolist() == [1, 1]
    with pytest.raises(ConfigError, match=r"'fraction'.*got 0"):
        label_subset(y, 0, 0)


class SpyPretrainer:
    """Records the windows it was fitted on (sklearn-clonable: no parameters)."""

    seen: list = []

    def get_params(self, deep=True):
        return {}

    def set_params(self, **kw):
        return self

    def fit(self, X, *, recordings=None, onsets=None, ch_names=None, sample_ids=None):
        SpyPretrainer.seen.append((X.copy(), sample_ids))
        self.encoder_ = "encoder"
        return self


def _data(seed=0):
    """4 subjects x 20 windows; channel 0 of every window is its subject's id (a marker)."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(4), 20)
    y = np.tile([0, 1], 40)
    X = rng.standard_normal((80, 2, 16))
    X[:, 1] *= 1 + y[:, None]
    X[:, 0] = groups[:, None]
    return X, y, groups


def _model(enc):
    assert enc == "encoder"  # every factory gets the fold's encoder
    logvar = FunctionTransformer(lambda Z: np.log(np.var(Z[:, 1:], axis=-1)))
    return make_pipeline(logvar, LinearDiscriminantAnalysis())


@pytest.mark.parametrize("allow", [False, True])
def test_test_fold_windows_never_enter_pretraining_unless_allowed(allow):
    X, y, groups = _data()
    pool = UnlabelledPool(X=X, groups=groups)
    splits = [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in range(4)]
    SpyPretrainer.seen = []
    res = label_efficiency(
        X,
        y,
        groups,
        splits=splits,
        fractions=[0.25, 1.0],
        models={"lda": _model},
        pretrainer=SpyPretrainer(),
        pool=pool,
        unlabelled_test_data=allow,
    )
    assert len(SpyPretrainer.seen) == 4  # one pretraining per fold, not per fraction
    for k, (Xp, ids) in enumerate(SpyPretrainer.seen):
        markers = set(np.unique(Xp[:, 0]).tolist())
        assert (k in markers) == allow  # the held-out subject's windows
        assert (k in groups[res.pretrain_ids[k]]) == allow
        np.testing.assert_array_equal(ids, res.pretrain_ids[k])
    assert res.unlabelled_test_data is allow
    assert res.summary()["lda"][1.0] > 0.8


def test_fold_scores_feed_the_paired_comparison():
    X, y, groups = _data()
    splits = [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in range(4)]
    res = label_efficiency(
        X,
        y,
        groups,
        splits=splits,
        fractions=[0.1, 1.0],
        models={"a": lambda e: _model("encoder"), "b": lambda e: _model("encoder")},
    )
    cmp = compare_models(res.cv_result("a", 0.1), res.cv_result("a", 1.0), names=("a10", "a100"))
    assert cmp.n_splits == 4
    assert [r["n_labels"] for r in res.rows if r["fraction"] == 0.1 and r["model"] == "a"] == [
        6
    ] * 4
    np.testing.assert_array_equal(res.scores("a", 1.0), res.scores("b", 1.0))  # same model


def test_a_group_on_both_sides_is_refused():
    X, y, groups = _data()
    with pytest.raises(LeakageError, match="groups \\[0\\] are in both"):
        label_efficiency(
            X,
            y,
            groups,
            splits=[(np.arange(30), np.arange(10, 20))],
            fractions=[1.0],
            models={"lda": _model},
        )


def test_pretrain_pool_drops_test_groups():
    g = np.array(["s1", "s2", "s3", "s2"])
    assert pretrain_pool(g, ["s2"]).tolist() == [0, 2]
    assert pretrain_pool(g, ["s2"], unlabelled_test_data=True).tolist() == [0, 1, 2, 3]
