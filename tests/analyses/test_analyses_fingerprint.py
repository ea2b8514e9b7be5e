"""Re-identification across sessions: planted fingerprints are found, none means chance, the
nearest-neighbour rule matches an independent oracle, and mitigations do what they claim."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from neurodl.analyses.fingerprint import (
    fingerprint_study,
    identify,
    mean_covariance,
    mitigate,
    recording_features,
    simulate_fingerprint_sessions,
)
from neurodl.exceptions import DataFormatError


def test_identify_matches_a_cdist_oracle_both_directions():
    rng = np.random.default_rng(3)
    subj = rng.normal(size=(9, 30))
    a = subj + 2.0 * rng.normal(size=subj.shape)
    b = subj + 2.0 * rng.normal(size=subj.shape)
    res = identify(a, b, n_permutations=0)
    d = cdist(b, a, metric="correlation")  # 1 - Pearson r: rows B, columns A
    truth = np.arange(9)
    assert res.accuracy_ab == pytest.approx(np.mean(d.argmin(axis=1) == truth))
    assert res.accuracy_ba == pytest.approx(np.mean(d.argmin(axis=0) == truth))
    assert 0 < res.accuracy < 1  # the noise makes some mistakes: a non-trivial check
    assert np.allclose(res.similarity, 1 - d, atol=1e-4)
    assert res.chance == pytest.approx(1 / 9) and res.p_value is None


def test_identify_permutation_null_and_constant_profiles():
    rng = np.random.default_rng(0)
    subj = rng.normal(size=(8, 50))
    res = identify(subj + 0.2 * rng.normal(size=subj.shape), subj, n_permutations=199)
    assert res.accuracy == 1.0 and res.p_value == pytest.approx(1 / 200)
    assert res.null_mean == pytest.approx(1 / 8, abs=0.05) and res.idiff > 50
    # profiles with no information (all constant) are matched at chance, never by rounding noise
    flat = np.ones((8, 50)) + 1e-15 * rng.normal(size=(8, 50))
    res = identify(flat, flat.copy(), n_permutations=99)
    assert res.accuracy == pytest.approx(1 / 8) and res.n_constant == 16
    assert res.p_value == 1.0


def test_identify_rejects_bad_input():
    with pytest.raises(ValueError, match="n_subjects, n_features"):
        identify(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="at least 2 subjects"):
        identify(np.zeros((1, 4)), np.zeros((1, 4)))


def test_features_have_documented_sizes_and_an_oracle():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 1000)) * np.arange(1, 6)[:, None]
    assert recording_features(x, 100.0, kind="correlation").shape == (10,)
    assert recording_features(x, 100.0, kind="covariance").shape == (15,)
    bands = [(1.0, 4.0), (8.0, 13.0)]
    assert recording_features(x, 100.0, kind="bandpower", bands=bands).shape == (10,)
    c = mean_covariance(x, 100.0, 10.0)  # one window = the whole recording
    assert np.allclose(c, np.cov(x), rtol=1e-10)
    z = recording_features(x, 100.0, kind="correlation", window=10.0)
    assert np.allclose(np.tanh(z), np.corrcoef(x)[np.triu_indices(5, 1)])
    with pytest.raises(ValueError, match="'kind'"):
        recording_features(x, 100.0, kind="coherence")
    with pytest.raises(ValueError, match="'window'"):
        recording_features(x, 100.0, window=20.0)


def test_mitigations_standardise_and_recentre():
    rng = np.random.default_rng(2)
    mixing = rng.normal(size=(4, 4))
    x = mixing @ rng.normal(size=(4, 2000)) + 5.0
    z = mitigate(x, 100.0, "standardise")
    assert np.allclose(z.mean(axis=1), 0) and np.allclose(z.std(axis=1), 1)
    w = mitigate(x, 100.0, "recentre", window=2.0)
    assert np.allclose(mean_covariance(w, 100.0, 2.0), np.eye(4), atol=1e-8)
    with pytest.raises(ValueError, match="'how'"):
        mitigate(x, 100.0, "erase")


def test_planted_fingerprints_are_identified_and_absent_ones_are_not():
    recs = simulate_fingerprint_sessions(n_subjects=10, spatial=1.0, duration=40.0, seed=1)
    st = fingerprint_study(
        recs, features=("correlation",), mitigations=("none", "recentre"), n_permutations=199
    )
    planted = st.row("correlation", "none")
    assert planted["accuracy_ab"] >= 0.9 and planted["accuracy_ba"] >= 0.9
    assert planted["p_value"] <= 0.01 and planted["chance"] == pytest.approx(0.1)
    # re-centring each recording's covariance to the identity removes the spatial fingerprint
    assert st.row("correlation", "recentre")["accuracy"] == pytest.approx(0.1)

    none = simulate_fingerprint_sessions(n_subjects=10, spatial=0.0, duration=40.0, seed=1)
    st0 = fingerprint_study(
        none, features=("correlation", "bandpower"), mitigations=("none",), n_permutations=199
    )
    for row in st0.rows:
        assert row["accuracy"] <= 0.3, row
        assert row["p_value"] > 0.01, row
    assert st0.subjects == [f"S{i:02d}" for i in range(1, 11)] and st0.sessions == ("1", "2")


def test_study_pairs_sessions_and_refuses_bad_layouts():
    recs = simulate_fingerprint_sessions(n_subjects=3, duration=10.0, seed=0)
    st = fingerprint_study(
        recs[:-1], features=("bandpower",), mitigations=("none",), n_permutations=0
    )
    assert st.subjects == ["S01", "S02"]
    assert st.left_out == [{"subject": "S03", "reason": "no recording with session '2'"}]
    with pytest.raises(DataFormatError, match="two values of 'run'"):
        fingerprint_study(recs, split_by="run")
    with pytest.raises(ValueError, match="'sessions'"):
        fingerprint_study(recs, sessions=("1", "7"))
    with pytest.raises(DataFormatError, match="more than one recording"):
        fingerprint_study(recs + recs[:1], n_permutations=0)
    with pytest.raises(ValueError, match="'mitigations'"):
        fingerprint_study(recs, mitigations=("blur",))
