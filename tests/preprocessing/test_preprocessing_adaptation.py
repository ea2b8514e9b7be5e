"""Unsupervised per-group adaptation: alignment, re-centring, standardisation, gains."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.preprocessing.adaptation import (
    align_signals,
    recentre_covariances,
    scale_groups,
    standardize_groups,
)


def _mixed(n_per: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two subjects whose signals went through different mixing matrices."""
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(2 * n_per, 4, 200))
    A = [rng.normal(size=(4, 4)) + 2 * np.eye(4), rng.normal(size=(4, 4)) * 3 + np.eye(4)]
    X = np.concatenate(
        [np.einsum("cd,ndt->nct", A[k], S[k * n_per : (k + 1) * n_per]) for k in range(2)]
    )
    return X, np.repeat(["s1", "s2"], n_per)


def test_euclidean_alignment_whitens_each_group() -> None:
    X, g = _mixed()
    Xa = align_signals(X, g, method="euclidean")
    for s in ("s1", "s2"):
        Z = Xa[g == s]
        mean_cov = np.mean([z @ z.T / z.shape[1] for z in Z], axis=0)
        np.testing.assert_allclose(mean_cov, np.eye(4), atol=1e-10)


def test_riemann_alignment_recentres_like_pyriemann_tlcenter() -> None:
    from pyriemann.estimation import Covariances
    from pyriemann.transfer import TLCenter, encode_domains

    X, g = _mixed(n_per=40)
    # covariances re-centred by our function vs pyRiemann's TLCenter (independent oracle)
    C = Covariances("oas").fit_transform(X)
    ours = recentre_covariances(C, g)
    y = np.zeros(len(C), dtype=int)
    Cd, yd = encode_domains(C, y, g)
    theirs = TLCenter(target_domain="s2").fit_transform(Cd, yd)
    np.testing.assert_allclose(ours, theirs, atol=1e-8)
    # signal-level re-centring: the group's Riemannian mean of sample covariances ~ identity
    from pyriemann.geometry.mean import mean_riemann

    Xa = align_signals(X, g, method="riemann", estimator="scm")
    for s in ("s1", "s2"):
        M = mean_riemann(Covariances("scm").fit_transform(Xa[g == s]))
        np.testing.assert_allclose(M, np.eye(4), atol=1e-6)


def test_each_group_uses_only_its_own_samples() -> None:
    X, g = _mixed()
    other = X.copy()
    other[g == "s2"] *= 7.0  # change the second subject only
    a, b = align_signals(X, g), align_signals(other, g)
    np.testing.assert_allclose(a[g == "s1"], b[g == "s1"])
    sa, _ = scale_groups(X, g)
    sb, _ = scale_groups(other, g)
    np.testing.assert_allclose(sa, sb, rtol=1e-10)  # a gain change is removed entirely


def test_standardize_and_scale_groups() -> None:
    X, g = _mixed()
    Z = standardize_groups(X, g)
    for s in ("s1", "s2"):
        np.testing.assert_allclose(Z[g == s].mean(axis=(0, 2)), 0, atol=1e-10)
        np.testing.assert_allclose(Z[g == s].std(axis=(0, 2)), 1, atol=1e-10)
    F = standardize_groups(X[:, :, 0], g)  # 2-D features
    np.testing.assert_allclose(F[g == "s1"].std(axis=0), 1, atol=1e-10)
    S, gains = scale_groups(X, g, target=2.0)
    for s in ("s1", "s2"):
        assert np.isclose(np.median(S[g == s].std(axis=(0, 2))), 2.0)
    assert set(gains) == {"s1", "s2"}


@pytest.mark.parametrize("method", ["euclidean", "riemann"])
def test_too_few_windows_for_a_covariance_mean(method: str) -> None:
    X, g = _mixed()
    g = g.astype(object)
    g[-2:] = "tiny"
    with pytest.raises(DataFormatError, match=r"at least 3 windows.*group 'tiny' has 2"):
        align_signals(X, g, method=method)
    with pytest.raises(DataFormatError, match="group 'tiny' has 2"):
        recentre_covariances(np.stack([np.eye(4)] * len(g)), g)
    assert align_signals(X, g, method=method, min_windows=2).shape == X.shape


def test_bad_input() -> None:
    X, g = _mixed()
    with pytest.raises(ConfigError, match=r"Invalid value for 'method'.*got 'mean'"):
        align_signals(X, g, method="mean")
    with pytest.raises(DataFormatError, match="one label per sample"):
        align_signals(X, g[:-1])
    with pytest.raises(DataFormatError, match=r"shape \(n_samples, n_chans, n_times\)"):
        align_signals(X[:, :, 0], g)
    with pytest.raises(DataFormatError, match="non-constant"):
        scale_groups(np.zeros((4, 2, 10)), np.array(["a"] * 4))
