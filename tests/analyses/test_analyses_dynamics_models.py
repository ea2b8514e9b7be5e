"""Decoders, baselines, forecasters and the LFADS-style VAE on tiny planted problems."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neurodl.analyses.dynamics import (
    LFADS,
    FactorAnalysisLatents,
    GPFASmoother,
    KalmanFilterDecoder,
    LinearARForecaster,
    PCALatents,
    PersistenceForecaster,
    RNNDecoder,
    RNNForecaster,
    SequentialAutoencoder,
    WienerFilter,
    forecast_scores,
    lagged_features,
    latent_r2,
    make_decoder,
    r2_per_dim,
)
from neurodl.data.simulate import simulate_latent_population
from neurodl.exceptions import ConfigError, DataFormatError

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models run fastest on one thread (and do not oversubscribe xdist workers)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _linear_system(rng, n=400, n_neurons=12, noise=1.0):
    """Smooth 2-D behaviour (AR(1)) observed linearly by noisy neurons."""
    y = np.zeros((n, 2))
    for t in range(1, n):
        y[t] = 0.95 * y[t - 1] + rng.normal(0, 0.3, 2)
    H = rng.normal(size=(n_neurons, 2))
    X = y @ H.T + rng.normal(0, noise, (n, n_neurons))
    return X, y


def test_wiener_matches_sklearn_ridge_on_lagged_features(rng):
    from sklearn.linear_model import Ridge

    X, y = _linear_system(rng)
    wf = WienerFilter(n_lags=3, alpha=2.0).fit(X, y)
    oracle = Ridge(alpha=2.0).fit(lagged_features(X, 3), y)  # raw lagged counts + intercept
    np.testing.assert_allclose(wf.predict(X), oracle.predict(lagged_features(X, 3)), atol=1e-8)
    assert wf.alpha_ == 2.0


def test_wiener_selects_alpha_by_inner_contiguous_block_cv(rng):
    """alpha=None: the penalty is the argmax of a hand-written contiguous-block CV loop."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    X, y = _linear_system(rng, n=300, noise=4.0)
    n_lags, alphas = 4, np.logspace(-2, 4, 7)
    F = lagged_features(X, n_lags)
    bounds = np.linspace(0, len(F), 6).astype(int)
    scores = []
    for a in alphas:
        fold = []
        for lo, hi in itertools.pairwise(bounds):
            idx = np.arange(len(F))
            tr = idx[(idx < lo - n_lags) | (idx >= hi + n_lags)]
            m = Ridge(alpha=a).fit(F[tr], y[tr])
            fold.append(r2_score(y[lo:hi], m.predict(F[lo:hi])))
        scores.append(np.mean(fold))
    best = alphas[int(np.argmax(scores))]
    wf = WienerFilter(n_lags=n_lags, alphas=alphas).fit(X, y)
    assert wf.alpha_ == best
    np.testing.assert_allclose(
        wf.predict(X), Ridge(alpha=best).fit(F, y).predict(F), rtol=1e-6, atol=1e-8
    )


def test_kalman_recovers_smooth_behaviour_better_than_current_bin(rng):
    X, y = _linear_system(rng, n=600)
    tr, te = slice(0, 400), slice(400, 600)
    kf = KalmanFilterDecoder().fit(X[tr], y[tr])
    ridge = make_decoder("ridge", alpha=1.0).fit(X[tr], y[tr])
    r2_kf = np.mean(r2_per_dim(y[te], kf.predict(X[te])))
    r2_ridge = np.mean(r2_per_dim(y[te], ridge.predict(X[te])))
    assert r2_kf > r2_ridge
    assert r2_kf > 0.8


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_rnn_decoder_learns_planted_mapping(rng, cell):
    X, y = _linear_system(np.random.default_rng(0), n=500, n_neurons=8, noise=0.5)
    dec = RNNDecoder(cell=cell, n_lags=4, hidden_size=16, max_epochs=25, lr=1e-2, dropout=0.0, random_state=0)
    dec.fit(X[:400], y[:400])
    assert np.mean(r2_per_dim(y[400:], dec.predict(X[400:]))) > 0.5
    assert dec.history_[0]["time_per_epoch_s"] > 0
    assert dec.latency_per_bin_ > 0


@pytest.mark.parametrize(
    ("name", "params", "error", "match"),
    [
        ("nope", {}, ConfigError, "decoder"),
        ("wiener", {"bogus": 1}, ConfigError, "Invalid parameters"),
    ],
)
def test_make_decoder_bad_input(name, params, error, match):
    with pytest.raises(error, match=match):
        make_decoder(name, **params)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"alpha": -1.0}, "'alpha'"),
        ({"alpha": "big"}, "'alpha'"),
        ({"alphas": []}, "'alphas'"),
        ({"alphas": [1.0, -2.0]}, "'alphas'"),
    ],
)
def test_wiener_bad_penalty(params, match):
    X = np.random.default_rng(0).poisson(2.0, (60, 3)).astype(float)
    with pytest.raises(ConfigError, match=match):
        WienerFilter(n_lags=2, **params).fit(X, X[:, :2])


def test_decoder_bad_data():
    with pytest.raises(DataFormatError, match="bins in 'X'"):
        WienerFilter().fit(np.ones((10, 2)), np.ones(9))
    with pytest.raises(DataFormatError, match="NaN"):
        KalmanFilterDecoder().fit(np.full((10, 2), np.nan), np.ones(10))


def test_latent_baselines(rng):
    from sklearn.decomposition import PCA

    pop = simulate_latent_population(n_neurons=30, n_trials=30, n_bins=30, mean_rate=40, seed=3)
    c = pop.counts
    pca = PCALatents(3).fit_transform(c)
    oracle = PCA(3).fit(np.sqrt(c.reshape(-1, 30))).transform(np.sqrt(c.reshape(-1, 30)))
    np.testing.assert_allclose(pca.reshape(-1, 3), oracle, atol=1e-8)
    fa = FactorAnalysisLatents(3).fit_transform(c)
    gp = GPFASmoother(3).fit_transform(c)
    rough = lambda z: np.mean(np.diff(z, axis=1) ** 2) / np.var(z)  # noqa: E731
    assert rough(gp) < rough(fa)
    assert latent_r2(gp, pop.latents) > latent_r2(fa, pop.latents)
    with pytest.raises(ConfigError, match="n_components"):
        PCALatents(0)
    with pytest.raises(ConfigError, match="exceeds"):
        PCALatents(50).fit(c)


def test_forecasters_shapes_and_ordering(rng):
    # AR(1) population: the linear AR forecaster must beat persistence at horizon 1.
    n_trials, T, N = 20, 60, 6
    z = np.zeros((n_trials, T, N))
    for t in range(1, T):
        z[:, t] = 0.9 * z[:, t - 1] + rng.normal(0, 0.5, (n_trials, N))
    rates = np.exp(0.5 * z) * 2.0
    counts = rng.poisson(rates).astype(float)
    H = [1, 3]
    pers = PersistenceForecaster(H, window=3).fit(counts[:15])
    ar = LinearARForecaster(H, n_lags=3, alpha=1.0).fit(counts[:15])
    p_pers, p_ar = pers.predict(counts[15:]), ar.predict(counts[15:])
    assert p_ar.shape == (5, T, 2, N)
    assert np.isnan(p_ar[:, -1, 0]).all() and np.isnan(p_ar[:, -3:, 1]).all()
    s_pers = forecast_scores(p_pers, counts[15:], H, true_rates=rates[15:], t_min=3)
    s_ar = forecast_scores(p_ar, counts[15:], H, true_rates=rates[15:], t_min=3)
    assert [r["horizon"] for r in s_ar] == H
    assert s_ar[0]["bits_per_spike"] > s_pers[0]["bits_per_spike"]
    assert s_ar[0]["bits_per_spike"] > s_ar[1]["bits_per_spike"]
    rnn = RNNForecaster(H, hidden_size=8, max_epochs=5, random_state=0).fit(counts[:15])
    p_rnn = rnn.predict(counts[15:])
    assert p_rnn.shape == p_ar.shape
    assert np.isfinite(p_rnn[:, : T - 3]).all()
    with pytest.raises(ConfigError, match="horizons"):
        PersistenceForecaster([0]).fit(counts)
    with pytest.raises(DataFormatError, match="pred"):
        forecast_scores(p_ar[:, :, :1], counts[15:], H)


def _tiny_population():
    pop = simulate_latent_population(n_neurons=12, n_trials=24, n_bins=16, mean_rate=40, seed=0)
    return pop, pop.counts.astype(float)


def test_lfads_trains_loss_decreases_no_nan():
    _, c = _tiny_population()
    m = LFADS(
        max_epochs=15,
        batch_size=8,
        enc_size=16,
        gen_size=16,
        g0_size=8,
        n_factors=3,
        kl_warmup=5,
        patience=None,
        random_state=0,
    )
    m.fit(c[:, :12, :10], c)
    hist = m.history_
    assert hist["n_nan_skipped"] == 0
    assert np.all(np.isfinite(hist["train_loss"]))
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    out = m.predict(c[:, :12, :10])
    assert out["rates"].shape == (24, 16, 12)
    assert out["factors"].shape == (24, 16, 3)
    assert np.isfinite(out["rates"]).all() and (out["rates"] > 0).all()
    sampled = m.predict(c[:, :12, :10], n_samples=3)["rates"]
    np.testing.assert_array_equal(sampled, m.predict(c[:, :12, :10], n_samples=3)["rates"])
    assert np.isfinite(sampled).all() and not np.array_equal(sampled, out["rates"])
    with pytest.raises(ConfigError, match="n_samples"):
        m.predict(c[:, :12, :10], n_samples=-1)


@pytest.mark.parametrize("observation", ["gaussian", "gamma", "zig"])
def test_lfads_calcium_observation_models(observation):
    from neurodl.data.simulate import spikes_to_calcium

    _, c = _tiny_population()
    ca = spikes_to_calcium(c, 100.0, noise=0.01, axis=1)
    m = LFADS(
        observation=observation,
        max_epochs=4,
        batch_size=8,
        enc_size=8,
        gen_size=8,
        g0_size=4,
        n_factors=2,
        n_inferred_inputs=1,
        zig_loc=0.05,
        random_state=0,
    )
    m.fit(ca)
    out = m.predict(ca)
    assert out["rates"].shape == ca.shape
    assert np.isfinite(out["rates"]).all()
    assert np.all(np.isfinite(m.history_["train_loss"]))


def test_autoencoder_is_deterministic_variant():
    _, c = _tiny_population()
    ae = SequentialAutoencoder(
        max_epochs=3, batch_size=8, enc_size=8, gen_size=8, g0_size=4, n_factors=2, random_state=0
    ).fit(c)
    assert ae.variational is False
    np.testing.assert_array_equal(ae.predict(c)["rates"], ae.predict(c)["rates"])


def test_nan_guard_skips_bad_batches():
    """The engine's "skip" guard (used by every dynamics model) skips non-finite batches."""
    from neurodl.estimators.torch_engine import TrainConfig, train

    torch.manual_seed(0)
    net = torch.nn.Linear(2, 1)
    x = np.ones((8, 2), np.float32)

    def objective(model, xb, yb, ctx):
        out = model(xb)[:, 0]
        return out * float("nan") if ctx.epoch == 1 and ctx.step % 2 == 0 else out**2

    cfg = TrainConfig(
        task="regression", max_epochs=3, batch_size=4, on_divergence="skip", schedule="plateau"
    )
    res = train(net, x, np.zeros(8, np.float32), None, None, cfg, objective=objective)
    assert [r["n_skipped"] for r in res.history] == [0, 1, 0]
    assert all(np.isfinite(r["train_loss"]) for r in res.history)
    assert all(np.isfinite(p.detach().numpy()).all() for p in net.parameters())


def test_dynamics_models_train_with_the_shared_engine(monkeypatch):
    """RNNDecoder, RNNForecaster and LFADS all go through torch_engine.train."""
    import neurodl.estimators.torch_engine as engine

    calls = []
    real = engine.train

    def spy(*args, **kwargs):
        calls.append(kwargs.get("objective"))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "train", spy)
    X, y = _linear_system(np.random.default_rng(0), n=120, n_neurons=4)
    RNNDecoder(n_lags=3, hidden_size=4, max_epochs=2).fit(X, y)
    _, c = _tiny_population()
    RNNForecaster([1], hidden_size=4, max_epochs=2).fit(c)
    LFADS(max_epochs=2, enc_size=4, gen_size=4, g0_size=2, n_factors=2).fit(c)
    assert len(calls) == 3
    assert calls[0] is None and callable(calls[1]) and callable(calls[2])


@pytest.mark.parametrize(
    ("kwargs", "args", "error", "match"),
    [
        ({"observation": "bernoulli"}, (np.ones((4, 5, 3)),), ConfigError, "observation"),
        ({"coordinated_dropout": 1.0}, (np.ones((4, 5, 3)),), ConfigError, "coordinated_dropout"),
        ({}, (np.ones((4, 5)),), DataFormatError, "n_trials"),
        ({}, (np.ones((4, 5, 3)), np.ones((4, 4, 3))), DataFormatError, "Y_out"),
        ({}, (np.ones((4, 5, 3)), np.ones((4, 5, 2))), DataFormatError, "held-in"),
    ],
)
def test_lfads_bad_input(kwargs, args, error, match):
    with pytest.raises(error, match=match):
        LFADS(max_epochs=1, **kwargs).fit(*args)


def test_lfads_objective_kl_warmup_and_validation_terms():
    """The engine objective: KL weight rises linearly by epoch; validation scores only unseen data."""
    from neurodl.estimators.torch_engine import LossContext

    _, c = _tiny_population()
    m = LFADS(max_epochs=1, enc_size=8, gen_size=8, g0_size=4, n_factors=2, kl_warmup=4, random_state=0)
    m.fit(c[:, :12, :10], c)
    obj = m._objective()
    xb = torch.tensor(c[:6, :12, :10], dtype=torch.float32)
    yb = torch.tensor(c[:6], dtype=torch.float32)

    def loss(epoch, training):
        m.model_.train(training)
        torch.manual_seed(1)  # same dropout masks and posterior samples for every call
        ctx = LossContext(epoch, 0, training, 1, 10)
        with torch.no_grad():
            return obj(m.model_, xb, yb, ctx).numpy()

    l0, l1, l3, l9 = (loss(e, True) for e in (0, 1, 3, 9))
    assert l0.shape == (6,)
    # beta = 0.25, 0.5, 1.0, 1.0: losses are affine in beta with the per-trial KL as slope
    np.testing.assert_allclose(l1 - l0, (l3 - l1) / 2, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(l3, l9, rtol=1e-6)
    assert (l1 - l0 > 0).all()  # KL > 0
    v = loss(0, False)
    y_other = yb.clone()
    y_other[:, :12, :10] += 5.0  # held-in, observed bins: not scored in validation
    m.model_.eval()
    with torch.no_grad():
        v2 = obj(m.model_, xb, y_other, LossContext(0, 0, False, 1, 10)).numpy()
    np.testing.assert_allclose(v, v2, rtol=1e-6)
