"""NeuralEncoder: planted linear / rectified feature->voxel mappings, standardisation, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.linear_model import LinearRegression

from neurodl.analyses.encoding.neural import NeuralEncoder, pearson_per_target
from neurodl.analyses.encoding.ridge import RidgeCVPerTarget
from neurodl.exceptions import ConfigError, DataFormatError

FAST = {"max_epochs": 60, "batch_size": 64, "lr": 5e-3, "num_threads": 1, "device": "cpu"}


def _planted(kind: str, seed: int = 0, n: int = 600, p: int = 6, t: int = 12, noise: float = 0.3):
    """Features -> voxels through a linear map or a full-wave rectified hidden layer."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 20.0, size=p) + rng.normal(size=p) * 5
    Xs = (X - X.mean(0)) / X.std(0)
    if kind == "linear":
        clean = Xs @ rng.normal(size=(p, t))
    else:  # |X W1| W2: symmetric, so no linear model can predict it (E[|z| z] = 0)
        clean = np.abs(Xs @ (rng.normal(size=(p, 8)) / np.sqrt(p))) @ rng.normal(size=(8, t))
    Y = 100.0 + 50.0 * (clean + noise * clean.std(0) * rng.normal(size=clean.shape))
    groups = np.repeat(np.arange(6), n // 6)
    return X, Y, groups, clean


def test_pearson_per_target_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(50, 4)), rng.normal(size=(50, 4))
    b[:, 0] += 2 * a[:, 0]
    expected = [pearsonr(a[:, j], b[:, j])[0] for j in range(4)]
    np.testing.assert_allclose(pearson_per_target(a, b), expected, rtol=1e-10)
    assert pearson_per_target(a, np.ones((50, 4)))[0] == 0.0


def test_linear_mapping_recovered():
    X, Y, groups, _clean = _planted("linear")
    tr, te = groups < 5, groups == 5
    enc = NeuralEncoder("linear", **FAST).fit(X[tr], Y[tr], groups=groups[tr])
    r = enc.score(X[te], Y[te])
    assert r.shape == (Y.shape[1],)
    # noise 0.3 of the signal sd -> the best achievable r is about 1/sqrt(1 + 0.09) = 0.958
    oracle = pearson_per_target(LinearRegression().fit(X[tr], Y[tr]).predict(X[te]), Y[te])
    assert np.median(r) > 0.9
    np.testing.assert_allclose(r, oracle, atol=0.03)
    # predictions are back in the responses' units (mean 100, scale 50)
    assert abs(enc.predict(X[te]).mean() - Y[te].mean()) < 0.1 * Y[te].std()


def test_rectified_mapping_mlp_beats_ridge():
    X, Y, groups, _clean = _planted("rectified")
    tr, te = groups < 5, groups == 5
    enc = NeuralEncoder("mlp", n_hidden=32, **{**FAST, "max_epochs": 120}).fit(
        X[tr], Y[tr], groups=groups[tr]
    )
    r_mlp = enc.score(X[te], Y[te])
    ridge = RidgeCVPerTarget(np.logspace(-2, 4, 7), cv=5).fit(X[tr], Y[tr], groups=groups[tr])
    r_ridge = pearson_per_target(ridge.predict(X[te]), Y[te])
    assert np.median(r_mlp) > 0.8
    assert np.median(r_ridge) < 0.3
    assert (r_mlp > r_ridge).all()


def test_early_stopping_split_by_run_and_standardisation():
    X, Y, groups, _ = _planted("linear", n=300)
    enc = NeuralEncoder("linear", **{**FAST, "max_epochs": 5}).fit(X, Y, groups=groups)
    # 6 runs of 50, validation_fraction 0.2 -> whole runs held out (GroupShuffleSplit: 2 of 6)
    assert enc.regressor_.n_valid_ == 100 and enc.regressor_.n_train_ == 200
    np.testing.assert_allclose(enc.x_mean_, X.mean(0))
    np.testing.assert_allclose(enc.x_scale_, X.std(0))
    np.testing.assert_allclose(enc.regressor_.y_mean_, Y.mean(0))
    assert enc.n_epochs_ == 5 and len(enc.history_) == 5
    # 1-D targets give 1-D predictions
    one = NeuralEncoder("linear", **{**FAST, "max_epochs": 3}).fit(X, Y[:, 0])
    assert one.predict(X).shape == (len(X),) and one.score(X, Y[:, 0]).shape == (1,)


def test_deterministic_given_seed():
    X, Y, groups, _ = _planted("rectified", n=120, t=3)
    kw = {**FAST, "max_epochs": 4, "random_state": 3}
    a = NeuralEncoder(n_hidden=8, **kw).fit(X, Y, groups).predict(X)
    b = NeuralEncoder(n_hidden=8, **kw).fit(X, Y, groups).predict(X)
    np.testing.assert_array_equal(a, b)


_X = np.random.default_rng(0).normal(size=(20, 3))
_Y = np.random.default_rng(1).normal(size=(20, 2))


@pytest.mark.parametrize(
    ("init", "X", "Y", "fit_kw", "error", "match"),
    [
        ({"model": "cnn"}, _X, _Y, {}, ConfigError, r"'model'.*'linear', 'mlp'.*'cnn'"),
        ({"n_hidden": 2.5}, _X, _Y, {}, ConfigError, r"'n_hidden'.*>= 1; got 2.5"),
        ({"n_hidden": 0}, _X, _Y, {}, ConfigError, r"'n_hidden'.*>= 1; got 0"),
        ({"weight_decay": -1.0}, _X, _Y, {}, ConfigError, r"'weight_decay'.*>= 0; got -1.0"),
        ({"max_epochs": 0}, _X, _Y, {}, ConfigError, r"'max_epochs'.*>= 1; got 0"),
        ({}, _X[:, 0], _Y, {}, DataFormatError, r"X must be 2-D.*got shape \(20,\)"),
        ({}, _X, _Y[:15], {}, DataFormatError, r"same number of samples; got 20 and 15"),
        ({}, _X, np.full((20, 2), np.nan), {}, DataFormatError, r"Y has 40 non-finite"),
        ({}, _X, _Y, {"groups": np.arange(5)}, DataFormatError, r"groups.*\(20,\); got \(5,\)"),
        ({}, [["a", "b"]], _Y, {}, DataFormatError, r"X must be a numeric array"),
    ],
)
def test_bad_input_errors(init, X, Y, fit_kw, error, match):
    with pytest.raises(error, match=match):
        NeuralEncoder(**{**FAST, **init}).fit(X, Y, **fit_kw)


def test_predict_checks_features_and_fit():
    enc = NeuralEncoder("linear", **{**FAST, "max_epochs": 2})
    with pytest.raises(ValueError, match="not fitted"):
        enc.predict(_X)
    enc.fit(_X, _Y)
    with pytest.raises(DataFormatError, match=r"X has 2 features.*n_features=3"):
        enc.predict(_X[:, :2])
