"""Declarative pipelines and the sklearn estimator contract of every preprocessing step."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from neurodl.exceptions import ConfigError, NotFittedError
from neurodl.preprocessing import (
    PREPROCESSING_STEPS,
    BandpassFilter,
    LogBandPower,
    Resample,
    build_pipeline,
)

SFREQ = 200.0


def test_build_pipeline_steps_and_sfreq_propagation():
    pipe = build_pipeline(
        [
            {"notch": {"freqs": [50]}},
            {"bandpass": {"l_freq": 1, "h_freq": 40}},
            {"resample": {"new_sfreq": 100}},
            {"bandpass": {"l_freq": 8, "h_freq": 30}},
            {"log_bandpower": {"bands": [[8, 13], [13, 30]]}},
            {"feature_standardize": None},
        ],
        sfreq=SFREQ,
    )
    assert isinstance(pipe, Pipeline)
    assert [n for n, _ in pipe.steps] == [
        "notch",
        "bandpass",
        "resample",
        "bandpass_2",
        "log_bandpower",
        "feature_standardize",
    ]
    assert pipe.named_steps["bandpass"].sfreq == SFREQ
    assert pipe.named_steps["resample"].sfreq == SFREQ
    assert pipe.named_steps["bandpass_2"].sfreq == 100.0
    assert pipe.named_steps["log_bandpower"].sfreq == 100.0


def test_built_pipeline_decodes_planted_alpha(rng):
    n, t = 40, np.arange(400) / SFREQ
    X = rng.standard_normal((n, 2, 400))
    y = np.tile([0, 1], n // 2)
    X[y == 1, 0] += 2 * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6, (n // 2, 1)))
    pipe = build_pipeline(
        [
            {"bandpass": {"l_freq": 4, "h_freq": 30}},
            {"standardize": {}},
            {"log_bandpower": {}},
            {"feature_standardize": {}},
        ],
        sfreq=SFREQ,
    )
    pipe.steps.append(("clf", LogisticRegression()))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(4))
    assert scores.mean() > 0.9
    assert cross_val_score(pipe, X, rng.permutation(y), cv=StratifiedKFold(4)).mean() < 0.8


@pytest.mark.parametrize(
    ("steps", "match"),
    [
        (
            [{"bandpas": {}}],
            r"Unknown preprocessing step 'bandpas' in steps\[0\]\. Known steps: "
            r"bandpass, feature_standardize, log_bandpower, notch, resample",
        ),
        (
            [{"bandpass": {"l_freq": 8, "hfreq": 30}}],
            r"Unknown parameter 'hfreq' for step 'bandpass' \(steps\[0\]\)\. Allowed: l_freq, "
            r"h_freq, method, phase",
        ),
        ([{"vectorize": {"order": "F"}}], r"'order' for step 'vectorize'.*Allowed: none"),
        ([{"bandpass": {"l_freq": 8, "h_freq": 150}}], r"h_freq.*Nyquist.*100 Hz.*h_freq=150"),
        (
            [{"resample": {"new_sfreq": 50}}, {"bandpass": {"l_freq": 8, "h_freq": 30}}],
            r"Nyquist.*25 Hz.*sfreq=50.*h_freq=30",
        ),
        ([{"bandpass": {"l_freq": 8, "h_freq": 30, "sfreq": 100}}], r"sfreq=100.*200 Hz"),
        ([{"bandpass": {}, "notch": {}}], r"steps\[0\] must be a dict with exactly one key"),
        (["bandpass"], r"steps\[0\] must be a dict"),
        ([{"bandpass": [8, 30]}], r"Parameters of step 'bandpass'.*must be a dict"),
        ({"bandpass": {}}, r"'steps' must be a non-empty list"),
        ([], r"'steps' must be a non-empty list"),
    ],
)
def test_bad_pipeline_configs(steps, match):
    with pytest.raises(ConfigError, match=match):
        build_pipeline(steps, sfreq=SFREQ)


def _instances():
    for name, cls in PREPROCESSING_STEPS.items():
        yield pytest.param(cls, id=name)


@pytest.mark.parametrize("cls", list(_instances()))
def test_estimator_contract(cls):
    name = cls.__name__
    check_parameters_default_constructible(name, cls())
    check_no_attributes_set_in_init(name, cls())
    check_get_params_invariance(name, cls())
    check_set_params(name, cls())
    est = clone(cls())
    assert est.get_params() == cls().get_params()


@pytest.mark.parametrize(
    "est",
    [BandpassFilter(8, 30, SFREQ), Resample(100, SFREQ), LogBandPower(SFREQ)],
    ids=["bandpass", "resample", "log_bandpower"],
)
def test_stateless_transformers_validate_and_do_not_mutate_params(est, rng):
    X = rng.standard_normal((3, 2, 400))
    before = est.get_params()
    with pytest.raises(NotFittedError, match="not fitted"):
        est.transform(X)
    est.fit(X)
    assert est.get_params() == before
    assert est.n_channels_ == 2
    assert est.transform(X).shape[0] == 3
