from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score

from neurodl.estimators.classical import CLASSICAL_MODELS, make_classical
from neurodl.exceptions import ConfigError


def _planted(rng, n=80, n_ch=6, n_t=64):
    """Class 1 has 3x the variance on channel 0: separable by power and by covariance."""
    y = np.repeat([0, 1], n // 2)
    X = rng.standard_normal((n, n_ch, n_t))
    X[y == 1, 0] *= 3.0
    return X, y


@pytest.mark.parametrize(
    "name", [n for n, s in CLASSICAL_MODELS.items() if s.task == "classification"]
)
def test_classifiers_recover_planted_effect(name, rng):
    X, y = _planted(rng)
    est = make_classical(name, seed=0)
    if CLASSICAL_MODELS[name].input == "features":
        X = np.log(np.var(X, axis=-1))
    scores = cross_val_score(est, X, y, cv=4)
    assert scores.mean() > 0.85, (name, scores)


def test_tangent_space_survives_rank_deficient_data(rng):
    X, y = _planted(rng)
    X[:, -1] = X[:, 0]  # duplicated channel: covariance is singular without shrinkage
    scores = cross_val_score(make_classical("tangent_space_lr"), X, y, cv=4)
    assert scores.mean() > 0.85


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("logistc", {}, "Unknown model 'logistc'. Known models: .*logistic_regression"),
        ("lda", {"C": 1}, r"Unknown parameter\(s\) \['C'\] for model 'lda'"),
    ],
)
def test_bad_model_requests(name, params, match):
    with pytest.raises(ConfigError, match=match):
        make_classical(name, **params)
