"""NLB metrics against hand computations and oracles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import poisson

from neurodl.analyses.dynamics import (
    bits_per_spike,
    co_bps,
    heldout_readout,
    latent_r2,
    poisson_log_likelihood,
    psth_r2,
    r2_per_dim,
    smooth_rates,
    velocity_r2,
)
from neurodl.data.simulate import simulate_latent_population
from neurodl.exceptions import ConfigError, DataFormatError


def test_poisson_log_likelihood_matches_scipy(rng):
    lam = rng.uniform(0.1, 3.0, (20, 4))
    k = rng.poisson(lam)
    assert poisson_log_likelihood(lam, k) == pytest.approx(poisson.logpmf(k, lam).sum())


def test_bits_per_spike_hand_computation():
    counts = np.array([[0.0, 2.0], [1.0, 0.0], [3.0, 1.0]])
    rates = np.array([[0.5, 1.5], [1.0, 0.5], [2.5, 1.0]])
    null = counts.mean(axis=0)
    ll = poisson.logpmf(counts, rates).sum()
    ll0 = poisson.logpmf(counts, np.broadcast_to(null, counts.shape)).sum()
    expected = (ll - ll0) / (counts.sum() * np.log(2))
    assert bits_per_spike(rates, counts) == pytest.approx(expected)
    # The mean-rate prediction scores exactly 0.
    assert bits_per_spike(np.broadcast_to(null, counts.shape), counts) == pytest.approx(0.0)


def test_co_bps_orders_true_rates_above_smoothing_above_zero():
    pop = simulate_latent_population(n_neurons=30, n_trials=60, n_bins=40, mean_rate=30.0, seed=1)
    c = pop.counts.astype(float)
    true = pop.rates * pop.bin_size
    tr, te = np.arange(45), np.arange(45, 60)
    feats = np.log(smooth_rates(c[:, :, :24], 2.0) + 1e-3)
    pred = heldout_readout(feats[tr], c[tr][:, :, 24:], feats[te])
    smooth_score = co_bps(pred, c[te][:, :, 24:])
    true_score = co_bps(true[te][:, :, 24:], c[te][:, :, 24:])
    assert true_score > smooth_score > 0


def test_psth_r2_perfect_and_shuffled():
    pop = simulate_latent_population(n_neurons=8, n_trials=32, n_bins=20, seed=0)
    rates = pop.rates
    assert psth_r2(rates, rates, pop.conditions) == pytest.approx(1.0)
    # A PSTH-shaped reference gives the same answer.
    levels = np.unique(pop.conditions)
    ref = np.stack([rates[pop.conditions == c].mean(0) for c in levels])
    assert psth_r2(rates, ref, pop.conditions, reference_is_psth=True) == pytest.approx(1.0)
    shuffled = rates[:, ::-1]
    assert psth_r2(shuffled, rates, pop.conditions) < 0.5


def test_r2_per_dim_matches_sklearn(rng):
    from sklearn.metrics import r2_score

    y = rng.normal(size=(50, 3))
    p = y + rng.normal(scale=0.5, size=y.shape)
    np.testing.assert_allclose(r2_per_dim(y, p), r2_score(y, p, multioutput="raw_values"))


def test_latent_r2_affine_invariance(rng):
    z = rng.normal(size=(10, 30, 3))
    A = rng.normal(size=(3, 3))
    assert latent_r2(z @ A + 5.0, z) == pytest.approx(1.0)
    assert latent_r2(z @ A, z, train=np.arange(6)) == pytest.approx(1.0)
    assert latent_r2(rng.normal(size=z.shape), z, train=np.arange(6)) < 0.1


def test_velocity_r2_true_rates_beat_noise():
    pop = simulate_latent_population(n_neurons=30, n_trials=40, n_bins=30, seed=2)
    good = velocity_r2(pop.rates * pop.bin_size, pop.behavior)
    bad = velocity_r2(np.random.default_rng(0).uniform(0.1, 1, pop.rates.shape), pop.behavior)
    assert good > 0.9 > bad


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "error", "match"),
    [
        (bits_per_spike, (np.ones((3, 2)), np.ones((2, 2))), {}, DataFormatError, "same shape"),
        (bits_per_spike, (-np.ones((3, 2)), np.ones((3, 2))), {}, DataFormatError, ">= 0"),
        (bits_per_spike, (np.full((3, 2), np.nan), np.ones((3, 2))), {}, DataFormatError, "NaN"),
        (velocity_r2, (np.ones((4, 5, 2)), np.ones((4, 5, 2))), {"lag": 9}, ConfigError, "lag"),
        (
            velocity_r2,
            (np.ones((4, 5, 2)), np.ones((4, 5, 2))),
            {"n_splits": 9},
            ConfigError,
            "n_splits",
        ),
        (velocity_r2, (np.ones((4, 5, 2)), np.ones((3, 5, 2))), {}, DataFormatError, "matching"),
        (latent_r2, (np.ones((4, 5, 2)), np.ones((3, 5, 2))), {}, DataFormatError, "share"),
        (
            psth_r2,
            (np.ones((4, 5, 2)), np.ones((4, 5, 2)), [0, 1]),
            {},
            DataFormatError,
            "condition",
        ),
    ],
)
def test_metrics_bad_input(func, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        func(*args, **kwargs)


def test_bits_per_spike_nan_without_spikes():
    assert np.isnan(bits_per_spike(np.ones((3, 2)), np.zeros((3, 2))))


def _mc_maze_trial(path):
    from neurodl.analyses.dynamics import align_behavior
    from neurodl.io.arrays import read_array

    rec = read_array(path, sfreq=1000.0)
    names = rec.ch_names
    units = [i for i, n in enumerate(names) if n.startswith("unit_")]
    vel = [names.index("hand_vel_x"), names.index("hand_vel_y")]
    T = rec.data.shape[1] // 20 * 20
    counts = rec.data[units, :T].T.reshape(-1, 20, len(units)).sum(axis=1)
    edges = np.arange(0, T + 1, 20) / 1000.0
    behaviour = align_behavior(np.arange(T) / 1000.0, rec.data[vel, :T].T, edges)
    return counts, behaviour, rec.data[units].sum()


@pytest.mark.realdata
def test_mc_maze_trials_data_path(shared_data):
    """Two real MC_Maze trials: 1 ms CSV -> 20 ms bins -> smoothing -> co-bps on held-out units."""
    folder = shared_data("spikes/nlb_mc_maze_trials_hisde")
    a, va, total_a = _mc_maze_trial(folder / "trial_748_data.csv")
    b, _vb, _ = _mc_maze_trial(folder / "trial_1356_data.csv")
    assert a.shape[1] == b.shape[1] == 182
    assert a.sum() <= total_a and a.sum() > 0.95 * total_a  # only the tail < 20 ms is dropped
    assert va.shape == (a.shape[0], 2) and np.isfinite(va).all()
    held_in = np.arange(182) % 5 != 0
    fa = np.log(smooth_rates(a[None][:, :, held_in], 2.0) + 1e-3)
    fb = np.log(smooth_rates(b[None][:, :, held_in], 2.0) + 1e-3)
    pred = heldout_readout(fa, a[None][:, :, ~held_in], fb, alpha=1.0)
    assert np.isfinite(pred).all()
    score = co_bps(pred, b[None][:, :, ~held_in])
    assert np.isfinite(score)
    # The held-in neurons' own smoothed counts beat their mean rate.
    assert bits_per_spike(smooth_rates(b[None], 1.0), b[None]) > 0
