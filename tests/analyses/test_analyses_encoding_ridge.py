"""Fast per-target ridge: checked against a direct scikit-learn Ridge loop over penalties."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import GroupKFold, KFold

from neurodl.analyses.encoding.ridge import BandedRidgeCV, RidgeCVPerTarget, ridge_cv_scores
from neurodl.exceptions import ConfigError, DataFormatError, NotFittedError

ALPHAS = np.logspace(-2, 4, 9)


def _data(n, p, t, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, t)) * rng.random(t)
    Y = X @ W + 3 * rng.standard_normal((n, t)) + 5.0
    return X, Y


def _oracle(X, Y, folds, scoring):
    out = np.zeros((ALPHAS.size, Y.shape[1]))
    for a, alpha in enumerate(ALPHAS):
        for tr, te in folds:
            pred = Ridge(alpha=alpha).fit(X[tr], Y[tr]).predict(X[te])
            if scoring == "r2":
                out[a] += r2_score(Y[te], pred, multioutput="raw_values")
            elif scoring == "neg_mse":
                out[a] -= mean_squared_error(Y[te], pred, multioutput="raw_values")
            else:
                out[a] += [np.corrcoef(Y[te, j], pred[:, j])[0, 1] for j in range(Y.shape[1])]
    return out / len(folds)


@pytest.mark.parametrize(("dtype", "atol"), [(np.float64, 1e-9), (np.float32, 1e-5)])
@pytest.mark.parametrize("shape", [(60, 8), (30, 80)], ids=["primal", "dual"])
@pytest.mark.parametrize("scoring", ["r2", "neg_mse", "pearson"])
def test_cv_scores_match_sklearn_loop(shape, scoring, dtype, atol):
    X, Y = _data(*shape, 7)
    folds = list(KFold(5).split(X))
    ours = ridge_cv_scores(X, Y, ALPHAS, cv=5, scoring=scoring, chunk_size=3, dtype=dtype)
    np.testing.assert_allclose(ours, _oracle(X, Y, folds, scoring), atol=atol)


@pytest.mark.parametrize("shape", [(60, 8), (30, 80)], ids=["primal", "dual"])
def test_best_alphas_and_predictions_match_sklearn(shape):
    X, Y = _data(*shape, 7, seed=1)
    folds = list(KFold(5).split(X))
    best = ALPHAS[_oracle(X, Y, folds, "r2").argmax(0)]
    model = RidgeCVPerTarget(ALPHAS, cv=5, dtype="float64").fit(X, Y)
    np.testing.assert_array_equal(model.best_alphas_, best)
    Xn = np.random.default_rng(2).standard_normal((10, shape[1]))
    ref = np.column_stack([Ridge(alpha=b).fit(X, Y[:, j]).predict(Xn) for j, b in enumerate(best)])
    np.testing.assert_allclose(model.predict(Xn), ref, atol=1e-8)
    fast = RidgeCVPerTarget(ALPHAS, cv=5).fit(X, Y)  # float32 products (the default)
    np.testing.assert_array_equal(fast.best_alphas_, best)
    np.testing.assert_allclose(fast.predict(Xn), ref, rtol=1e-4, atol=1e-4)
    assert model.solver_ == ("primal" if shape[0] > shape[1] else "dual")


def test_groups_float32_and_1d_target():
    X, Y = _data(48, 6, 3)
    groups = np.repeat(np.arange(6), 8)
    folds = list(GroupKFold(3).split(X, groups=groups))
    s64 = ridge_cv_scores(X, Y, ALPHAS, cv=3, groups=groups, dtype=np.float64)
    np.testing.assert_allclose(s64, _oracle(X, Y, folds, "r2"), atol=1e-9)
    s32 = ridge_cv_scores(X, Y, ALPHAS, cv=3, groups=groups, dtype=np.float32)
    np.testing.assert_allclose(s32, s64, atol=1e-4)
    m = RidgeCVPerTarget(ALPHAS, cv=3).fit(X, Y[:, 0], groups=groups)
    assert m.predict(X).shape == (48,)


def test_banded_ridge_penalises_useless_band():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 20))
    Y = X[:, :10] @ rng.standard_normal((10, 4)) + 0.5 * rng.standard_normal((120, 4))
    m = BandedRidgeCV(bands=[10, 10], alphas=np.logspace(-2, 3, 6), n_ratios=5).fit(X, Y)
    assert np.all(m.band_penalties_[:, 1] > m.band_penalties_[:, 0])
    plain = RidgeCVPerTarget(np.logspace(-2, 3, 6)).fit(X[:80], Y[:80])
    banded = BandedRidgeCV(bands=[10, 10], alphas=np.logspace(-2, 3, 6)).fit(X[:80], Y[:80])
    assert banded.score(X[80:], Y[80:]) > plain.score(X[80:], Y[80:]) - 0.01


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"alphas": [-1.0]}, ConfigError, "alphas"),
        ({"alphas": []}, ConfigError, "alphas"),
        ({"cv": 1}, ConfigError, "cv"),
        ({"cv": "five"}, ConfigError, "cv"),
        ({"scoring": "auc"}, ConfigError, "scoring"),
        ({"solver": "qr"}, ConfigError, "solver"),
        ({"chunk_size": 0}, ConfigError, "chunk_size"),
        ({"dtype": "int8"}, ConfigError, "dtype"),
        ({"dtype": "float16"}, ConfigError, "dtype"),
    ],
)
def test_bad_inputs(kwargs, error, match):
    X, Y = _data(20, 3, 2)
    params = {"alphas": ALPHAS, **kwargs}
    with pytest.raises(error, match=match):
        ridge_cv_scores(X, Y, **params)


def test_bad_data_and_unfitted():
    X, Y = _data(20, 3, 2)
    with pytest.raises(DataFormatError, match="same number of samples"):
        ridge_cv_scores(X, Y[:10], ALPHAS)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(DataFormatError, match="NaN"):
        ridge_cv_scores(Xn, Y, ALPHAS)
    with pytest.raises(NotFittedError):
        RidgeCVPerTarget().predict(X)
    with pytest.raises(ConfigError, match="bands"):
        BandedRidgeCV(bands=[2, 2]).fit(X, Y)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_degenerate_spectrum_matches_sklearn(fit_intercept):
    # One-hot blocks give training Gram matrices with exactly repeated eigenvalues, a duplicated
    # column makes the design rank-deficient: the partial-fraction sums must still be exact.
    rng = np.random.default_rng(3)
    onehot = np.eye(4)[np.arange(64) % 4]
    X = np.column_stack([onehot, onehot[:, :1], rng.standard_normal((64, 2))])
    Y = X @ rng.standard_normal((7, 5)) + rng.standard_normal((64, 5))
    folds = list(KFold(4).split(X))
    ours = ridge_cv_scores(X, Y, ALPHAS, cv=4, fit_intercept=fit_intercept, dtype=np.float64)
    ref = np.zeros_like(ours)
    for a, alpha in enumerate(ALPHAS):
        for tr, te in folds:
            model = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X[tr], Y[tr])
            ref[a] += r2_score(Y[te], model.predict(X[te]), multioutput="raw_values") / 4
    np.testing.assert_allclose(ours, ref, atol=1e-8)


def test_many_targets_in_chunks_match_one_chunk():
    X, Y = _data(80, 30, 50, seed=4)
    one = ridge_cv_scores(X, Y, ALPHAS, chunk_size=50, dtype=np.float64)
    many = ridge_cv_scores(X, Y, ALPHAS, chunk_size=7, dtype=np.float64)
    np.testing.assert_allclose(many, one, atol=1e-12)
    best = ALPHAS[_oracle(X, Y, list(KFold(5).split(X)), "r2").argmax(0)]
    np.testing.assert_array_equal(ALPHAS[one.argmax(0)], best)
