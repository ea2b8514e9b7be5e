"""``soft_vote``: the mean class probability of other registry models (classical or neural)."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.estimators import ENSEMBLES, is_neural, make_estimator
from neurodl.exceptions import ConfigError


def _data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    y = np.array(["left", "right"] * (n // 2))
    X = rng.normal(size=(n, 3, 40))
    X[y == "right", 0] += 1.0
    return X, y


def test_soft_vote_equals_mean_of_member_probabilities():
    X, y = _data()
    members = [
        {"name": "lda", "params": {"shrinkage": "auto"}},
        {"name": "logistic_regression", "params": {"C": 0.1}},
    ]
    vote = make_estimator("soft_vote", seed=0, members=members).fit(X[:40], y[:40])
    # independent oracle: the same members fitted on their own, probabilities averaged
    probs = [
        make_estimator(m["name"], seed=0, **m["params"]).fit(X[:40], y[:40]).predict_proba(X[40:])
        for m in members
    ]
    np.testing.assert_allclose(vote.predict_proba(X[40:]), np.mean(probs, axis=0), atol=1e-12)
    assert list(vote.classes_) == ["left", "right"]
    assert vote.score(X[40:], y[40:]) > 0.8  # the planted offset is found


def test_soft_vote_of_networks_runs_on_3d_input():
    X, y = _data(n=40)
    net = {"max_epochs": 2, "num_threads": 1, "validation_fraction": None}
    vote = make_estimator(
        "soft_vote",
        seed=0,
        sfreq=100.0,
        members=[{"name": "mlp", "params": net}, {"name": "linear", "params": net}],
    ).fit(X, y)
    p = vote.predict_proba(X)
    assert p.shape == (40, 2) and np.allclose(p.sum(1), 1.0)
    assert not is_neural("soft_vote") and "soft_vote" in ENSEMBLES


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({}, r"'members' of 'soft_vote'.*got None"),
        ({"members": [{"name": "lda"}]}, r"at least 2"),
        ({"members": [{"name": "lda"}, {"nme": "lda"}]}, r"members\[1\].*got \{'nme': 'lda'\}"),
        ({"members": [{"name": "lda"}, {"name": "soft_vote"}]}, r"cannot be ensembles"),
        ({"members": [{"name": "lda"}, {"name": "nope"}]}, r"Unknown model 'nope'"),
        ({"members": [{"name": "lda"}, {"name": "lda"}], "weights": [1]}, r"one number per"),
    ],
)
def test_soft_vote_bad_config(params, match):
    with pytest.raises(ConfigError, match=match):
        make_estimator("soft_vote", **params)
