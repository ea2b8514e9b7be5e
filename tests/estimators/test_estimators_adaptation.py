"""Adaptive batch normalisation and probability calibration of the neural estimators."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodl.estimators import NeuralClassifier
from neurodl.estimators.torch_engine import adaptation as ad
from neurodl.exceptions import ConfigError, DataFormatError


def test_adapt_batchnorm_recomputes_statistics_on_target_only() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.BatchNorm1d(3), torch.nn.Flatten(), torch.nn.Linear(30, 2))
    net.train()
    net(torch.randn(64, 3, 10))  # source statistics
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    X = np.random.default_rng(1).normal(loc=[[5.0], [-2.0], [0.5]], scale=3.0, size=(40, 3, 10))
    adapted = ad.adapt_batchnorm(net, X, batch_size=40)
    bn = adapted[0]
    np.testing.assert_allclose(bn.running_mean.numpy(), X.mean(axis=(0, 2)), rtol=1e-5)
    flat = X.transpose(1, 0, 2).reshape(3, -1)
    np.testing.assert_allclose(bn.running_var.numpy(), flat.var(axis=1, ddof=1), rtol=1e-4)
    for k, v in net.state_dict().items():  # the original is untouched
        assert torch.equal(v, before[k])
    torch.testing.assert_close(adapted[2].weight, net[2].weight)
    assert not adapted.training
    with pytest.raises(DataFormatError, match="at least 2 target samples"):
        ad.adapt_batchnorm(net, X[:1])


def test_temperature_recovers_a_planted_temperature() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(scale=3.0, size=(4000, 3))
    t_true = 2.5
    p_true = np.exp(z / t_true) / np.exp(z / t_true).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=p) for p in p_true])
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)  # over-confident by t_true
    params = ad.fit_calibration(probs, y, "temperature")
    # oracle: the minimum of the NLL on a grid
    grid = np.linspace(1.0, 4.0, 301)
    nll = [
        -np.log(np.exp(z / t) / np.exp(z / t).sum(1, keepdims=True))[np.arange(4000), y].mean()
        for t in grid
    ]
    assert abs(params["temperature"] - grid[int(np.argmin(nll))]) < 0.02
    assert abs(params["temperature"] - t_true) < 0.25
    cal = ad.apply_calibration(probs, params)
    np.testing.assert_array_equal(cal.argmax(1), probs.argmax(1))  # the class is kept


def test_platt_recovers_a_planted_shift() -> None:
    rng = np.random.default_rng(1)
    s = rng.normal(scale=2.0, size=5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-(0.5 * s - 1.0)))).astype(int)
    probs = np.stack([1 / (1 + np.exp(s)), 1 / (1 + np.exp(-s))], axis=1)
    params = ad.fit_calibration(probs, y, "platt")
    assert abs(params["a"] - 0.5) < 0.08 and abs(params["b"] + 1.0) < 0.12
    with pytest.raises(ConfigError, match="'platt' is for 2 classes"):
        ad.fit_calibration(np.full((6, 3), 1 / 3), np.arange(6) % 3, "platt")
    with pytest.raises(ConfigError, match="Invalid value for 'calibration'"):
        ad.fit_calibration(probs, y, "isotonic")


def _data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(size=(n, 2, 16)).astype(np.float32)
    X[:, 0] += 1.0 * (2 * y[:, None] - 1)
    return X, y


def test_calibration_is_fitted_on_the_validation_split_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import neurodl.estimators._neural_base as base

    got: dict = {}
    original = base.fit_calibration

    def spy(probs: np.ndarray, y: np.ndarray, method: str) -> dict:
        got["y"], got["n"] = y, len(probs)
        return original(probs, y, method)

    monkeypatch.setattr(base, "fit_calibration", spy)
    X, y = _data()
    clf = NeuralClassifier(
        "linear",
        max_epochs=3,
        batch_size=8,
        validation_fraction=0.25,
        random_state=0,
        calibration="temperature",
        device="cpu",
    ).fit(X, y)
    _, va = base._NeuralBase._valid_split(clf, y, None, clf.seed_)
    assert got["n"] == clf.n_valid_ == len(va)
    np.testing.assert_array_equal(got["y"], y[va])
    assert clf.calibration_["method"] == "temperature"
    raw = NeuralClassifier(
        "linear", max_epochs=3, batch_size=8, validation_fraction=0.25, random_state=0, device="cpu"
    ).fit(X, y)
    np.testing.assert_array_equal(clf.predict(X), raw.predict(X))  # same net, class kept
    np.testing.assert_allclose(
        clf.predict_proba(X),
        ad.apply_calibration(raw.predict_proba(X), clf.calibration_),
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"calibration": "temperature", "validation_fraction": 0.0},
            "needs one: set 'validation_fraction'",
        ),
        ({"calibration": "beta"}, "Invalid value for 'calibration'"),
        ({"adaptive_bn": "yes"}, "Invalid value for 'adaptive_bn'"),
        ({"augment": "noise"}, "Invalid value for 'augment'"),
    ],
)
def test_bad_parameters(kwargs: dict, match: str) -> None:
    X, y = _data()
    with pytest.raises(ConfigError, match=match):
        NeuralClassifier("linear", max_epochs=1, device="cpu", **kwargs).fit(X, y)


def test_adaptive_bn_undoes_a_gain_shift_of_the_test_inputs() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 60)
    X = rng.normal(size=(120, 4, 128)).astype(np.float32)
    X[:, 0] *= np.where(y == 1, 2.0, 1.0)[:, None]  # class = power of channel 0
    kw = dict(
        max_epochs=15,
        batch_size=16,
        lr=3e-3,
        validation_fraction=0.0,
        random_state=0,
        sfreq=128.0,
        device="cpu",
        model_params={"n_filters_time": 8, "n_filters_spat": 8},
    )
    plain = NeuralClassifier("shallow", **kw).fit(X, y)
    Xs = X * 0.25  # a new site with a quarter of the amplitude
    adapted = NeuralClassifier("shallow", adaptive_bn=True, **kw).fit(X, y)
    acc = lambda est, Z: float((est.predict(Z) == y).mean())  # noqa: E731
    assert acc(plain, X) > 0.9
    assert acc(plain, Xs) < 0.7  # the shift breaks the threshold
    assert acc(adapted, Xs) > 0.85  # batch-norm statistics of the target repair it
    np.testing.assert_array_equal(
        next(iter(adapted.model_.parameters())).detach().numpy(),
        next(iter(plain.model_.parameters())).detach().numpy(),
    )


def test_adaptive_bn_with_cropped_training_adapts_on_crops() -> None:
    X, y = _data(n=24)
    X = np.repeat(X, 8, axis=2)  # 128 samples
    clf = NeuralClassifier(
        "shallow",
        max_epochs=1,
        batch_size=8,
        validation_fraction=0.0,
        random_state=0,
        sfreq=128.0,
        device="cpu",
        cropped=True,
        crop_len=100,
        crop_stride=14,
        adaptive_bn=True,
        model_params={"n_filters_time": 4, "n_filters_spat": 4},
    ).fit(X, y)
    proba = clf.predict_proba(X)  # the model sees crops of 100 samples, adapted on them too
    assert proba.shape == (24, 2) and np.allclose(proba.sum(1), 1)
