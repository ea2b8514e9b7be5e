from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.signal import welch
from sklearn.covariance import OAS
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler

from neurodl.estimators.classical import (
    CLASSICAL_MODELS,
    FilterBankCSP,
    RequireChannels,
    make_classical,
)
from neurodl.exceptions import ConfigError, DataFormatError

SFREQ = 128.0
#: Models taking signals that need a spatial covariance (>= 2 channels).
SPATIAL = ["tangent_space_lr", "mdm", "csp_lda", "fbcsp"]


def _planted(rng, n=80, n_ch=6, n_t=256):
    """Class 1 has 3x the variance on channel 0: separable by power and by covariance."""
    y = np.repeat([0, 1], n // 2)
    X = rng.standard_normal((n, n_ch, n_t))
    X[y == 1, 0] *= 3.0
    return X, y


def _sine_band(rng, n, n_t, freq, amp):
    t = np.arange(n_t) / SFREQ
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    return amp * np.sin(2 * np.pi * freq * t + phase)


@pytest.mark.parametrize(
    "name", [n for n, s in CLASSICAL_MODELS.items() if s.task == "classification"]
)
def test_classifiers_recover_planted_effect(name, rng):
    X, y = _planted(rng)
    est = make_classical(name, seed=0, data_sfreq=SFREQ)
    if CLASSICAL_MODELS[name].input == "features":
        X = np.log(np.var(X, axis=-1))
    scores = cross_val_score(est, X, y, cv=4)
    assert scores.mean() > 0.85, (name, scores)


@pytest.mark.parametrize("name", SPATIAL)
def test_spatial_models_survive_rank_deficient_data(name, rng):
    X, y = _planted(rng)
    X[:, -1] = X[:, 0]  # duplicated channel: covariance is singular without shrinkage
    X[:, -2] = X[:, 1] - X[:, 2]  # and a linear combination (as after average reference)
    scores = cross_val_score(make_classical(name, data_sfreq=SFREQ), X, y, cv=4)
    assert scores.mean() > 0.85, (name, scores)


def test_sample_covariance_fails_where_shrinkage_does_not(rng):
    """The negative control: without shrinkage the same rank-deficient data break pyRiemann."""
    X, y = _planted(rng)
    X[:, -1] = X[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pyRiemann warns before it raises
        with pytest.raises(ValueError, match="positive definite"):
            make_classical("tangent_space_lr", estimator="scm").fit(X, y)


def test_oas_covariances_match_sklearn(rng):
    X, _ = _planted(rng, n=8)
    cov_step = make_classical("mdm").steps[1][1]
    got = cov_step.fit_transform(X)
    want = np.stack([OAS(assume_centered=False).fit(x.T).covariance_ for x in X])
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("name", SPATIAL)
def test_single_channel_is_refused_clearly(name, rng):
    X, y = _planted(rng, n_ch=1)
    with pytest.raises(DataFormatError, match=rf"'{name}' needs at least 2 channels.*have 1"):
        make_classical(name, data_sfreq=SFREQ).fit(X, y)


@pytest.mark.parametrize("name", ["tangent_space_lr", "mdm"])
def test_time_delay_covariances_decode_single_channel_spectrum(name, rng):
    """One channel; the classes differ only in their spectrum (a 30 Hz vs a 10 Hz rhythm)."""
    n, n_t = 60, 256
    y = np.repeat([0, 1], n // 2)
    X = rng.standard_normal((n, 1, n_t))
    X[y == 0, 0] += _sine_band(rng, n // 2, n_t, 10.0, 2.0)
    X[y == 1, 0] += _sine_band(rng, n // 2, n_t, 30.0, 2.0)
    # equal total power: variance alone (1 channel, no delays) could not separate them
    np.testing.assert_allclose(X[y == 0].var(), X[y == 1].var(), rtol=0.1)
    scores = cross_val_score(make_classical(name, delays=[1, 2, 3, 4]), X, y, cv=4)
    assert scores.mean() > 0.9, scores


def test_logbandpower_lr_matches_scipy_sklearn_oracle(rng):
    X, y = _planted(rng, n_ch=3)
    bands = [[4.0, 8.0], [8.0, 30.0]]
    est = make_classical("logbandpower_lr", data_sfreq=SFREQ, bands=bands).fit(X[:60], y[:60])
    freqs, psd = welch(X, fs=SFREQ, nperseg=256, axis=-1)
    df = freqs[1] - freqs[0]
    feats = np.concatenate(
        [np.log(psd[..., (freqs >= lo) & (freqs < hi)].sum(-1) * df) for lo, hi in bands], axis=1
    )
    scaler = StandardScaler().fit(feats[:60])
    lr = LogisticRegression(max_iter=2000, random_state=0).fit(scaler.transform(feats[:60]), y[:60])
    want = lr.predict_proba(scaler.transform(feats[60:]))
    # compare up to feature order: LR probabilities do not depend on column order
    np.testing.assert_allclose(est.predict_proba(X[60:]), want, atol=1e-6)


def test_logbandpower_default_bands_fit_below_nyquist(rng):
    X, y = _planted(rng, n_ch=2)
    est = make_classical("logbandpower_lr", data_sfreq=100.0).fit(X, y)
    bands = np.asarray(est.steps[1][1].bands)
    assert bands.max() < 50.0 and len(bands) >= 5


def test_fbcsp_selects_the_planted_band(rng):
    """Classes differ only in a 20-24 Hz rhythm on channel 0: selected features come from there."""
    n, n_ch, n_t = 80, 4, 256
    y = np.repeat([0, 1], n // 2)
    X = rng.standard_normal((n, n_ch, n_t))
    X[y == 1, 0] += _sine_band(rng, n // 2, n_t, 22.0, 3.0)
    bands = [[4, 8], [8, 12], [12, 16], [20, 24], [28, 32]]
    est = make_classical(
        "fbcsp", data_sfreq=SFREQ, bands=bands, n_components=2, k=1, selector="anova"
    ).fit(X, y)
    chosen = est.named_steps["selectkbest"].get_support(indices=True)
    assert list(chosen // 2) == [3], chosen  # band index 3 is 20-24 Hz
    assert cross_val_score(est, X, y, cv=4).mean() > 0.9


def test_fbcsp_features_shape_and_unfitted(rng):
    X, y = _planted(rng, n=20, n_ch=3)
    fb = FilterBankCSP(sfreq=SFREQ, bands=[[8, 12], [12, 30]], n_components=2)
    with pytest.raises(ValueError, match="not fitted"):
        fb.transform(X)
    assert fb.fit(X, y).transform(X).shape == (20, 4)


def test_require_channels_refuses_features():
    with pytest.raises(DataFormatError, match=r"'csp_lda' needs signals of shape .*\(10, 6\)"):
        RequireChannels(2, "csp_lda").fit(np.zeros((10, 6)))


@pytest.mark.parametrize(
    ("name", "kwargs", "error", "match"),
    [
        (
            "logistc",
            {},
            ConfigError,
            "Unknown model 'logistc'. Known models: .*logistic_regression",
        ),
        ("lda", {"C": 1}, ConfigError, r"Unknown parameter\(s\) \['C'\] for model 'lda'"),
        ("fbcsp", {}, ConfigError, "'fbcsp' needs the sampling rate"),
        ("logbandpower_lr", {"sfreq": -1.0}, ConfigError, "'sfreq' .* positive number.*-1.0"),
        ("mdm", {"estimator": "oass"}, ConfigError, "'estimator'. Allowed: 'oas', 'lwf'.*'oass'"),
        ("mdm", {"delays": 1}, ConfigError, "'delays' of model 'mdm'.*got 1"),
        ("tangent_space_lr", {"delays": [0, 2]}, ConfigError, r"'delays'.*got \[0, 2\]"),
        ("fbcsp", {"sfreq": 100.0, "k": 100}, ConfigError, r"'k'. Allowed: an int in \[1, 36\]"),
        ("fbcsp", {"sfreq": 100.0, "selector": "mi"}, ConfigError, "'selector'.*'mutual_info'"),
        (
            "fbcsp",
            {"sfreq": 60.0, "bands": [[8, 12], [20, 40]]},
            ConfigError,
            r"'bands'.*Nyquist \(30 Hz",
        ),
        ("logbandpower_lr", {"sfreq": 100.0, "bands": "alpha"}, ConfigError, "'bands' must be"),
    ],
)
def test_bad_model_requests(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        make_classical(name, **kwargs)


def test_data_sfreq_is_ignored_by_models_without_sfreq_and_overridden_by_params():
    est = make_classical("lda", data_sfreq=100.0)
    assert "sfreq" not in str(est.get_params())
    est = make_classical("logbandpower_lr", data_sfreq=100.0, sfreq=250.0)
    assert est.steps[1][1].sfreq == 250.0
