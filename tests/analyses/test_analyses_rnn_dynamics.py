"""Fixed points, line attractors and PCA trajectories of recurrent maps, checked against oracles."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import brentq
from sklearn.decomposition import PCA

from neurodl.analyses.rnn_dynamics import (
    cell_update,
    classify_stability,
    detect_line_attractor,
    find_fixed_points,
    layer_update,
    leaky_rnn_update,
    pca_trajectories,
    sample_states,
)


def _tanh_map(w):
    return lambda h, x: torch.tanh(w * h)


def test_tanh_w2_three_fixed_points_match_brentq():
    h_star = brentq(lambda h: np.tanh(2 * h) - h, 0.1, 2.0)
    init = np.random.default_rng(0).uniform(-3, 3, size=(240, 1))
    fp = find_fixed_points(_tanh_map(2.0), init)
    assert fp.n_points == 3  # analytic count: -h*, 0, +h*
    order = np.argsort(fp.points[:, 0])
    np.testing.assert_allclose(fp.points[order, 0], [-h_star, 0.0, h_star], atol=1e-7)
    assert list(fp.stability[order]) == ["stable", "unstable", "stable"]
    # Jacobian oracle: d/dh tanh(2h) = 2 (1 - tanh(2h)^2)
    expected = 2 * (1 - np.tanh(2 * fp.points[:, 0]) ** 2)
    np.testing.assert_allclose(fp.jacobians[:, 0, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(fp.eigenvalues[:, 0].real, expected, rtol=1e-6)
    assert fp.slow_points.shape == (0, 1)
    assert np.all(fp.q < 1e-8)
    assert fp.n_initial == 240
    assert fp.counts() == {"stable": 2, "unstable": 1, "saddle": 0, "marginal": 0}


def test_tanh_w05_only_origin_stable():
    init = np.random.default_rng(1).uniform(-3, 3, size=(200, 1))
    fp = find_fixed_points(_tanh_map(0.5), init)
    assert fp.n_points == 1
    np.testing.assert_allclose(fp.points, [[0.0]], atol=1e-7)
    assert list(fp.stability) == ["stable"]
    np.testing.assert_allclose(fp.eigenvalues[0, 0].real, 0.5, rtol=1e-6)


@pytest.mark.parametrize(
    ("eigs", "label"),
    [((0.5, -0.3), "stable"), ((1.5, 0.2, -0.4), "saddle"), ((1.5, -2.0, 1.2, 3.0), "unstable")],
)
def test_linear_map_unique_fixed_point_and_eigenvalues(eigs, label):
    rng = np.random.default_rng(len(eigs))
    n = len(eigs)
    basis = rng.normal(size=(n, n)) + 2 * np.eye(n)
    a = basis @ np.diag(eigs) @ np.linalg.inv(basis)  # real, non-symmetric
    b = rng.normal(size=n)
    at, bt = torch.tensor(a), torch.tensor(b)
    fp = find_fixed_points(lambda h, x: h @ at.T + bt, rng.normal(scale=2, size=(200, n)))
    assert fp.n_points == 1
    np.testing.assert_allclose(fp.points[0], np.linalg.solve(np.eye(n) - a, b), atol=1e-7)
    np.testing.assert_allclose(fp.jacobians[0], a, atol=1e-10)
    oracle = np.linalg.eigvals(a)
    np.testing.assert_allclose(
        np.sort_complex(fp.eigenvalues[0]), np.sort_complex(oracle), atol=1e-8
    )
    assert fp.stability[0] == label


def test_planted_line_attractor_direction():
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    p = q @ np.diag([1.0, 0.5, 0.5, 0.5]) @ q.T
    pt = torch.tensor(p)
    init = rng.normal(size=(200, 4))
    fp = find_fixed_points(lambda h, x: h @ pt.T, init)
    assert fp.n_points > 50  # a continuum of fixed points, deduplicated at tol_unique
    assert set(fp.stability) == {"marginal"}
    line = detect_line_attractor(fp)
    assert line.detected
    assert line.variance_ratio > 0.999
    assert abs(line.direction @ q[:, 0]) > 1 - 1e-8
    # every point lies on the planted line (no component off the direction q[:, 0])
    off_line = fp.points - np.outer(fp.points @ q[:, 0], q[:, 0])
    np.testing.assert_allclose(off_line, 0.0, atol=1e-6)
    assert line.extent > 2.0


def test_no_line_attractor_for_isolated_points():
    init = np.random.default_rng(4).uniform(-3, 3, size=(200, 1))
    line = detect_line_attractor(find_fixed_points(_tanh_map(2.0), init))
    assert not line.detected
    assert line.n_points == 0


def test_two_unit_bistable_network_counts():
    # uncoupled h_i -> tanh(w_i h_i): w = (2, 2) gives 9 fixed points: 4 stable, 4 saddles,
    # 1 unstable; w = (2, 0.5) gives 3 (2 stable, 1 saddle).
    for w, expected in [
        ((2.0, 2.0), {"stable": 4, "unstable": 1, "saddle": 4, "marginal": 0}),
        ((2.0, 0.5), {"stable": 2, "unstable": 0, "saddle": 1, "marginal": 0}),
    ]:
        wt = torch.tensor(w)
        init = np.random.default_rng(5).uniform(-2, 2, size=(300, 2))
        fp = find_fixed_points(lambda h, x, wt=wt: torch.tanh(wt * h), init)
        assert fp.counts() == expected
        assert fp.slow_points.shape[0] == 0


def test_inputs_shift_the_fixed_point():
    # h -> 0.5 h + x has the fixed point 2 x
    x = np.array([0.3, -1.0])
    fp = find_fixed_points(
        lambda h, u: 0.5 * h + u, np.random.default_rng(6).normal(size=(50, 2)), inputs=x
    )
    assert fp.n_points == 1
    np.testing.assert_allclose(fp.points[0], 2 * x, atol=1e-8)
    np.testing.assert_allclose(fp.inputs[0], x)


def test_slow_points_reported_separately():
    # h -> h + eps * (1 + h^2): no fixed point, slowest near h = 0 with q = eps^2 / 2
    eps = 1e-3
    fp = find_fixed_points(
        lambda h, x: h + eps * (1 + h**2),
        np.random.default_rng(7).uniform(-1, 1, size=(50, 1)),
        tol_q=1e-8,
        tol_slow=1e-5,
    )
    assert fp.n_points == 0
    assert fp.slow_points.shape[0] >= 1
    np.testing.assert_allclose(fp.slow_points[0], [0.0], atol=1e-3)
    np.testing.assert_allclose(fp.slow_q[0], eps**2 / 2, rtol=1e-3)


def test_sample_states_shapes_and_noise():
    traj = np.random.default_rng(8).normal(size=(5, 7, 3))
    s0 = sample_states(traj, 20, seed=1)
    assert s0.shape == (20, 3)
    flat = traj.reshape(-1, 3)
    assert all(np.any(np.all(np.isclose(flat, row), axis=1)) for row in s0)
    s1 = sample_states(traj, 20, noise=0.1, seed=1)
    np.testing.assert_allclose(np.std(s1 - s0), 0.1, rtol=0.3)
    np.testing.assert_array_equal(s1, sample_states(traj, 20, noise=0.1, seed=1))


def test_classify_stability_table():
    eig = np.array([[0.5, 0.2], [1.5, 2.0], [1.5, 0.2], [1.0, 0.2], [0.9j, -0.3]])
    assert list(classify_stability(eig)) == ["stable", "unstable", "saddle", "marginal", "stable"]


def _identity(h, x):
    return h


@pytest.mark.parametrize(
    ("update", "states", "kwargs", "error", "match"),
    [
        (_identity, np.zeros(5), {}, ValueError, r"'initial_states'.*got shape \(5,\)"),
        (_identity, np.full((4, 2), np.nan), {}, ValueError, r"'initial_states': 8 non-finite"),
        (lambda h, x: h[:, :1], np.zeros((4, 2)), {}, ValueError, r"'update'.*shape \(1, 1\)"),
        (lambda h, x: h.numpy(), np.zeros((4, 2)), {}, TypeError, r"'update' must return"),
        ("tanh", np.zeros((4, 2)), {}, TypeError, r"'update' must be callable"),
        (_identity, np.zeros((4, 2)), {"inputs": np.zeros((3, 1))}, ValueError, r"'inputs'"),
        (_identity, np.zeros((4, 2)), {"tol_q": 1e-3}, ValueError, r"tol_q=0.001"),
    ],
)
def test_bad_input(update, states, kwargs, error, match):
    with pytest.raises(error, match=match):
        find_fixed_points(update, states, **kwargs)


def test_gru_cell_adapter_matches_cell():
    torch.manual_seed(0)
    cell = torch.nn.GRUCell(3, 5)
    h, x = torch.randn(7, 5), torch.randn(7, 3)
    update = cell_update(cell)
    torch.testing.assert_close(update(h, x), cell(x, h))
    torch.testing.assert_close(update(h, None), cell(torch.zeros(7, 3), h))
    # float64 search on a float32 cell: the adapter casts
    out = update(h.double(), x.double())
    assert out.dtype == torch.float64


def test_lstm_cell_adapter_concatenates_state():
    torch.manual_seed(1)
    cell = torch.nn.LSTMCell(2, 4)
    h, c, x = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 2)
    h1, c1 = cell(x, (h, c))
    torch.testing.assert_close(cell_update(cell)(torch.cat([h, c], 1), x), torch.cat([h1, c1], 1))


@pytest.mark.parametrize("layer_cls", [torch.nn.GRU, torch.nn.RNN, torch.nn.LSTM])
def test_layer_adapter_matches_one_layer_step(layer_cls):
    torch.manual_seed(2)
    layer = layer_cls(3, 4, batch_first=True)
    x = torch.randn(6, 1, 3)
    h = torch.randn(1, 6, 4)
    if layer_cls is torch.nn.LSTM:
        c = torch.randn(1, 6, 4)
        _, (h1, c1) = layer(x, (h, c))
        got = layer_update(layer)(torch.cat([h[0], c[0]], 1), x[:, 0])
        torch.testing.assert_close(got, torch.cat([h1[0], c1[0]], 1))
    else:
        _, h1 = layer(x, h)
        torch.testing.assert_close(layer_update(layer)(h[0], x[:, 0]), h1[0])


def test_layer_adapter_refuses_stacked_layers():
    with pytest.raises(ValueError, match="num_layers=2"):
        layer_update(torch.nn.GRU(2, 3, num_layers=2))
    with pytest.raises(TypeError, match="got Linear"):
        layer_update(torch.nn.Linear(2, 3))


def test_gru_fixed_points_are_fixed_under_the_cell():
    torch.manual_seed(3)
    cell = torch.nn.GRUCell(2, 6)
    x = np.array([0.5, -0.5])
    init = sample_states(np.random.default_rng(9).normal(size=(4, 10, 6)), 100, noise=0.5)
    fp = find_fixed_points(cell_update(cell), init, inputs=x, tol_q=1e-10)
    assert fp.n_points >= 1
    xt = torch.tensor(x, dtype=torch.float32).expand(fp.n_points, 2)
    nxt = cell(xt, torch.tensor(fp.points, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(nxt, fp.points, atol=1e-5)


def test_leaky_rnn_update_fixed_point_of_linear_case():
    # identity activation: h* solves h = W h + b
    w = np.array([[0.2, 0.1], [-0.3, 0.4]])
    b = np.array([0.5, -0.2])
    update = leaky_rnn_update(w, bias=b, alpha=0.1, activation=lambda z: z)
    fp = find_fixed_points(update, np.random.default_rng(10).normal(size=(50, 2)))
    assert fp.n_points == 1
    np.testing.assert_allclose(fp.points[0], np.linalg.solve(np.eye(2) - w, b), atol=1e-7)
    # map eigenvalues are 1 - alpha + alpha * eig(W)
    np.testing.assert_allclose(
        np.sort_complex(fp.eigenvalues[0]),
        np.sort_complex(1 - 0.1 + 0.1 * np.linalg.eigvals(w)),
        atol=1e-10,
    )
    assert fp.stability[0] == "stable"


def test_pca_trajectories_against_sklearn():
    rng = np.random.default_rng(11)
    hidden = rng.normal(size=(8, 12, 5))
    cond = np.array(["a", "b"] * 4)
    res = pca_trajectories(hidden, cond, n_components=2)
    pca = PCA(n_components=2).fit(hidden.reshape(-1, 5))
    assert list(res.conditions) == ["a", "b"]
    np.testing.assert_allclose(res.explained_variance_ratio, pca.explained_variance_ratio_)
    expected_a = pca.transform(hidden[cond == "a"].mean(axis=0))
    np.testing.assert_allclose(res.trajectories[0], expected_a, atol=1e-12)
    np.testing.assert_array_equal(res.n_trials, [4, 4])
    np.testing.assert_allclose(res.project(hidden[0]), pca.transform(hidden[0]), atol=1e-12)


@pytest.mark.parametrize(
    ("hidden", "conditions", "n_components", "match"),
    [
        (np.zeros((4, 5)), [0, 1, 0, 1], 2, r"'hidden'.*\(4, 5\)"),
        (np.zeros((4, 5, 3)), [0, 1], 2, r"'conditions'"),
        (np.zeros((4, 5, 3)), [0, 1, 0, 1], 4, r"'n_components'"),
        (np.full((4, 5, 3), np.nan), [0, 1, 0, 1], 2, r"non-finite"),
    ],
)
def test_pca_trajectories_bad_input(hidden, conditions, n_components, match):
    with pytest.raises(ValueError, match=match):
        pca_trajectories(hidden, conditions, n_components=n_components)


def test_slow_planted_flip_flop_exactly_eight_stable_corners():
    # Three uncoupled bistable units relaxing slowly, h -> h + eps (tanh(2 h) - h): the fixed
    # points are every combination of (-h*, 0, +h*) (brentq): 8 stable corners with
    # |lambda| = 1 - eps (1 - 2 (1 - h*^2)) ~ 0.9992 (a GRU-like memory state, not marginal),
    # 18 saddles and 1 unstable point. Slow relaxation leaves unpolished points strung along
    # the slow directions; none may come out as an extra fixed point.
    eps = 1e-3
    h_star = brentq(lambda h: np.tanh(2 * h) - h, 0.1, 2.0)
    init = np.random.default_rng(9).uniform(-1.5, 1.5, size=(250, 3))
    fp = find_fixed_points(lambda h, x: h + eps * (torch.tanh(2 * h) - h), init)
    assert fp.counts() == {"stable": 8, "unstable": 1, "saddle": 18, "marginal": 0}
    exact = np.sign(fp.points) * np.where(np.abs(fp.points) > 0.5, h_star, 0.0)
    error = np.linalg.norm(fp.points - exact, axis=1)
    assert error.max() < 1e-5
    # the localisation (one Newton step) estimates that error
    np.testing.assert_allclose(fp.localisation, error, rtol=0.05, atol=1e-10)
    assert {tuple(np.sign(p).astype(int)) for p in fp.stable} == {
        (a, b, c) for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)
    }
    lam = 1 - eps * (1 - 2 * (1 - h_star**2))
    np.testing.assert_allclose(np.abs(fp.eigenvalues[fp.stability == "stable"]), lam, rtol=1e-6)


def test_unconverged_points_on_a_slow_axis_merge_into_one_fixed_point():
    # h -> A h with A = diag(0.999, 0.5): the only fixed point is 0. Without polishing and with a
    # loose tol_q, Adam leaves the points spread along the slow axis with q below tol_q; their
    # localisation ||pinv(A - I) (A h - h)|| is exactly their distance to 0 (the oracle), so they
    # are recognised as one point instead of dozens.
    a = torch.tensor([0.999, 0.5], dtype=torch.float64)
    init = np.random.default_rng(10).uniform(-1, 1, size=(100, 2))
    kw = {"tol_q": 1e-6, "tol_slow": 1e-5, "max_iters": 100, "polish_iters": 0}
    fp = find_fixed_points(lambda h, x: h * a, init, **kw)
    assert fp.n_points == 1
    np.testing.assert_allclose(fp.localisation, np.linalg.norm(fp.points, axis=1), rtol=1e-9)
    assert fp.stability[0] == "stable"  # |lambda| 0.999 is a slow stable point, not marginal
    assert np.abs(fp.points[0]).max() < 0.1 + fp.localisation[0]


def test_classify_stability_margin_is_numerical():
    eig = np.array([[0.9995, 0.2], [1 - 1e-7, 0.2], [1 + 1e-7, 0.2], [1.0005, 0.2]])
    assert list(classify_stability(eig)) == ["stable", "marginal", "marginal", "saddle"]
    assert list(classify_stability(eig, tol_eig=1e-3)) == ["marginal"] * 4


def test_line_attractor_report_counts_all_points_and_leading_moduli():
    rng = np.random.default_rng(11)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    p = q @ np.diag([1.0, 0.3, 0.3]) @ q.T
    pt = torch.tensor(p)
    fp = find_fixed_points(lambda h, x: h @ pt.T, rng.normal(size=(60, 3)))
    line = detect_line_attractor(fp)
    assert line.n_considered == fp.n_points + fp.slow_points.shape[0]
    assert line.variance_ratio_all > 0.999
    np.testing.assert_allclose(line.leading_moduli, 1.0, atol=1e-9)
    summary = line.summary()
    assert summary["detected"] and summary["leading_modulus_max"] == pytest.approx(1.0)
    # an expanding line: same points, leading eigenvalue 1.06, so no attractor is reported
    grow = torch.tensor(q @ np.diag([1.06, 0.3, 0.3]) @ q.T)
    fp2 = find_fixed_points(lambda h, x: h @ grow.T, rng.normal(size=(60, 3)))
    line2 = detect_line_attractor(fp2)
    assert not line2.detected and fp2.n_points == 1 and line2.leading_moduli[0] > 1.05
