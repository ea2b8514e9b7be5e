"""CCA, Procrustes, DSA and the shuffle/bootstrap controls on systems with known conjugacy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import procrustes as scipy_procrustes
from sklearn.cross_decomposition import CCA

from neurodl.analyses.dynamics_similarity import (
    bootstrap_conditions,
    bootstrap_trials,
    canonical_correlations,
    cca_similarity,
    compare_dynamics,
    conjugate_pair,
    delay_embed,
    dsa_distance,
    dynamics_matrix,
    fit_havok_dmd,
    procrustes_align,
    procrustes_distance,
    rsa_similarity,
    shuffle_null,
    similarity_transform_distance,
    simulate_linear_system,
)
from neurodl.exceptions import ConfigError, DataFormatError


def _random_orthogonal(n: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


# ------------------------------------------------------------------ CCA and Procrustes


def test_cca_of_rotated_copy_is_one_and_of_independent_noise_is_low():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 30, 5))
    assert cca_similarity(x, x @ _random_orthogonal(5, 1)) == pytest.approx(1.0, abs=1e-9)
    # any invertible linear map, and a different unit count
    assert cca_similarity(x, x @ rng.standard_normal((5, 8))) == pytest.approx(1.0, abs=1e-9)
    assert cca_similarity(x, rng.standard_normal((6, 30, 5))) < 0.4


def test_canonical_correlations_match_sklearn_first_pair():
    rng = np.random.default_rng(1)
    latent = rng.standard_normal((200, 1))
    x = np.hstack([latent + 0.5 * rng.standard_normal((200, 1)), rng.standard_normal((200, 2))])
    y = np.hstack([rng.standard_normal((200, 2)), latent + 0.8 * rng.standard_normal((200, 1))])
    rho = canonical_correlations(x, y)
    u, v = CCA(n_components=1, max_iter=5000, tol=1e-12).fit_transform(x, y)
    oracle = abs(np.corrcoef(u[:, 0], v[:, 0])[0, 1])
    assert rho[0] == pytest.approx(oracle, abs=1e-4)
    assert np.all(np.diff(rho) <= 1e-12)


def test_cca_regularisation_shrinks_the_trivial_fit_of_too_many_units():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((1, 10, 10)), rng.standard_normal((1, 10, 10))
    assert cca_similarity(x, y) == pytest.approx(1.0, abs=1e-6)  # as many units as samples
    assert cca_similarity(x, y, reg=0.5) < 0.9
    assert cca_similarity(x, y, n_components=3) < 0.9


def test_procrustes_distance_matches_scipy_disparity_and_aligns():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 4))
    y = x @ rng.standard_normal((4, 4)) + 0.3 * rng.standard_normal((40, 4))
    _, _, disparity = scipy_procrustes(x, y)
    assert procrustes_distance(x, y) == pytest.approx(np.arccos(np.sqrt(1 - disparity)), abs=1e-9)
    q = _random_orthogonal(4, 4)
    assert procrustes_distance(x, 3.0 * x @ q + 1.0) == pytest.approx(0.0, abs=1e-6)
    rotation, aligned = procrustes_align(x, x @ q)
    xs = (x - x.mean(0)) / np.linalg.norm(x - x.mean(0))
    np.testing.assert_allclose(aligned, xs, atol=1e-9)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(4), atol=1e-9)


def test_procrustes_is_not_invariant_to_non_orthogonal_maps_but_cca_is():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((50, 3))
    stretched = x @ np.diag([5.0, 1.0, 0.2])
    assert procrustes_distance(x, stretched) > 0.3
    assert cca_similarity(x, stretched) == pytest.approx(1.0, abs=1e-9)


# ------------------------------------------------------------------ DSA


def test_delay_embedding_layout_newest_first():
    x = np.arange(12.0).reshape(6, 2)  # x(t) = [2t, 2t + 1]
    h = delay_embed(x, 3, 2)
    assert h.shape == (1, 2, 6)
    np.testing.assert_array_equal(h[0, 0], [8, 9, 4, 5, 0, 1])  # x(4), x(2), x(0)


def test_havok_operator_recovers_the_eigenvalues_of_a_linear_system():
    a = dynamics_matrix("rotation")
    x = simulate_linear_system(a, n_conditions=6, n_times=40, n_units=7, noise=0.0, seed=0)
    model = fit_havok_dmd(x, rank=2)
    np.testing.assert_allclose(
        np.sort_complex(model.eigenvalues), np.sort_complex(np.linalg.eigvals(a)), atol=1e-8
    )
    assert model.explained_variance == pytest.approx(1.0)


def test_similarity_transform_distance_zero_for_orthogonally_similar_operators():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((5, 5))
    q = _random_orthogonal(5, 7)
    assert similarity_transform_distance(a, q @ a @ q.T) == pytest.approx(0.0, abs=1e-4)
    assert similarity_transform_distance(a, q @ a @ q.T, score_method="euclidean") < 1e-4
    b = rng.standard_normal((5, 5))
    assert similarity_transform_distance(a, b) > 0.3


def test_wasserstein_score_is_optimal_eigenvalue_transport():
    a, b = np.diag([0.9, 0.5]), np.diag([0.4, 1.0])
    # matched 0.9 <-> 1.0 and 0.5 <-> 0.4: mean squared distance 0.01
    assert similarity_transform_distance(a, b, score_method="wasserstein") == pytest.approx(0.01)


@pytest.mark.parametrize("kind", ["rotation", "line_attractor", "stable_point"])
def test_dsa_conjugate_systems_are_similar_and_non_conjugate_are_not(kind):
    common = {"n_conditions": 6, "n_times": 40, "noise": 0.0, "seed": 0}
    x = simulate_linear_system(dynamics_matrix(kind), n_units=6, **common)
    # conjugate: the same system seen through another invertible linear map (other unit count)
    y = x @ np.random.default_rng(1).standard_normal((6, 9))
    assert dsa_distance(x, y, rank=2) == pytest.approx(0.0, abs=1e-4)
    # non-conjugate: other eigenvalues, same starts and embedding size
    for other in sorted({"rotation", "line_attractor", "stable_point"} - {kind}):
        z = simulate_linear_system(dynamics_matrix(other), n_units=6, **common)
        assert dsa_distance(x, z, rank=2) > 0.04


def test_dsa_conjugate_with_other_starts_is_closer_than_other_dynamics():
    # DSA is orthogonally invariant after whitening: other starts leave a small residual
    a = dynamics_matrix("rotation")
    m = np.array([[2.0, 0.5], [-0.3, 1.5]])
    common = {"n_conditions": 6, "n_times": 40, "noise": 0.0}
    x = simulate_linear_system(a, n_units=6, seed=0, **common)
    y = simulate_linear_system(np.linalg.inv(m) @ a @ m, n_units=9, seed=2, **common)
    conj = dsa_distance(x, y, rank=2)
    for other in ("line_attractor", "stable_point"):
        z = simulate_linear_system(dynamics_matrix(other), n_units=6, seed=2, **common)
        assert conj < 0.25 * dsa_distance(x, z, rank=2)


def test_dsa_separates_noisy_conjugate_pairs_from_non_conjugate():
    conj, non = [], []
    for seed in range(3):
        conj.append(dsa_distance(*conjugate_pair("rotation", seed=seed), n_delays=2, rank=4))
        non.append(
            dsa_distance(
                *conjugate_pair("rotation", "line_attractor", seed=seed), n_delays=2, rank=4
            )
        )
    assert max(conj) < min(non)


# ------------------------------------------------------------------ controls


def test_condition_shuffle_null_and_p_value_detect_true_correspondence():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((10, 5, 4))
    y = x @ rng.standard_normal((4, 6)) + 0.1 * rng.standard_normal((10, 5, 6))
    res = compare_dynamics(x, y, methods=["cca", "procrustes", "rsa"], n_shuffles=50, n_boot=50)
    for name in ("cca", "procrustes", "rsa"):
        m = res.methods[name]
        assert m.p_value == pytest.approx(1 / 51)
        assert m.ci_low <= m.score <= m.ci_high or np.isclose(m.score, m.ci_high)
    unrelated = compare_dynamics(
        x, rng.standard_normal((10, 5, 6)), methods=["rsa"], n_shuffles=50, n_boot=0
    )
    assert unrelated.methods["rsa"].p_value > 0.05


def test_time_shuffle_destroys_dynamics_for_dsa():
    x, y = conjugate_pair("rotation", n_conditions=6, n_times=30, seed=0)
    null = shuffle_null(
        lambda a, b: dsa_distance(a, b, n_delays=2, rank=4, n_starts=1),
        x,
        y,
        kind="time",
        n_shuffles=5,
    )
    assert dsa_distance(x, y, n_delays=2, rank=4, n_starts=1) < null.min()


def test_bootstrap_over_conditions_brackets_the_score():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((12, 4, 3))
    y = x + 0.5 * rng.standard_normal((12, 4, 3))
    low, high, values = bootstrap_conditions(cca_similarity, x, y, n_boot=100)
    assert values.size == 100 and low < cca_similarity(x, y) < high


def test_trial_bootstrap_is_narrow_with_many_trials_and_wide_with_few():
    rng = np.random.default_rng(10)
    pattern = rng.standard_normal((6, 8))
    widths = []
    for n_per in (3, 40):
        labels = np.repeat(np.arange(6), n_per)
        tx = pattern[labels] + rng.standard_normal((labels.size, 8))
        ty = pattern[labels] @ _random_orthogonal(8, 11) + rng.standard_normal((labels.size, 8))
        low, high, values = bootstrap_trials(
            lambda a, b: rsa_similarity(a, b, metric="euclidean"),
            tx,
            labels,
            ty,
            labels,
            n_boot=60,
            seed=1,
        )
        assert values.size == 60 and low <= high
        widths.append(high - low)
    assert widths[1] < widths[0]
    assert low > 0.3  # 40 trials per condition: the shared geometry is recovered


# ------------------------------------------------------------------ bad input

BAD_INPUT = [
    (lambda: cca_similarity(np.zeros((3, 4, 2)), np.zeros((3, 5, 2))), DataFormatError, "share"),
    (lambda: cca_similarity(np.zeros(5), np.zeros(5)), DataFormatError, "Invalid shape for 'X'"),
    (lambda: cca_similarity(np.ones((9, 2)), np.ones((9, 2))), DataFormatError, "constant"),
    (
        lambda: cca_similarity(np.eye(4), np.eye(4), reg=2.0),
        ConfigError,
        r"Invalid value for 'reg'.*got 2.0",
    ),
    (lambda: delay_embed(np.zeros((5, 2)), 5), DataFormatError, "Too few time points"),
    (
        lambda: fit_havok_dmd(np.random.default_rng(0).standard_normal((20, 2)), rank=7),
        ConfigError,
        r"Invalid value for 'rank'.*got 7",
    ),
    (
        lambda: similarity_transform_distance(np.eye(2), np.eye(2), score_method="cosine"),
        ConfigError,
        "Allowed: angular, euclidean, wasserstein; got 'cosine'",
    ),
    (
        lambda: similarity_transform_distance(np.eye(2), np.eye(3)),
        DataFormatError,
        "same shape",
    ),
    (
        lambda: compare_dynamics(np.ones((3, 4, 2)), np.ones((3, 4, 2)), methods=["svcca"]),
        ConfigError,
        "got 'svcca'",
    ),
    (
        lambda: shuffle_null(cca_similarity, np.ones((1, 4, 2)), np.ones((1, 4, 2))),
        DataFormatError,
        "at least 2 conditions",
    ),
    (
        lambda: shuffle_null(cca_similarity, np.ones((2, 4, 2)), np.ones((2, 4, 2)), kind="trial"),
        ConfigError,
        "got 'trial'",
    ),
    (
        lambda: dsa_distance(np.full((4, 2), np.nan), np.ones((4, 2))),
        DataFormatError,
        "NaN",
    ),
    (
        lambda: bootstrap_trials(
            cca_similarity, np.ones((4, 2)), [0, 0, 1, 1], np.ones((4, 2)), [0] * 4
        ),
        DataFormatError,
        "at least 2 conditions",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_INPUT)
def test_bad_input_raises_one_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
