"""Attributions (integrated gradients, gradient x input) and occlusion importance.

Planted effect: only channel 3, and only samples 24-40, carry the class signal. Oracles: the
weights of a linear network (attribution = weight x input), the completeness of integrated
gradients against an independent forward pass, and estimators that read one channel only.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from neurodl.analyses.interpret import (
    attribute,
    band_importance,
    gradient_x_input,
    integrated_gradients,
    permutation_importance,
)
from neurodl.estimators import NeuralClassifier, NeuralRegressor
from neurodl.exceptions import ConfigError, DataFormatError, NotFittedError

N, C, T, K, SFREQ = 160, 6, 64, 3, 64.0
WINDOW = slice(24, 40)


def _planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], N // 2)
    X = rng.normal(size=(N, C, T))
    t = np.arange(T)
    burst = np.sin(2 * np.pi * t / 8) * ((t >= WINDOW.start) & (t < WINDOW.stop))
    X[:, K, :] += (y == 1)[:, None] * 2.0 * burst  # class 1: an 8 Hz burst on channel K
    return X, y


SHALLOW = {
    "filter_time_length": 9,
    "pool_time_length": 16,
    "pool_time_stride": 8,
    "n_filters_time": 8,
    "n_filters_spat": 8,
}


def _fit(model: str, params: dict, X: np.ndarray, y: np.ndarray) -> NeuralClassifier:
    return NeuralClassifier(
        model,
        params,
        max_epochs=30,
        batch_size=32,
        lr=0.01,
        validation_fraction=0.0,
        random_state=0,
        num_threads=1,
        device="cpu",
    ).fit(X, y)


@pytest.fixture(scope="module")
def data():
    return _planted()


@pytest.fixture(scope="module")
def linear(data):
    return _fit("linear", {}, *data)


@pytest.fixture(scope="module")
def shallow(data):
    return _fit("shallow", SHALLOW, *data)


def _logits(clf, X):
    with torch.no_grad():
        return clf.model_(torch.tensor(X, dtype=torch.float32)).numpy()


def test_linear_network_attribution_is_weight_times_input(linear, data):
    X, _ = data
    w = linear.model_.head.weight.detach().numpy().reshape(2, C, T)
    for target in (0, 1):
        expected = w[target][None] * X[:10]
        np.testing.assert_allclose(
            gradient_x_input(linear, X[:10], target=target), expected, rtol=1e-4, atol=1e-5
        )
        # zero baseline + linear output: integrated gradients equal gradient x input exactly
        np.testing.assert_allclose(
            integrated_gradients(linear, X[:10], target=target, n_steps=3),
            expected,
            rtol=1e-4,
            atol=1e-5,
        )


@pytest.mark.parametrize("model", ["linear", "shallow"])
def test_attribution_peaks_at_the_planted_channel_and_window(model, request, data):
    clf = request.getfixturevalue(model)
    X, y = data
    assert clf.score(X, y) > 0.95
    for method in ("integrated_gradients", "gradient_x_input"):
        a = attribute(clf, X, method=method, target="true", y=y, sfreq=SFREQ, n_steps=16)
        assert a.values.shape == (N, C, T) and a.channel.shape == (C,) and a.time.shape == (T,)
        assert int(np.argmax(a.channel)) == K
        assert a.channel[K] > 1.3 * np.delete(a.channel, K).max()
        # on the samples that carry the burst the planted channel dominates
        share = np.abs(a.values[y == 1]).mean(axis=(0, 2))
        assert share[K] > 1.5 * np.delete(share, K).max()
        # the window's mean attribution on channel K clearly exceeds that outside it
        inside = a.channel_time[K, WINDOW].mean()
        outside = np.delete(a.channel_time[K], np.arange(T)[WINDOW]).mean()
        assert inside > 1.5 * outside
        assert a.top_channels(1)[0][0] == str(K)
        assert a.times[1] == pytest.approx(1 / SFREQ)
        assert a.freqs[-1] == pytest.approx(SFREQ / 2)
        np.testing.assert_array_equal(a.target, y)  # all trained samples correct


@pytest.mark.parametrize("model", ["linear", "shallow"])
def test_attribution_spectrum_peaks_at_the_planted_frequency(model, request, data):
    from neurodl.analyses.interpret.attribution import _frequency_contributions

    clf = request.getfixturevalue(model)
    X, _ = data
    a = attribute(clf, X, sfreq=SFREQ, method="gradient_x_input")
    assert a.frequency.shape == a.freqs.shape == (T // 2 + 1,)
    # the planted burst oscillates at SFREQ / 8 = 8 Hz
    assert abs(a.freqs[int(np.argmax(a.frequency))] - SFREQ / 8) <= 2.0
    # oracle: the per-frequency terms add up to each channel's total attribution (Parseval)
    rng = np.random.default_rng(0)
    d, g = rng.normal(size=(2, 3, 4, T + 1))
    for n in (T, T + 1):
        np.testing.assert_allclose(
            _frequency_contributions(d[..., :n], g[..., :n]).sum(-1),
            (d[..., :n] * g[..., :n]).sum(-1),
        )


@pytest.mark.parametrize("baseline", ["zeros", "mean"])
def test_integrated_gradients_completeness(shallow, data, baseline):
    X, _ = data
    x = X[:12]
    attr, delta = integrated_gradients(
        shallow, x, target=1, baseline=baseline, n_steps=64, return_delta=True
    )
    x0 = np.zeros((C, T)) if baseline == "zeros" else X[:12].mean(axis=0)
    f_x = _logits(shallow, x)[:, 1]
    f_0 = _logits(shallow, np.broadcast_to(x0, x.shape).copy())[:, 1]
    np.testing.assert_allclose(attr.sum(axis=(1, 2)), f_x - f_0, rtol=0.02, atol=0.02)
    np.testing.assert_allclose(delta, attr.sum(axis=(1, 2)) - (f_x - f_0), atol=1e-3)


def test_probability_output_completeness_and_explicit_baseline(linear, data):
    X, _ = data
    x0 = np.full((C, T), 0.1)
    attr, delta = integrated_gradients(
        linear, X[:8], target=0, baseline=x0, output="probability", n_steps=64, return_delta=True
    )
    p = torch.softmax(torch.tensor(_logits(linear, X[:8])), 1).numpy()[:, 0]
    p0 = torch.softmax(torch.tensor(_logits(linear, np.broadcast_to(x0, (8, C, T)).copy())), 1)
    np.testing.assert_allclose(attr.sum(axis=(1, 2)), p - p0.numpy()[:, 0], atol=0.01)
    assert np.abs(delta).max() < 0.01


def test_pipeline_with_shape_preserving_preprocessing(data):
    from neurodl.preprocessing import ChannelStandardScaler

    X, y = data
    net = NeuralClassifier(
        "linear", max_epochs=20, batch_size=32, lr=0.01, validation_fraction=0.0, random_state=0
    )
    pipe = Pipeline([("scale", ChannelStandardScaler()), ("model", net)]).fit(X * 5.0, y)
    a = attribute(pipe, X * 5.0)
    assert int(np.argmax(a.channel)) == K


def test_regressor_and_2d_input():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 5))
    y = 3.0 * X[:, 2]
    reg = NeuralRegressor(
        "linear", max_epochs=40, batch_size=16, lr=0.05, validation_fraction=0.0, random_state=0
    ).fit(X, y)
    a = attribute(reg, X, target=0)
    assert a.values.shape == (80, 1, 5) and int(np.argmax(a.time)) == 2
    with pytest.raises(ConfigError, match="'true' needs a classifier"):
        gradient_x_input(reg, X, target="true", y=y)


def _channel_reader(k: int, feature: str = "raw") -> Pipeline:
    """LDA on channel ``k`` only (its samples, or its log-variance): other channels cannot matter."""
    features = {
        "raw": lambda X: X[:, k, :],
        "logvar": lambda X: np.log(X[:, k, :].var(axis=1, keepdims=True)),
    }
    return make_pipeline(FunctionTransformer(features[feature]), LinearDiscriminantAnalysis())


def test_permutation_importance_any_estimator(data):
    X, y = data
    est = _channel_reader(K).fit(X, y)
    imp = permutation_importance(est, X, y, n_repeats=4, ch_names=list("abcdef"))
    assert imp.labels == list("abcdef") and imp.importances.shape == (C, 4)
    np.testing.assert_array_equal(np.delete(imp.mean, K), 0.0)  # ignored channels: no drop
    assert imp.mean[K] > 0.2 and imp.top(1)[0][0] == "d"
    assert imp.baseline_score > 0.7
    # the planted window matters; time outside it does not (variance of other samples only)
    tw = permutation_importance(est, X, y, over="time", n_windows=4, mode="zero", sfreq=SFREQ)
    assert tw.labels[0] == "0-0.25" and tw.importances.shape == (4, 1)
    assert int(np.argmax(tw.mean)) in (1, 2)  # samples 16-48 hold the burst
    assert tw.mean[0] < tw.mean[1] and tw.mean[3] < tw.mean[2]


def test_permutation_importance_grouped_features():
    # 2-D features, channel-major (2 channels x 3 bands); only features of channel "b" matter
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], 50)
    X = rng.normal(size=(100, 6))
    X[:, 4] += 3.0 * y
    est = LinearDiscriminantAnalysis().fit(X, y)
    imp = permutation_importance(est, X, y, groups={"a": [0, 1, 2], "b": [3, 4, 5]})
    assert imp.labels == ["a", "b"] and imp.mean[1] > 0.3
    assert abs(imp.mean[0]) < 0.1
    with pytest.raises(ConfigError, match="'groups'"):
        permutation_importance(est, X, y, groups={"a": [0, 9]})
    with pytest.raises(ConfigError, match="over='channels'"):
        permutation_importance(est, X[:, None], y, over="time", groups={"a": [0]})


def test_permutation_importance_of_a_network(shallow, data):
    X, y = data
    imp = permutation_importance(shallow, X, y, mode="mean")
    assert imp.top(1)[0][0] == str(K) and imp.mean[K] > 0.1
    assert imp.mean[K] > 2 * np.delete(imp.mean, K).max()


def test_band_importance_finds_the_planted_band():
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], 60)
    t = np.arange(256) / SFREQ
    X = rng.normal(size=(120, 2, 256)) * 0.5
    X[y == 1, 0] += 2.0 * np.sin(2 * np.pi * 10.0 * t)
    est = _channel_reader(0, "logvar").fit(X, y)
    imp = band_importance(est, X, y, SFREQ)
    assert imp.kind == "bands" and imp.labels[:4] == ["delta", "theta", "alpha", "beta"]
    assert imp.top(1)[0][0] == "alpha" and imp.mean[imp.labels.index("alpha")] > 0.3
    assert np.abs(np.delete(imp.mean, imp.labels.index("alpha"))).max() < 0.1


def test_unfitted_and_wrong_estimators(data):
    X, y = data
    with pytest.raises(NotFittedError, match="not fitted"):
        gradient_x_input(NeuralClassifier("linear"), X)
    with pytest.raises(ConfigError, match="permutation_importance"):
        gradient_x_input(_channel_reader(0).fit(X, y), X)
    cropped = NeuralClassifier(
        "linear", max_epochs=1, cropped=True, crop_len=32, validation_fraction=0.0
    ).fit(X, y)
    with pytest.raises(ConfigError, match="cropped"):
        attribute(cropped, X)
    reduce = Pipeline(
        [("mean", FunctionTransformer(lambda Z: Z[:, :, :32])), ("net", NeuralClassifier("linear"))]
    )
    reduce.fit(X, y)
    with pytest.raises(ConfigError, match="keeps the sample shape"):
        attribute(reduce, X)


BAD_GRADIENT = [
    ({"method": "lrp"}, ConfigError, "'method'"),
    ({"target": "best"}, ConfigError, "'target'"),
    ({"target": 5}, ConfigError, r"output index in \[0, 1\]"),
    ({"target": "true"}, ConfigError, "needs the labels"),
    ({"target": "true", "y": np.arange(3)}, DataFormatError, "shape"),
    ({"target": "true", "y": np.full(N, 7)}, DataFormatError, "not fitted on"),
    ({"baseline": "median"}, ConfigError, "'baseline'"),
    ({"baseline": np.zeros((2, 2))}, DataFormatError, "'baseline'"),
    ({"n_steps": 0}, ConfigError, "'n_steps'"),
    ({"output": "softmax"}, ConfigError, "'output'"),
    ({"batch_size": 0}, ConfigError, "'batch_size'"),
    ({"sfreq": -1.0}, ConfigError, "'sfreq'"),
    ({"ch_names": ["a"]}, DataFormatError, "'ch_names'"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_GRADIENT)
def test_attribute_bad_input(linear, data, kwargs, error, match):
    X, _ = data
    with pytest.raises(error, match=match):
        attribute(linear, X, **kwargs)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros((0, C, T)), "n_samples >= 1"),
        (np.zeros((2, C, T, 1)), "shape"),
        (np.full((2, C, T), np.nan), "finite"),
        (np.zeros((2, C, T - 1)), "n_times"),
        ("abc", "numeric"),
    ],
)
def test_bad_X(linear, X, match):
    with pytest.raises(DataFormatError, match=match):
        gradient_x_input(linear, X)


BAD_OCCLUSION = [
    ({"over": "freq"}, ConfigError, "'over'"),
    ({"mode": "noise"}, ConfigError, "'mode'"),
    ({"metric": "roc_auc"}, ConfigError, "'metric'"),
    ({"metric": "f1"}, ConfigError, "'metric'"),
    ({"n_repeats": 0}, ConfigError, "'n_repeats'"),
    ({"over": "time", "n_windows": T + 1}, ConfigError, "'n_windows'"),
    ({"ch_names": ["a"]}, DataFormatError, "'ch_names'"),
    ({"y": None}, ConfigError, "needs the labels"),
    ({"y": np.zeros(3)}, DataFormatError, "entries"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_OCCLUSION)
def test_permutation_importance_bad_input(data, kwargs, error, match):
    X, y = data
    est = _channel_reader(K).fit(X, y)
    kwargs = {"y": y, **kwargs}
    with pytest.raises(error, match=match):
        permutation_importance(est, X, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sfreq": 0.0}, ConfigError, "'sfreq'"),
        ({"sfreq": SFREQ, "bands": {"x": (20.0, 10.0)}}, ConfigError, "Invalid band 'x'"),
        ({"sfreq": SFREQ, "bands": {"x": (10.0, 40.0)}}, ConfigError, "Nyquist"),
    ],
)
def test_band_importance_bad_input(data, kwargs, error, match):
    X, y = data
    est = _channel_reader(K).fit(X, y)
    with pytest.raises(error, match=match):
        band_importance(est, X, y, **kwargs)
    with pytest.raises(DataFormatError, match="3-D"):
        band_importance(est, X[:, 0], y, SFREQ)
