"""Biomarkers: features equal nilearn, ComBat equals neuroCombat, fold fitting, planted effects."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from neurodl.analyses.biomarkers import (
    ComBat,
    ConfoundRegressor,
    ConnectomeFeatures,
    InnerCVSelect,
    SubjectCohort,
    SubjectPipeline,
    combat_apply,
    combat_fit,
    simulate_cohort,
    site_decodability,
    subject_covariances,
    subject_cross_validate,
    subject_permutation_test,
    vectorize_upper,
)
from neurodl.analyses.biomarkers.eeg_features import BandPowerFeatures
from neurodl.exceptions import DataFormatError


def _series(rng, n=10, n_regions=8, n_times=60):
    mix = rng.normal(size=(n_regions, n_regions))
    return [
        rng.normal(size=(n_times + 3 * i, n_regions)) @ mix * rng.uniform(0.5, 3, n_regions)
        for i in range(n)
    ]


@pytest.mark.parametrize("kind", ["correlation", "partial correlation", "tangent"])
def test_connectome_features_equal_nilearn(kind, rng):
    from nilearn import signal
    from nilearn.connectome import ConnectivityMeasure

    ts = _series(rng)
    covs = subject_covariances(ts)
    ours = ConnectomeFeatures(kind, fisher_z=False).fit(covs[:7]).transform(covs)
    # correlation: nilearn on the raw series; the others on the per-region z-scored series
    src = ts
    if kind != "correlation":
        src = [signal.standardize_signal(t, detrend=False, standardize="zscore_sample") for t in ts]
    cm = ConnectivityMeasure(kind=kind, vectorize=False).fit(src[:7])
    np.testing.assert_allclose(ours, vectorize_upper(cm.transform(src)), atol=1e-10)


def test_fisher_z_and_log_euclidean_reference(rng):
    covs = subject_covariances(_series(rng))
    raw = ConnectomeFeatures("correlation", fisher_z=False).fit(covs).transform(covs)
    z = ConnectomeFeatures("correlation").fit(covs).transform(covs)
    np.testing.assert_allclose(z, np.arctanh(raw), atol=1e-6)
    geo = ConnectomeFeatures("tangent").fit(covs).transform(covs)
    le = ConnectomeFeatures("tangent", reference="log_euclidean").fit(covs).transform(covs)
    # two different means of the same matrices: close, not equal
    assert np.corrcoef(geo.ravel(), le.ravel())[0, 1] > 0.95


def test_tangent_reference_is_fitted_on_training_subjects_only(rng):
    covs = subject_covariances(_series(rng, n=12))
    train, test = np.arange(8), np.arange(8, 12)
    a = ConnectomeFeatures("tangent").fit(covs[train])
    # changing the test subjects changes nothing fitted, nor the features of the train subjects
    covs2 = covs.copy()
    covs2[test] = subject_covariances(_series(np.random.default_rng(5), n=4))
    b = ConnectomeFeatures("tangent").fit(covs2[train])
    np.testing.assert_array_equal(a.mean_, b.mean_)
    np.testing.assert_array_equal(a.transform(covs[train]), b.transform(covs2[train]))
    # and the reference differs from one fitted on everyone
    assert not np.allclose(a.mean_, ConnectomeFeatures("tangent").fit(covs).mean_)


class _Spy(StandardScaler):
    """Records the rows it was fitted on (by a marker column)."""

    seen: list = []

    def fit(self, X, y=None, sample_weight=None):
        type(self).seen.append(set(np.asarray(X)[:, 0].astype(int)))
        return super().fit(X, y)


def test_cross_validation_never_fits_on_test_subjects():
    cohort = simulate_cohort(30, 5, n_sites=3, seed=0)
    cohort.X[:, 0] = np.arange(30)  # marker column: the row index
    _Spy.seen = []
    pipe = SubjectPipeline([("spy", _Spy()), ("lr", LogisticRegression())])
    res = subject_cross_validate(pipe, cohort, "leave-one-site-out")
    assert len(_Spy.seen) == 3
    for seen, test in zip(_Spy.seen, res.cv.test_indices):
        assert seen.isdisjoint(test.tolist())
        assert len(seen) == 30 - len(test)


def test_combat_equals_neurocombat(rng):
    from neuroCombat import neuroCombat

    n = 60
    sites = np.repeat(["a", "b", "c"], 20)
    age = rng.integers(20, 60, n).astype(float)  # integers: exact in neuroCombat's float32
    sex = rng.integers(0, 2, n).astype(float)
    X = rng.normal(size=(n, 30)) + 2 * (sites == "b")[:, None] + 0.05 * age[:, None]
    X[sites == "c"] *= 2
    covars = pd.DataFrame({"site": sites, "age": age, "sex": sex})
    with contextlib.redirect_stdout(io.StringIO()):
        ref = neuroCombat(X.T.copy(), covars, "site", continuous_cols=["age", "sex"])
    model = combat_fit(X, sites, np.c_[age, sex])
    ours = combat_apply(model, X, sites, np.c_[age, sex])
    np.testing.assert_allclose(ours, ref["data"].T, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.gamma_star, ref["estimates"]["gamma.star"], atol=1e-10)
    np.testing.assert_allclose(model.delta_star, ref["estimates"]["delta.star"], atol=1e-10)


def test_combat_removes_site_and_keeps_group_effect():
    cohort = simulate_cohort(120, 30, n_sites=4, group_effect=1.0, site_shift=2.0, seed=1)
    before = site_decodability(cohort.X, cohort.sites)
    after = site_decodability(cohort.X, cohort.sites, harmonizer=ComBat())
    assert before["balanced_accuracy"] > 0.9
    assert after["balanced_accuracy"] < before["chance"] + 0.15
    Xh = ComBat().fit_transform(cohort.X, sites=cohort.sites, covariates=cohort.y[:, None])
    d = Xh[cohort.y == 1, :5].mean() - Xh[cohort.y == 0, :5].mean()
    assert 0.7 < d < 1.3


def test_combat_unseen_site_policy():
    cohort = simulate_cohort(40, 5, n_sites=4, site_shift=2.0, seed=2)
    train = cohort.sites != "site3"
    cb = ComBat(unseen_site="error").fit(cohort.X[train], sites=cohort.sites[train])
    with pytest.raises(DataFormatError, match="not in the ComBat training data"):
        cb.transform(cohort.X[~train], sites=cohort.sites[~train])
    out = ComBat().fit(cohort.X[train], sites=cohort.sites[train])
    Xh = out.transform(cohort.X[~train], sites=cohort.sites[~train])
    assert abs(Xh.mean(axis=0) - out.model_.grand_mean).max() < 0.6


def test_confound_regressor_removes_a_planted_confound(rng):
    age = rng.uniform(10, 40, 80)
    X = rng.normal(size=(80, 4)) + 0.3 * age[:, None]
    cr = ConfoundRegressor().fit(X[:60], covariates=age[:60])
    out = cr.transform(X[60:], covariates=age[60:])
    assert abs(np.corrcoef(out[:, 0], age[60:])[0, 1]) < 0.35
    assert abs(np.corrcoef(X[60:, 0], age[60:])[0, 1]) > 0.8


def _linear(combat: bool = False):
    steps = [("combat", ComBat())] if combat else []
    return SubjectPipeline([*steps, ("scale", StandardScaler()), ("lr", LogisticRegression())])


def test_planted_group_effect_recovered_and_null_not():
    effect = simulate_cohort(60, 10, n_sites=3, group_effect=1.2, site_shift=1.0, seed=3)
    res = subject_permutation_test(_linear(True), effect, n_permutations=19, seed=0)
    assert res.score > 0.7 and res.p_value == pytest.approx(0.05)
    null = simulate_cohort(60, 10, n_sites=3, group_effect=0.0, site_shift=1.0, seed=3)
    res0 = subject_permutation_test(_linear(True), null, n_permutations=19, seed=0)
    assert res0.p_value > 0.05


def test_site_effect_without_group_effect_is_not_a_group_effect():
    # site and label confounded: leave-one-site-out with within-site permutations finds nothing
    cohort = simulate_cohort(90, 10, n_sites=3, site_shift=3.0, site_label_imbalance=0.6, seed=4)
    res = subject_permutation_test(_linear(), cohort, "leave-one-site-out", n_permutations=19)
    assert res.p_value > 0.05


def test_inner_selection_uses_training_subjects_and_picks_the_informative_candidate():
    cohort = simulate_cohort(60, 10, n_sites=3, group_effect=1.2, seed=5)
    good = _linear()
    bad = SubjectPipeline([("lr", LogisticRegression(C=1e-6))])
    sel = InnerCVSelect({"good": good, "shrunk": bad})
    res = subject_cross_validate(sel, cohort, "site-stratified-kfold", n_splits=3)
    assert res.selected.count("good") >= 2
    assert all(w is not None for w in res.weights)


def test_bandpower_features_find_a_planted_rhythm(rng):
    sfreq, t = 100.0, np.arange(1000) / 100.0
    X = rng.normal(size=(6, 2, 1000))
    X[:3, 0] += 3 * np.sin(2 * np.pi * 10 * t)
    feats = BandPowerFeatures(sfreq, [(8, 12), (20, 30)]).fit_transform(X)
    assert feats[:3, 0].min() > feats[3:, 0].max() + 1  # alpha of channel 0
    assert abs(feats[:3, 1].mean() - feats[3:, 1].mean()) < 0.5


def test_cohort_rejects_mismatched_rows():
    with pytest.raises(DataFormatError, match="must match"):
        SubjectCohort(np.zeros((3, 2)), [0, 1], ["a", "b", "c"], ["s"] * 3, pd.DataFrame(), ["x"])


def test_brainnet_edge_to_edge_equals_the_two_convolutions():
    import torch
    from torch import nn

    from neurodl.models.brainnet import EdgeToEdge

    torch.manual_seed(0)
    x = torch.randn(4, 2, 7, 7)
    e2e = EdgeToEdge(2, 3, 7)
    row, col = nn.Conv2d(2, 3, (1, 7), bias=False), nn.Conv2d(2, 3, (7, 1), bias=False)
    row.weight.data = e2e.row_weight.data[:, :, None, :]
    col.weight.data = e2e.col_weight.data[:, :, :, None]
    expected = row(x) + col(x) + e2e.bias[:, None, None]
    torch.testing.assert_close(e2e(x), expected, atol=1e-5, rtol=1e-5)
