"""RDM distances (scipy oracle, crossnobis unbiasedness and loop reference), container, loading."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import savemat
from scipy.spatial.distance import pdist, squareform

from neurodl.analyses.rsa import (
    RDMs,
    compute_rdm,
    load_features,
    load_rdms,
    noise_precision,
    patterns_from_trials,
)
from neurodl.exceptions import ConfigError, DataFormatError


@pytest.mark.parametrize("metric", ["correlation", "euclidean", "cosine"])
def test_distances_match_pdist(rng, metric):
    X = rng.standard_normal((7, 13))
    rdm = compute_rdm(X, metric=metric)
    np.testing.assert_allclose(rdm.dissimilarities[0], pdist(X, metric=metric), rtol=1e-12)
    assert rdm.metric == metric and rdm.n_conditions == 7


def test_mahalanobis_matches_pdist(rng):
    X = rng.standard_normal((6, 4))
    A = rng.standard_normal((4, 4))
    prec = A @ A.T + np.eye(4)
    rdm = compute_rdm(X, metric="mahalanobis", noise=prec)
    np.testing.assert_allclose(rdm.dissimilarities[0], pdist(X, "mahalanobis", VI=prec), rtol=1e-10)


def test_standardize_is_zscore_before_distance(rng):
    X = rng.standard_normal((6, 5)) * np.array([1, 10, 100, 1, 0.1])
    Z = (X - X.mean(0)) / X.std(0)
    rdm = compute_rdm(X, metric="euclidean", standardize=True)
    np.testing.assert_allclose(rdm.dissimilarities[0], pdist(Z), rtol=1e-12)


def _crossnobis_loop(P, prec):
    n_runs, n_cond, n_feat = P.shape
    out = []
    for k in range(n_cond):
        for m in range(k + 1, n_cond):
            acc = []
            for i in range(n_runs):
                for j in range(n_runs):
                    if i != j:
                        acc.append((P[i, k] - P[i, m]) @ prec @ (P[j, k] - P[j, m]))
            out.append(np.mean(acc) / n_feat)
    return np.array(out)


@pytest.mark.parametrize("noise", ["identity", "diag", "full"])
def test_crossnobis_matches_loop_reference(rng, noise):
    P = rng.standard_normal((3, 5, 4))
    A = rng.standard_normal((4, 4))
    prec = {
        "identity": np.eye(4),
        "diag": np.diag(rng.uniform(0.5, 2, 4)),
        "full": A @ A.T + np.eye(4),
    }[noise]
    arg = None if noise == "identity" else (np.diag(prec) if noise == "diag" else prec)
    rdm = compute_rdm(P, metric="crossnobis", noise=arg)
    np.testing.assert_allclose(rdm.dissimilarities[0], _crossnobis_loop(P, prec), rtol=1e-10)


def test_crossnobis_is_unbiased_for_zero_distance_pairs(rng):
    true = rng.standard_normal((4, 50))
    true[1] = true[0]  # planted zero-distance pair (0, 1)
    cn, eu = [], []
    for _ in range(200):
        P = true[None] + rng.standard_normal((4, 4, 50))
        cn.append(compute_rdm(P, metric="crossnobis").dissimilarities[0, 0])
        eu.append(np.sum((P.mean(0)[0] - P.mean(0)[1]) ** 2) / 50)
    cn, eu = np.array(cn), np.array(eu)
    assert abs(cn.mean()) < 3 * cn.std() / np.sqrt(len(cn))
    assert eu.mean() > 0.4  # non-cross-validated estimate is biased upwards (2 * 1/4 noise var)
    far = compute_rdm(true[None] + 0 * rng.standard_normal((2, 4, 50)), metric="crossnobis")
    assert far.dissimilarities[0, 1] > 1.0


def test_noise_precision_shrinkage_and_diag(rng):
    res = rng.standard_normal((40, 5)) * np.array([1, 2, 3, 4, 5])
    d = noise_precision(res, method="diag")
    np.testing.assert_allclose(d, 1 / (res - res.mean(0)).var(0))
    full = noise_precision(res, method="shrinkage", shrinkage=0.0)
    np.testing.assert_allclose(full, np.linalg.inv(np.cov(res.T, bias=True)), rtol=1e-8)
    lw = noise_precision(res, method="shrinkage")
    from sklearn.covariance import LedoitWolf

    np.testing.assert_allclose(lw, LedoitWolf().fit(res).precision_, rtol=1e-6)


def test_patterns_from_trials():
    X = np.arange(16, dtype=float).reshape(8, 2)
    P, conds, _runs = patterns_from_trials(
        X, conditions=[0, 1, 0, 1, 0, 1, 0, 1], runs=[0, 0, 0, 0, 1, 1, 1, 1]
    )
    assert P.shape == (2, 2, 2) and list(conds) == [0, 1]
    np.testing.assert_allclose(P[0, 0], X[[0, 2]].mean(0))
    with pytest.raises(DataFormatError, match="missing from run"):
        patterns_from_trials(X[:6], conditions=[0, 1, 0, 1, 0, 0], runs=[0, 0, 0, 0, 1, 1])


def test_rdms_container_roundtrip_and_average(rng):
    X = rng.standard_normal((4, 5, 3))
    mats = np.stack([squareform(pdist(x)) for x in X])
    rdms = RDMs.from_matrices(
        mats,
        names=list("abcd"),
        descriptors={"subject": [1, 1, 2, 2]},
        condition_descriptors={"c": list("vwxyz")},
    )
    np.testing.assert_allclose(rdms.get_matrices(), mats)
    avg = rdms.average_by("subject")
    assert avg.names == ["1", "2"]
    np.testing.assert_allclose(avg.dissimilarities[1], rdms.dissimilarities[2:].mean(0))
    sub = rdms.subset_conditions([0, 2, 4])
    assert sub.n_conditions == 3 and list(sub.condition_descriptors["c"]) == ["v", "x", "z"]
    np.testing.assert_allclose(sub.get_matrices()[0], mats[0][np.ix_([0, 2, 4], [0, 2, 4])])


def test_square_matrix_rejected_where_stack_expected(rng):
    m = squareform(pdist(rng.standard_normal((92, 3))))
    with pytest.raises(
        DataFormatError, match=r"square symmetric matrix of shape \(92, 92\).*from_matrices"
    ):
        RDMs(m)


BAD = [
    (lambda: RDMs(np.ones((2, 5))), DataFormatError, "not n\\*\\(n-1\\)/2"),
    (lambda: RDMs(np.ones((2, 3, 3))), DataFormatError, "shape \\(2, 3, 3\\)"),
    (lambda: RDMs(np.ones((2, 3)), names=["a"]), DataFormatError, "one entry per RDM"),
    (
        lambda: RDMs(np.ones((1, 3)), condition_descriptors={"c": [1, 2]}),
        DataFormatError,
        "one value per condition",
    ),
    (lambda: RDMs.from_matrices(np.ones((2, 3))), DataFormatError, "must be square"),
    (
        lambda: RDMs(np.ones((2, 3)), descriptors={"s": [1, 2]}).average_by("x"),
        ConfigError,
        "Allowed: \\['s'\\]",
    ),
    (lambda: compute_rdm(np.ones((3, 2)), metric="cosin"), ConfigError, "got 'cosin'"),
    (lambda: compute_rdm(np.ones((3, 2)), metric="crossnobis"), DataFormatError, "at least 2 runs"),
    (lambda: compute_rdm(np.ones((3,))), DataFormatError, "got shape \\(3,\\)"),
    (lambda: compute_rdm(np.full((3, 2), np.nan)), DataFormatError, "NaN"),
    (lambda: compute_rdm(np.ones((3, 2)), noise=np.ones(2)), ConfigError, "only used with"),
    (
        lambda: compute_rdm(np.ones((2, 3, 2)), metric="crossnobis", noise=np.ones(3)),
        DataFormatError,
        "precision",
    ),
    (lambda: noise_precision(np.ones((5, 2)), method="x"), ConfigError, "got 'x'"),
    (lambda: noise_precision(np.ones((5, 2)), shrinkage=2.0), ConfigError, "\\[0, 1\\]"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_load_rdms_all_formats(tmp_path, rng):
    mats = np.stack([squareform(pdist(rng.standard_normal((5, 3)))) for _ in range(2)])
    vecs = np.stack([squareform(m) for m in mats])
    np.save(tmp_path / "one.npy", mats[0])
    np.savez(tmp_path / "stack.npz", rdms=mats, other=np.zeros(3))
    np.savetxt(tmp_path / "vecs.csv", vecs, delimiter=",")
    struct = np.zeros((1, 2), dtype=[("RDM", "O"), ("name", "O")])
    for i in range(2):
        struct[0, i] = (mats[i], f"subj{i}")
    savemat(tmp_path / "rdms.mat", {"RDMs": struct})
    np.testing.assert_allclose(load_rdms(tmp_path / "one.npy").dissimilarities, vecs[:1])
    np.testing.assert_allclose(load_rdms(tmp_path / "stack.npz", key="rdms").dissimilarities, vecs)
    np.testing.assert_allclose(load_rdms(tmp_path / "vecs.csv").dissimilarities, vecs)
    mat = load_rdms(tmp_path / "rdms.mat")
    assert mat.names == ["subj0", "subj1"]
    np.testing.assert_allclose(mat.dissimilarities, vecs)
    with pytest.raises(DataFormatError, match="pass 'key'"):
        load_rdms(tmp_path / "stack.npz")
    with pytest.raises(DataFormatError, match="Allowed"):
        load_rdms(tmp_path / "x.txt")
    with pytest.raises(FileNotFoundError):
        load_rdms(tmp_path / "missing.npy")
    np.save(tmp_path / "feat.npy", rng.standard_normal((5, 4)))
    assert load_features(tmp_path / "feat.npy").shape == (5, 4)
    with pytest.raises(DataFormatError, match="must have shape"):
        load_features(_write(tmp_path / "bad.npy", np.zeros(3)))


def _write(path, arr):
    np.save(path, arr)
    return path
