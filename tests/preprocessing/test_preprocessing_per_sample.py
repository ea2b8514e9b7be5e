"""Per-sample steps run once before the split; everything fitted on data stays in the folds."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.data import EpochsDataset
from neurodl.preprocessing import (
    LogBandPower,
    build_pipeline,
    n_leading_per_sample,
    preprocess_before_split,
)


def _ds(rng):
    X = rng.normal(size=(12, 3, 128))
    return EpochsDataset(X, np.tile([0, 1], 6), sfreq=128.0, ch_names=["C3", "Cz", "C4"])


def test_leading_per_sample_steps_are_applied_once_and_the_rest_is_left_to_the_folds(rng):
    ds = _ds(rng)
    steps = [
        {"log_bandpower": {"bands": [[8.0, 13.0], [13.0, 30.0]]}},
        {"feature_standardize": {}},
        {"vectorize": {}},  # per-sample, but after a fitted step: stays in the folds
    ]
    assert n_leading_per_sample(steps) == 1
    out, lead, rest = preprocess_before_split(ds, steps)
    assert [name for name, _ in lead.steps] == ["log_bandpower"]
    oracle = LogBandPower(sfreq=128.0, bands=[(8.0, 13.0), (13.0, 30.0)]).fit_transform(ds.X)
    np.testing.assert_allclose(out.X, oracle)
    assert out.sfreq is None and out.ch_names is None  # features, not signals
    assert [name for name, _ in rest.steps] == [
        name for name, _ in build_pipeline(steps[1:], sfreq=128.0).steps
    ]
    assert not hasattr(rest.steps[0][1], "mean_")  # not fitted before the split


def test_resampling_keeps_channels_and_sets_the_new_rate(rng):
    ds = _ds(rng)
    out, _, rest = preprocess_before_split(ds, [{"resample": {"new_sfreq": 64.0}}])
    assert out.X.shape == (12, 3, 64) and out.sfreq == pytest.approx(64.0)
    assert out.ch_names == ds.ch_names and rest is None


def test_no_per_sample_step_returns_the_samples_untouched(rng):
    ds = _ds(rng)
    out, lead, rest = preprocess_before_split(ds, [{"standardize": {}}])
    assert out is ds and lead is None and rest is not None
