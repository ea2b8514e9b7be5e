"""Comparison methods (scipy/numpy oracles), noise ceiling, and evaluate_models inference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from neurodl.analyses.rsa import (
    RDMs,
    compare_rdms,
    compare_vectors,
    evaluate_models,
    fdr_bh,
    noise_ceiling,
    similarity_matrix,
)
from neurodl.exceptions import ConfigError, DataFormatError


def _tau_a(x, y):
    n = len(x)
    s = sum(
        np.sign(x[i] - x[j]) * np.sign(y[i] - y[j]) for i, j in itertools.combinations(range(n), 2)
    )
    return s / (n * (n - 1) / 2)


def _whitened_dense(a, b, n_cond, center):
    iu = np.triu_indices(n_cond, k=1)
    C = np.zeros((len(iu[0]), n_cond))
    C[np.arange(len(iu[0])), iu[0]] = 1
    C[np.arange(len(iu[0])), iu[1]] = -1
    xi = C @ C.T
    V = xi * xi
    if center:
        a, b = a - a.mean(), b - b.mean()
    Vi = np.linalg.inv(V)
    return a @ Vi @ b / np.sqrt((a @ Vi @ a) * (b @ Vi @ b))


def test_methods_against_oracles(rng):
    a = rng.standard_normal((2, 15))  # 6 conditions
    b = rng.standard_normal((3, 15))
    b[0, :5] = b[0, 5:10]  # ties
    sims = {
        m: compare_rdms(a, b, method=m)
        for m in [
            "pearson",
            "spearman",
            "kendall_tau_a",
            "cosine",
            "whitened_cosine",
            "whitened_pearson",
        ]
    }
    for i, j in itertools.product(range(2), range(3)):
        x, y = a[i], b[j]
        assert sims["pearson"][i, j] == pytest.approx(pearsonr(x, y)[0])
        assert sims["spearman"][i, j] == pytest.approx(spearmanr(x, y)[0])
        assert sims["kendall_tau_a"][i, j] == pytest.approx(_tau_a(x, y))
        assert sims["cosine"][i, j] == pytest.approx(x @ y / np.linalg.norm(x) / np.linalg.norm(y))
        assert sims["whitened_cosine"][i, j] == pytest.approx(_whitened_dense(x, y, 6, False))
        assert sims["whitened_pearson"][i, j] == pytest.approx(_whitened_dense(x, y, 6, True))


@pytest.mark.parametrize(
    "method", ["pearson", "spearman", "cosine", "kendall_tau_a", "whitened_pearson"]
)
def test_nan_entries_ignored_and_fast_path_agrees(rng, method):
    a = rng.standard_normal((3, 2, 10))
    b = rng.standard_normal((3, 4, 10))
    a[:, :, 3] = np.nan
    b[:, :, 3] = np.nan
    fast = similarity_matrix(a, b, method=method)
    slow = compare_vectors(a[:, :, None], b[:, None], method=method)
    np.testing.assert_allclose(fast, slow, atol=1e-12)
    keep = np.arange(10) != 3
    if method != "whitened_pearson":  # whitening depends on which pairs are present
        np.testing.assert_allclose(
            fast[0, 0, 0], compare_vectors(a[0, 0, keep], b[0, 0, keep], method=method), atol=1e-12
        )


def test_degenerate_gives_nan_not_error():
    const = np.ones((1, 6))
    other = np.arange(6.0)[None]
    for method in ["pearson", "spearman", "whitened_pearson"]:
        assert np.isnan(compare_rdms(const, other, method=method)[0, 0])
    assert compare_rdms(const, other, method="kendall_tau_a")[0, 0] == 0.0  # tau-a: no concordance
    assert np.isnan(
        compare_rdms(np.array([[np.nan, 1.0, 2.0]]), np.array([[1.0, np.nan, 2.0]]))[0, 0]
    )


def _planted(rng, n_cond=12, n_subj=5, noise=1.0):
    true = rng.standard_normal(n_cond * (n_cond - 1) // 2)
    data = true + noise * rng.standard_normal((n_subj, true.size))
    good = true + 0.3 * rng.standard_normal(true.size)
    bad = rng.standard_normal(true.size)
    return RDMs(np.stack([good, bad]), names=["good", "bad"]), RDMs(data)


def test_noise_ceiling_against_direct_formula(rng):
    _, data = _planted(rng)
    D = data.dissimilarities
    for z in (False, True):
        A = (D - D.mean(1, keepdims=True)) / D.std(1, keepdims=True) if z else D
        lo = np.mean([pearsonr(D[s], np.delete(A, s, 0).mean(0))[0] for s in range(5)])
        up = np.mean([pearsonr(D[s], A.mean(0))[0] for s in range(5)])
        nc = noise_ceiling(data, zscore=z)
        assert nc.lower == pytest.approx(lo) and nc.upper == pytest.approx(up)
        assert nc.lower < nc.upper


@pytest.mark.parametrize("bootstrap", ["conditions", "subjects", "both"])
def test_evaluate_models_planted(rng, bootstrap):
    models, data = _planted(rng)
    res = evaluate_models(
        models, data, bootstrap=bootstrap, n_bootstrap=300, n_permutations=200, batch_size=64
    )
    direct = [
        np.mean([pearsonr(m, d)[0] for d in data.dissimilarities]) for m in models.dissimilarities
    ]
    np.testing.assert_allclose(res.scores, direct)
    assert res.bootstrap_scores.shape == (300, 2)
    assert res.ci[0, 0] < res.scores[0] < res.ci[0, 1]
    assert res.ci[0, 0] > res.ci[1, 1]  # planted: good beats bad
    assert res.p_values[0] < 0.01 and res.p_values[1] > 0.01
    assert res.pairwise_p_fdr[0, 1] < 0.05 and np.isnan(res.pairwise_p[0, 0])
    d = res.to_dict()
    assert "mean over subjects" in d["convention"] and d["models"]["good"]["ci"] is not None


def test_bootstrap_is_reproducible_and_batch_invariant(rng):
    models, data = _planted(rng)
    r1 = evaluate_models(models, data, bootstrap="subjects", n_bootstrap=50, seed=3, batch_size=50)
    r2 = evaluate_models(models, data, bootstrap="subjects", n_bootstrap=50, seed=3, batch_size=50)
    np.testing.assert_array_equal(r1.bootstrap_scores, r2.bootstrap_scores)


def test_condition_bootstrap_handles_degenerate_samples():
    # 3 conditions: many resamples draw one condition thrice -> no valid pair -> NaN, counted
    models = RDMs(np.array([[1.0, 2.0, 3.0]]))
    data = RDMs(np.array([[1.0, 2.5, 3.0], [1.2, 2.0, 2.9]]))
    res = evaluate_models(models, data, bootstrap="conditions", n_bootstrap=200, seed=0)
    assert res.n_degenerate[0] > 0
    assert np.all(np.isfinite(res.ci))


def test_pairwise_ttest_without_bootstrap(rng):
    models, data = _planted(rng)
    res = evaluate_models(models, data)
    assert res.pairwise_test.startswith("paired t-test") and res.pairwise_p[0, 1] < 0.05


def test_fdr_bh_matches_scipy_and_keeps_nan():
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5])
    q = fdr_bh(p)
    assert np.isnan(q[2])
    m = len(p) - 1
    order = np.argsort(p[[0, 1, 3, 4]])
    expected = np.minimum.accumulate((p[[0, 1, 3, 4]][order] * m / np.arange(1, m + 1))[::-1])[::-1]
    np.testing.assert_allclose(np.sort(q[[0, 1, 3, 4]]), np.sort(expected))


BAD = [
    ({"method": "corr"}, ConfigError, "got 'corr'"),
    ({"bootstrap": "pattern"}, ConfigError, "got 'pattern'"),
    (
        {"n_bootstrap": 0, "bootstrap": "subjects"},
        ConfigError,
        "'n_bootstrap' must be an integer >= 1",
    ),
    ({"n_permutations": -1}, ConfigError, "'n_permutations'"),
    ({"confidence": 1.5}, ConfigError, "'confidence'"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_evaluate_models_bad_options(rng, kwargs, error, match):
    models, data = _planted(rng)
    with pytest.raises(error, match=match):
        evaluate_models(models, data, **kwargs)


def test_evaluate_models_bad_data(rng):
    models, data = _planted(rng)
    with pytest.raises(DataFormatError, match="share their conditions"):
        evaluate_models(models, RDMs(np.ones((2, 10))))
    square = np.eye(12)[None].repeat(2, 0)[0] * 0 + (1 - np.eye(12))
    with pytest.raises(DataFormatError, match="square symmetric matrix of shape \\(12, 12\\)"):
        evaluate_models(square, data)
    with pytest.raises(DataFormatError, match=r"'b'.*square symmetric"):
        compare_rdms(models.subset(0).dissimilarities[:, :66], 1 - np.eye(12))


@pytest.mark.parametrize("zscore", [False, True])
def test_fast_condition_bootstrap_equals_generic_path(rng, monkeypatch, zscore):
    from neurodl.analyses.rsa import inference

    models, data = _planted(rng)
    fast = evaluate_models(
        models, data, bootstrap="conditions", n_bootstrap=40, ceiling_zscore=zscore
    )
    monkeypatch.setattr(inference, "_FAST_METHODS", {})
    slow = evaluate_models(
        models, data, bootstrap="conditions", n_bootstrap=40, ceiling_zscore=zscore
    )
    np.testing.assert_allclose(fast.bootstrap_scores, slow.bootstrap_scores, atol=1e-12)
    np.testing.assert_allclose(fast.ceiling_ci, slow.ceiling_ci, atol=1e-12)
