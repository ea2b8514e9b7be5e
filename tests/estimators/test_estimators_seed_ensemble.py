"""``seed_ensemble``: one recipe fitted with several seeds, class probabilities averaged."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.estimators import ENSEMBLES, NeuralClassifier, is_neural, make_estimator
from neurodl.estimators.ensemble import SeedEnsemble
from neurodl.evaluation import cross_validate
from neurodl.exceptions import ConfigError, NotFittedError

NET = {"max_epochs": 3, "num_threads": 1, "validation_fraction": 0.25, "batch_size": 16}


def _data(seed=0, n=64):
    rng = np.random.default_rng(seed)
    y = np.array(["rest", "task"] * (n // 2))
    X = rng.normal(size=(n, 3, 40))
    X[y == "task", 0] *= 2.0
    return X, y


def test_members_differ_by_seed_and_probabilities_are_their_mean():
    X, y = _data()
    ens = make_estimator(
        "seed_ensemble", seed=3, sfreq=100.0, member={"name": "mlp", "params": NET}
    )
    ens.fit(X[:48], y[:48])
    assert [m.random_state for m in ens.estimators_] == [3, 4, 5, 6, 7]
    # oracle: each seed fitted alone gives the same member, and the vote is their mean
    alone = [
        NeuralClassifier("mlp", sfreq=100.0, random_state=s, **NET).fit(X[:48], y[:48])
        for s in (3, 4)
    ]
    for a, m in zip(alone, ens.estimators_[:2], strict=True):
        np.testing.assert_allclose(a.predict_proba(X[48:]), m.predict_proba(X[48:]), atol=1e-6)
    members = np.stack([m.predict_proba(X[48:]) for m in ens.estimators_])
    assert not np.allclose(members[0], members[1])  # different seeds, different networks
    np.testing.assert_allclose(ens.predict_proba(X[48:]), members.mean(0), atol=1e-12)
    assert list(ens.classes_) == ["rest", "task"]
    assert not is_neural("seed_ensemble") and "seed_ensemble" in ENSEMBLES


def test_groups_reach_every_member_inside_cross_validation():
    """cross_validate hands each fold's groups to fit; each member's validation split uses them."""
    seen = []

    class Spy(NeuralClassifier):
        def fit(self, X, y, groups=None):
            seen.append(None if groups is None else set(np.unique(groups)))
            return super().fit(X, y, groups=groups)

    X, y = _data(n=48)
    subjects = np.repeat(["s1", "s2", "s3", "s4"], 12)
    import pandas as pd

    from neurodl.data import EpochsDataset

    ds = EpochsDataset(X, y, pd.DataFrame({"subject": subjects}), 100.0)
    ens = SeedEnsemble(Spy("mlp", sfreq=100.0, **NET), n_seeds=2)
    cross_validate(ens, ds, "leave-one-subject-out", "balanced_accuracy")
    assert len(seen) == 8 and all(g is not None and len(g) == 3 for g in seen)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({}, r"'member' of 'seed_ensemble'.*got None"),
        ({"member": {"nme": "lda"}}, r"'member' of 'seed_ensemble'"),
        ({"member": {"name": "soft_vote"}}, r"cannot be ensembles"),
        ({"member": {"name": "mlp"}, "n_seeds": 1}, r"'n_seeds'.*>= 2; got 1"),
        ({"member": {"name": "nope"}}, r"Unknown model 'nope'"),
    ],
)
def test_bad_ensembles_are_refused_naming_the_value(params, match):
    with pytest.raises(ConfigError, match=match):
        make_estimator("seed_ensemble", seed=0, sfreq=100.0, **params)


def test_predict_before_fit_is_a_clear_error():
    with pytest.raises(NotFittedError, match="not fitted"):
        SeedEnsemble(NeuralClassifier("mlp"), n_seeds=2).predict(np.zeros((2, 3, 40)))
