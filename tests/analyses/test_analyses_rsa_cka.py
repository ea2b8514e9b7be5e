"""CKA (invariances, direct formula, U-statistic oracle) and Brain-Score-style predictivity."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import ortho_group

from neurodl.analyses.rsa.cka import cka, gram_linear, gram_rbf, hsic
from neurodl.analyses.rsa.predictivity import CONVENTION, linear_predictivity, split_half_ceiling
from neurodl.exceptions import ConfigError, DataFormatError


def test_linear_cka_direct_formula(rng):
    X, Y = rng.standard_normal((30, 8)), rng.standard_normal((30, 5))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    direct = np.linalg.norm(Yc.T @ Xc) ** 2 / (
        np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc)
    )
    assert cka(X, Y) == pytest.approx(direct)


@pytest.mark.parametrize("debiased", [False, True])
def test_linear_cka_invariances(rng, debiased):
    X = rng.standard_normal((25, 6))
    Q = ortho_group.rvs(6, random_state=1)
    assert cka(X, 2.5 * X @ Q + 3.0, debiased=debiased) == pytest.approx(1.0)
    # not invariant to arbitrary (non-orthogonal) linear maps
    A = np.diag([1, 1, 1, 1, 1, 20.0])
    assert cka(X, X @ A, debiased=debiased) < 0.9


def _hsic_u_loop(K, L):
    n = K.shape[0]
    total = 0.0
    for i, j, q, r in itertools.permutations(range(n), 4):
        total += K[i, j] * L[i, j] + K[i, j] * L[q, r] - 2 * K[i, j] * L[i, q]
    return total / (n * (n - 1) * (n - 2) * (n - 3))


def test_unbiased_hsic_matches_u_statistic(rng):
    X, Y = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    K, L = gram_linear(X), gram_rbf(Y)
    assert hsic(K, L, debiased=True) == pytest.approx(_hsic_u_loop(K, L))


def test_debiased_removes_bias_for_unrelated_wide_data(rng):
    X, Y = rng.standard_normal((20, 500)), rng.standard_normal((20, 500))
    assert cka(X, Y) > 0.5  # biased CKA: high for unrelated, wide representations
    assert abs(cka(X, Y, debiased=True)) < 0.1


def test_rbf_cka_planted(rng):
    X = rng.standard_normal((40, 4))
    assert cka(X, X, kernel="rbf") == pytest.approx(1.0)
    assert cka(X, np.tanh(X) + 0.01 * rng.standard_normal(X.shape), kernel="rbf") > 0.8
    assert cka(X, rng.standard_normal((40, 4)), kernel="rbf", debiased=True) < 0.2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kernel": "poly"}, ConfigError, "got 'poly'"),
        ({"Y": np.ones((5, 2))}, DataFormatError, "same number of stimuli"),
        (
            {"X": np.ones((3, 2)), "Y": np.ones((3, 2)), "debiased": True},
            DataFormatError,
            ">= 4 samples",
        ),
    ],
)
def test_cka_bad_inputs(rng, kwargs, error, match):
    args = {"X": rng.standard_normal((6, 2)), "Y": rng.standard_normal((6, 3)), **kwargs}
    with pytest.raises(error, match=match):
        cka(args.pop("X"), args.pop("Y"), **args)


def _neural(rng, n_stim=120, n_feat=40, n_neur=15, n_rep=6, noise=1.0):
    F = rng.standard_normal((n_stim, n_feat))
    W = rng.standard_normal((n_feat, n_neur)) / np.sqrt(n_feat)
    signal = F @ W
    reps = signal[None] + noise * rng.standard_normal((n_rep, n_stim, n_neur))
    return F, reps


@pytest.mark.parametrize("regression", ["pls", "ridge"])
def test_predictivity_planted(rng, regression):
    F, reps = _neural(rng)
    labels = np.repeat(np.arange(6), 20)
    res = linear_predictivity(
        F, reps.mean(0), regression=regression, stratify=labels, repetitions=reps
    )
    assert res["raw_score"] > 0.6 and len(res["split_scores"]) == 10
    assert res["convention"] == CONVENTION and "not squared" in res["convention"]
    assert res["ceiled_score"] == pytest.approx(res["raw_score"] / res["ceiling"])
    null = linear_predictivity(rng.standard_normal(F.shape), reps.mean(0), regression=regression)
    assert abs(null["raw_score"]) < 0.25 and null["ceiling"] is None


def test_split_half_ceiling_formula(rng):
    _, reps = _neural(rng, n_rep=2)
    ceiling, per = split_half_ceiling(reps, n_splits=1)
    r = np.array([np.corrcoef(reps[0][:, k], reps[1][:, k])[0, 1] for k in range(reps.shape[2])])
    np.testing.assert_allclose(per, 2 * r / (1 + r))
    assert ceiling == pytest.approx(np.median(2 * r / (1 + r)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"regression": "lasso"}, ConfigError, "got 'lasso'"),
        ({"responses": np.ones((5, 2))}, DataFormatError, "share their first axis"),
        ({"stratify": np.ones(3)}, DataFormatError, "'stratify'"),
        ({"test_size": 1.5}, ConfigError, "'test_size'"),
        ({"repetitions": np.ones((1, 20, 3))}, DataFormatError, "n_repetitions >= 2"),
    ],
)
def test_predictivity_bad_inputs(rng, kwargs, error, match):
    args = {
        "features": rng.standard_normal((20, 4)),
        "responses": rng.standard_normal((20, 3)),
        **kwargs,
    }
    with pytest.raises(error, match=match):
        linear_predictivity(args.pop("features"), args.pop("responses"), **args)
