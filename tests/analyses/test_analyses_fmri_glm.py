"""Scans to samples: per-run cleaning vs scipy, HRF shift, LSA/LSS betas, Haxby floors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import signal, stats

from neurodl.analyses.fmri.glm import (
    block_events,
    clean_runs,
    fmri_samples,
    hrf_design,
    lsa_betas,
    lss_betas,
    shift_labels,
)
from neurodl.data.simulate import simulate_fmri
from neurodl.exceptions import ConfigError, DataFormatError


def test_clean_runs_matches_scipy_per_run(rng):
    data = rng.standard_normal((5, 40)) + np.linspace(0, 9, 40)
    runs = np.repeat([0, 1], 20)
    out = clean_runs(data, runs)
    for r in (0, 1):
        m = runs == r
        ref = stats.zscore(signal.detrend(data[:, m], axis=1), axis=1)
        np.testing.assert_allclose(out[:, m], ref, atol=1e-10)
    # each run uses only its own data: changing run 1 leaves run 0 untouched
    data2 = data.copy()
    data2[:, 20:] *= 7
    np.testing.assert_allclose(clean_runs(data2, runs)[:, :20], out[:, :20])


def test_shift_labels_stays_in_run():
    labels = ["a", "a", "b", "b", "c", "c"]
    runs = [0, 0, 0, 1, 1, 1]
    assert list(shift_labels(labels, runs, 1)) == ["rest", "a", "a", "rest", "b", "c"]
    with pytest.raises(ConfigError, match="n_shift"):
        shift_labels(labels, runs, -1)


def test_hrf_design_peaks_after_onset():
    design = hrf_design([10.0], [2.0], 30, 1.0)
    assert 14 <= int(np.argmax(design[:, 0])) <= 17
    assert np.abs(design[:10, 0]).max() < 1e-12


@pytest.mark.parametrize(("func", "equal"), [(lsa_betas, False), (lss_betas, True)])
def test_trial_betas_recover_planted_amplitudes(func, equal):
    tr, n_vol = 2.0, 120
    events = pd.DataFrame({"run": "0", "onset": [10.0, 60.0, 110.0, 160.0], "duration": 8.0})
    design = hrf_design(events["onset"], events["duration"], n_vol, tr)
    amps = np.array([[1.0, -2.0], [3.0, 0.5], [-1.0, 1.0], [2.0, 2.0]])
    if equal:  # LSS is exact when the other trials share one amplitude
        amps = np.tile(amps[:1], (4, 1))
    drift = np.linspace(0, 5, n_vol)[:, None]
    data = (design @ amps + drift + 100).T
    betas = func(data, events, np.zeros(n_vol, int).astype(str), tr)
    np.testing.assert_allclose(betas, amps, atol=1e-8)


def test_lss_close_to_lsa_for_separated_trials(rng):
    tr, n_vol = 2.0, 120
    events = pd.DataFrame({"run": "0", "onset": [10.0, 60.0, 110.0, 160.0], "duration": 8.0})
    design = hrf_design(events["onset"], events["duration"], n_vol, tr)
    amps = rng.standard_normal((4, 6))
    data = (design @ amps + 0.05 * rng.standard_normal((n_vol, 6))).T
    runs = np.zeros(n_vol, int).astype(str)
    lss = lss_betas(data, events, runs, tr)
    assert np.corrcoef(lss.ravel(), amps.ravel())[0, 1] > 0.95


def test_block_events_and_bad_input():
    ev = block_events(["rest", "a", "a", "rest", "b"], [0, 0, 0, 0, 0], 2.0)
    assert list(ev["trial_type"]) == ["a", "b"] and list(ev["duration"]) == [4.0, 2.0]
    with pytest.raises(ConfigError, match="detrend"):
        clean_runs(np.zeros((2, 4)), [0, 0, 0, 0], detrend="cubic")
    with pytest.raises(DataFormatError, match="runs"):
        clean_runs(np.zeros((2, 4)), [0, 0])


@pytest.mark.parametrize("kind", ["volumes", "blocks", "lsa", "lss"])
def test_fmri_samples_decode_simulated_categories(kind):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_score

    vs = simulate_fmri(n_runs=4, n_categories=2, shape=(6, 6, 3), n_blocks_per_category=2, seed=1)
    ds = fmri_samples(vs, kind=kind, delay=4.0 if kind in ("volumes", "blocks") else 0.0)
    assert ds.info["cleaning"] == "per-run"
    groups = ds.metadata["run"].to_numpy()
    assert len(set(groups)) == 4
    clf = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    acc = cross_val_score(clf, ds.X, ds.y, groups=groups, cv=LeaveOneGroupOut()).mean()
    assert acc > 0.75


@pytest.mark.realdata
def test_haxby_leave_one_run_out_floors(shared_data):
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_score

    from neurodl.datasets.haxby import read_haxby
    from neurodl.estimators.classical import make_classical

    vs = read_haxby(shared_data("fmri/haxby2001_pymvpa"))
    floors = [("volumes", ["face", "house"], 0.98), ("volumes", None, 0.65), ("blocks", None, 0.76)]
    for kind, labels, floor in floors:
        ds = fmri_samples(vs, kind=kind, labels=labels)
        groups = ds.metadata["run"].to_numpy()
        assert len(set(groups)) == 12
        acc = cross_val_score(
            make_classical("lda", seed=0), ds.X, ds.y, groups=groups, cv=LeaveOneGroupOut(),
            scoring="balanced_accuracy",
        ).mean()  # fmt: skip
        assert acc >= floor, (kind, labels, acc)
