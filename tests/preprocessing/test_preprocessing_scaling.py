"""Scaling: train-only statistics, no leakage in cross-validation, causal moving standardisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neurodl.data import Recording
from neurodl.exceptions import ConfigError, DataFormatError, NotFittedError
from neurodl.preprocessing import ChannelStandardScaler, Vectorizer, exponential_moving_standardize


def test_channel_scaler_matches_sklearn_on_channel_columns(rng):
    X = rng.normal([[1.0], [-3.0], [10.0]], [[0.5], [2.0], [4.0]], size=(20, 3, 30))
    flat = X.transpose(0, 2, 1).reshape(-1, 3)
    oracle = StandardScaler().fit(flat)
    sc = ChannelStandardScaler().fit(X)
    np.testing.assert_allclose(sc.mean_, oracle.mean_)
    np.testing.assert_allclose(sc.scale_, oracle.scale_)
    Xt = sc.transform(X)
    np.testing.assert_allclose(Xt.transpose(0, 2, 1).reshape(-1, 3), oracle.transform(flat))
    np.testing.assert_allclose(sc.inverse_transform(Xt), X)


def test_transform_uses_training_statistics(rng):
    train = rng.normal(0.0, 1.0, (50, 2, 40))
    test = rng.normal(5.0, 3.0, (10, 2, 40))
    sc = ChannelStandardScaler().fit(train)
    out = sc.transform(test)
    # training stats (about 0 and 1) are applied: test keeps its shift and spread
    assert out.mean() == pytest.approx(5.0, abs=0.5)
    assert out.std() == pytest.approx(3.0, rel=0.2)
    np.testing.assert_allclose(out, (test - sc.mean_[None, :, None]) / sc.scale_[None, :, None])
    # refitting on the test set would give mean 0: the fitted scaler did not do that
    assert abs(ChannelStandardScaler().fit_transform(test).mean()) < 1e-10


def test_constant_channel_gets_unit_scale():
    X = np.ones((3, 2, 5))
    X[:, 1] = np.arange(5)
    sc = ChannelStandardScaler().fit(X)
    assert sc.scale_[0] == 1.0
    np.testing.assert_allclose(sc.transform(X)[:, 0], 0.0)


class RecordingScaler(ChannelStandardScaler):
    """A scaler that records the sample ids (X[:, 0, 0]) of the data it is fitted on."""

    seen: list[np.ndarray] = []

    def fit(self, X, y=None):
        RecordingScaler.seen.append(np.asarray(X)[:, 0, 0].copy())
        return super().fit(X, y)


def test_pipeline_in_cross_val_score_fits_scaler_on_training_folds_only(rng):
    n = 40
    X = rng.standard_normal((n, 2, 10))
    X[:, 0, 0] = np.arange(n)  # sample id
    y = np.tile([0, 1], n // 2)
    X[y == 1, 1] += 1.0
    RecordingScaler.seen = []
    cv = KFold(4, shuffle=True, random_state=0)
    pipe = make_pipeline(RecordingScaler(), Vectorizer(), LogisticRegression())
    cross_val_score(pipe, X, y, cv=cv)
    assert len(RecordingScaler.seen) == 4
    for seen, (train, test) in zip(RecordingScaler.seen, cv.split(X, y)):
        np.testing.assert_array_equal(np.sort(seen), np.sort(train))
        assert not set(seen.astype(int)) & set(test)


def _ems_oracle(x, alpha, eps):
    """Direct loop over the adjust=True exponentially weighted mean and variance."""
    out = np.empty_like(x)
    n_ch, n_t = x.shape
    for c in range(n_ch):
        demeaned = np.empty(n_t)
        for t in range(n_t):
            w = (1 - alpha) ** np.arange(t, -1, -1)
            m = np.sum(w * x[c, : t + 1]) / w.sum()
            demeaned[t] = x[c, t] - m
            v = np.sum(w * demeaned[: t + 1] ** 2) / w.sum()
            out[c, t] = demeaned[t] / max(eps, np.sqrt(v))
    return out


def test_ems_matches_direct_definition(rng):
    x = rng.normal(2.0, 3.0, (2, 200))
    np.testing.assert_allclose(
        exponential_moving_standardize(x, factor_new=0.05, eps=1e-4),
        _ems_oracle(x, 0.05, 1e-4),
        rtol=1e-10,
        atol=1e-12,
    )


def test_ems_is_causal(rng):
    x = rng.standard_normal((3, 500))
    y = x.copy()
    y[:, 300:] = 100 * rng.standard_normal((3, 200)) + 50
    a = exponential_moving_standardize(x, factor_new=0.01, init_block_size=100)
    b = exponential_moving_standardize(y, factor_new=0.01, init_block_size=100)
    np.testing.assert_array_equal(a[:, :300], b[:, :300])
    assert not np.allclose(a[:, 300:], b[:, 300:])


def test_ems_init_block_and_recording_input(rng):
    x = rng.normal(4.0, 2.0, (2, 400))
    out = exponential_moving_standardize(x, factor_new=0.01, init_block_size=50)
    block = x[:, :50]
    np.testing.assert_allclose(
        out[:, :50], (block - block.mean(1, keepdims=True)) / block.std(1, keepdims=True)
    )
    rec = Recording(x, 100.0, subject="3")
    out_rec = exponential_moving_standardize(rec, factor_new=0.01, init_block_size=50)
    assert isinstance(out_rec, Recording) and out_rec.subject == "3"
    np.testing.assert_allclose(out_rec.data, out)
    # pandas ewm oracle for the part after the block
    df = pd.DataFrame(x.T)
    dm = df - df.ewm(alpha=0.01).mean()
    ref = (dm / np.maximum(1e-4, np.sqrt((dm * dm).ewm(alpha=0.01).mean()))).to_numpy().T
    np.testing.assert_allclose(out[:, 50:], ref[:, 50:])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: exponential_moving_standardize(np.zeros((2, 3, 4))),
            DataFormatError,
            r"\(n_channels, n_times\).*\(2, 3, 4\)",
        ),
        (
            lambda: exponential_moving_standardize(np.zeros((2, 10)), factor_new=0),
            ConfigError,
            r"'factor_new'.*0",
        ),
        (
            lambda: exponential_moving_standardize(np.zeros((2, 10)), factor_new=2),
            ConfigError,
            r"'factor_new'.*\(0, 1\].*2",
        ),
        (
            lambda: exponential_moving_standardize(np.zeros((2, 10)), init_block_size=0),
            ConfigError,
            r"'init_block_size'.*0",
        ),
        (
            lambda: exponential_moving_standardize(np.full((1, 3), np.inf)),
            DataFormatError,
            "NaN/inf",
        ),
        (lambda: ChannelStandardScaler().transform(np.zeros((1, 2, 3))), NotFittedError, "fit"),
        (lambda: ChannelStandardScaler().fit(np.zeros((4, 6))), DataFormatError, r"\(4, 6\)"),
        (
            lambda: ChannelStandardScaler().fit(np.zeros((1, 2, 3))).transform(np.zeros((1, 3, 3))),
            DataFormatError,
            r"3 channels.*fitted on 2",
        ),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()
